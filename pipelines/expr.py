"""Helio's expression language for `filter` / `derive` steps and query filters.

Text is parsed (lark, LALR) into a small AST, type-checked against a dataset schema and
compiled to a DuckDB SQL fragment whose literals are bound parameters. Nothing is ever
evaluated as Python: there is no attribute access, indexing, lambda or name lookup
beyond the dataset's columns and the functions listed in `FUNCTIONS`.

    amount * 1.2 > 100 and lower(country) = 'de' and not (email is null)
    round(price / quantity, 2)          date_trunc('month', created_at)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

# Helio's logical column types (what schemas, casts and type checks speak).
LogicalType = Literal["int", "float", "string", "bool", "timestamp", "date", "other",
                      "vector"]
LOGICAL_TYPES: tuple[str, ...] = ("int", "float", "string", "bool", "timestamp", "date")
NUMERIC = frozenset({"int", "float"})
TEMPORAL = frozenset({"timestamp", "date"})
MAX_EXPRESSION_CHARS = 4000
MAX_DEPTH = 64
MAX_NODES = 2000

Schema = Mapping[str, str]  # column name -> logical type


class ExpressionError(ValueError):
    """A parse or type error; `position` is the 1-based column in the text, if known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr | or_expr _OR and_expr -> or_
?and_expr: not_expr | and_expr _AND not_expr -> and_
?not_expr: comparison | _NOT not_expr -> not_
?comparison: sum
    | sum COMPARE sum -> compare
    | sum _IS _NULL -> is_null
    | sum _IS _NOT _NULL -> is_not_null
    | sum _IN "(" literal ("," literal)* ")" -> in_
    | sum _NOT _IN "(" literal ("," literal)* ")" -> not_in
?sum: product | sum ADD product -> arith
?product: unary | product MUL unary -> arith
?unary: atom | "-" unary -> neg
?atom: literal
    | NAME "(" [or_expr ("," or_expr)*] ")" -> call
    | NAME -> column
    | QUOTED_NAME -> quoted_column
    | "(" or_expr ")"
literal: NUMBER -> number
    | STRING -> string
    | _TRUE -> true
    | _FALSE -> false
    | _NULL -> null

