"""Training: each algorithm against scikit-learn run directly on the same split, the
feature schema, importances, CV on Ray tasks, and skops artifacts with trusted types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.metrics import accuracy_score, confusion_matrix, mean_squared_error
from sklearn.model_selection import train_test_split

from pipelines import registry
from pipelines.training import (
    TrainSpec,
    build_pipeline,
    check_spec,
    predict_records,
    prepare_frame,
    train,
)

SCHEMA = {"age": "int", "income": "float", "city": "string", "member": "bool",
          "churned": "string", "spend": "float"}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 600
    age = rng.integers(18, 80, n)
    income = rng.normal(50, 15, n)
    city = rng.choice(["oslo", "rome", "lima"], n)
    member = rng.random(n) < 0.4
    logit = 0.05 * (age - 45) - 0.04 * (income - 50) + np.where(city == "rome", 1.0, -0.5)
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    spend = 3 * income + 10 * member + np.where(city == "lima", 20, 0) + rng.normal(0, 5, n)
    income[rng.random(n) < 0.05] = np.nan  # imputation is part of the pipeline
    return pd.DataFrame({"age": age, "income": income, "city": city, "member": member,
                         "churned": churned, "spend": spend})


def _direct(spec: TrainSpec, frame: pd.DataFrame, features: list[dict]):
    """The same Pipeline and split, built and scored with scikit-learn directly."""
    x = prepare_frame(frame, features)
    y = frame[spec.target]
    stratify = y if spec.task == "classification" else None
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=spec.test_fraction,
                                              random_state=spec.seed, stratify=stratify)
    model = build_pipeline(spec.task, spec.algorithm, features).fit(x_tr, y_tr)
    return model, x_te, y_te


@pytest.mark.parametrize(("task", "algorithm", "target"), [
    ("classification", "logistic", "churned"),
    ("classification", "random_forest", "churned"),
    ("classification", "hist_gradient_boosting", "churned"),
    ("regression", "linear", "spend"),
    ("regression", "random_forest", "spend"),
    ("regression", "hist_gradient_boosting", "spend"),
])
def test_metrics_equal_sklearn_on_the_same_split(frame, task, algorithm, target):
    features = ["age", "income", "city", "member"]
    spec = TrainSpec(model="m", dataset="d", target=target, features=features, task=task,
                     algorithm=algorithm)
    model, info = train(spec, frame, SCHEMA)
    direct, x_te, y_te = _direct(spec, frame, info["features"])
    if task == "classification":
        assert info["metrics"]["accuracy"] == pytest.approx(
            accuracy_score(y_te, direct.predict(x_te)))
        assert 0.5 < info["metrics"]["roc_auc"] <= 1 and "f1" in info["metrics"]
        assert info["classes"] == ["no", "yes"]
        # The model page's confusion matrix and ROC curve come from the same test split.
        matrix = info["diagnostics"]["confusion_matrix"]
        assert matrix["labels"] == ["no", "yes"]
        assert matrix["matrix"] == confusion_matrix(
            y_te, direct.predict(x_te), labels=["no", "yes"]).tolist()
        roc = info["diagnostics"]["roc"]
        assert roc["fpr"][0] == 0 and roc["fpr"][-1] == 1 and roc["tpr"][-1] == 1
        assert len(roc["fpr"]) == len(roc["tpr"]) <= 202
    else:
        rmse = float(np.sqrt(mean_squared_error(y_te, direct.predict(x_te))))
        assert info["metrics"]["rmse"] == pytest.approx(rmse)
        assert info["metrics"]["r2"] > 0.8
        residuals = info["diagnostics"]["residuals"]
        assert len(residuals["actual"]) == len(residuals["predicted"]) == len(y_te)
        assert sorted(residuals["actual"]) == pytest.approx(sorted(y_te.tolist()))
    assert info["train_rows"] == 480
    assert set(info["feature_importances"]) == set(features)
    assert sum(info["feature_importances"].values()) == pytest.approx(1.0, abs=1e-4)
    cities = next(f for f in info["features"] if f["name"] == "city")
    assert cities == {"name": "city", "type": "string", "categories": ["lima", "oslo", "rome"]}
    # What the serving path computes equals the fitted pipeline's own predict.
    records = frame[features].head(20).replace({np.nan: None}).to_dict("records")
    served = predict_records(model, info["features"], records)
    assert [r["prediction"] for r in served] == list(
        model.predict(prepare_frame(frame.head(20), info["features"])))


def test_grid_search_with_cross_validation_picks_the_best(frame):
    spec = TrainSpec(model="m", dataset="d", target="churned", task="classification",
                     algorithm="logistic", grid={"C": [0.0001, 1.0]}, cv_folds=3,
                     features=["age", "income", "city"])
    calls = []

    def run_parallel(fns):
        calls.append(len(fns))
        return [f() for f in fns]

    _, info = train(spec, frame, SCHEMA, run_parallel=run_parallel)
    assert calls == [6]  # 2 grid points x 3 folds, handed over at once
    assert [r["params"] for r in info["cv"]] == [{"C": 0.0001}, {"C": 1.0}]
    assert info["params"] == {"C": 1.0}


def test_spec_problems_name_the_field():
    spec = TrainSpec(model="m", dataset="d", target="city", task="regression",
                     algorithm="logistic", features=["age", "nope", "city"],
                     grid={"max_depth": [3], "C": ["x"]})
    locs = [loc for loc, _ in check_spec(spec, SCHEMA)]
    assert ("algorithm",) in locs and ("target",) in locs
    assert ("features", 1) in locs and ("features", 2) in locs
    assert ("grid", "max_depth") in locs and ("grid", "C", 0) in locs


def test_artifacts_round_trip_and_untrusted_types_are_refused(frame, tmp_path):
    spec = TrainSpec(model="m", dataset="d", target="churned", task="classification",
                     algorithm="random_forest", features=["age", "city"])
    model, info = train(spec, frame, SCHEMA)
    path = registry.artifact_path(tmp_path, "m", 1)
    assert registry.save(model, path) > 0
    loaded = registry.load(path)
    x = prepare_frame(frame.head(50), info["features"])
    assert list(loaded.predict(x)) == list(model.predict(x))

    evil = tmp_path / "evil.skops"
    evil.write_bytes(sio.dumps({"payload": pd.Timestamp("2024-01-01")}))
    with pytest.raises(registry.UntrustedArtifact, match="untrusted"):
        registry.load(evil)
    with pytest.raises(registry.UntrustedArtifact):
        registry.save({"payload": pd.Timestamp("2024-01-01")}, tmp_path / "x.skops")
    corrupt = tmp_path / "corrupt.skops"
    corrupt.write_bytes(b"not a zip")
    with pytest.raises(registry.BrokenArtifact):
        registry.load(corrupt)
    with pytest.raises(registry.BrokenArtifact, match="missing"):
        registry.load(tmp_path / "absent.skops")
