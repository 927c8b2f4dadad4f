"""Deploy Helio's Serve config to a Ray cluster through the dashboard's REST API
(the same path `serve deploy` uses)."""

from __future__ import annotations

import copy
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import yaml

from cluster.settings import Settings

SERVE_CONFIG = "serve_config.yaml"
APP_NAME = "helio"


class DeployError(RuntimeError):
    pass


def load_serve_config(path: Path | None = None) -> dict[str, Any]:
    text = path.read_text() if path else (files("deployments") / SERVE_CONFIG).read_text()
    config: dict[str, Any] = yaml.safe_load(text)
    return config


def render_serve_config(settings: Settings, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fill the deploy-time values (bind address, TLS, log level) in from settings."""
    config = copy.deepcopy(base if base is not None else load_serve_config())
    http = config.setdefault("http_options", {})
    http["host"] = settings.host
    http["port"] = settings.port
    if settings.ssl_certfile and settings.ssl_keyfile:
        http["ssl_certfile"] = str(settings.ssl_certfile)
        http["ssl_keyfile"] = str(settings.ssl_keyfile)
    logging_config = config.setdefault("logging_config", {})
    logging_config["log_level"] = settings.log_level
    logging_config["enable_access_log"] = settings.access_log
    return config


def _auth_headers(ray_env: dict[str, str]) -> dict[str, str]:
    token = ray_env.get("RAY_AUTH_TOKEN")
    if not token and ray_env.get("RAY_AUTH_TOKEN_PATH"):
        token = Path(ray_env["RAY_AUTH_TOKEN_PATH"]).read_text().strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def deploy(dashboard_url: str, config: dict[str, Any], ray_env: dict[str, str],
           timeout_s: float = 120.0) -> None:
    """PUT the config, then wait until every application reports RUNNING."""
    headers = _auth_headers(ray_env)
    url = dashboard_url.rstrip("/") + "/api/serve/applications/"
    with httpx.Client(timeout=60.0, headers=headers) as client:
        response = client.put(url, json=config)
        if response.status_code >= 400:
            raise DeployError(f"Serve rejected the config ({response.status_code}): "
                              f"{response.text[:2000]}")
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = client.get(url)
            if status.status_code == 200:
                last = status.json().get("applications", {})
                states = {name: app.get("status") for name, app in last.items()}
                failed = [n for n, s in states.items() if s in ("DEPLOY_FAILED", "UNHEALTHY")]
                if failed:
                    raise DeployError(f"Serve application(s) {failed} failed: " + "; ".join(
                        str(last[n].get("message", ""))[:2000] for n in failed))
                if states and all(s == "RUNNING" for s in states.values()):
                    return
            time.sleep(0.5)
    raise DeployError(f"Serve applications not RUNNING after {timeout_s:.0f}s: {last}")

