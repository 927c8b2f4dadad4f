"""The declarative pipeline spec (JSON or YAML) and its validation against real schemas.

    source: {dataset: events}
    steps:
      - {op: filter, expr: "amount > 0"}
      - {op: derive, column: amount_eur, expr: "amount * 0.92"}
      - {op: aggregate, group_by: [country], aggregations: [{op: sum, column: amount_eur}]}
    sink: {dataset: revenue_by_country}

`validate_steps` walks the steps with the source schema, so an unknown column, a type
error or a bad expression is reported with the path to the field at fault.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from pipelines.expr import ExpressionError, check, check_growth, parse
from pipelines.tables import OPAQUE_TYPES, TYPE_ALIASES

ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
DatasetRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Loc = tuple[str | int, ...]


class SpecError(ValueError):
    """A spec that does not fit the data; `loc` is the path to the field at fault."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _logical(value: str) -> str:
    key = value.strip().lower()
    if key not in TYPE_ALIASES:
        raise ValueError(f"unknown type '{value}'; use one of "
                         "int, float, string, bool, timestamp, date")
    return TYPE_ALIASES[key]


LogicalTypeName = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class Select(_Model):
    op: Literal["select"]
    columns: list[ColumnName] = Field(min_length=1)


class Rename(_Model):
    op: Literal["rename"]
    mapping: dict[ColumnName, ColumnName] = Field(min_length=1)


class Cast(_Model):
    op: Literal["cast"]
    columns: dict[ColumnName, LogicalTypeName] = Field(min_length=1)
    # "fail": a value that does not convert fails the run; "null": it becomes null.
    on_error: Literal["fail", "null"] = "fail"

    @field_validator("columns")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        return {k: _logical(v) for k, v in value.items()}


class Filter(_Model):
    op: Literal["filter"]
    expr: str = Field(min_length=1, max_length=4000)


class Derive(_Model):
    op: Literal["derive"]
    column: ColumnName
    expr: str = Field(min_length=1, max_length=4000)


class FillNull(_Model):
    op: Literal["fill_null"]
    values: dict[ColumnName, int | float | str | bool] = Field(min_length=1)


class DropNull(_Model):
    op: Literal["drop_null"]
    columns: list[ColumnName] | None = None  # None: any column


class Dedupe(_Model):
    op: Literal["dedupe"]
    columns: list[ColumnName] | None = None  # None: whole rows


class Join(_Model):
    op: Literal["join"]
    dataset: DatasetRef
    version: int | None = Field(default=None, ge=1)
    on: list[ColumnName] = Field(min_length=1)
    right_on: list[ColumnName] | None = None
    how: Literal["inner", "left", "right", "outer"] = "inner"
    suffix: str = Field(default="_right", min_length=1, max_length=50)


AggOp = Literal["count", "sum", "mean", "min", "max", "std", "quantile", "count_distinct"]


class Aggregation(_Model):
    op: AggOp
    column: ColumnName | None = None  # None only for count (rows)
    q: float | None = Field(default=None, ge=0, le=1)
    alias: ColumnName | None = Field(default=None, alias="as")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def output_name(self) -> str:
        if self.alias:
            return self.alias
        if self.column is None:
            return "count"
        if self.op == "quantile":
            return f"{self.column}_q{round((self.q or 0) * 100):02d}"
        return f"{self.column}_{self.op}"


class Aggregate(_Model):
    op: Literal["aggregate"]
    group_by: list[ColumnName] = Field(default_factory=list)
    aggregations: list[Aggregation] = Field(min_length=1)


class SortKey(_Model):
    column: ColumnName
    desc: bool = False


class Sort(_Model):
    op: Literal["sort"]
    by: list[SortKey] = Field(min_length=1)


class Limit(_Model):
    op: Literal["limit"]
    n: int = Field(ge=0, le=1_000_000_000)


class Sample(_Model):
    op: Literal["sample"]
    fraction: float = Field(gt=0, le=1)
    seed: int = 0


class Predict(_Model):
    """Adds the predictions of a registered model (batch inference on an actor pool)."""

    op: Literal["predict"]
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    version: int | None = Field(default=None, ge=1)
    alias: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    output: ColumnName = "prediction"
    # Classifiers: also add `<output>_probability`, the predicted class's probability.
    probability: bool = False


class Embed(_Model):
    """Adds the sentence embedding (list of floats) of a text column."""

    op: Literal["embed"]
    column: ColumnName
    output: ColumnName = "embedding"


Step = Annotated[Select | Rename | Cast | Filter | Derive | FillNull | DropNull | Dedupe | Join
                 | Aggregate | Sort | Limit | Sample | Predict | Embed,
                 Field(discriminator="op")]
ROW_LOCAL = (Select, Rename, Cast, Filter, Derive, FillNull, DropNull)


class Source(_Model):
    dataset: DatasetRef
    version: int | None = Field(default=None, ge=1)


