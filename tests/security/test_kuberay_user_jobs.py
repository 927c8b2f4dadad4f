"""On Kubernetes users' scripts run as RayJobs on their own clusters: the rendered objects
validate against the KubeRay CRD and Kubernetes' schemas, and nothing in them reaches the
platform's Secret, config, data volume or service-account token."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
import yaml

from cluster import rayjobs
from tests.cluster.test_deploy_manifests import KUBERAY, _kustomize, _validate

PLATFORM = {"helio-secrets", "helio-config", "helio-data", "helio-serve-config"}


def _render(tmp_path: Path) -> list[dict]:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "main.py").write_text("print('hi')\n")
    (tmp_path / "pkg" / "util.py").write_text("X = 1\n")
    return rayjobs.render(job_id=str(uuid.uuid4()), argv=["main.py", "--n", "1; rm -rf /"],
                          code=rayjobs.zip_workdir(tmp_path), token="job-token",
                          api_url="http://helio-serve-svc:8000/api/v1")


def _pod_specs(job: dict) -> list[dict]:
    cluster = job["spec"]["rayClusterSpec"]
    specs = [cluster["headGroupSpec"]["template"]["spec"],
             job["spec"]["submitterPodTemplate"]["spec"]]
    return specs + [g["template"]["spec"] for g in cluster.get("workerGroupSpecs", [])]


def test_the_template_and_rendered_objects_validate(tmp_path):
    _validate(yaml.safe_load((KUBERAY / "jobs" / "user-script.yaml").read_text()))
    objects = _render(tmp_path)
    assert [o["kind"] for o in objects] == ["ConfigMap", "Secret", "RayJob"]
    for obj in objects:
        _validate(obj)


def test_no_platform_secret_reaches_a_user_job(tmp_path):
    objects = _render(tmp_path)
    job = objects[-1]
    text = json.dumps(job)
    for name in PLATFORM:
        assert name not in text, name
    assert "envFrom" not in text and "hostPath" not in text
    own_secret = objects[1]["metadata"]["name"]
    for spec in _pod_specs(job):
        assert spec.get("automountServiceAccountToken") is False
        assert "serviceAccountName" not in spec
        for container in spec["containers"]:
            refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
                    if "secretKeyRef" in e.get("valueFrom", {})}
            assert refs <= {own_secret}
        for volume in spec.get("volumes", []):
            assert set(volume) <= {"name", "configMap", "emptyDir"}
            if "configMap" in volume:
                assert volume["configMap"]["name"] == objects[0]["metadata"]["name"]
    # The Secret holds the job token only.
    assert objects[1]["stringData"] == {"token": "job-token"}


def test_the_entrypoint_quotes_arguments_and_ships_the_files(tmp_path):
    objects = _render(tmp_path)
    entrypoint = objects[-1]["spec"]["entrypoint"]
    assert entrypoint.endswith("python main.py --n '1; rm -rf /'")
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(
        objects[0]["binaryData"]["work.zip"])))
    assert sorted(archive.namelist()) == ["main.py", "pkg/util.py"]


def test_oversized_code_is_refused_with_a_clear_message(tmp_path):
    import os

    (tmp_path / "blob.bin").write_bytes(os.urandom(rayjobs.MAX_CODE_BYTES + 1))
    with pytest.raises(rayjobs.RayJobError, match="at most"):
        rayjobs.zip_workdir(tmp_path)


def test_platform_pods_may_create_user_jobs_and_nothing_more():
    docs = _kustomize(KUBERAY / "overlays" / "production")
    role = next(d for d in docs if d["kind"] == "Role")
    granted = {(r, v) for rule in role["rules"] for r in rule["resources"]
               for v in rule["verbs"]}
    assert granted == {(r, v) for r in ("configmaps", "secrets", "rayjobs")
                       for v in ("create", "get", "delete")}
    service = next(d for d in docs if d["kind"] == "RayService")
    cluster = service["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"]["template"]["spec"],
            *(g["template"]["spec"] for g in cluster["workerGroupSpecs"])]
    assert all(p["serviceAccountName"] == "helio-platform" for p in pods)
    config = next(d for d in docs if d["kind"] == "ConfigMap" and
                  d["metadata"]["name"].startswith("helio-config"))
    assert config["data"]["HELIO_SCRIPT_RUNNER"] == "kuberay"
