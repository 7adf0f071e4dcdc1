"""Who may use the installation: signed-in users' actors, role grants, and reading the audit log.

Granting and revoking need `MANAGE_ACCESS` (admins, the CLI) and are audited like every other
change; reading the audit log and the role list needs it too, so a page that forgot to hide
them still shows nothing to a viewer.
"""

from __future__ import annotations

from core.access import audit, roles
from core.access.audit import NO_FILTER, AuditFilter, AuditRow
from core.access.roles import RoleGrant
from core.context import Context
from core.db.audit_chain import ChainReport
from core.errors import BadInput
from core.services.actors import Actor, Permission, authorize
from core.services.audited import Arguments, audited


def signed_in_user(
    ctx: Context, *, email: str | None, subject: str | None, email_verified: bool | None = None
) -> Actor | None:
    """The actor for an identity the sign-in provider vouched for (None: no role, no access).

    The actor is named by e-mail (what the activation history and the audit log show), else by
    the provider's subject. An e-mail the provider marks unverified (`email_verified: false`,
    e.g. a self-registered account) is not trusted for roles or names: only the subject counts.
    """
    if email_verified is False:
        email = None
    if not email and not subject:
        raise BadInput("the sign-in provider sent neither a verified e-mail nor a subject")
    role = roles.resolve(ctx.db, ctx.settings, email=email, subject=subject)
    if role is None:
        return None
    return Actor(str(email or subject), "user", role=role)


def _principal(arguments: Arguments) -> str:
    try:
        return roles.principal_key(arguments["principal"])
    except BadInput:
        return str(arguments["principal"])[: roles.PRINCIPAL_MAX]


@audited("grant_role", target=_principal, detail=lambda g: {"role": g.role})
def grant_role(ctx: Context, actor: Actor, principal: str, role: str) -> RoleGrant:
    authorize(actor, Permission.MANAGE_ACCESS)
    return roles.grant(ctx.db, principal, role, granted_by=actor.name)


@audited("revoke_role", target=_principal, detail=lambda removed: {"removed": removed})
def revoke_role(ctx: Context, actor: Actor, principal: str) -> bool:
    """Remove a role row; the user falls back to `DEFAULT_ROLE`. ADMIN_EMAILS stay admins."""
    authorize(actor, Permission.MANAGE_ACCESS)
    key = roles.principal_key(principal)
    if key in ctx.settings.admin_emails:
        raise BadInput(f"{key} is an admin through ADMIN_EMAILS; remove it there to revoke")
    return roles.revoke(ctx.db, key)


def role_grants(ctx: Context, actor: Actor) -> list[RoleGrant]:
    authorize(actor, Permission.MANAGE_ACCESS)
    return roles.list_grants(ctx.db, ctx.settings)


def audit_entries(
    ctx: Context, actor: Actor, flt: AuditFilter = NO_FILTER, *, limit: int | None = 1_000
) -> list[AuditRow]:
    authorize(actor, Permission.MANAGE_ACCESS)
    return audit.entries(ctx.db, flt, limit=limit)


def audit_count(ctx: Context, actor: Actor, flt: AuditFilter = NO_FILTER) -> int:
    authorize(actor, Permission.MANAGE_ACCESS)
    return audit.count(ctx.db, flt)


def audit_verify(ctx: Context, actor: Actor) -> ChainReport:
    authorize(actor, Permission.MANAGE_ACCESS)
    return audit.verify_chain(ctx.db)


def audit_actors(ctx: Context, actor: Actor) -> list[str]:
    authorize(actor, Permission.MANAGE_ACCESS)
    return audit.actors(ctx.db)
