"""`roles` (list, grant, revoke) and `audit`: who may use the dashboard, and who did what.

The CLI acts as the operating-system user with full rights (whoever can open the database and
its files operates the installation); its role changes are audited under that name.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.access.audit import OUTCOMES, AuditFilter
from core.access.roles import ROLES
from core.cli.output import CommandResult
from core.context import Context
from core.errors import BadInput
from core.requests import PageRequest, parse
from core.services import access
from core.services.actors import Actor


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    roles = subparsers.add_parser(
        "roles", parents=[common], help="dashboard users' roles (list, grant, revoke)"
    )
    roles.set_defaults(handler=_list)
    sub = roles.add_subparsers(dest="roles_command")
    grant = sub.add_parser("grant", parents=[common], help="give a signed-in user (e-mail or subject) a role")
    grant.add_argument("principal", metavar="EMAIL")
    grant.add_argument("role", choices=ROLES)
    grant.set_defaults(handler=_grant)
    revoke = sub.add_parser("revoke", parents=[common], help="remove a user's role (DEFAULT_ROLE applies)")
    revoke.add_argument("principal", metavar="EMAIL")
    revoke.set_defaults(handler=_revoke)

    log = subparsers.add_parser("audit", parents=[common], help="the audit log, newest first")
    log.add_argument("--actor")
    log.add_argument("--action")
    log.add_argument("--outcome", choices=OUTCOMES)
    log.add_argument("--since", help="ISO time (naive means UTC)")
    log.add_argument("--until", help="ISO time (naive means UTC)")
    log.add_argument("--limit", type=int, default=50)
    log.set_defaults(handler=_audit)
    checks = log.add_subparsers(dest="audit_command")
    verify = checks.add_parser(
        "verify", parents=[common], help="check the audit log's hash chain (exit 1 at the first broken link)"
    )
    verify.set_defaults(handler=_verify)


def _render_roles(data: Mapping[str, Any]) -> str:
    if not data["roles"]:
        return "no roles granted (signed-in users get DEFAULT_ROLE)"
    return "\n".join(f"{r['principal']:<40} {r['role']:<9} by {r['granted_by']}" for r in data["roles"])


def _list(ctx: Context, args: argparse.Namespace) -> CommandResult:
    grants = access.role_grants(ctx, Actor.cli())
    return CommandResult({"roles": [g.as_json() for g in grants]}, _render_roles)


def _grant(ctx: Context, args: argparse.Namespace) -> CommandResult:
    grant = access.grant_role(ctx, Actor.cli(), args.principal, args.role)
    return CommandResult(grant.as_json(), lambda d: f"{d['principal']} is now {d['role']}")


def _revoke(ctx: Context, args: argparse.Namespace) -> CommandResult:
    removed = access.revoke_role(ctx, Actor.cli(), args.principal)
    text = "role removed" if removed else "had no role row"
    return CommandResult(
        {"principal": args.principal, "removed": removed}, lambda d: f"{d['principal']}: {text}"
    )


def _time(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{flag}: {value!r} is not an ISO time (e.g. 2026-01-31T09:00)") from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _render_audit(data: Mapping[str, Any]) -> str:
    if not data["entries"]:
        return "no audit entries match"
    lines = []
    for e in data["entries"]:
        when, target = e["created_at"][:19], e["target"] or "-"
        line = f"{when} {e['actor']:<24} {e['action']:<12} {target:<24} {e['outcome']}"
        lines.append(line + (f": {e['reason']}" if e["reason"] else ""))
    return "\n".join(lines)


def _audit(ctx: Context, args: argparse.Namespace) -> CommandResult:
    page = parse(PageRequest, limit=args.limit)
    flt = AuditFilter(
        actor=args.actor,
        action=args.action,
        outcome=args.outcome,
        since=_time(args.since, "--since"),
        until=_time(args.until, "--until"),
    )
    cli = Actor.cli()
    rows = access.audit_entries(ctx, cli, flt, limit=page.limit)
    total = access.audit_count(ctx, cli, flt)
    return CommandResult({"total": total, "entries": [r.as_json() for r in rows]}, _render_audit)


def _render_verify(data: Mapping[str, Any]) -> str:
    if data["intact"]:
        return f"audit log intact: {data['rows']} rows, every link verified"
    return f"audit log broken at row {data['broken_at']}: {data['problem']}"


def _verify(ctx: Context, args: argparse.Namespace) -> CommandResult:
    report = access.audit_verify(ctx, Actor.cli())
    return CommandResult(report.as_json(), _render_verify, exit_code=0 if report.intact else 1)
