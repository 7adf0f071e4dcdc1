"""What the commands that run jobs share: the foreground runner and the one status → exit-code rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.cli.output import CommandResult
from core.context import Context
from core.errors import CandleLabError
from core.jobs.runner import JobRunner
from core.jobs.store import JobView, exit_code
from core.runtime import make_executor


class JobEnded(CandleLabError):
    """A job the command ran ended without doing its work (failed, cancelled, interrupted)."""


def foreground_runner(ctx: Context) -> JobRunner:
    """A runner whose jobs end before `submit` returns: in this process (Ctrl-C interrupts them),
    or with JOB_EXECUTOR=dask on a worker while the command waits (Ctrl-C cancels them)."""
    return JobRunner(ctx, executor=make_executor(ctx, "foreground"))


def job_result(
    job: JobView, data: Mapping[str, Any], render: Callable[[Mapping[str, Any]], str], warnings: list[str]
) -> CommandResult:
    """The command's result for a job that ended: its output, or its error with exit code 1."""
    if exit_code(job.status) != 0:
        raise JobEnded(
            f"job {job.job_id} {job.status.replace('_', ' ')}: {job.error or 'no detail recorded'}"
        )
    if job.status == "budget_exhausted":
        warnings = [f"stopped on the daily LLM budget: {job.error}", *warnings]
    return CommandResult(data, render, exit_code=exit_code(job.status), warnings=warnings)
