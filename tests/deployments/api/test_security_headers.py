"""Security headers on every response, CSP on the dashboard, CORS only for listed origins."""

from __future__ import annotations

import httpx

from cluster.settings import Settings
from deployments.api.main import create_api


def _client(app, base="http://t") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


async def test_every_response_carries_the_security_headers(tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    app = create_api(Settings(home=tmp_path, jwt_secret="z" * 64, frontend_dir=dist),
                     use_actors=False)
    async with _client(app) as client:
        for response in (await client.get("/api/v1/health"), await client.get("/api/v1/nope"),
                         await client.get("/api/v1/users/me"), await client.get("/")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert "strict-transport-security" not in response.headers  # plain HTTP
        page = await client.get("/datasets")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "connect-src 'self'" in csp and "*" not in csp
        too_big = await client.post("/api/v1/auth/token", content=b"x" * 10,
                                    headers={"content-length": str(1 << 40)})
        assert too_big.status_code == 413 and too_big.headers["x-frame-options"] == "DENY"
    async with _client(app, "https://t") as client:
        secure = await client.get("/api/v1/health")
        assert secure.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_cors_only_for_configured_origins(tmp_path):
    app = create_api(Settings(home=tmp_path, jwt_secret="z" * 64,
                              cors_origins=["https://app.example"]), use_actors=False)
    async with _client(app) as client:
        listed = await client.options("/api/v1/health", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
        assert listed.headers["access-control-allow-origin"] == "https://app.example"
        other = await client.options("/api/v1/health", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in other.headers
        simple = await client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers
        allowed = await client.get("/api/v1/health", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
