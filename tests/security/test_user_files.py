"""Attack: make the platform's job driver import a user's file (issue: trust boundaries,
round 2, #1, critical). A script named `sitecustomize.py`, or a zip holding
`pipelines/run.py`, was imported by `python -m pipelines.run` (uid 0, platform environment)
before any sandbox existed, and read the JWT signing key: the upload was Ray's
`working_dir`, the driver's working directory and first `PYTHONPATH` entry. Now the
driver runs `python -I`, gets no working directory from the job, and stages the files
into the sandbox itself. Every shadowing name below writes a marker on the host when
imported; the markers must stay absent.

Also here: packages installed into the user zone (#8), corrupt archives (#5) and the
sandbox's limits through Serve (#2)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import textwrap
import zipfile
from pathlib import Path

import pytest

from cluster.models import Role
from tests.security.conftest import SANDBOX_MAX_PROCESSES, Stack, Team, wait_job

pytestmark = [pytest.mark.ray, pytest.mark.postgres]

SINGLE_FILES = ["sitecustomize.py", "usercustomize.py", "json.py", "os.py", "pipelines.py",
                "cluster.py", "deployments.py", "actors.py", "ray.py"]
ZIP_FILES = ["sitecustomize.py", "usercustomize.py", "json.py", "os.py",
             "pipelines/__init__.py", "pipelines/run.py", "cluster/__init__.py",
             "cluster/settings.py", "deployments/__init__.py", "actors/__init__.py",
             "actors/runner/__init__.py", "actors/runner/driver.py", "ray/__init__.py"]


def _shadow(marker: Path) -> str:
    """Harmless as a script (the sandbox runs it); imported anywhere, it leaves a marker
    (only the host's filesystem has the marker's directory) and reads the signing key."""
    return textwrap.dedent(f'''
        if __name__ == "__main__":
            print("SANDBOXED", flush=True)
        else:
            with open({str(marker)!r}, "w") as fh:
                fh.write("imported by the platform")
    ''')


async def _logs(http, headers, job_id: str) -> str:
    return str((await http.get(f"/api/v1/jobs/{job_id}/logs", headers=headers)).json()["logs"])


async def _submit(http, headers, name: str, content: bytes, **data: str) -> str:
    submitted = await http.post("/api/v1/jobs", headers=headers,
                                files={"file": (name, io.BytesIO(content))}, data=data)
    assert submitted.status_code == 202, submitted.text
    return str(submitted.json()["id"])


async def test_single_files_with_shadowing_names_only_run_in_the_sandbox(
        stack: Stack, team: Team, http, tmp_path):
    analyst = await team.member(Role.analyst)
    markers = tmp_path / "markers"
    markers.mkdir()
    ids = {name: await _submit(http, analyst.headers, name,
                               _shadow(markers / name).encode()) for name in SINGLE_FILES}
    jobs = await asyncio.gather(*(wait_job(http, analyst.headers, i, 300) for i in ids.values()))
    for name, job in zip(ids, jobs, strict=True):
        logs = await _logs(http, analyst.headers, job["id"])
        assert job["status"] == "succeeded", (name, job["error"], logs[-2000:])
        assert "SANDBOXED" in logs, (name, logs[-2000:])
    assert sorted(p.name for p in markers.iterdir()) == []


async def test_a_zip_full_of_shadowing_modules_only_runs_in_the_sandbox(
        stack: Stack, team: Team, http, tmp_path):
    analyst = await team.member(Role.analyst)
    markers = tmp_path / "markers"
    markers.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ZIP_FILES:
            archive.writestr(name, _shadow(markers / name.replace("/", "_")))
        # A .pth file runs its `import` lines in any interpreter whose site dir holds it.
        archive.writestr("helio-evil.pth", f"import os; open({str(markers / 'pth')!r}, 'w')\n")
        archive.writestr("main.py", 'print("ENTRY RAN", flush=True)\n')
    job_id = await _submit(http, analyst.headers, "work.zip", buffer.getvalue(),
                           entrypoint="main.py")
    job = await wait_job(http, analyst.headers, job_id, 300)
    logs = await _logs(http, analyst.headers, job_id)
    assert job["status"] == "succeeded", (job["error"], logs[-2000:])
    assert "ENTRY RAN" in logs
    assert sorted(p.name for p in markers.iterdir()) == []


def _wheel(directory: Path, name: str, version: str, value: str) -> Path:
    """A minimal real wheel (PEP 427) holding one module."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{name.replace('-', '_')}/__init__.py": f"VALUE = {value!r}\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: helio-test\n"
                                   "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