_OR.2: /or\b/i
_AND.2: /and\b/i
_NOT.2: /not\b/i
_IS.2: /is\b/i
_IN.2: /in\b/i
_NULL.2: /null\b/i
_TRUE.2: /true\b/i
_FALSE.2: /false\b/i
COMPARE: "==" | "!=" | "<>" | "<=" | ">=" | "<" | ">" | "="
ADD: "+" | "-"
MUL: "*" | "/" | "%"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
QUOTED_NAME: /`[^`]{1,200}`/
NUMBER: /(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?/
STRING: /'([^'\\]|''){0,10000}'/
%import common.WS
%ignore WS
"""


@functools.cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False, propagate_positions=False)


# ---------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Column:
    name: str


@dataclass(frozen=True, slots=True)
class Lit:
    value: int | float | str | bool | None


@dataclass(frozen=True, slots=True)
class Unary:
    op: Literal["not", "neg", "is_null", "is_not_null"]
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # or, and, comparison or arithmetic operator
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class InList:
    operand: Node
    values: tuple[Lit, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Call:
    fn: str
    args: tuple[Node, ...]


Node = Column | Lit | Unary | Binary | InList | Call


class _ToAst(Transformer[Token, Node]):
    """Builds the AST bottom-up and enforces the depth and size limits as it goes, so an
    oversized tree is refused before anything walks it."""

    def __init__(self) -> None:
        super().__init__()
        self._depth: dict[int, int] = {}

    def _call_userfunc(self, tree: Any, new_children: Any = None) -> Any:
        node = super()._call_userfunc(tree, new_children)  # type: ignore[no-untyped-call]
        children = tree.children if new_children is None else new_children
        depth = 1 + max((self._depth.get(id(c), 0) for c in children), default=0)
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels")
        if len(self._depth) >= MAX_NODES:
            raise ExpressionError(f"expression has more than {MAX_NODES} parts")
        self._depth[id(node)] = depth
        return node

    def number(self, items: list[Token]) -> Lit:
        text = str(items[0])
        if any(c in text for c in ".eE"):
            value = float(text)
            if not math.isfinite(value):
                raise ExpressionError(f"number {text} is out of range")
            return Lit(value)
        return Lit(int(text))

    def string(self, items: list[Token]) -> Lit:
        return Lit(str(items[0])[1:-1].replace("''", "'"))

    def true(self, _: list[Token]) -> Lit:
        return Lit(True)

    def false(self, _: list[Token]) -> Lit:
        return Lit(False)

    def null(self, _: list[Token]) -> Lit:
        return Lit(None)

    def column(self, items: list[Token]) -> Column:
        return Column(str(items[0]))

    def quoted_column(self, items: list[Token]) -> Column:
        return Column(str(items[0])[1:-1])

    @v_args(inline=True)
    def or_(self, left: Node, right: Node) -> Binary:
        return Binary("or", left, right)

    @v_args(inline=True)
    def and_(self, left: Node, right: Node) -> Binary:
        return Binary("and", left, right)

    @v_args(inline=True)
    def not_(self, operand: Node) -> Unary:
        return Unary("not", operand)

    @v_args(inline=True)
    def neg(self, operand: Node) -> Node:
        if isinstance(operand, Lit) and isinstance(operand.value, int | float) \
                and not isinstance(operand.value, bool):
            return Lit(-operand.value)
        return Unary("neg", operand)

    @v_args(inline=True)
    def is_null(self, operand: Node) -> Unary:
        return Unary("is_null", operand)

    @v_args(inline=True)
    def is_not_null(self, operand: Node) -> Unary:
        return Unary("is_not_null", operand)

    @v_args(inline=True)
    def compare(self, left: Node, op: Token, right: Node) -> Binary:
        symbol = {"==": "=", "<>": "!="}.get(str(op), str(op))
        return Binary(symbol, left, right)

    @v_args(inline=True)
    def arith(self, left: Node, op: Token, right: Node) -> Binary:
        return Binary(str(op), left, right)

    def in_(self, items: list[Any]) -> InList:
        return InList(items[0], tuple(items[1:]), negated=False)

    def not_in(self, items: list[Any]) -> InList:
        return InList(items[0], tuple(items[1:]), negated=True)

    def call(self, items: list[Any]) -> Call:
        name = str(items[0]).lower()
        if name not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function '{items[0]}'; available: {', '.join(sorted(FUNCTIONS))}")
        return Call(name, tuple(i for i in items[1:] if i is not None))


def parse(text: str) -> Node:
    """Parse expression text into an AST (no schema needed)."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = _parser().parse(text)
        node = _ToAst().transform(tree)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels") from None
    except UnexpectedCharacters as exc:
        raise ExpressionError(f"unexpected character {text[exc.pos_in_stream or 0]!r} at "
                              f"position {exc.column}", exc.column) from None
    except UnexpectedEOF:
        raise ExpressionError("expression ends too early") from None
    except UnexpectedInput as exc:
        token = getattr(exc, "token", None)
        if token is not None and getattr(token, "type", "") == "$END":
            raise ExpressionError("expression ends too early") from None
        shown = f"{str(token)!r}" if token else "input"
        raise ExpressionError(f"unexpected {shown} at position {exc.column}",
                              exc.column) from None
    except LarkError as exc:  # e.g. an ExpressionError raised inside the transformer
        cause = exc.__context__
        if isinstance(cause, ExpressionError):
            raise cause from None
        raise ExpressionError("could not parse expression") from None
    return node


def columns_of(node: Node) -> set[str]:
    match node:
        case Column(name=name):
            return {name}
        case Unary(operand=o) | InList(operand=o):
            return columns_of(o)
        case Binary(left=a, right=b):
            return columns_of(a) | columns_of(b)
        case Call(args=args):
            return set().union(*(columns_of(a) for a in args)) if args else set()
        case _:
            return set()


# ---------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class Function:
    min_args: int
    max_args: int


FUNCTIONS: dict[str, Function] = {
    "lower": Function(1, 1), "upper": Function(1, 1), "trim": Function(1, 1),
    "length": Function(1, 1), "abs": Function(1, 1), "round": Function(1, 2),
    "floor": Function(1, 1), "ceil": Function(1, 1), "sqrt": Function(1, 1),
    "ln": Function(1, 1), "year": Function(1, 1), "month": Function(1, 1),
    "day": Function(1, 1), "hour": Function(1, 1), "weekday": Function(1, 1),
    "date_trunc": Function(2, 2), "coalesce": Function(2, 8), "concat": Function(2, 8),
    "contains": Function(2, 2), "starts_with": Function(2, 2), "ends_with": Function(2, 2),
}
DATE_UNITS = ("hour", "day", "week", "month", "quarter", "year")
MAX_ROUND_DIGITS = 308  # a double has no digits past 10^±308


def _lit_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


def _common(a: str, b: str) -> str | None:
    """The type two operands share for comparison / coalesce, or None if they do not."""
    if a == "null":
        return b
    if b == "null" or a == b:
        return a
    if a in NUMERIC and b in NUMERIC:
        return "float"
    if {a, b} <= TEMPORAL:
        return "timestamp"
    return None


def _describe(node: Node) -> str:
    match node:
        case Column(name=name):
            return f"column '{name}'"
        case Lit(value=value):
            return f"literal {value!r}"
        case Call(fn=fn):
            return f"{fn}(...)"
        case _:
            return "expression"


def infer_type(node: Node, schema: Schema) -> str:
    """The logical type `node` evaluates to over `schema`; raises ExpressionError."""
    match node:
        case Column(name=name):
            if name not in schema:
                raise ExpressionError(f"unknown column '{name}'; columns are: "
                                      f"{', '.join(schema) or '(none)'}")
            return schema[name]
        case Lit(value=value):
            return _lit_type(value)
        case Unary(op="not", operand=o):
            _expect(o, schema, {"bool"}, "'not'")
            return "bool"
        case Unary(op="neg", operand=o):
            return _expect(o, schema, NUMERIC, "unary '-'")
        case Unary(op="is_null" | "is_not_null", operand=o):
            infer_type(o, schema)
            return "bool"
        case Binary(op="and" | "or", left=a, right=b):
            _expect(a, schema, {"bool"}, f"'{node.op}'")
            _expect(b, schema, {"bool"}, f"'{node.op}'")
            return "bool"
        case Binary(op="=" | "!=" | "<" | "<=" | ">" | ">=", left=a, right=b):
            # Each operand's type once: a chain of comparisons stays linear.
            raw_a, raw_b = infer_type(a, schema), infer_type(b, schema)
            tb = _string_as_temporal(b, raw_b, raw_a)
            ta = _string_as_temporal(a, raw_a, tb)
            if _common(ta, tb) is None or (ta == "bool" and node.op not in ("=", "!=")):
                raise ExpressionError(
                    f"cannot compare {_describe(a)} ({ta}) with {_describe(b)} ({tb})")
            return "bool"
        case Binary(op=op, left=a, right=b):
            ta = _expect(a, schema, NUMERIC, f"'{op}'")
            tb = _expect(b, schema, NUMERIC, f"'{op}'")
            return "int" if ta == tb == "int" and op != "/" else "float"
        case InList(operand=o, values=values):
            to = infer_type(o, schema)
            for lit in values:
                tl = _string_as_temporal(lit, _lit_type(lit.value), to)
                if _common(to, tl) is None:
                    raise ExpressionError(f"'in' list value {lit.value!r} ({tl}) does not "
                                          f"match {_describe(o)} ({to})")
            return "bool"
        case Call(fn=fn, args=args):
            return _call_type(fn, args, schema)
    raise ExpressionError("unsupported expression")  # pragma: no cover


def _string_as_temporal(node: Node, own: str, other: str) -> str:
    """A string literal compared with a date/timestamp is read as one ('2024-01-31')."""
    if own == "string" and other in TEMPORAL and isinstance(node, Lit):
        return other
    return own


def _expect(node: Node, schema: Schema, allowed: set[str] | frozenset[str], what: str) -> str:
    t = infer_type(node, schema)
    if t == "null":
        return next(iter(sorted(allowed)))
    if t not in allowed:
        raise ExpressionError(f"{what} needs {' or '.join(sorted(allowed))}, but "
                              f"{_describe(node)} is {t}")
    return t


def _call_type(fn: str, args: tuple[Node, ...], schema: Schema) -> str:
    spec = FUNCTIONS[fn]
    if not spec.min_args <= len(args) <= spec.max_args:
        counts = (str(spec.min_args) if spec.min_args == spec.max_args
                  else f"{spec.min_args} to {spec.max_args}")
        raise ExpressionError(f"{fn}() takes {counts} arguments, got {len(args)}")
    what = f"{fn}()"
    if fn in ("lower", "upper", "trim"):
        _expect(args[0], schema, {"string"}, what)
        return "string"
    if fn == "length":
        _expect(args[0], schema, {"string"}, what)
        return "int"
    if fn in ("contains", "starts_with", "ends_with"):
        for a in args:
            _expect(a, schema, {"string"}, what)
        return "bool"
    if fn == "concat":
        for a in args:
            infer_type(a, schema)
        return "string"
    if fn == "abs":
        return _expect(args[0], schema, NUMERIC, what)
    if fn in ("floor", "ceil"):
        _expect(args[0], schema, NUMERIC, what)
        return "int"
    if fn in ("sqrt", "ln"):
        _expect(args[0], schema, NUMERIC, what)
        return "float"
    if fn == "round":
        _expect(args[0], schema, NUMERIC, what)
        if len(args) == 2:
            digits = args[1]
            if not (isinstance(digits, Lit) and _lit_type(digits.value) == "int"):
                raise ExpressionError("round()'s second argument must be an integer literal")
            if not -MAX_ROUND_DIGITS <= int(digits.value) <= MAX_ROUND_DIGITS:  # type: ignore[arg-type]
                raise ExpressionError(f"round()'s digits must be between -{MAX_ROUND_DIGITS} "
                                      f"and {MAX_ROUND_DIGITS}")
        return "float"
    if fn in ("year", "month", "day", "hour", "weekday"):
        _expect(args[0], schema, TEMPORAL, what)
        return "int"
    if fn == "date_trunc":
        unit = args[0]
        if not (isinstance(unit, Lit) and isinstance(unit.value, str)
                and unit.value.lower() in DATE_UNITS):
            raise ExpressionError(f"date_trunc()'s first argument must be one of "
                                  f"{', '.join(repr(u) for u in DATE_UNITS)}")
        return _expect(args[1], schema, TEMPORAL, what)
    if fn == "coalesce":
        result = "null"
        for a in args:
            t = infer_type(a, schema)
            common = _common(result, t)
            if common is None:
                raise ExpressionError(f"coalesce() mixes {result} and {t}")
            result = common
        return result
    raise ExpressionError(f"unknown function '{fn}'")  # pragma: no cover


# How many times the length of its longest input a computed string may be. `concat` adds
# its parts' lengths, so derives that concat each other grow exponentially (nine levels of
# concat(x, x, x, x, x, x, x, x) turned one byte into 128 MiB): refused before they run.
MAX_STRING_GROWTH = 64


def string_growth(node: Node, growth: Mapping[str, int]) -> int:
    """An upper bound on the value's length, in multiples of its longest input column
    (`growth` has the bound of each computed column; other columns count 1)."""
    match node:
        case Column(name=name):
            return growth.get(name, 1)
        case Lit():
            return 0
        case Call(fn="concat", args=args):
            return sum(string_growth(a, growth) for a in args)
        case Call(args=args):
            return max((string_growth(a, growth) for a in args), default=0)
        case Unary(operand=operand) | InList(operand=operand):
            return string_growth(operand, growth)
        case Binary(left=left, right=right):
            return max(string_growth(left, growth), string_growth(right, growth))
    return 0


def check_growth(node: Node, growth: Mapping[str, int]) -> int:
    """The node's growth bound; ExpressionError past MAX_STRING_GROWTH."""
    bound = string_growth(node, growth)
    if bound > MAX_STRING_GROWTH:
        raise ExpressionError(
            f"this value can grow to {bound}x the length of its inputs (concat over "
            f"computed columns that concat); at most {MAX_STRING_GROWTH}x is allowed")
    return bound


def check(text: str, schema: Schema, *, want: str | None = None) -> tuple[Node, str]:
    """Parse and type-check; `want="bool"` for filters."""
    node = parse(text)
    t = infer_type(node, schema)
    if want is not None and t not in (want, "null"):
        raise ExpressionError(f"expression must be {want}, but it is {t}")
    return node, t


# ---------------------------------------------------------------- SQL


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN",
             "timestamp": "TIMESTAMP", "date": "DATE"}


@dataclass
class Sql:
    """A SQL fragment being built, with its bound parameters in order."""

    params: list[Any]

    def bind(self, value: Any, cast: str | None = None) -> str:
        """A numbered placeholder (`$n`), so fragments may be nested in any order."""
        self.params.append(value)
        marker = f"${len(self.params)}"
        return f"CAST({marker} AS {cast})" if cast else marker


def to_sql(node: Node, schema: Schema, sql: Sql) -> str:
    """Compile a type-checked AST to DuckDB SQL; literals go to `sql.params`."""
    match node:
        case Column(name=name):
            return quote_ident(name)
        case Lit(value=None):
            return "NULL"
        case Lit(value=bool(value)):
            return "TRUE" if value else "FALSE"
        case Lit(value=int(value)):
            return sql.bind(value, "BIGINT")
        case Lit(value=float(value)):
            return sql.bind(value, "DOUBLE")
        case Lit(value=str(value)):
            return sql.bind(value, "VARCHAR")
        case Unary(op="not", operand=o):
            return f"(NOT {to_sql(o, schema, sql)})"
        case Unary(op="neg", operand=o):
            return f"(-{to_sql(o, schema, sql)})"
        case Unary(op="is_null", operand=o):
            return f"({to_sql(o, schema, sql)} IS NULL)"
        case Unary(op="is_not_null", operand=o):
            return f"({to_sql(o, schema, sql)} IS NOT NULL)"
        case Binary(op="and" | "or", left=a, right=b):
            return f"({to_sql(a, schema, sql)} {node.op.upper()} {to_sql(b, schema, sql)})"
        case Binary(op="=" | "!=" | "<" | "<=" | ">" | ">=", left=a, right=b):
            return f"({_operand(a, b, schema, sql)} {node.op} {_operand(b, a, schema, sql)})"
        case Binary(op="/", left=a, right=b):
            # SQL semantics, spelled out: x / 0 is NULL rather than an error or inf.
            return (f"(CAST({to_sql(a, schema, sql)} AS DOUBLE) / "
                    f"NULLIF(CAST({to_sql(b, schema, sql)} AS DOUBLE), 0))")
        case Binary(op="%", left=a, right=b):
            return f"({to_sql(a, schema, sql)} % NULLIF({to_sql(b, schema, sql)}, 0))"
        case Binary(op=op, left=a, right=b):
            return f"({to_sql(a, schema, sql)} {op} {to_sql(b, schema, sql)})"
        case InList(operand=o, values=values):
            items = ", ".join(_operand(v, o, schema, sql) for v in values)
            return f"({to_sql(o, schema, sql)} {'NOT IN' if node.negated else 'IN'} ({items}))"
        case Call(fn=fn, args=args):
            return _call_sql(fn, args, schema, sql)
    raise ExpressionError("unsupported expression")  # pragma: no cover


def _operand(node: Node, other: Node, schema: Schema, sql: Sql) -> str:
    """A string literal facing a temporal operand is bound as that type."""
    if isinstance(node, Lit) and isinstance(node.value, str):
        other_type = infer_type(other, schema)
        if other_type in TEMPORAL:
            return sql.bind(node.value, SQL_TYPES[other_type])
    return to_sql(node, schema, sql)


def _call_sql(fn: str, args: tuple[Node, ...], schema: Schema, sql: Sql) -> str:
    if fn == "date_trunc":
        unit = args[0]
        assert isinstance(unit, Lit) and isinstance(unit.value, str)
        inner = to_sql(args[1], schema, sql)
        sql_unit = unit.value.lower()  # one of DATE_UNITS, checked by infer_type
        truncated = f"date_trunc('{sql_unit}', {inner})"
        if infer_type(args[1], schema) == "timestamp":
            return f"CAST({truncated} AS TIMESTAMP)"
        return f"CAST({truncated} AS DATE)"
    if fn == "round":
        digits = args[1].value if len(args) == 2 and isinstance(args[1], Lit) else 0
        return f"round(CAST({to_sql(args[0], schema, sql)} AS DOUBLE), {int(digits or 0)})"
    if fn in ("floor", "ceil"):
        return f"CAST({fn}({to_sql(args[0], schema, sql)}) AS BIGINT)"
    if fn == "ln":
        # NULL, not an error, outside the domain.
        inner = to_sql(args[0], schema, sql)
        return f"(CASE WHEN {inner} > 0 THEN ln({inner}) END)"
    if fn == "sqrt":
        inner = to_sql(args[0], schema, sql)
        return f"(CASE WHEN {inner} >= 0 THEN sqrt({inner}) END)"
    if fn == "weekday":
        return f"isodow({to_sql(args[0], schema, sql)})"
    if fn == "concat":
        parts = ", ".join(f"CAST({to_sql(a, schema, sql)} AS VARCHAR)" for a in args)
        return f"concat({parts})"
    if fn in ("year", "month", "day", "hour", "length"):
        return f"CAST({fn}({to_sql(args[0], schema, sql)}) AS BIGINT)"
    compiled = ", ".join(to_sql(a, schema, sql) for a in args)
    return f"{fn}({compiled})"


def compile_expression(text: str, schema: Schema, *, want: str | None = None,
                       params: list[Any] | None = None) -> tuple[str, list[Any], str]:
    """Text -> (DuckDB SQL, parameters, logical type)."""
    node, t = check(text, schema, want=want)
    sql = Sql(params if params is not None else [])
    return to_sql(node, schema, sql), sql.params, t


def render_columns(names: Sequence[str]) -> str:
    return ", ".join(quote_ident(n) for n in names)
