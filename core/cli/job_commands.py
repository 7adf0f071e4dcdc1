"""`trigger`, `jobs` (list, run, cancel) and `scheduler`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

from core.cli.output import CommandResult
from core.context import Context
from core.jobs import store
from core.requests import JobRef, PageRequest, TriggerRequest, parse
from core.services.actors import Actor


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    trig = subparsers.add_parser(
        "trigger", parents=[common], help="the chart-view path: quick training in the background if stale"
    )
    trig.add_argument("--symbol", required=True)
    trig.add_argument("--timeframe", required=True)
    trig.add_argument("--force", action="store_true", help="train even when the model is fresh")
    trig.set_defaults(handler=_trigger)

    jobs = subparsers.add_parser("jobs", parents=[common], help="list training jobs (and run or cancel one)")
    jobs.add_argument("--status", choices=store.JOB_STATUSES)
    jobs.add_argument("--symbol")
    jobs.add_argument("--limit", type=int, default=50)
    jobs.add_argument("--offset", type=int, default=0)
    jobs.set_defaults(handler=_list)
    sub = jobs.add_subparsers(dest="jobs_command")
    run = sub.add_parser("run", parents=[common], help="run a queued job in this process (worker entry)")
    run.add_argument("job_id", type=int)
    run.set_defaults(handler=_run)
    cancel = sub.add_parser("cancel", parents=[common], help="ask a job to stop at its next stage")
    cancel.add_argument("job_id", type=int)
    cancel.set_defaults(handler=_cancel)

    sched = subparsers.add_parser("scheduler", parents=[common], help="run the scheduler in the foreground")
    sched.set_defaults(handler=_scheduler)


def _render_trigger(data: Mapping[str, Any]) -> str:
    if data["started"]:
        return f"started job {data['job_id']}: {data['reason']}"
    return f"not started: {data['reason']}"


def _trigger(ctx: Context, args: argparse.Namespace) -> CommandResult:
    # Imported here, as every command's engine is: each CLI process builds the whole parser, so a
    # module-level import would slow every command down (the runner brings pandas and the bodies).
    from core.jobs.runner import JobRunner
    from core.runtime import make_executor
    from core.services.runs import trigger_training

    request = parse(TriggerRequest, symbol=args.symbol, timeframe=args.timeframe, force=args.force)
    # The command returns at once; a detached worker process (or a Dask worker) carries the job.
    runner = JobRunner(ctx, executor=make_executor(ctx, "detached"))
    try:
        result = trigger_training(runner, Actor.cli(), request)
    finally:
        runner.shutdown()
    return CommandResult(result.as_json(), _render_trigger)


def _render_jobs(data: Mapping[str, Any]) -> str:
    if not data["jobs"]:
        return "no jobs"
    lines = []
    for job in data["jobs"]:
        line = (
            f"#{job['job_id']:<5} {job['kind']:<8} {job['symbol']:<12} {job['timeframe']:<4} "
            f"{job['status']:<16} {job['progress'] * 100:5.1f}%  {job['stage']}"
        )
        if job["error"]:
            line += f"\n       error: {job['error']}"
        lines.append(line)
    return "\n".join(lines)


def _list(ctx: Context, args: argparse.Namespace) -> CommandResult:
    """A read: it never runs orphan recovery (a write) — the runner and the scheduler do that."""
    page = parse(PageRequest, limit=args.limit, offset=args.offset)
    jobs = store.list_jobs(
        ctx.db, status=args.status, symbol=args.symbol, limit=page.limit, offset=page.offset
    )
    return CommandResult({"jobs": [job.as_json() for job in jobs]}, _render_jobs)


def _run(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.jobs.local.spawn import renice_process
    from core.jobs.runner import run_job

    renice_process(ctx.settings.job_nice)  # a job body yields the cores to pages and commands
    job = run_job(_job_id(args), ctx=ctx)
    return CommandResult(job.as_json(), exit_code=store.exit_code(job.status))


def _cancel(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.services.runs import cancel_job

    return CommandResult(cancel_job(ctx, Actor.cli(), _job_id(args)).as_json())


def _job_id(args: argparse.Namespace) -> int:
    return parse(JobRef, job_id=args.job_id).job_id


def _scheduler(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.jobs.runner import JobRunner
    from core.runtime import make_executor
    from core.scheduling.scheduler import Scheduler
    from core.scheduling.tasks import build_tasks, plan

    runner = JobRunner(ctx, make_executor(ctx, "background"))
    scheduler = Scheduler(ctx, runner, build_tasks(ctx.settings))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    scheduler.start()
    for row in plan(ctx.settings):
        state = f"next {row['next_run']}" if row["enabled"] else "disabled"
        print(f"{row['task']}: {row['description']} ({state})", file=sys.stderr, flush=True)
    stop.wait()
    scheduler.shutdown()
    runner.shutdown(wait=False)
    return CommandResult({"stopped": True})
