"""The test harness stops what a killed test session left running, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.ray_session import HEAD_MARKER, NODE_MARKER, _alive, sweep_orphans


def _sleeper(variable: str, owner: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                            env={**os.environ, variable: f"{owner}-0123abcd"})


def test_processes_of_a_gone_session_are_stopped_and_a_live_ones_kept():
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan_head = _sleeper(HEAD_MARKER, gone.pid)
    orphan_node = _sleeper(NODE_MARKER, gone.pid)
    ours = _sleeper(HEAD_MARKER, os.getpid())
    try:
        swept = sweep_orphans()
        assert {orphan_head.pid, orphan_node.pid} <= set(swept)
        assert ours.pid not in swept
        for process in (orphan_head, orphan_node):
            process.wait(timeout=10)
        assert _alive(ours.pid)
    finally:
        for process in (orphan_head, orphan_node, ours):
            process.kill()
            process.wait()
