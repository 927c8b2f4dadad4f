"""The test harness stops what a killed test session left running, and nothing else."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cluster.local_ray import process_alive
from tests.ray_session import HEAD_MARKER, NODE_MARKER, TEMP_MARKER, TEMP_PREFIX, sweep_orphans


def _sleeper(variable: str, owner: int, temp_dir: str = "") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                            env={**os.environ, variable: f"{owner}-0123abcd",
                                 **({TEMP_MARKER: temp_dir} if temp_dir else {})})


def test_processes_of_a_gone_session_are_stopped_and_a_live_ones_kept():
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan_dir, our_dir = (tempfile.mkdtemp(prefix=TEMP_PREFIX) for _ in range(2))
    orphan_head = _sleeper(HEAD_MARKER, gone.pid, orphan_dir)
    orphan_node = _sleeper(NODE_MARKER, gone.pid)
    ours = _sleeper(HEAD_MARKER, os.getpid(), our_dir)
    try:
        swept = sweep_orphans()
        assert {orphan_head.pid, orphan_node.pid} <= set(swept)
        assert ours.pid not in swept
        for process in (orphan_head, orphan_node):
            process.wait(timeout=10)
        assert process_alive(ours.pid)
        # The gone session's Ray temp dir goes with its processes; a live one's stays.
        assert not Path(orphan_dir).exists() and Path(our_dir).is_dir()
    finally:
        for process in (orphan_head, orphan_node, ours):
            process.kill()
            process.wait()
        for path in (orphan_dir, our_dir):
            shutil.rmtree(path, ignore_errors=True)