class Sink(_Model):
    dataset: Annotated[str, StringConstraints(min_length=1, max_length=200,
                                              pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")]
    description: str | None = Field(default=None, max_length=2000)


class PipelineSpec(_Model):
    source: Source
    steps: list[Step] = Field(default_factory=list, max_length=100)
    sink: Sink
    # How to run it: `auto` (the server's choice by input size, pipelines/plan.py), or
    # `local` (one DuckDB statement on one node) / `distributed` (Ray Data) forced.
    plan: Literal["auto", "local", "distributed"] = "auto"


# ---------------------------------------------------------------- schema propagation

Schema = dict[str, str]


def _need(schema: Mapping[str, str], name: str, loc: Loc) -> str:
    if name not in schema:
        raise SpecError(loc, f"unknown column '{name}'; columns are: {', '.join(schema)}")
    return schema[name]


def _expr(text: str, schema: Mapping[str, str], loc: Loc, want: str | None = None) -> str:
    try:
        return check(text, schema, want=want)[1]
    except ExpressionError as exc:
        raise SpecError(loc, exc.message) from None


def aggregation_type(agg: Aggregation, schema: Mapping[str, str], loc: Loc) -> str:
    if agg.column is None:
        if agg.op != "count":
            raise SpecError((*loc, "column"), f"'{agg.op}' needs a column")
        return "int"
    t = _need(schema, agg.column, (*loc, "column"))
    if agg.op in ("count", "count_distinct"):
        return "int"
    if agg.op in ("min", "max"):
        if t in OPAQUE_TYPES:
            raise SpecError((*loc, "column"), f"cannot take {agg.op} of column '{agg.column}'")
        return t
    if t not in ("int", "float"):
        raise SpecError((*loc, "column"),
                        f"'{agg.op}' needs a numeric column, but '{agg.column}' is {t}")
    if agg.op == "quantile" and agg.q is None:
        raise SpecError((*loc, "q"), "'quantile' needs q between 0 and 1")
    return "int" if agg.op == "sum" and t == "int" else "float"


def aggregate_schema(group_by: Sequence[str], aggregations: Sequence[Aggregation],
                     schema: Mapping[str, str], loc: Loc,
                     group_types: Mapping[str, str] | None = None) -> Schema:
    out: Schema = {}
    for i, column in enumerate(group_by):
        t = (group_types or {}).get(column) or _need(schema, column, (*loc, "group_by", i))
        out[column] = t
    for i, agg in enumerate(aggregations):
        name = agg.output_name()
        if name in out:
            raise SpecError((*loc, "aggregations", i, "as"),
                            f"output column '{name}' appears twice; give one an 'as' name")
        out[name] = aggregation_type(agg, schema, (*loc, "aggregations", i))
    return out


# Which column types a model feature of each type accepts.
FEATURE_INPUTS = {"int": ("int", "float"), "float": ("int", "float"),
                  "string": ("string", "int", "bool"), "bool": ("bool", "string"),
                  "text": ("string",)}


def _new_column(schema: Mapping[str, str], name: str, loc: Loc) -> None:
    if name in schema:
        raise SpecError(loc, f"column '{name}' already exists; choose another output name")


def prediction_type(info: Mapping[str, Any]) -> str:
    if info["task"] == "regression":
        return "float"
    classes = info.get("classes") or []
    if classes and all(isinstance(c, bool) for c in classes):
        return "bool"
    if classes and all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return "int"
    if classes and all(isinstance(c, int | float) and not isinstance(c, bool)
                       for c in classes):
        return "float"
    return "string"


def predict_schema(step: Predict, schema: Schema, loc: Loc, info: Mapping[str, Any]
                   ) -> Schema:
    name = f"model '{info['name']}' version {info['version']}"
    if info.get("status") == "broken":
        raise SpecError((*loc, "model"), f"{name} is broken; retrain or pick another version")
    for feature in info["features"]:
        column, kind = feature["name"], feature["type"]
        if column not in schema:
            raise SpecError((*loc, "model"), f"{name} needs column '{column}' ({kind}); "
                                             f"columns are: {', '.join(schema)}")
        if schema[column] not in FEATURE_INPUTS.get(kind, ()):
            raise SpecError((*loc, "model"), f"{name} needs '{column}' as {kind}, but it is "
                                             f"{schema[column]}; cast it first")
    _new_column(schema, step.output, (*loc, "output"))
    out = {**schema, step.output: prediction_type(info)}
    if step.probability:
        if info["task"] == "regression":
            raise SpecError((*loc, "probability"), f"{name} is a regression model; it has "
                                                   "no class probabilities")
        _new_column(out, f"{step.output}_probability", (*loc, "output"))
        out[f"{step.output}_probability"] = "float"
    return out


def step_schema(step: Any, schema: Schema, loc: Loc,
                lookup: Any = None, models: Any = None) -> Schema:
    """The schema after `step`; raises SpecError pointing into the step. `lookup(ref,
    version, loc)` gives a joined dataset's schema, `models(step, loc)` a predict step's
    model version (see `pipelines.registry.version_info`)."""
    match step:
        case Predict():
            if models is None:
                raise SpecError((*loc, "model"), "predict steps need the model registry")
            return predict_schema(step, schema, loc, models(step, (*loc, "model")))
        case Embed(column=column, output=output):
            if _need(schema, column, (*loc, "column")) != "string":
                raise SpecError((*loc, "column"), f"column '{column}' is {schema[column]}, "
                                                  "not text")
            _new_column(schema, output, (*loc, "output"))
            return {**schema, output: "vector"}
        case Select(columns=columns):
            for i, c in enumerate(columns):
                _need(schema, c, (*loc, "columns", i))
            return {c: schema[c] for c in columns}
        case Rename(mapping=mapping):
            for old in mapping:
                _need(schema, old, (*loc, "mapping", old))
            out = {mapping.get(k, k): v for k, v in schema.items()}
            if len(out) != len(schema):
                raise SpecError((*loc, "mapping"), "rename would make two columns share a name")
            return out
        case Cast(columns=columns):
            for c in columns:
                if _need(schema, c, (*loc, "columns", c)) in OPAQUE_TYPES:
                    raise SpecError((*loc, "columns", c), f"column '{c}' cannot be cast")
            return {k: columns.get(k, v) for k, v in schema.items()}
        case Filter(expr=text):
            _expr(text, schema, (*loc, "expr"), want="bool")
            return dict(schema)
        case Derive(column=column, expr=text):
            t = _expr(text, schema, (*loc, "expr"))
            if t == "null":
                raise SpecError((*loc, "expr"), "a derived column cannot be always null")
            return {**schema, column: t}
        case FillNull(values=values):
            for c, v in values.items():
                t = _need(schema, c, (*loc, "values", c))
                ok = {"int": isinstance(v, int) and not isinstance(v, bool),
                      "float": isinstance(v, int | float) and not isinstance(v, bool),
                      "string": isinstance(v, str), "bool": isinstance(v, bool),
                      "timestamp": isinstance(v, str), "date": isinstance(v, str)}.get(t, False)
                if not ok:
                    raise SpecError((*loc, "values", c),
                                    f"fill value {v!r} does not fit column '{c}' ({t})")
            return dict(schema)
        case DropNull(columns=columns) | Dedupe(columns=columns):
            for i, c in enumerate(columns or []):
                _need(schema, c, (*loc, "columns", i))
            return dict(schema)
        case Join():
            if lookup is None:
                raise SpecError((*loc, "dataset"), "joins need the other dataset's schema")
            right = lookup(step.dataset, step.version, (*loc, "dataset"))
            right_on = step.right_on or step.on
            if len(right_on) != len(step.on):
                raise SpecError((*loc, "right_on"), "'right_on' must name as many columns as 'on'")
            for i, (lc, rc) in enumerate(zip(step.on, right_on, strict=True)):
                lt = _need(schema, lc, (*loc, "on", i))
                rt = _need(right, rc, (*loc, "right_on" if step.right_on else "on", i))
                if lt != rt and not {lt, rt} <= {"int", "float"}:
                    raise SpecError((*loc, "on", i),
                                    f"join key '{lc}' ({lt}) does not match '{rc}' ({rt})")
            out = dict(schema)
            for name, t in right.items():
                if name in right_on and step.right_on is None:
                    continue  # same-named keys appear once
                out[name + step.suffix if name in out else name] = t
            return out
        case Aggregate(group_by=group_by, aggregations=aggregations):
            return aggregate_schema(group_by, aggregations, schema, loc)
        case Sort(by=by):
            for i, key in enumerate(by):
                _need(schema, key.column, (*loc, "by", i, "column"))
            return dict(schema)
        case Limit() | Sample():
            return dict(schema)
    raise SpecError(loc, "unknown step")  # pragma: no cover


def validate_steps(steps: Sequence[Any], schema: Mapping[str, str], lookup: Any = None,
                   prefix: Loc = ("steps",), models: Any = None) -> list[Schema]:
    """Schemas after each step (index 0 is the input)."""
    schemas = [dict(schema)]
    growth: dict[str, int] = {}
    for i, step in enumerate(steps):
        schemas.append(step_schema(step, schemas[-1], (*prefix, i), lookup, models))
        growth = carry_growth(step, growth, (*prefix, i))
    return schemas


def derive_growth(text: str, growth: Mapping[str, int], loc: Loc) -> int:
    """A derived value's length bound (expr.string_growth); SpecError when it is too big."""
    try:
        return check_growth(parse(text), growth)
    except ExpressionError as exc:
        raise SpecError(loc, exc.message) from None


def carry_growth(step: Any, growth: dict[str, int], loc: Loc) -> dict[str, int]:
    """The length bounds of the computed string columns after `step`."""
    match step:
        case Derive(column=column, expr=text):
            return {**growth, column: derive_growth(text, growth, (*loc, "expr"))}
        case Rename(mapping=mapping):
            return {mapping.get(k, k): v for k, v in growth.items()}
        case Aggregate(group_by=keys, aggregations=aggregations):
            kept = {k: growth[k] for k in keys if k in growth}
            for agg in aggregations:
                if agg.column in growth and agg.op in ("min", "max"):
                    kept[agg.output_name()] = growth[agg.column]
            return kept
    return growth
