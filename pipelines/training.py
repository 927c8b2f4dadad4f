"""Training tabular models: a scikit-learn Pipeline (imputation, scaling, one-hot) plus an
estimator, an optional small grid searched with k-fold cross-validation as parallel Ray
tasks, held-out metrics and feature importances.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

Task = Literal["classification", "regression", "text_classification"]
Algorithm = Literal["linear", "logistic", "random_forest", "hist_gradient_boosting",
                    "embeddings_logistic"]
# Text models: the text column is embedded with the platform's sentence encoder and a
# logistic regression is fitted on the (L2-normalised) embeddings.
EMBEDDING_COLUMN = "__embedding"
MAX_CATEGORIES = 1000
MAX_GRID = 32

ESTIMATORS: dict[tuple[str, str], Callable[[], BaseEstimator]] = {
    ("classification", "logistic"): lambda: LogisticRegression(max_iter=2000),
    ("classification", "linear"): lambda: LogisticRegression(max_iter=2000),
    ("classification", "random_forest"): lambda: RandomForestClassifier(
        n_estimators=100, random_state=0, n_jobs=1),
    ("classification", "hist_gradient_boosting"): lambda: HistGradientBoostingClassifier(
        random_state=0),
    ("text_classification", "embeddings_logistic"): lambda: LogisticRegression(max_iter=2000),
    ("regression", "linear"): LinearRegression,
    ("regression", "random_forest"): lambda: RandomForestRegressor(
        n_estimators=100, random_state=0, n_jobs=1),
    ("regression", "hist_gradient_boosting"): lambda: HistGradientBoostingRegressor(
        random_state=0),
}
# Grid parameters a user may set, per algorithm (prefixed "model__" in the Pipeline).
GRID_PARAMS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "logistic": {"C": (int, float)},
    "embeddings_logistic": {"C": (int, float)},
    "linear": {"C": (int, float)},
    "random_forest": {"n_estimators": int, "max_depth": (int, type(None)),
                      "min_samples_leaf": int},
    "hist_gradient_boosting": {"learning_rate": (int, float), "max_iter": int,
                               "max_depth": (int, type(None)), "max_leaf_nodes": int},
}


class TrainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                       description="Registry name; the trained model becomes its next version.")
    dataset: str = Field(min_length=1, max_length=200)
    version: int | None = Field(default=None, ge=1)
    target: str = Field(min_length=1, max_length=200)
    features: list[str] | None = Field(default=None, min_length=1, max_length=500,
                                       description="Default: every other column.")
    task: Task
    algorithm: Algorithm
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    cv_folds: int = Field(default=0, ge=0, le=10, description="0: no cross-validation")
    test_fraction: float = Field(default=0.2, gt=0, lt=0.9)
    seed: int = 0
    description: str | None = Field(default=None, max_length=2000)

    @field_validator("grid")
    @classmethod
    def _grid(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        size = 1
        for name, options in value.items():
            if not options:
                raise ValueError(f"grid parameter '{name}' has no values")
            size *= len(options)
        if size > MAX_GRID:
            raise ValueError(f"the grid has {size} combinations; at most {MAX_GRID}")
        return value


def check_spec(spec: TrainSpec, schema: dict[str, str]) -> list[tuple[tuple[str | int, ...],
                                                                       str]]:
    """Problems as (loc, message) against the dataset's schema (empty when fine)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if (spec.task, spec.algorithm) not in ESTIMATORS:
        problems.append((("algorithm",), f"'{spec.algorithm}' does not do {spec.task}"))
    if spec.target not in schema:
        problems.append((("target",), f"unknown column '{spec.target}'"))
    elif spec.task == "regression" and schema[spec.target] not in ("int", "float"):
        problems.append((("target",), f"regression needs a numeric target; "
                                      f"'{spec.target}' is {schema[spec.target]}"))
    for i, name in enumerate(spec.features or []):
        if name not in schema:
            problems.append((("features", i), f"unknown column '{name}'"))
        elif name == spec.target:
            problems.append((("features", i), "the target cannot also be a feature"))
        elif schema[name] not in ("int", "float", "string", "bool"):
            problems.append((("features", i), f"column '{name}' ({schema[name]}) cannot be a "
                                              "feature; use int, float, string or bool"))
    if spec.task == "text_classification" and spec.target in schema:
        texts = feature_columns(spec, schema)
        if len(texts) != 1:
            problems.append((("features",), "text classification takes exactly one text "
                                            "column; name it in 'features'"))
        elif texts[0] in schema and schema[texts[0]] != "string":
            problems.append((("features", 0), f"column '{texts[0]}' is {schema[texts[0]]}, "
                                              "not text"))
    allowed = GRID_PARAMS.get(spec.algorithm, {})
    for name, options in spec.grid.items():
        if name not in allowed:
            problems.append((("grid", name), f"'{spec.algorithm}' has no tunable '{name}'; "
                                             f"use: {', '.join(sorted(allowed))}"))
            continue
        for j, option in enumerate(options):
            if isinstance(option, bool) or not isinstance(option, allowed[name]):
                problems.append((("grid", name, j), f"{option!r} is not a valid {name}"))
    return problems


