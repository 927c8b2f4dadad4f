"""The user zone on Kubernetes: a script job as a KubeRay RayJob on its own cluster.

The job driver (platform zone, on the platform's RayService) renders three objects from
kuberay/jobs/user-script.yaml, creates them through the Kubernetes API with its service
account, and waits for the RayJob to end:

- `ConfigMap helio-job-<id>-code`: the job's files, zipped (at most ~1 MiB);
- `Secret helio-job-<id>`: the job's read-only API token, nothing else;
- `RayJob helio-job-<id>`: pods without the platform's Secret, ConfigMap, data volume or
  service-account token; deleted by KubeRay after the job (`shutdownAfterJobFinishes`).
"""

from __future__ import annotations

import base64
import copy
import io
import shlex
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "kuberay" / "jobs" / "user-script.yaml"
MAX_CODE_BYTES = 900 * 1024  # a ConfigMap holds at most 1 MiB
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


class RayJobError(RuntimeError):
    """The user job could not be created or ended badly; the message is for the user."""


def zip_workdir(workdir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(workdir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(workdir).as_posix())
    data = buffer.getvalue()
    if len(data) > MAX_CODE_BYTES:
        raise RayJobError(f"on Kubernetes a script job's files are at most "
                          f"{MAX_CODE_BYTES // 1024} KiB zipped; this one is "
                          f"{len(data) // 1024} KiB")
    return data


def render(*, job_id: str, argv: Sequence[str], code: bytes, token: str, api_url: str,
           image: str | None = None) -> list[dict[str, Any]]:
    """The ConfigMap, Secret and RayJob of one script job."""
    name = f"helio-job-{job_id[:8]}-{job_id[-4:]}"
    job = yaml.safe_load(TEMPLATE.read_text())
    job = copy.deepcopy(job)
    job["metadata"]["name"] = name
    job["metadata"]["labels"]["helio.io/job-id"] = job_id
    job["spec"]["entrypoint"] = (
        "python -m zipfile -e /job/code/work.zip . && " + shlex.join(["python", *argv]))
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    container = head["containers"][0]
    for entry in container["env"]:
        if entry["name"] == "HELIO_API_URL":
            entry["value"] = api_url
        elif entry["name"] == "HELIO_JOB_ID":
            entry["value"] = job_id
        elif entry["name"] == "HELIO_JOB_TOKEN":
            entry["valueFrom"]["secretKeyRef"]["name"] = name
    for volume in head["volumes"]:
        if "configMap" in volume:
            volume["configMap"]["name"] = f"{name}-code"
    if image:
        container["image"] = image
        job["spec"]["submitterPodTemplate"]["spec"]["containers"][0]["image"] = image
    labels = {"app.kubernetes.io/name": "helio", "app.kubernetes.io/component": "user-job",
              "helio.io/job-id": job_id}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": f"{name}-code", "labels": labels},
                  "binaryData": {"work.zip": base64.b64encode(code).decode()}}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": name, "labels": labels},
              "stringData": {"token": token}}
    return [config_map, secret, job]


_PATHS = {"ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
          "Secret": "/api/v1/namespaces/{ns}/secrets",
          "RayJob": "/apis/ray.io/v1/namespaces/{ns}/rayjobs"}


class KubeApi:
    """The Kubernetes API with the pod's service account (in-cluster)."""

    def __init__(self, base_url: str = "https://kubernetes.default.svc",
                 account: Path = SERVICE_ACCOUNT) -> None:
        if not (account / "token").is_file():
            raise RayJobError("HELIO_SCRIPT_RUNNER=kuberay needs a Kubernetes service "
                              "account (none is mounted in this pod)")
        self.namespace = (account / "namespace").read_text().strip()
        self._http = httpx.Client(
            base_url=base_url, verify=str(account / "ca.crt"), timeout=30,
            headers={"Authorization": f"Bearer {(account / 'token').read_text().strip()}"})

    def create(self, obj: dict[str, Any]) -> None:
        path = _PATHS[obj["kind"]].format(ns=self.namespace)
        response = self._http.post(path, json=obj)
        if response.status_code >= 300:
            raise RayJobError(f"Kubernetes refused {obj['kind']} {obj['metadata']['name']}: "
                              f"{response.status_code} {response.text[:300]}")

    def get(self, kind: str, name: str) -> dict[str, Any]:
        response = self._http.get(f"{_PATHS[kind].format(ns=self.namespace)}/{name}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def delete(self, kind: str, name: str) -> None:
        self._http.delete(f"{_PATHS[kind].format(ns=self.namespace)}/{name}")

    def close(self) -> None:
        self._http.close()


def run(api: KubeApi, objects: list[dict[str, Any]], *, poll_s: float = 2.0) -> str:
    """Create the objects, wait for the RayJob to end; its final job status. The token's
    Secret and the code's ConfigMap are deleted whatever happens."""
    job = next(o for o in objects if o["kind"] == "RayJob")
    name = job["metadata"]["name"]
    try:
        for obj in objects:
            api.create(obj)
        while True:
            status = api.get("RayJob", name).get("status", {})
            if status.get("jobStatus") in TERMINAL:
                return str(status["jobStatus"])
            if status.get("jobDeploymentStatus") == "Failed":
                raise RayJobError(f"the RayJob failed: {status.get('message', '')[:300]}")
            time.sleep(poll_s)
    except BaseException:
        api.delete("RayJob", name)
        raise
    finally:
        for obj in objects:
            if obj["kind"] != "RayJob":
                api.delete(obj["kind"], obj["metadata"]["name"])
