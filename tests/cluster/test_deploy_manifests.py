"""Deployment artifacts validate: KubeRay CRs against the KubeRay CRD schemas (vendored in
kuberay/crds), built-in kinds against Kubernetes' schemas, kustomize overlays
rendered and checked, cluster.yaml against the ray wheel's launcher schema, and the
Dockerfile / compose file only reference paths that exist."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cluster.kuberay import SERVE_CONFIG_FILE, render, serve_config_v2
from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
# The KubeRay v1.7.0 CRDs, vendored (kuberay/crds/SOURCE.txt) so validation is hermetic.
CRDS = ROOT / "kuberay" / "crds"
KUBERAY = ROOT / "kuberay"


@functools.cache
def _crd_validator(kind: str) -> Any:
    """The CRD's schema, itself checked against its metaschema once (`jsonschema.validate`
    re-checks a schema on every call: seconds for a KubeRay CRD with its pod templates)."""
    # libyaml's safe loader: the pure-Python one takes seconds for a CRD.
    crd = yaml.load((CRDS / f"ray.io_{kind.lower()}s.yaml").read_text(), Loader=yaml.CSafeLoader)
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate(doc: dict[str, Any]) -> None:
    import kubernetes_validate

    if doc["apiVersion"].startswith("ray.io/"):
        error = jsonschema.exceptions.best_match(_crd_validator(doc["kind"]).iter_errors(doc))
        if error is not None:
            raise error
    else:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def _kustomize(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if REQUIRE_SERVICES:
            pytest.fail("kubectl is required to render the kustomize overlays")
        pytest.skip("kubectl is not installed; it renders the kustomize overlays")
    out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_serve_config_v2_is_generated_from_the_serve_config():
    assert SERVE_CONFIG_FILE.read_text() == render(), "run `helio kuberay-config`"
    config = serve_config_v2()
    ours = yaml.safe_load((ROOT / "deployments" / "serve_config.yaml").read_text())
    assert config["applications"] == ours["applications"]
    assert config["http_options"]["host"] == "0.0.0.0" and config["http_options"]["port"] == 8000


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_overlays_render_and_validate(overlay):
    docs = _kustomize(KUBERAY / "overlays" / overlay)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ConfigMap", "ConfigMap", "Ingress", "PersistentVolumeClaim", "RayService",
                     "Role", "RoleBinding", "Secret", "ServiceAccount"]
    namespace = {"staging": "helio-staging", "production": "helio"}[overlay]
    for doc in docs:
        assert doc["metadata"]["namespace"] == namespace
        _validate(doc)
    service = next(d for d in docs if d["kind"] == "RayService")
    spec = service["spec"]
    # The Serve config inside the RayService is exactly the generated one.
    assert yaml.safe_load(spec["serveConfigV2"]) == serve_config_v2()
    assert spec["upgradeStrategy"]["type"] == "NewCluster"
    cluster = spec["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["headGroupSpec"]["rayStartParams"]["metrics-export-port"] == "8080"
    for group in cluster["workerGroupSpecs"]:
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        container = group["template"]["spec"]["containers"][0]
        assert container["resources"]["requests"] == container["resources"]["limits"]
        assert {e.get("secretRef", {}).get("name") for e in container["envFrom"]} >= {
            "helio-secrets"}
    cpu = cluster["workerGroupSpecs"][0]
    assert cpu["maxReplicas"] == {"staging": 2, "production": 16}[overlay]
    # Readiness: every Ray container probes its raylet; workers also their Serve proxy, so a
    # pod joins helio-serve-svc only once it can route requests.
    head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]
    workers = [g["template"]["spec"]["containers"][0] for g in cluster["workerGroupSpecs"]]
    for container in [head, *workers]:
        ready = " ".join(container["readinessProbe"]["exec"]["command"])
        assert "local_raylet_healthz" in ready and "livenessProbe" in container
    assert all("/-/healthz" in " ".join(c["readinessProbe"]["exec"]["command"])
               for c in workers)
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    assert ingress["spec"]["tls"][0]["secretName"] == "helio-tls"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "helio-serve-svc", "port": {"number": 8000}}
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert set(secret["stringData"]) >= {"HELIO_DATABASE_URL", "HELIO_REDIS_URL",
                                         "HELIO_JWT_SECRET"}


@pytest.mark.parametrize("path", ["dev/raycluster.yaml", "jobs/pipeline-run.yaml",
                                  "jobs/training-run.yaml", "logging/fluent-bit.yaml"])
def test_standalone_manifests_validate(path):
    docs = [d for d in yaml.safe_load_all((KUBERAY / path).read_text()) if d]
    assert docs
    for doc in docs:
        _validate(doc)
    for job in (d for d in docs if d["kind"] == "RayJob"):
        assert job["spec"]["entrypoint"].startswith("helio run ")
        assert job["spec"]["shutdownAfterJobFinishes"] is True


def test_an_invalid_ray_manifest_is_caught():
    doc = yaml.safe_load((KUBERAY / "dev" / "raycluster.yaml").read_text())
    doc["spec"]["workerGroupSpecs"][0]["maxReplicas"] = "many"
    with pytest.raises(jsonschema.ValidationError):
        _validate(doc)


def test_cluster_yaml_validates_against_the_launcher_schema():
    import ray

    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json")
                        .read_text())
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    assert config["provider"]["type"] == "local"
    assert {"head_ip", "worker_ips"} <= set(config["provider"])
    assert any("--metrics-export-port" in c for c in config["head_start_ray_commands"])


def test_dockerfile_and_compose_reference_existing_paths():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM rayproject/ray:2.60.0-py311" in dockerfile
    for line in dockerfile.splitlines():
        match = re.match(r"COPY (?!--from)(.+) \S+$", line.strip())
        if match:
            for source in match.group(1).split():
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert (ROOT / compose["services"]["helio"]["build"] / "Dockerfile").exists()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            host = volume.split(":", 1)[0]
            if host.startswith("."):
                assert (ROOT / host).exists(), f"compose mounts missing {host}"


def test_grafana_dashboard_queries_metrics_helio_defines():
    dashboard = json.loads((KUBERAY / "grafana" / "helio-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 8
    sources = "\n".join(p.read_text() for folder in ("deployments", "actors")
                        for p in (ROOT / folder).rglob("*.py"))
    for name in {m for e in exprs for m in re.findall(r"ray_(helio_\w+)", e)}:
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        assert f'"{base}"' in sources, f"the dashboard queries {name}, which Helio never defines"