def feature_columns(spec: TrainSpec, schema: dict[str, str]) -> list[str]:
    if spec.features:
        return list(spec.features)
    kinds = ("string",) if spec.task == "text_classification" else (
        "int", "float", "string", "bool")
    return [c for c, t in schema.items() if c != spec.target and t in kinds]


def feature_schema(frame: pd.DataFrame, columns: Sequence[str], schema: dict[str, str]
                   ) -> list[dict[str, Any]]:
    """What predict requests must look like: names, types, known categories."""
    out = []
    for name in columns:
        entry: dict[str, Any] = {"name": name, "type": schema[name]}
        if schema[name] in ("string", "bool"):
            values = frame[name].dropna().unique().tolist()
            entry["categories"] = sorted(map(str, values))[:MAX_CATEGORIES]
        out.append(entry)
    return out


def build_pipeline(task: str, algorithm: str, features: list[dict[str, Any]]) -> Pipeline:
    if task == "text_classification":  # inputs are embeddings: no preprocessing
        return Pipeline([("model", ESTIMATORS[(task, algorithm)]())])
    numeric = [f["name"] for f in features if f["type"] in ("int", "float")]
    categorical = [f["name"] for f in features if f["type"] in ("string", "bool")]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline([
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler())]), numeric))
    if categorical:
        transformers.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]),
            categorical))
    return Pipeline([("prepare", ColumnTransformer(transformers)),
                     ("model", ESTIMATORS[(task, algorithm)]())])


def prepare_frame(frame: pd.DataFrame, features: list[dict[str, Any]]) -> pd.DataFrame:
    """Inputs as the Pipeline expects them: numbers as float, categories as strings; for a
    text model, the embedding matrix (one column per dimension, unnamed)."""
    if features and features[0]["type"] == "text":
        column = frame[EMBEDDING_COLUMN] if EMBEDDING_COLUMN in frame else frame[
            features[0]["name"]]
        return pd.DataFrame(np.asarray(column.tolist(), dtype=np.float32), index=frame.index)
    out = {}
    for f in features:
        column = frame[f["name"]]
        if f["type"] in ("int", "float"):
            out[f["name"]] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:
            out[f["name"]] = column.astype("object").where(column.notna(), np.nan).map(
                lambda v: v if isinstance(v, float) else str(v))
    return pd.DataFrame(out, index=frame.index)


