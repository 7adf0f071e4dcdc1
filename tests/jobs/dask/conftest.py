"""One real Dask cluster for the scale tests: `LocalCluster` with two worker processes.

Started once per session (workers import the training stack once), configured as CandleLab
clusters are (`allowed-failures` 0, non-daemonic workers so a job body can run in a child the
worker ends). Each test points the workers at its own installation with the `CandleLabWorker`
plugin, so SQLite and PostgreSQL tests share the cluster.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import dask
import pytest
from distributed import Client, LocalCluster

from core.context import Context
from core.data import supply
from core.jobs.dask.client import DaskExecutor
from core.jobs.dask.worker import CandleLabWorker
from core.jobs.installation import installation
from tests.jobs.helpers import GBPUSD_CSV

CLUSTER_CONFIG = {"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 0}
WORKERS = 2
# One thread per task (two single-threaded workers on two cores) and two walk-forward folds: the
# tests check where and how jobs run, not the models' numbers.
WORKER_SETTINGS = {"training_threads": 1, "walkforward_folds": 2}


# Worker processes are spawned, and spawn re-runs `sys.modules["__main__"]`. Streamlit's AppTest
# (the dashboard tests, earlier in the session) leaves the app script there, so a worker would
# start the dashboard: the cluster is started with pytest's own main module in place.
_PYTEST_MAIN = sys.modules["__main__"]


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Client]:
    sys.modules["__main__"] = _PYTEST_MAIN
    with (
        dask.config.set(CLUSTER_CONFIG),
        LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


Attach = Callable[..., DaskExecutor]


@pytest.fixture
def on_cluster(dask_client: Client) -> Attach:
    """Point every worker at `ctx`'s installation (plus setting overrides); an executor for it."""

    def attach(ctx: Context, **overrides: object) -> DaskExecutor:
        dask_client.wait_for_workers(WORKERS, timeout=120)
        overrides = {**WORKER_SETTINGS, **overrides}
        settings = {**installation(ctx.settings), **{k: str(v) for k, v in overrides.items()}}
        dask_client.register_plugin(CandleLabWorker(settings))
        return DaskExecutor(ctx, dask_client)

    return attach


@pytest.fixture
def gbpusd(ctx: Context) -> Context:
    """The test's installation with the GBPUSD daily history imported from its MetaTrader 5 export."""
    supply.import_csv(ctx, GBPUSD_CSV, "GBPUSD", "1d")
    return ctx
