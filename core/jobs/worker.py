"""Running a job from its id alone, in any process: the job row and the settings are all it needs.

`python -m core jobs run ID` (the subprocess executor's worker) calls `run_job`; an executor for
a distributed engine ships the id to it on a worker in the same way.
"""

from __future__ import annotations

from core.context import Context
from core.jobs.executor import ForegroundExecutor
from core.jobs.runner import JobRunner
from core.jobs.store import JobView
from core.settings import Settings


def run_job(job_id: int, settings: Settings | None = None, ctx: Context | None = None) -> JobView:
    """Run a queued job in this process and return how it ended."""
    ctx = ctx or Context.create(settings, migrate=False)
    runner = JobRunner(ctx, executor=ForegroundExecutor(), recover=False)
    try:
        return runner.run(job_id)
    finally:
        runner.shutdown()