def score(task: str, pipeline: Pipeline, x: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    predicted = pipeline.predict(x)
    if task == "regression":
        return {"rmse": float(np.sqrt(mean_squared_error(y, predicted))),
                "mae": float(mean_absolute_error(y, predicted)),
                "r2": float(r2_score(y, predicted))}
    metrics = {"accuracy": float(accuracy_score(y, predicted)),
               "f1": float(f1_score(y, predicted, average="binary" if y.nunique() == 2
                                    else "macro", pos_label=sorted(y.unique())[-1]
                                    if y.nunique() == 2 else 1))}
    if hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(x)
        try:
            if proba.shape[1] == 2:
                metrics["roc_auc"] = float(roc_auc_score(y, proba[:, 1]))
            else:
                metrics["roc_auc"] = float(roc_auc_score(y, proba, multi_class="ovr",
                                                         labels=pipeline.classes_))
        except ValueError:  # a class missing from the test split
            pass
    return metrics


def diagnostics(task: str, pipeline: Pipeline, x: pd.DataFrame, y: pd.Series,
                max_points: int = 200) -> dict[str, Any]:
    """What the model page draws, on the test split: the confusion matrix and (binary) the
    ROC curve for classifiers; predicted against actual values (a sample) for regressors."""
    predicted = pipeline.predict(x)
    if task == "regression":
        rng = np.random.default_rng(0)
        pick = rng.choice(len(y), size=min(max_points, len(y)), replace=False)
        return {"residuals": {"actual": [float(v) for v in np.asarray(y)[pick]],
                              "predicted": [float(v) for v in np.asarray(predicted)[pick]]}}
    labels = list(pipeline.classes_)
    out: dict[str, Any] = {"confusion_matrix": {
        "labels": [c.item() if hasattr(c, "item") else c for c in labels],
        "matrix": confusion_matrix(y, predicted, labels=labels).tolist()}}
    if len(labels) == 2 and hasattr(pipeline, "predict_proba"):
        fpr, tpr, _ = roc_curve(y, pipeline.predict_proba(x)[:, 1], pos_label=labels[1])
        step = max(1, len(fpr) // max_points)
        keep = sorted({*range(0, len(fpr), step), len(fpr) - 1})
        out["roc"] = {"fpr": [round(float(fpr[i]), 4) for i in keep],
                      "tpr": [round(float(tpr[i]), 4) for i in keep]}
    return out


def _cv_score(pipeline: Pipeline, params: dict[str, Any], task: str, x: pd.DataFrame,
              y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray) -> float:
    model = clone(pipeline).set_params(**{f"model__{k}": v for k, v in params.items()})
    model.fit(x.iloc[train_idx], y.iloc[train_idx])
    metrics = score(task, model, x.iloc[test_idx], y.iloc[test_idx])
    return -metrics["rmse"] if task == "regression" else metrics["accuracy"]


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    if not grid:
        return [{}]
    names = sorted(grid)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(grid[n] for n in names))]


