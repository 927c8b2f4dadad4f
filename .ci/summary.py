"""The closing summary of a CI run, printed last so the tail of the log says what happened.

Reads what the phases left behind (stdlib only: it runs even when the install failed):
- reports/phases.tsv: one line per phase (name, exit status, seconds), written by .ci/run;
- reports/pytest.xml: pytest's JUnit XML (failed tests, the 15 slowest, totals);
- reports/vitest.xml: Vitest's JUnit XML;
- reports/playwright.json: Playwright's JSON report (failed and flaky tests, traces);
- reports/e2e-instance/: the logs of the browser suite's Helio instance (copied by its
  global teardown), whose last lines are printed when the browser suite failed.

Usage: python3 .ci/summary.py [reports dir] [the run's exit status]
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WIDTH = 100


@dataclass
class Case:
    name: str
    seconds: float
    outcome: str  # passed | failed | error | skipped | flaky
    message: str = ""


def first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line[:WIDTH * 2]
    return ""


def failing_line(text: str | None) -> str:
    """Where a pytest failure happened, from its long report: the last source line pytest
    marks with `>` and the `path:line` under it (`tests/x.py:20: assert a == b`)."""
    source, where = "", ""
    for line in (text or "").splitlines():
        if line.startswith(">"):
            source = line[1:].strip()
        elif source and re.match(r"^\S+\.py:\d+: ", line):
            where = line.split(": ", 1)[0]
    return f"at {where}: {source}"[:WIDTH * 2] if where and source else ""


def browser_error(err: dict[str, Any]) -> str:
    """A Playwright error's first line, what it waited on (`Locator: ...`) and where."""
    text = _strip_ansi(err.get("message", ""))
    lines = [first_line(text)]
    lines += [line.strip() for line in text.splitlines() if line.startswith("Locator: ")][:1]
    where = err.get("location") or {}
    if where.get("file"):
        lines.append(f"at {Path(where['file']).name}:{where.get('line')}")
    return "\n      ".join(line[:WIDTH * 2] for line in lines if line)


def junit_cases(path: Path) -> list[Case]:
    if not path.is_file():
        return []
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - our own report file
    except ET.ParseError as exc:
        print(f"  (could not read {path}: {exc})")
        return []
    cases = []
    for tc in root.iter("testcase"):
        classname = tc.get("classname", "")
        name = f"{classname.replace('.', '/')}.py::{tc.get('name')}" if classname else str(
            tc.get("name"))
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = tc.find(tag)
            if node is not None:
                outcome = "failed" if tag == "failure" else tag
                message = first_line(node.get("message")) or first_line(node.text)
                if tag != "skipped" and (line := failing_line(node.text)):
                    message = f"{message}\n      {line}"
                break
        cases.append(Case(name, float(tc.get("time") or 0.0), outcome, message))
    return cases


def playwright_cases(path: Path) -> tuple[list[Case], list[str]]:
    """Cases and the trace/attachment paths of failed tests."""
    if not path.is_file():
        return [], []
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        print(f"  (could not read {path}: {exc})")
        return [], []
    cases: list[Case] = []
    traces: list[str] = []

    def walk(suite: dict[str, Any], prefix: str) -> None:
        title = suite.get("title", "")
        here = f"{prefix} › {title}" if prefix and title else (title or prefix)
        for spec in suite.get("specs", []):
            for test in spec.get("tests", []):
                results = test.get("results", [])
                status = test.get("status", "")  # expected | unexpected | flaky | skipped
                outcome = {"expected": "passed", "unexpected": "failed", "flaky": "flaky",
                           "skipped": "skipped"}.get(status, status or "failed")
                seconds = sum(r.get("duration", 0) for r in results) / 1000
                message = ""
                for r in results:
                    if r.get("status") not in ("passed", "skipped"):
                        err = r.get("error") or {}
                        message = message or browser_error(err)
                        for att in r.get("attachments", []):
                            if att.get("path") and att.get("name") in ("trace", "screenshot"):
                                traces.append(att["path"])
                cases.append(Case(f"{here} › {spec.get('title')}", seconds, outcome, message))
        for child in suite.get("suites", []):
            walk(child, here)

    for suite in report.get("suites", []):
        walk(suite, "")
    for err in report.get("errors", []):  # global setup/teardown failures
        cases.append(Case("(browser suite setup)", 0.0, "error",
                          first_line(_strip_ansi(err.get("message", "")))))
    return cases, traces


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def tail(path: Path, lines: int) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def totals(label: str, cases: list[Case]) -> str:
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.outcome] = counts.get(c.outcome, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no results"
    return f"{label}: {parts}; {sum(c.seconds for c in cases):.0f} s in tests"


def main() -> int:
    reports = Path(sys.argv[1] if len(sys.argv) > 1 else "reports")
    print("=" * WIDTH)
    print("CI SUMMARY")
    phases = [line.split("\t") for line in tail(reports / "phases.tsv", 50) if line.strip()]
    if phases:
        print("phases:")
        for name, rc, secs in phases:
            state = "ok" if rc == "0" else ("skipped" if rc == "-" else f"FAILED (exit {rc})")
            mins, s = divmod(int(float(secs)), 60)
            print(f"  {name:<16} {mins:3d} min {s:2d} s  {state}")

    py = junit_cases(reports / "pytest.xml")
    vt = junit_cases(reports / "vitest.xml")
    pw, traces = playwright_cases(reports / "playwright.json")

    slow = sorted(py, key=lambda c: c.seconds, reverse=True)[:15]
    if slow:
        print("slowest pytest tests:")
        for c in slow:
            print(f"  {c.seconds:7.1f} s  {c.name}")

    flaky = [c for c in pw if c.outcome == "flaky"]
    if flaky:
        print("FLAKY (passed only on retry; a defect to fix):")
        for c in flaky:
            print(f"  {c.name}")

    failed = [(suite, c) for suite, cases in (("pytest", py), ("vitest", vt), ("browser", pw))
              for c in cases if c.outcome in ("failed", "error")]
    if any(rc not in ("0", "-") for _, rc, _ in phases) and any(
            name == "browser" and rc not in ("0", "-") for name, rc, _ in phases):
        instance = reports / "e2e-instance"
        if traces:
            print("browser suite traces (npx playwright show-trace <file>):")
            for t in traces[:10]:
                print(f"  {t}")
        for log in sorted(instance.glob("**/*")) if instance.is_dir() else []:
            if log.is_file() and log.suffix in (".log", ".err", ".out") and log.stat().st_size:
                print(f"--- last lines of {log}")
                for line in tail(log, 8):
                    print(f"  {line[:WIDTH * 2]}")

    print(totals("pytest", py))
    print(totals("vitest", vt))
    print(totals("browser", pw))
    if failed:
        print(f"FAILED TESTS ({len(failed)}):")
        for suite, c in failed:
            print(f"  [{suite}] {c.name}")
            if c.message:
                print(f"      {c.message}")
    bad = [name for name, rc, _ in phases if rc not in ("0", "-")]
    status = sys.argv[2] if len(sys.argv) > 2 else "0"
    if bad:
        print(f"RESULT: RED: {', '.join(bad)} failed")
    elif status != "0":
        print(f"RESULT: RED: the run stopped with exit {status} "
              f"{'after' if phases else 'before'} its phases (see the lines above)")
    else:
        print("RESULT: GREEN")
    print("=" * WIDTH)
    return 1 if bad or status != "0" else 0


if __name__ == "__main__":
    sys.exit(main())
