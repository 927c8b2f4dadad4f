"""Attack: filling the disk anonymously. Multipart bodies (up to the upload limit) were
spooled before authentication ran; now the gateway authenticates any request with a body
right after its headers."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest

from cluster.models import Role
from tests.security.conftest import Team

pytestmark = [pytest.mark.ray, pytest.mark.postgres]

GIB = 1 << 30


async def _send_headers_only(base: str, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    """Send a request's headers and no body; read whatever the server answers."""
    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        head = [f"POST {url.path}{path} HTTP/1.1", f"Host: {url.hostname}:{url.port}",
                *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        writer.write("\r\n".join(head).encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        length = 0
        while (line := await asyncio.wait_for(reader.readline(), 30)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await asyncio.wait_for(reader.readexactly(length), 30)
    finally:
        writer.close()
    return int(status_line.split()[1]), json.loads(body or b"{}")


async def test_an_anonymous_1gib_upload_is_refused_after_its_headers(stack):
    for path in ("/api/v1/datasets", "/api/v1/jobs"):
        status, problem = await _send_headers_only(stack.base, path, {
            "Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(GIB)})
        assert status == 401, problem
        assert problem["detail"] == "Not authenticated"


async def test_a_bad_credential_is_refused_before_the_body_too(stack):
    status, _ = await _send_headers_only(stack.base, "/api/v1/datasets", {
        "Authorization": "Bearer not-a-token", "Content-Length": str(GIB),
        "Content-Type": "multipart/form-data; boundary=x"})
    assert status == 401


async def test_a_viewer_is_refused_before_the_body(stack, team: Team):
    viewer = await team.member(Role.viewer)
    status, problem = await _send_headers_only(stack.base, "/api/v1/datasets", {
        **viewer.headers, "Content-Length": str(GIB),
        "Content-Type": "multipart/form-data; boundary=x"})
    assert status == 403, problem
