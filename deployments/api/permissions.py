"""Authorization: the one permission table (which roles may call which operation) and,
next to it, the ownership rule for writes (`require_owner`, from `cluster.policy`).

Keys are operation ids (`{tag}-{handler}`). Every route of the app must have an
entry; `create_api` refuses to build an app with an unlisted route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

from cluster.models import Role
from cluster.policy import Owned, OwnershipError, check_write, lower_role, may_write
from deployments.api.problems import ApiError

if TYPE_CHECKING:
    from deployments.api.principals import Principal

__all__ = ["PERMISSIONS", "lower_role", "may_write", "require_owner"]


@dataclass(frozen=True, slots=True)
class Access:
    public: bool
    roles: frozenset[Role]

    def allows(self, role: Role) -> bool:
        return self.public or role in self.roles


PUBLIC = Access(public=True, roles=frozenset())


def roles(*allowed: Role) -> Access:
    return Access(public=False, roles=frozenset(allowed))


ADMIN = roles(Role.admin)
WRITERS = roles(Role.admin, Role.analyst)
READERS = roles(Role.admin, Role.analyst, Role.viewer)
ANY_PRINCIPAL = roles(*Role)

PERMISSIONS: dict[str, Access] = {
    "health-liveness": PUBLIC,
    "health-readiness": PUBLIC,
    "health-platform": READERS,
    "auth-login": PUBLIC,
    "auth-refresh": PUBLIC,
    "auth-logout": PUBLIC,
    "users-read_me": ANY_PRINCIPAL,
    "users-list_users": ADMIN,
    "users-create_user": ADMIN,
    "users-read_user": ADMIN,
    "users-update_user": ADMIN,
    "users-delete_user": ADMIN,
    "api_keys-create_api_key": WRITERS,
    "api_keys-list_api_keys": WRITERS,
    "api_keys-revoke_api_key": WRITERS,
    "audit-list_audit": ADMIN,
    "rate_limits-read_rate_limits": ADMIN,
    "rate_limits-replace_rate_limits": ADMIN,
    "datasets-upload_dataset": WRITERS,
    "datasets-inspect_upload": WRITERS,
    "datasets-download_dataset": READERS,
    "datasets-create_sql_dataset": WRITERS,
    "datasets-list_datasets": READERS,
    "datasets-read_dataset": READERS,
    "datasets-delete_dataset": WRITERS,
    "datasets-preview_dataset": READERS,
    "datasets-profile_dataset": WRITERS,
    "datasets-query_dataset": ANY_PRINCIPAL,
    "datasets-query_dataset_as_job": WRITERS,
    "pipelines-create_pipeline": WRITERS,
    "pipelines-validate_pipeline": WRITERS,
    "pipelines-list_pipelines": READERS,
    "pipelines-read_pipeline": READERS,
    "pipelines-run_pipeline": WRITERS,
    "pipelines-update_pipeline": WRITERS,
    "pipelines-delete_pipeline": WRITERS,
    "pipelines-list_pipeline_versions": READERS,
    "jobs-list_jobs": READERS,
    "jobs-read_job": READERS,
    "jobs-read_job_logs": READERS,
    "jobs-cancel_job": WRITERS,
    "jobs-submit_job": WRITERS,
    "schedules-create_schedule": WRITERS,
    "schedules-list_schedules": READERS,
    "schedules-read_schedule": READERS,
    "schedules-update_schedule": WRITERS,
    "schedules-delete_schedule": WRITERS,
    "job_limits-read_job_limits": ADMIN,
    "job_limits-replace_job_limits": ADMIN,
    "events-subscribe": READERS,
    "models-train_model": WRITERS,
    "models-list_models": READERS,
    "models-read_model": READERS,
    "models-set_alias": WRITERS,
    "models-predict": ANY_PRINCIPAL,
    "nlp-embed_texts": ANY_PRINCIPAL,
    "nlp-similarity": ANY_PRINCIPAL,
    "nlp-classify": ANY_PRINCIPAL,
    "usage-read_usage": ADMIN,
    "errors-list_errors": ADMIN,
    "dashboards-list_dashboards": READERS,
    "dashboards-read_dashboard": READERS,
    "dashboards-create_dashboard": WRITERS,
    "dashboards-update_dashboard": WRITERS,
    "dashboards-delete_dashboard": WRITERS,
    "nlp-create_index": WRITERS,
    "nlp-read_index": READERS,
    "nlp-list_indexes": READERS,
    "nlp-search_index": ANY_PRINCIPAL,
}


def require_owner(principal: Principal, obj: Owned | None, what: str) -> None:
    """Every write to an object: its owner or an admin (403 otherwise). `obj=None` is a
    new object, which any writer may create."""
    try:
        check_write(user_id=principal.user_id, role=principal.role, obj=obj, what=what)
    except OwnershipError as exc:
        raise ApiError(403, str(exc)) from None


def operation_id(route: APIRoute | APIWebSocketRoute) -> str:
    """`{tag}-{handler}`: the OpenAPI operation id and the key into PERMISSIONS."""
    if isinstance(route, APIWebSocketRoute):  # no tags on WebSocket routes: use the path
        return f"{route.path.strip('/').split('/')[-1]}-{route.name}"
    return f"{route.tags[0]}-{route.name}"


@dataclass(frozen=True, slots=True)
class MountedRoute:
    path: str
    methods: frozenset[str]
    route: APIRoute


def mounted_routes(app: FastAPI) -> list[MountedRoute]:
    """The app's HTTP API routes with their full paths (FastAPI keeps included routers
    nested)."""
    found = []
    for ctx in iter_route_contexts(app.routes):
        original = ctx.original_route
        if isinstance(original, APIRoute):
            found.append(MountedRoute(path=str(ctx.path), methods=frozenset(ctx.methods or ()),
                                      route=original))
    return found


def mounted_websockets(app: FastAPI) -> list[APIWebSocketRoute]:
    return [ctx.original_route for ctx in iter_route_contexts(app.routes)
            if isinstance(ctx.original_route, APIWebSocketRoute)]


def access_for(route: APIRoute | APIWebSocketRoute) -> Access:
    key = operation_id(route)
    try:
        return PERMISSIONS[key]
    except KeyError:
        raise LookupError(f"route {key!r} has no entry in the permission table") from None
