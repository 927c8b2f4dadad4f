"""Dependency audits for CI (`make audit`): pip-audit over the locked Python set and
`npm audit --omit=dev` over the dashboard's runtime packages. Fails on any advisory that
has a fixed version (for npm: severity high or critical with a fix available) unless it
is listed, with a reason and a review date, in .ci/audit-allowlist.toml."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def allowlist() -> dict[str, dict[str, str]]:
    data = tomllib.loads((ROOT / ".ci/audit-allowlist.toml").read_text())
    entries = data.get("allow", [])
    for entry in entries:
        missing = {"id", "package", "reason", "reviewed"} - set(entry)
        if missing:
            sys.exit(f"audit allowlist entry {entry} lacks {sorted(missing)}")
    return {e["id"]: e for e in entries}


def python_findings(allowed: dict[str, dict[str, str]]) -> list[str]:
    result = subprocess.run(
        [str(BIN / "pip-audit"), "--disable-pip", "--require-hashes", "-r",
         str(ROOT / "requirements.lock"), "--format", "json", "--progress-spinner", "off"],
        capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        sys.exit(f"pip-audit failed to run:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    failures = []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            line = (f"python {dep['name']} {dep['version']}: {vuln['id']} "
                    f"(fixed in {', '.join(vuln.get('fix_versions') or ['-'])})")
            if ids & set(allowed):
                print(f"allowed   {line}")
            elif vuln.get("fix_versions"):
                failures.append(line)
            else:
                print(f"no fix    {line}")
    skipped = [d["name"] for d in report.get("dependencies", []) if d.get("skip_reason")]
    if skipped:
        print(f"not on PyPI's advisory index (local builds): {', '.join(skipped)}")
    return failures


def npm_findings(allowed: dict[str, dict[str, str]]) -> list[str]:
    result = subprocess.run(["npm", "audit", "--omit=dev", "--json"], cwd=ROOT / "frontend",
                            capture_output=True, text=True, check=False)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        sys.exit(f"npm audit failed to run:\n{result.stderr[-2000:]}")
    failures = []
    for name, vuln in report.get("vulnerabilities", {}).items():
        sources = [v for v in vuln.get("via", []) if isinstance(v, dict)]
        ids = {str(v.get("url", "")).rsplit("/", 1)[-1] for v in sources}
        line = f"npm {name}: {vuln.get('severity')} {sorted(ids)}"
        if ids & set(allowed):
            print(f"allowed   {line}")
        elif vuln.get("severity") in ("high", "critical") and vuln.get("fixAvailable"):
            failures.append(line)
        else:
            print(f"reported  {line}")
    return failures


def main() -> int:
    allowed = allowlist()
    failures = python_findings(allowed) + npm_findings(allowed)
    for line in failures:
        print(f"FAIL      {line}")
    print(f"audit: {len(failures)} unreviewed advisory(ies) with a fix")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
