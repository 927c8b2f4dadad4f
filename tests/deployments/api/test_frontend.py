"""The dashboard's files at `/`: SPA fallback, cache headers, API 404s untouched."""

from __future__ import annotations

import httpx

from cluster.settings import Settings
from deployments.api.main import create_api


async def test_dashboard_is_served_with_cache_headers(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (dist / "sw.js").write_text("self.skipWaiting()")
    app = create_api(Settings(home=tmp_path, jwt_secret="z" * 64, frontend_dir=dist),
                     use_actors=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        index = await client.get("/")
        assert index.status_code == 200 and "root" in index.text
        assert index.headers["cache-control"] == "no-cache"
        asset = await client.get("/assets/index-abc123.js")
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await client.get("/sw.js")).headers["cache-control"] == "no-cache"
        deep = await client.get("/datasets/1234")  # a client-side route
        assert deep.status_code == 200 and "root" in deep.text
        assert (await client.get("/assets/missing.js")).status_code == 404
        api = await client.get("/api/v1/nope")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/api/v1/health")).json() == {"status": "ok"}
        assert (await client.delete("/api/v1/health")).status_code == 405
        assert (await client.post("/somewhere")).status_code == 404


def test_no_dashboard_without_a_build(tmp_path):
    app = create_api(Settings(home=tmp_path, jwt_secret="z" * 64, frontend_dir=tmp_path / "x"),
                     use_actors=False)
    from deployments.api.frontend import SpaFiles

    assert not isinstance(app.router.default, SpaFiles)


async def test_precompressed_assets_and_conditional_requests(tmp_path):
    import gzip

    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    script = ("console.log('helio');\n" * 200).encode()
    (dist / "assets" / "app-1a2b.js").write_bytes(script)
    (dist / "assets" / "app-1a2b.js.gz").write_bytes(gzip.compress(script))
    app = create_api(Settings(home=tmp_path, jwt_secret="z" * 64, frontend_dir=dist),
                     use_actors=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        zipped = await client.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["vary"] == "Accept-Encoding"
        assert zipped.headers["content-type"].startswith("text/javascript")
        assert int(zipped.headers["content-length"]) < len(script) / 5
        assert zipped.content == script  # decoded by the client
        plain = await client.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == script
        assert plain.headers["etag"] != zipped.headers["etag"]  # one ETag per variant
        again = await client.get("/assets/app-1a2b.js", headers={
            "Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