def train(spec: TrainSpec, frame: pd.DataFrame, schema: dict[str, str],
          run_parallel: Callable[[list[Callable[[], float]]], list[float]] | None = None,
          encoder: dict[str, Any] | None = None) -> tuple[Pipeline, dict[str, Any]]:
    """Fit; returns the fitted Pipeline and everything the registry stores with it.
    Text classification expects the embeddings in `frame["__embedding"]` and the encoder
    that made them in `encoder` ({"name", "dim"}), saved with the feature schema."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    columns = feature_columns(spec, schema)
    frame = frame.dropna(subset=[spec.target])
    if len(frame) < 10:
        raise ValueError(f"only {len(frame)} rows have a target value; need at least 10")
    if spec.task == "text_classification":
        if encoder is None or EMBEDDING_COLUMN not in frame:
            raise ValueError("text classification needs the text column's embeddings")
        features = [{"name": columns[0], "type": "text", **encoder}]
    else:
        features = feature_schema(frame, columns, schema)
    x = prepare_frame(frame, features)
    y = frame[spec.target]
    if spec.task != "regression":
        y = y.astype(str) if schema[spec.target] in ("string", "bool") else y
    if y.nunique() < 2 and spec.task != "regression":
        raise ValueError(f"the target '{spec.target}' has only one class")
    stratify = y if spec.task != "regression" and y.value_counts().min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=spec.test_fraction, random_state=spec.seed, stratify=stratify)
    pipeline = build_pipeline(spec.task, spec.algorithm, features)
    points = grid_points(spec.grid)
    cv: list[dict[str, Any]] = []
    best = points[0]
    if spec.cv_folds >= 2 or len(points) > 1:
        folds = max(2, spec.cv_folds)
        splitter = (StratifiedKFold(folds, shuffle=True, random_state=spec.seed)
                    if stratify is not None else KFold(folds, shuffle=True,
                                                       random_state=spec.seed))
        splits = list(splitter.split(x_train, y_train))
        calls: list[Callable[[], float]] = [
            functools.partial(_cv_score, pipeline, p, spec.task, x_train, y_train, tr, te)
            for p in points for tr, te in splits]
        t0 = time.perf_counter()
        scores = run_parallel(calls) if run_parallel else [c() for c in calls]
        timings["cross_validation_s"] = round(time.perf_counter() - t0, 3)
        for i, point in enumerate(points):
            fold_scores = scores[i * len(splits):(i + 1) * len(splits)]
            cv.append({"params": point, "mean": float(np.mean(fold_scores)),
                       "std": float(np.std(fold_scores)), "folds": len(fold_scores)})
        best = max(cv, key=lambda r: r["mean"])["params"]
    pipeline.set_params(**{f"model__{k}": v for k, v in best.items()})
    t0 = time.perf_counter()
    pipeline.fit(x_train, y_train)
    timings["fit_s"] = round(time.perf_counter() - t0, 3)
    metrics = score(spec.task, pipeline, x_test, y_test)
    timings["total_s"] = round(time.perf_counter() - started, 3)
    classes = [c.item() if hasattr(c, "item") else c for c in pipeline.classes_] \
        if spec.task != "regression" else None
    return pipeline, {
        "features": features, "classes": classes, "params": best, "cv": cv,
        "metrics": metrics,
        "diagnostics": diagnostics(spec.task, pipeline, x_test, y_test),
        "feature_importances": importances(pipeline, features, x_test, y_test, spec.seed),
        "train_rows": len(x_train), "test_rows": len(x_test), "timings": timings,
    }


def importances(pipeline: Pipeline, features: list[dict[str, Any]], x_test: pd.DataFrame,
                y_test: pd.Series, seed: int = 0) -> dict[str, float]:
    """Per input feature (one-hot columns summed back), normalised to sum to 1: the
    model's own importances or |coefficients|, else permutation importance on the test
    split."""
    model = pipeline.named_steps["model"]
    if features and features[0]["type"] == "text":
        return {features[0]["name"]: 1.0}  # one input; its dimensions carry no names
    if hasattr(model, "feature_importances_"):
        raw = np.asarray(model.feature_importances_, dtype=float)
    elif hasattr(model, "coef_"):
        coef = np.asarray(model.coef_, dtype=float)
        raw = np.abs(coef).mean(axis=0) if coef.ndim == 2 else np.abs(coef)
    else:
        from sklearn.inspection import permutation_importance

        result = permutation_importance(pipeline, x_test, y_test, n_repeats=3,
                                        random_state=seed)
        values = np.clip(result.importances_mean, 0, None)
        total = float(values.sum()) or 1.0
        pairs = sorted(zip([f["name"] for f in features], values, strict=True),
                       key=lambda kv: -kv[1])
        return {k: round(float(v) / total, 6) for k, v in pairs}
    names = pipeline.named_steps["prepare"].get_feature_names_out()
    totals: dict[str, float] = {f["name"]: 0.0 for f in features}
    for name, value in zip(names, raw, strict=False):
        kind, _, rest = str(name).partition("__")
        for f in features:
            if rest == f["name"] or (kind == "categorical" and rest.startswith(f["name"] + "_")):
                totals[f["name"]] += float(value)
                break
    total = sum(totals.values()) or 1.0
    return {k: round(v / total, 6) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def predict_records(model: Any, features: list[dict[str, Any]],
                    records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Predictions (and class probabilities) for validated records, one model call."""
    frame = prepare_frame(pd.DataFrame.from_records(records, columns=[f["name"]
                                                                      for f in features]),
                          features)
    if not hasattr(model, "classes_"):  # a regressor
        return [{"prediction": _plain(p)} for p in model.predict(frame)]
    # One pass: the predicted class is the most probable one (what predict computes).
    proba = model.predict_proba(frame)
    predicted = model.classes_[proba.argmax(axis=1)]
    classes = [str(_plain(c)) for c in model.classes_]
    return [{"prediction": _plain(p),
             "probabilities": {c: float(v) for c, v in zip(classes, row, strict=True)}}
            for p, row in zip(predicted, proba, strict=True)]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
