"""What runs inside a forked job body: this installation's settings, then one job, stage or part.

These are the targets of `core.jobs.dask.worker.ForkedProcess` (pickled by reference, so they
live at module level). Each child ends itself if its worker dies, lowers its priority, sets its thread
counts and builds its own engine from the settings: the fork server that forked it opened no
database connection, and nothing here is inherited but imported modules. A stage or part sends
one message back on `conn`: `{"ok": result}` or `{"error": {"type", "message"}}`.
"""

from __future__ import annotations

from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from core.context import Context
from core.errors import BadInput, BudgetExhausted, CandleLabError, JobCancelled, LLMAuthError
from core.jobs import store
from core.jobs.dask import fanout
from core.jobs.dask.worker import exit_with_parent
from core.jobs.local.spawn import renice_process
from core.jobs.runner import JobReporter, run_job
from core.settings import load_settings

# The error types a stage may end with that the job runner maps to an end state, most specific first.
ERROR_TYPES: tuple[type[CandleLabError], ...] = (
    JobCancelled,
    BudgetExhausted,
    LLMAuthError,
    BadInput,
    CandleLabError,
)


def _start(overrides: dict[str, str]) -> Context:
    exit_with_parent()
    settings = load_settings(**overrides)
    renice_process(settings.job_nice)
    return Context.create(settings, migrate=False)


def run_whole_job(job_id: int, overrides: dict[str, str]) -> None:
    """A job that does not fan out (quick, manual, label): the same `run_job` as `jobs run ID`."""
    run_job(job_id, ctx=_start(overrides))


def run_stage(job_id: int, overrides: dict[str, str], conn: Connection) -> None:
    """A fanned-out job's preparation (labels, or a retrain's fresh bars)."""
    ctx = _start(overrides)
    job = store.get_job(ctx.db, job_id)
    _reply(conn, lambda: fanout.prepare(ctx, job, JobReporter(ctx, job_id)).as_json())


def run_part(
    job_id: int, bot: str, prepared: dict[str, Any], overrides: dict[str, str], conn: Connection
) -> None:
    """One (pair, bot) part of a fanned-out job."""
    ctx = _start(overrides)
    job = store.get_job(ctx.db, job_id)
    _reply(conn, lambda: fanout.train_part(ctx, job, bot, fanout.Prepared.from_json(prepared)).as_json())


def _reply(conn: Connection, work: Callable[[], dict[str, Any]]) -> None:
    try:
        message: dict[str, Any] = {"ok": work()}
    except Exception as exc:
        kind = next((t.__name__ for t in ERROR_TYPES if isinstance(exc, t)), None)
        text = str(exc) if kind else f"{type(exc).__name__}: {exc}"
        message = {"error": {"type": kind or "Exception", "message": text}}
    conn.send(message)
    conn.close()


def raise_error(error: dict[str, str]) -> None:
    """Raise, in the job's process, the error a stage child reported (its type keeps its meaning)."""
    kinds = {t.__name__: t for t in ERROR_TYPES}
    raise kinds.get(error["type"], CandleLabError)(error["message"])
