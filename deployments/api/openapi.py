"""OpenAPI document: security schemes from the permission table, problem+json errors."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from deployments.api.permissions import access_for, mounted_routes, operation_id
from deployments.api.problems import PROBLEM_MEDIA_TYPE
from deployments.api.schemas import FieldError, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}}


def install_openapi(app: FastAPI, token_url: str) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["FieldError"] = FieldError.model_json_schema()
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        problem.pop("$defs", None)
        schemas["Problem"] = problem
        components["securitySchemes"] = {
            "OAuth2Password": {"type": "oauth2",
                               "flows": {"password": {"tokenUrl": token_url, "scopes": {}}}},
            "APIKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        by_id = {operation_id(m.route): m.route for m in mounted_routes(app)}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                route = by_id.get(operation.get("operationId", ""))
                if route is None:
                    continue
                responses = operation.setdefault("responses", {})
                for code, response in responses.items():
                    if code[0] in "45" and "content" not in response:
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
                responses["422"] = _problem_response("Validation error (each field in `errors`)")
                responses["default"] = _problem_response("Error (problem details)")
                access = access_for(route)
                if access.public:
                    continue
                operation["security"] = [{"OAuth2Password": []}, {"APIKey": []}]
                roles = ", ".join(sorted(r.value for r in access.roles))
                operation["description"] = (operation.get("description", "") +
                                            f"\n\nRoles: {roles}.").strip()
                responses.setdefault("401", _problem_response("Not authenticated"))
                responses.setdefault("403", _problem_response("Role not allowed"))
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
