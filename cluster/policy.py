"""The ownership policy: who may change an object. One rule, used by every write path
(the API through `deployments.api.permissions.require_owner`, the job driver when a run
publishes into a dataset or registers a model version).

Every mutable object has an `owner_id`. Changing it (new versions, aliases, edits,
deletes, cancels, runs) takes its owner or an admin; owning an object never outranks the
role table (a viewer owns nothing it may change). A principal acting through an API key
has the lower of the key's role and its owner's current role.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from cluster.models import Role

ROLE_RANK = {Role.app: 0, Role.viewer: 1, Role.analyst: 2, Role.admin: 3}
WRITER_ROLES = frozenset({Role.admin, Role.analyst})


class Owned(Protocol):
    @property
    def owner_id(self) -> uuid.UUID | None: ...


class OwnershipError(PermissionError):
    """A write by someone who is neither the object's owner nor an admin."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Only the {what}'s owner or an admin may change it")
        self.what = what


def lower_role(a: Role | str, b: Role | str) -> Role:
    ra, rb = Role(a), Role(b)
    return ra if ROLE_RANK[ra] <= ROLE_RANK[rb] else rb


def may_write(*, user_id: uuid.UUID | None, role: Role | str, owner_id: uuid.UUID | None
              ) -> bool:
    role = Role(role)
    if role == Role.admin:
        return True
    return role in WRITER_ROLES and owner_id is not None and owner_id == user_id


def check_write(*, user_id: uuid.UUID | None, role: Role | str, obj: Owned | None,
                what: str) -> None:
    """Raise OwnershipError unless (user_id, role) may change `obj` (None: a new object,
    which any writer may create)."""
    if obj is None:
        if Role(role) not in WRITER_ROLES:
            raise OwnershipError(what)
        return
    if not may_write(user_id=user_id, role=role, owner_id=obj.owner_id):
        raise OwnershipError(what)
