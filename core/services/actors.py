"""Who asks: an `Actor`, and the one function that decides whether they may (`authorize`).

`authorize` reads one table per kind of actor: a signed-in user may what their role may
(`ROLE_PERMISSIONS`; the role comes from the database, see `core.access.roles`); an API token
may what its scopes grant (`TOKEN_SCOPES`); the CLI (the operating-system user, who can open
the database and its files anyway) and the scheduler (`system`) may everything. The local
dashboard user (no sign-in configured, served on 127.0.0.1 only) is an admin.
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


EVERYTHING: frozenset[Permission] = frozenset(Permission)
_OPERATE = frozenset(
    {Permission.READ, Permission.LABEL, Permission.TRAIN, Permission.CANCEL, Permission.IMPORT}
)
# Each role may what the one before it may, and more (see `core.access.roles.ROLES`).
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.READ}),
    "operator": _OPERATE,
    "admin": EVERYTHING,
}
# What each API-token scope lets a token do (CONTRACTS §4). No scope manages access or imports data.
TOKEN_SCOPES: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ}),
    "train": frozenset({Permission.TRAIN, Permission.LABEL, Permission.CANCEL}),
    "activate": frozenset({Permission.ACTIVATE}),
    "outcomes": frozenset({Permission.OUTCOMES}),
}


def permissions(actor: Actor) -> frozenset[Permission]:
    """Everything `actor` may do: the tables `authorize` reads."""
    if actor.kind == "user":
        return ROLE_PERMISSIONS.get(actor.role or "", frozenset())
    if actor.kind == "token":
        return frozenset().union(*(TOKEN_SCOPES.get(scope, frozenset()) for scope in actor.scopes))
    return EVERYTHING  # cli and system


def allowed(actor: Actor, permission: Permission) -> bool:
    """Whether `actor` may do `permission`."""
    return permission in permissions(actor)


def role_needed(permission: Permission) -> str | None:
    """The least role that may do `permission` (None: no role may)."""
    return next((role for role, granted in ROLE_PERMISSIONS.items() if permission in granted), None)


def scope_needed(permission: Permission) -> str | None:
    """The API-token scope that grants `permission` (None: no scope does)."""
    return next((scope for scope, granted in TOKEN_SCOPES.items() if permission in granted), None)


def authorize(actor: Actor, permission: Permission) -> None:
    """Raise `Forbidden` unless `actor` may do `permission`."""
    if allowed(actor, permission):
        return
    if actor.kind == "user":
        needed = role_needed(permission)
        held = f"the {actor.role} role" if actor.role else "no role"
        raise Forbidden(f"{actor.name} has {held}; {permission.value} needs the {needed} role")
    if actor.kind == "token":
        held = ", ".join(sorted(actor.scopes)) or "none"
        needed = scope_needed(permission)
        grant = f"the {needed!r} scope" if needed else "a scope no token has"
        raise Forbidden(f"token {actor.name!r} lacks {grant} for {permission.value} (it holds: {held})")
    raise Forbidden(f"{actor.name} ({actor.kind}) may not {permission.value}")
