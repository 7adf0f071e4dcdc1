"""Which executor a process gets: by configuration (`JOB_EXECUTOR`) and by what the process is.

- `local` (default): foreground commands (`train`, `label`, `retrain`) run the job in their own
  process and wait; background work (the dashboard, the scheduler) runs in supervised worker
  processes, JOB_WORKERS at a time (`ProcessPool`); `trigger` starts one detached process.
- `dask`: every job body runs on a Dask worker; foreground commands wait for it, `trigger`
  submits with `fire_and_forget` and returns.

Background work never runs on threads of the process that asked for it: a Streamlit server that
trains on its own threads shares the GIL and the cores with page rendering. `make run` still needs
nothing but Python: the local executor's workers are plain `python -m core jobs run` processes.
"""

from __future__ import annotations

import importlib
from typing import Literal

from core.context import Context
from core.errors import BadInput
from core.jobs.executor import Executor, ForegroundExecutor, SubprocessExecutor
from core.jobs.installation import installation_env
from core.jobs.process_pool import ProcessPool

Mode = Literal["foreground", "background", "detached"]


def make_executor(ctx: Context, mode: Mode) -> Executor:
    settings = ctx.settings
    if settings.job_executor == "dask":
        return dask_executor(ctx, foreground=mode == "foreground")
    if mode == "foreground":
        return ForegroundExecutor()
    env = installation_env(settings)
    if mode == "detached":
        return SubprocessExecutor(settings.logs_dir, env=env)
    return ProcessPool(
        ctx.db, settings.logs_dir, workers=settings.job_workers, grace_s=settings.job_cancel_grace_s, env=env
    )


def dask_executor(ctx: Context, *, foreground: bool = False) -> Executor:
    """The Dask executor. `distributed` is an optional dependency (the `dask` extra) and slow to
    import, so it is imported here, only by processes configured for it."""
    try:
        module = importlib.import_module("core.jobs.dask_executor")
    except ModuleNotFoundError as exc:
        if exc.name not in ("distributed", "dask"):
            raise
        raise BadInput(
            "JOB_EXECUTOR=dask needs Dask's `distributed` package: pip install -e '.[dask]' "
            "(or `make install EXTRAS=dask`)"
        ) from None
    executor: Executor = module.DaskExecutor.connect(ctx, foreground=foreground)
    return executor
