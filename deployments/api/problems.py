"""Response formatter for errors: RFC 9457 problem details (`application/problem+json`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiError(Exception):
    """An error the API reports to the client as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.extra = dict(extra or {})  # RFC 9457 extension members, e.g. `current`
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})


def unauthorized(detail: str = "Not authenticated") -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": "Bearer"})


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def request_id_of(scope_state: Mapping[str, Any]) -> str | None:
    value = scope_state.get("request_id")
    return str(value) if value is not None else None


def problem_body(
    status: int,
    detail: str,
    *,
    request_id: str | None,
    title: str | None = None,
    type_: str = "about:blank",
    errors: Sequence[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {**(extra or {}),
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if errors is not None:
        body["errors"] = list(errors)
    return body


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body = problem_body(status, detail, request_id=request_id_of(request.scope.get("state", {})),
                        title=title, type_=type_, errors=errors, extra=extra)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}),
                        media_type=PROBLEM_MEDIA_TYPE)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append({"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))})
    return out


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(request, exc.status, exc.detail, title=exc.title, type_=exc.type,
                            errors=exc.errors, headers=exc.headers, extra=exc.extra)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(request, exc.status_code, detail, headers=exc.headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    fields = ", ".join(".".join(e["loc"]) for e in errors[:5])
    return problem_response(
        request, 422, f"Request validation failed: {fields}", title="Validation error",
        type_="urn:helio:problem:validation", errors=errors,
    )


def _nul_paths(value: Any, loc: list[str]) -> list[list[str]]:
    if isinstance(value, str):
        return [loc] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nul_paths(v, [*loc, str(k)])]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, [*loc, str(i)])]
    return []


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL cannot store a NUL character in text: that is bad input (422 naming the
    field), not a server error. Any other database error stays a 500."""
    from sqlalchemy.exc import DBAPIError

    assert isinstance(exc, DBAPIError)
    if "0x00" not in str(exc.orig) and "\\u0000" not in str(exc.orig):
        raise exc
    paths = [["query", k] for k, v in request.query_params.multi_items() if "\x00" in v]
    try:
        import json

        paths += _nul_paths(json.loads(await request.body() or b"null"), ["body"])
    except (ValueError, RuntimeError):
        pass
    errors = [{"loc": p, "msg": "text must not contain NUL (\\u0000) characters"}
              for p in paths] or [{"loc": ["body"], "msg": "text must not contain NUL "
                                                           "(\\u0000) characters"}]
    return problem_response(request, 422, "A text value contains a NUL character",
                            title="Validation error", type_="urn:helio:problem:validation",
                            errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import DBAPIError

    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