async def test_a_jobs_package_is_installed_for_that_job_only(stack: Stack, team: Team, http):
    _wheel(stack.wheels, "helio-probe-pkg", "1.0", "probe-value-42")
    analyst = await team.member(Role.analyst)
    script = ("import helio_probe_pkg\n"
              "print('VALUE', helio_probe_pkg.VALUE, helio_probe_pkg.__file__, flush=True)\n")
    job_id = await _submit(http, analyst.headers, "uses_pkg.py", script.encode(),
                           pip=json.dumps(["helio-probe-pkg==1.0"]))
    job = await wait_job(http, analyst.headers, job_id, 300)
    logs = await _logs(http, analyst.headers, job_id)
    assert job["status"] == "succeeded", (job["error"], logs[-2000:])
    assert "VALUE probe-value-42 /job/site/helio_probe_pkg/__init__.py" in logs, logs[-2000:]

    # A package with no wheel here is refused up front, naming why.
    refused = await http.post("/api/v1/jobs", headers=analyst.headers,
                              files={"file": ("x.py", io.BytesIO(b"print(1)"))},
                              data={"pip": json.dumps(["helio-no-such-package==9.9"])})
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert error["loc"] == ["body", "pip"]
    assert "wheels only" in error["msg"]


async def test_a_zip_with_a_bad_crc_is_a_422_naming_the_file(stack: Stack, team: Team, http):
    analyst = await team.member(Role.analyst)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("main.py", "print('hello from a corrupted archive')\n")
    raw = bytearray(buffer.getvalue())
    at = raw.index(b"hello")
    raw[at] ^= 0xFF  # the stored data no longer matches its CRC-32
    response = await http.post("/api/v1/jobs", headers=analyst.headers,
                               files={"file": ("work.zip", io.BytesIO(bytes(raw)))},
                               data={"entrypoint": "main.py"})
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "file"]
    assert "corrupt" in error["msg"]


async def test_a_job_over_a_limit_fails_naming_it(stack: Stack, team: Team, http):
    analyst = await team.member(Role.analyst)
    fork_bomb = textwrap.dedent(f"""
        import os, time
        children = 0
        try:
            for _ in range({2 * SANDBOX_MAX_PROCESSES}):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                children += 1
        finally:
            print("CHILDREN", children, flush=True)
    """)
    sleeper = "import time\nprint('SLEEPING', flush=True)\ntime.sleep(600)\n"
    bomb_id = await _submit(http, analyst.headers, "bomb.py", fork_bomb.encode())
    slow_id = await _submit(http, analyst.headers, "slow.py", sleeper.encode(), timeout_s="3")
    bomb, slow = await asyncio.gather(wait_job(http, analyst.headers, bomb_id, 300),
                                      wait_job(http, analyst.headers, slow_id, 300))
    assert bomb["status"] == "failed"
    assert "process limit" in bomb["error"], bomb["error"]
    bomb_logs = await _logs(http, analyst.headers, bomb_id)
    assert int(bomb_logs.split("CHILDREN")[1].split()[0]) < SANDBOX_MAX_PROCESSES, bomb_logs[-1000:]
    assert slow["status"] == "failed"
    assert "wall-clock limit" in slow["error"], slow["error"]
    assert "wall-clock limit" in await _logs(http, analyst.headers, slow_id)
    # The platform did not notice.
    assert (await http.get("/api/v1/health")).status_code == 200
