"""Who asks: an `Actor`, and the one function that decides whether they may (`authorize`).

The CLI acts as the operating-system user, the local dashboard user is an admin, the scheduler
is `system`; an API token may do what its scopes grant (`TOKEN_SCOPES`). Roles from the database
plug in behind `authorize` (and an audit record beside it) without changing any caller.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from core.errors import Forbidden

ActorKind = Literal["user", "cli", "token", "system"]


class Permission(StrEnum):
    READ = "read"
    LABEL = "label"
    TRAIN = "train"
    CANCEL = "cancel"
    ACTIVATE = "activate"
    IMPORT = "import"
    OUTCOMES = "outcomes"  # record executed signals and their P&L (a trading engine's token)
    MANAGE_ACCESS = "manage_access"  # roles and API tokens


@dataclass(frozen=True)
class Actor:
    name: str
    kind: ActorKind
    role: str | None = None  # a signed-in user's role (viewer, operator, admin), once roles exist
    scopes: frozenset[str] = field(default_factory=frozenset)  # an API token's scopes

    @classmethod
    def cli(cls) -> Actor:
        """Whoever can open the database and its files operates the installation: the OS user."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            name = "cli"
        return cls(name, "cli")

    @classmethod
    def system(cls, name: str = "scheduler") -> Actor:
        return cls(name, "system")

    @classmethod
    def local_user(cls) -> Actor:
        """The dashboard's single user when no sign-in is configured (served on 127.0.0.1 only)."""
        return cls("local", "user", role="admin")


# What each API-token scope lets a token do (CONTRACTS §4). No scope manages access or imports data.
TOKEN_SCOPES: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ}),
    "train": frozenset({Permission.TRAIN, Permission.LABEL, Permission.CANCEL}),
    "activate": frozenset({Permission.ACTIVATE}),
    "outcomes": frozenset({Permission.OUTCOMES}),
}


def allowed(actor: Actor, permission: Permission) -> bool:
    """Whether `actor` may do `permission`. A token only what its scopes grant."""
    if actor.kind == "token":
        return any(permission in TOKEN_SCOPES.get(scope, frozenset()) for scope in actor.scopes)
    return actor.kind in ("user", "cli", "system")


def authorize(actor: Actor, permission: Permission) -> None:
    """Raise `Forbidden` unless `actor` may do `permission`."""
    if not allowed(actor, permission):
        raise Forbidden(f"{actor.name} ({actor.kind}) may not {permission.value}")
