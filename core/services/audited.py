"""`@audited`: every state-changing service call leaves one audit row, whatever its outcome.

The decorator wraps the whole call, so the permission check inside it is covered too: a
`Forbidden` becomes a *refused* row, an operational failure a *failed* row with its message, a
return a *succeeded* row with the call's detail (a job id, a version). Bad input (`BadInput`: an
unknown symbol, a version that does not exist) leaves no row: it changed nothing, and bad input
leaves the store exactly as it was, audit log included. The exception itself propagates
unchanged. The row is appended in its own transaction after the call, so a call that
rolls back still leaves its attempt on record; a failure to append is logged, never raised over
the call's own result.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from core.access import audit
from core.access.audit import AuditRecord, Outcome
from core.context import Context
from core.errors import BadInput, CandleLabError, Forbidden
from core.services.actors import Actor

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
Arguments = Mapping[str, Any]


def _context(arguments: Arguments) -> Context:
    """Service calls take the engine's `ctx` or a `runner` that carries it."""
    if "ctx" in arguments:
        return arguments["ctx"]  # type: ignore[no-any-return]
    return arguments["runner"].ctx  # type: ignore[no-any-return]


def _reason(ctx: Context, exc: BaseException) -> str:
    """The message a user would see; unexpected errors keep their type; secrets never stored."""
    text = str(exc) if isinstance(exc, CandleLabError) else f"{type(exc).__name__}: {exc}"
    for secret in ctx.settings.secret_values():
        text = text.replace(secret, "***")
    return text or type(exc).__name__


def _append(ctx: Context, entry: AuditRecord) -> None:
    try:
        audit.record(ctx.db, entry)
    except Exception:  # the call's own result stands; the log says the row is missing
        log.exception("could not append the audit row for %s by %s", entry.action, entry.actor)


def audited(
    action: str,
    *,
    target: Callable[[Arguments], str | None] | None = None,
    detail: Callable[[Any], dict[str, Any]] | None = None,
    changed: Callable[[Any], bool] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record `action` around a service call taking `actor` and `ctx` (or `runner`).

    `target` names what the call acts on, from its arguments; `detail` turns the result into
    JSON-able facts; `changed` (optional) says whether a successful call changed anything, so
    calls that only found nothing to do (a fresh pair's chart-view trigger) leave no row.
    """

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            arguments = bound.arguments
            actor: Actor = arguments["actor"]
            ctx = _context(arguments)

            def write(
                outcome: Outcome, reason: str | None = None, facts: dict[str, Any] | None = None
            ) -> None:
                entry = AuditRecord(
                    actor=actor.name,
                    actor_kind=actor.kind,
                    action=action,
                    outcome=outcome,
                    target=target(arguments) if target else None,
                    reason=reason,
                    detail=facts or {},
                )
                _append(ctx, entry)

            try:
                result = fn(*args, **kwargs)
            except Forbidden as exc:
                write("refused", _reason(ctx, exc))
                raise
            except BadInput:
                raise
            except BaseException as exc:
                write("failed", _reason(ctx, exc) if isinstance(exc, Exception) else "interrupted")
                raise
            if changed is None or changed(result):
                write("succeeded", facts=detail(result) if detail else None)
            return result

        return call

    return wrap
