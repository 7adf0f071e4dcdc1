"""Roles of signed-in users, kept in the database and keyed by e-mail or provider subject.

A user's role is, in order: admin when their e-mail is in `ADMIN_EMAILS` (the first admins, who
cannot lock themselves out from the page); else the role row of their e-mail, else the row of
their provider subject; else `DEFAULT_ROLE` (viewer unless configured; `none` admits nobody
until an admin grants a role). E-mails compare in lower case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from core.db.database import Database
from core.db.models import UserRole
from core.db.types import utcnow
from core.errors import BadInput
from core.settings import Settings

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")  # each may do what the one before may, and more
PRINCIPAL_MAX = 255


@dataclass(frozen=True)
class RoleGrant:
    principal: str
    role: str
    granted_by: str
    granted_at: datetime | None
    source: str = "database"  # or "ADMIN_EMAILS"

    def as_json(self) -> dict[str, str | None]:
        return {
            "principal": self.principal,
            "role": self.role,
            "granted_by": self.granted_by,
            "granted_at": self.granted_at.isoformat() if self.granted_at else None,
            "source": self.source,
        }


def principal_key(value: str) -> str:
    """The stored spelling: e-mails in lower case, subjects as the provider sends them."""
    key = (value or "").strip()
    if not key or len(key) > PRINCIPAL_MAX or any(ch.isspace() for ch in key):
        raise BadInput(
            f"{value!r} is not an e-mail address or provider subject (1-255 characters, no spaces)"
        )
    return key.lower() if "@" in key else key


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def resolve(db: Database, settings: Settings, *, email: str | None, subject: str | None) -> str | None:
    """The role of a signed-in user (None: signed in, but admitted to nothing)."""
    mail = email.strip().lower() if email else None
    if mail and mail in settings.admin_emails:
        return "admin"
    keys = [k for k in (mail, subject) if k]
    if keys:
        with db.read() as session:
            rows = {
                r.principal: r.role
                for r in session.scalars(select(UserRole).where(UserRole.principal.in_(keys)))
            }
        for key in keys:
            if key in rows:
                return rows[key]
    return None if settings.default_role == "none" else settings.default_role


def grant(db: Database, principal: str, role: str, *, granted_by: str) -> RoleGrant:
    """Give `principal` a role (replacing any role it had)."""
    key, role = principal_key(principal), check_role(role)
    with db.session() as session:
        row = session.scalar(select(UserRole).where(UserRole.principal == key))
        if row is None:
            row = UserRole(principal=key, role=role, granted_by=granted_by[:PRINCIPAL_MAX])
            session.add(row)
        else:
            row.role, row.granted_by, row.granted_at = role, granted_by[:PRINCIPAL_MAX], utcnow()
        session.flush()
        return RoleGrant(row.principal, row.role, row.granted_by, row.granted_at)


def revoke(db: Database, principal: str) -> bool:
    """Remove `principal`'s role row; whether there was one. They fall back to `DEFAULT_ROLE`."""
    key = principal_key(principal)
    with db.session() as session:
        return bool(session.execute(delete(UserRole).where(UserRole.principal == key)).rowcount)


def list_grants(db: Database, settings: Settings) -> list[RoleGrant]:
    """Every stored role, plus the admins that settings name, e-mail order."""
    with db.read() as session:
        rows = [
            RoleGrant(r.principal, r.role, r.granted_by, r.granted_at)
            for r in session.scalars(select(UserRole).order_by(UserRole.principal))
        ]
    configured = [
        RoleGrant(mail, "admin", "settings", None, "ADMIN_EMAILS") for mail in settings.admin_emails
    ]
    return configured + rows
