from __future__ import annotations

from pathlib import Path

from ray.serve.schema import ServeDeploySchema

from cluster.serve_deploy import load_serve_config, render_serve_config
from cluster.settings import Settings
from deployments.app import AppArgs, build_app


def test_serve_config_is_valid_for_serve_deploy():
    config = load_serve_config()
    schema = ServeDeploySchema.model_validate(config)
    [app] = schema.applications
    assert app.import_path == "deployments.app:build_app"
    assert config["logging_config"]["enable_access_log"] is False
    ingress = config["applications"][0]["deployments"][0]
    assert ingress["name"] == "ApiIngress" and ingress["max_ongoing_requests"] > 5


def test_render_fills_bind_address_and_tls(tmp_path):
    cert, key = Path(tmp_path / "c.pem"), Path(tmp_path / "k.pem")
    settings = Settings(home=tmp_path, host="0.0.0.0", port=8443, ssl_certfile=cert,
                        ssl_keyfile=key, access_log=True)
    config = render_serve_config(settings)
    ServeDeploySchema.model_validate(config)
    assert config["http_options"]["host"] == "0.0.0.0"
    assert config["http_options"]["port"] == 8443
    assert config["http_options"]["ssl_certfile"] == str(cert)
    assert config["logging_config"]["enable_access_log"] is True
    assert load_serve_config()["http_options"]["host"] == "127.0.0.1"  # the file is untouched


def test_build_app_rejects_unknown_args():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        build_app({"setings": {}})
    assert build_app(AppArgs()) is not None


def test_config_names_every_deployment_of_the_app_with_autoscaling():
    config = load_serve_config()
    configured = {d["name"]: d for d in config["applications"][0]["deployments"]}
    assert set(configured) == {"ApiIngress", "TabularPredictor", "TextEncoder"}
    for deployment in configured.values():
        autoscaling = deployment["autoscaling_config"]
        assert autoscaling["min_replicas"] >= 1
        assert autoscaling["max_replicas"] >= autoscaling["min_replicas"]
        assert autoscaling["target_ongoing_requests"] > 0
