"""Attack: exhaust the machine from a sandboxed script. A script started 1000 processes in
0.6 s, and nothing bounded memory, CPU time, file size, disk or open files (issue: trust
boundaries, round 2, #2). Each limit here is tight, the script goes over it, and the
sandbox says which limit stopped it. (The wall-clock and disk limits are the runner's:
tests/security/test_user_files.py runs them through Serve.)"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

from cluster import sandbox
from cluster.settings import Settings
from tests.conftest import TEST_SECRET

LIMITS = sandbox.SandboxLimits(processes=32, memory_bytes=256 << 20, cpu_s=2,
                               file_bytes=4 << 20, disk_bytes=64 << 20, open_files=128,
                               wall_s=120)


def _run(tmp_path: Path, code: str, limits: sandbox.SandboxLimits = LIMITS
         ) -> tuple[sandbox.SandboxedScript, str]:
    settings = Settings(home=tmp_path / "home", data_root=str(tmp_path / "data"),
                        jwt_secret=TEST_SECRET, internal_api_url="http://127.0.0.1:9")
    assert sandbox.runner_mode(settings).name == "sandbox"  # CI installs bubblewrap
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.py").write_text(textwrap.dedent(code))
    script = sandbox.start_script(settings=settings, workdir=work, argv=[sys.executable, "main.py"],
                                  job_id="limits-test", job_token="t", stdout=subprocess.PIPE,
                                  limits=limits)
    try:
        out, _ = script.process.communicate(timeout=120)
    finally:
        if script.process.poll() is None:
            script.process.kill()
    return script, out.decode(errors="replace")


def _finish(script: sandbox.SandboxedScript) -> str | None:
    try:
        return script.limit_hit()
    finally:
        script.cleanup()


def test_a_fork_bomb_stops_at_the_process_limit(tmp_path):
    script, out = _run(tmp_path, """
        import os, time
        started = 0
        try:
            for _ in range(1000):
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                started += 1
        except OSError as exc:
            print("REFUSED", started, exc.errno, flush=True)
            os._exit(3)
        print("STARTED", started, flush=True)
    """)
    assert "REFUSED" in out, out
    started = int(out.split("REFUSED")[1].split()[0])
    assert started < LIMITS.processes
    assert script.process.returncode == 3
    assert _finish(script) == ("processes" if script.cgroup is not None else None)


def test_memory_beyond_the_limit_is_refused(tmp_path):
    script, out = _run(tmp_path, """
        blocks = []
        for _ in range(64):
            blocks.append(bytearray(16 << 20))  # 1 GiB in all, touched
        print("ALLOCATED", flush=True)
    """)
    assert "ALLOCATED" not in out, out
    assert script.process.returncode != 0
    hit = _finish(script)
    if script.cgroup is not None:
        assert hit == "memory"
    else:
        assert "MemoryError" in out


def test_a_busy_loop_stops_at_the_cpu_time_limit(tmp_path):
    script, out = _run(tmp_path, """
        while True:
            pass
    """)
    assert _finish(script) == "cpu", (script.process.returncode, out)


def test_a_file_cannot_grow_past_the_file_size_limit(tmp_path):
    script, out = _run(tmp_path, """
        with open("big.bin", "wb") as fh:
            for _ in range(64):
                fh.write(b"x" * (1 << 20))
        print("WROTE", flush=True)
    """)
    assert "WROTE" not in out and "File too large" in out, out
    assert _finish(script) == "file_size"


def test_open_files_are_bounded(tmp_path):
    script, out = _run(tmp_path, """
        import errno
        handles = []
        try:
            for _ in range(5000):
                handles.append(open("main.py"))
        except OSError as exc:
            print("EMFILE" if exc.errno == errno.EMFILE else exc, len(handles), flush=True)
    """)
    assert "EMFILE" in out, out
    assert int(out.split("EMFILE")[1].split()[0]) < LIMITS.open_files
    _finish(script)


def test_tmp_is_bounded_by_the_disk_limit(tmp_path):
    small = dataclasses.replace(LIMITS, disk_bytes=8 << 20, file_bytes=64 << 20)
    script, out = _run(tmp_path, """
        import errno
        try:
            with open("/tmp/fill.bin", "wb") as fh:
                for _ in range(32):
                    fh.write(b"x" * (1 << 20))
                    fh.flush()
        except OSError as exc:
            print("ENOSPC" if exc.errno == errno.ENOSPC else exc, flush=True)
    """, small)
    assert "ENOSPC" in out, out
    _finish(script)


def test_the_limits_tighten_per_job_but_never_widen():
    base = sandbox.SandboxLimits.from_settings(Settings(jwt_secret=TEST_SECRET,
                                                        sandbox_memory_mb=1024,
                                                        sandbox_wall_s=600))
    assert base.tightened(memory_mb=100, timeout_s=5).memory_bytes == 100 << 20
    assert base.tightened(memory_mb=100, timeout_s=5).wall_s == 5
    assert base.tightened(memory_mb=10**6, timeout_s=10**6) == base


def test_a_cgroup_v2_hierarchy_gets_the_same_limits(tmp_path):
    """The v2 layout (one hierarchy; the machines here have v1): the files the kernel
    reads are written, and its event counters name the limit that was hit."""
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    group = sandbox.JobCgroup.create("v2-test", LIMITS, root=tmp_path)
    assert group is not None and group.v2
    [job] = (tmp_path / sandbox.CGROUP_PARENT).glob("job-v2-test-*")
    assert group.dirs == [job]
    # The next start of the same job gets a cgroup of its own.
    again = sandbox.JobCgroup.create("v2-test", LIMITS, root=tmp_path)
    assert again is not None and again.dirs != group.dirs
    assert (job / "pids.max").read_text() == str(LIMITS.processes)
    assert (job / "memory.max").read_text() == str(LIMITS.memory_bytes)
    assert (tmp_path / sandbox.CGROUP_PARENT / "cgroup.subtree_control").read_text() == \
        "+pids +memory"
    assert group.procs_files == [str(job / "cgroup.procs")]
    assert group.limits_hit() == []
    (job / "pids.events").write_text("max 3\n")
    (job / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
    assert group.limits_hit() == ["processes", "memory"]
