"""More nodes for the shared test Ray session: a second `ray start` on this machine joins
its GCS as a worker node, and goes away the way a lost VM does (every process of that node
SIGKILLed, by pid; the head and the machine's other Ray processes are never touched)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cluster.local_ray import marked_processes
from tests.ray_session import (
    NODE_MARKER,
    OBJECT_STORE_BYTES,
    free_port,
    owned_marker,
    ray_address_file_kept,
)


@dataclass
class WorkerNode:
    node_id: str
    marker: str
    log: Path

    def processes(self) -> list[int]:
        return marked_processes(NODE_MARKER, self.marker)

    def kill(self, timeout_s: float = 60.0) -> None:
        """SIGKILL the node's raylet, agents and workers; return once Ray marks it dead."""
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout_s
        while self.alive():
            assert time.monotonic() < deadline, f"node {self.node_id} still alive in the GCS"
            time.sleep(0.2)
        assert not self.processes(), "processes of the removed node survived"

    def alive(self) -> bool:
        import ray

        return any(n["NodeID"] == self.node_id and n["Alive"] for n in ray.nodes())


@contextmanager
def worker_node(log_dir: Path, num_cpus: int = 2,
                resources: dict[str, float] | None = None) -> Iterator[WorkerNode]:
    """A worker node joined to the current session's cluster, killed on exit."""
    import ray

    before = {n["NodeID"] for n in ray.nodes()}
    marker = owned_marker()
    log = log_dir / f"ray-node-{marker.rsplit('-', 1)[1][:8]}.log"
    # Every port the head uses by default would collide on one machine: give the node its
    # own (agent, metrics, runtime-env agent; workers on OS-chosen ports).
    cmd = [str(Path(sys.executable).with_name("ray")), "start",
           f"--address={ray.get_runtime_context().gcs_address}",
           "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}", "--num-gpus=0",
           f"--object-store-memory={OBJECT_STORE_BYTES}",
           f"--dashboard-agent-listen-port={free_port()}",
           f"--dashboard-agent-grpc-port={free_port()}",
           f"--metrics-export-port={free_port()}",
           f"--runtime-env-agent-port={free_port()}",
           "--min-worker-port=0", "--max-worker-port=0", "--disable-usage-stats",
           "--include-log-monitor=False"]  # as the head (tests/ray_session.py)
    if resources:
        cmd.append(f"--resources={json.dumps(resources)}")
    with log.open("w") as out, ray_address_file_kept():
        started = subprocess.run(cmd, env={**os.environ, NODE_MARKER: marker}, stdout=out,
                                 stderr=subprocess.STDOUT, timeout=120, check=False)
    node = WorkerNode(node_id="", marker=marker, log=log)
    try:
        assert started.returncode == 0, f"`ray start` failed: {log.read_text()[-3000:]}"
        deadline = time.monotonic() + 60
        while not node.node_id:
            new = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["NodeID"] not in before]
            if new:
                node.node_id = new[0]
            else:
                assert time.monotonic() < deadline, "the worker node never joined"
                time.sleep(0.2)
        yield node
    finally:
        if node.processes():
            node.kill()
