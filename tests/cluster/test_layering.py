"""Imports point one way (README, "Layout"): the CLI on top; then the Serve app, the API,
and the job runner and handlers; then the catalog, `pipelines/` and the actors; the core
at the bottom. A module may import its own layer and the layers below, never above."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cluster", "deployments", "actors", "pipelines")

# Most specific prefix wins. 1 = top.
LAYERS = {
    "cluster.cli": 1,
    "deployments": 2,
    "actors.runner": 2,
    "actors.scheduler": 2,
    "cluster.catalog": 3,
    "pipelines": 3,
    "actors": 3,
    "cluster": 4,
}


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module in PACKAGES:  # `from pipelines import engine`
                names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.split(".")[0] in PACKAGES]
    return found


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def violations() -> list[str]:
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            here = module_of(path)
            for line, target in imports(path):
                if layer(target) < layer(here):
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: {here} (layer "
                                 f"{layer(here)}) imports {target} (layer {layer(target)})")
    return wrong


def test_imports_point_down_the_layers() -> None:
    assert violations() == []


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a core module importing the API is flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("from deployments.api.context import ApiContext\nimport cluster.cli\n")
    assert [(n, layer(t)) for n, t in imports(bad)] == [(1, 2), (2, 1)]
    assert layer("cluster.settings") == 4 and layer("cluster.catalog.jobs") == 3
    assert layer("actors.runner.handlers.pipeline") == 2 and layer("actors.cache") == 3
    assert layer("pipelines.engine") > layer("actors.runner.execute")


def test_the_job_lifecycle_has_one_home() -> None:
    """Claim, progress, finish and retry of a job are written in the catalog only."""
    needles = ("Job.status == JobStatus.queued.value", "JobStatus.running.value)")
    owners = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            if "update(Job)" in text and any(n in text for n in needles):
                owners.add(module_of(path))
    assert owners == {"cluster.catalog.jobs"}, owners
