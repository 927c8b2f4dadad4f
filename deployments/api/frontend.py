"""The built dashboard (frontend/dist) served at `/`, next to the API at /api/v1.

Hashed assets are immutable (cached for a year, CDN-ready); index.html and the service
worker are revalidated on every load, so a new build is picked up at once. Any other
path that is not a file answers index.html (client-side routes such as /datasets/<id>)."""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
# The dashboard loads only from its own origin; 'self' covers its WebSocket (same host,
# ws/wss). Charts set inline style attributes, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; "
    "manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
REVALIDATE = "no-cache"


def default_frontend_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "frontend" / "dist"


class SpaFiles(StaticFiles):
    """The router's fallback (`app.router.default`): only requests no API route matched,
    even partially, get here, so API 404s and 405s are unchanged."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=str(directory), html=True, check_dir=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(404)
        await super().__call__(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.startswith("api/") or path == "api":
            raise HTTPException(404)  # unknown API paths stay problem+json 404s
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            # A missing file (name with an extension) stays 404; anything else is a route.
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
            response = await super().get_response("index.html", scope)
        response = await self._precompressed(path, scope, response)
        hashed = path.startswith("assets/")
        response.headers["Cache-Control"] = IMMUTABLE if hashed else REVALIDATE
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    async def _precompressed(self, path: str, scope: Scope, response: Response) -> Response:
        """The build's .br / .gz sibling when the client accepts it (same ETag logic and
        304s, per variant); `Vary` tells caches the body depends on Accept-Encoding."""
        if response.status_code != 200 or not isinstance(response, FileResponse):
            return response
        accepted = Headers(scope=scope).get("accept-encoding", "")
        for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
            if encoding not in accepted:
                continue
            full, stat = self.lookup_path(str(response.path)[len(str(self.directory)) + 1:]
                                          + suffix)
            if stat is None:
                continue
            variant = self.file_response(full, stat, scope)
            variant.headers["Content-Encoding"] = encoding
            variant.headers["Content-Type"] = response.headers["content-type"]
            variant.headers["Vary"] = "Accept-Encoding"
            return variant
        response.headers["Vary"] = "Accept-Encoding"
        return response
