"""Access for the pages: whether the actor may use a control (and why not), the audit log as a
filtered table and a CSV, and the role list.

Pages disable a control with `can(...).reason` as its help text; the service call behind the
control still runs `authorize`, so a hidden or disabled button is never the only door.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd

from core.access.audit import OUTCOMES, AuditFilter
from core.access.roles import ROLES
from core.context import Context
from core.services import access
from core.services.actors import Actor, Permission, allowed, role_needed

__all__ = ["OUTCOMES", "ROLES", "AuditFilter", "Permission"]

# What the audit log records: the actions of `core.services`, whoever calls them (the service API too).
ACTIONS: tuple[str, ...] = (
    "activate",
    "rollback",
    "demote",
    "train",
    "retrain",
    "label",
    "cancel",
    "import",
    "fetch",
    "experiment",
    "grant_role",
    "revoke_role",
    "create_token",
    "revoke_token",
)
VERBS = {
    Permission.READ: "Reading",
    Permission.LABEL: "Labeling",
    Permission.TRAIN: "Training",
    Permission.CANCEL: "Cancelling jobs",
    Permission.ACTIVATE: "Activating and rolling back",
    Permission.IMPORT: "Bringing in data",
    Permission.OUTCOMES: "Recording outcomes",
    Permission.MANAGE_ACCESS: "Managing access",
}
EXPORT_COLUMNS = ("id", "created_at", "actor", "actor_kind", "action", "target", "outcome", "reason")
# A cell starting with one of these is a formula to a spreadsheet; quoting it keeps it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Permit:
    allowed: bool
    reason: str | None = None  # why not, for a disabled control's help text


def can(actor: Actor, permission: Permission) -> Permit:
    if allowed(actor, permission):
        return Permit(True)
    needed = role_needed(permission)
    held = f"your role is {actor.role}" if actor.role else "you have no role"
    return Permit(False, f"{VERBS[permission]} needs the {needed} role; {held}.")


def audit_frame(ctx: Context, actor: Actor, flt: AuditFilter, limit: int = 500) -> pd.DataFrame:
    rows = access.audit_entries(ctx, actor, flt, limit=limit)
    return pd.DataFrame([r.as_json() for r in rows], columns=[*EXPORT_COLUMNS, "detail"]).assign(
        created_at=lambda f: pd.to_datetime(f["created_at"], utc=True, format="ISO8601")
    )


def audit_total(ctx: Context, actor: Actor, flt: AuditFilter) -> int:
    return access.audit_count(ctx, actor, flt)


def audit_actors(ctx: Context, actor: Actor) -> list[str]:
    return access.audit_actors(ctx, actor)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def audit_csv(ctx: Context, actor: Actor, flt: AuditFilter) -> bytes:
    """Every matching row (no page limit), formula-safe for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in access.audit_entries(ctx, actor, flt, limit=None):
        data = row.as_json()
        writer.writerow([_cell(data[c]) for c in EXPORT_COLUMNS])
    return out.getvalue().encode("utf-8")


def roles_frame(ctx: Context, actor: Actor) -> pd.DataFrame:
    grants = access.role_grants(ctx, actor)
    return pd.DataFrame(
        [g.as_json() for g in grants], columns=["principal", "role", "granted_by", "granted_at", "source"]
    )
