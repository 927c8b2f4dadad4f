"""Request and response models (one family per entity; never ORM objects)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cluster.models import Role

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL_RE.match(value):
        raise ValueError("not a valid email address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Password = Annotated[str, Field(min_length=8, max_length=128)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Token(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - OAuth2 token type
    expires_in: int


class RefreshRequest(StrictModel):
    refresh_token: Annotated[str | None, Field(max_length=256)] = None


class UserCreate(StrictModel):
    email: Email
    password: Password
    role: Role = Role.viewer


class UserUpdate(StrictModel):
    email: Email | None = None
    password: Password | None = None
    role: Role | None = None
    is_active: bool | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    created_at: datetime


class UsersPublic(BaseModel):
    items: list[UserPublic]
    total: int


class ApiKeyRef(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str


class Me(UserPublic):
    """The signed-in principal; `role` is the effective role (the key's, for API keys)."""

    auth: Literal["jwt", "api_key"]
    api_key: ApiKeyRef | None = None


class ApiKeyCreate(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role = Role.app


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    role: Role
    owner_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret; shown only in this response.")


class ApiKeysPublic(BaseModel):
    items: list[ApiKeyPublic]
    total: int


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str
    target: str | None
    success: bool
    ip: str | None
    request_id: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


Limit = Annotated[int, Field(ge=1, le=500)]
Offset = Annotated[int, Field(ge=0, le=10_000_000)]


class FieldError(BaseModel):
    loc: list[str]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    request_id: str | None
    errors: list[FieldError] | None = None
