"""The hello-world references of benchmarks/http_ingress.py: the same FastAPI app served by
bare uvicorn and by a Serve deployment shaped like Helio's ApiIngress."""

from __future__ import annotations

from fastapi import FastAPI
from ray import serve

fastapi_app = FastAPI()


@fastapi_app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@serve.deployment(name="Hello")
@serve.ingress(fastapi_app)
class Hello:
    pass


app = Hello.bind()
