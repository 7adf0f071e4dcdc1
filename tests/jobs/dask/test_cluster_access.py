"""Who may reach the cluster: TLS from the settings, and the refusals that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from distributed.security import Security

from core.context import Context
from core.errors import BadInput
from core.jobs.dask.client import DaskExecutor, cluster_security
from core.jobs.local.executors import SubprocessExecutor
from core.jobs.local.process_pool import ProcessPool
from core.jobs.runner import ForegroundExecutor
from core.runtime import make_executor
from tests.conftest import make_settings


def _pem_files(security: Security, folder: Path) -> dict[str, Path]:
    """The temporary CA, certificate and key as the files an operator would deploy."""
    config = security.get_tls_config_for_role("client")
    paths = {}
    for setting, key in (("dask_tls_ca_file", "ca_file"), ("dask_tls_cert", "cert"), ("dask_tls_key", "key")):
        paths[setting] = folder / f"{key}.pem"
        paths[setting].write_text(config[key])
    return paths


def test_a_tls_scheduler_admits_a_client_with_the_configured_certificates(home: Path, tmp_path: Path) -> None:
    security = Security.temporary()
    with LocalCluster(
        n_workers=1,
        processes=False,
        protocol="tls://",
        host="127.0.0.1",
        security=security,
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        files = _pem_files(security, tmp_path)
        ctx = Context(make_settings(home, job_executor="dask", dask_scheduler_address=address, **files))
        executor = DaskExecutor.connect(ctx)
        try:
            assert executor.client.submit(sum, [1, 2, 3]).result(timeout=30) == 6  # over mutual TLS
        finally:
            executor.shutdown()
        with pytest.raises(OSError):  # no certificate: the scheduler does not talk
            Client(address.replace("tls://", "tcp://"), timeout=3, set_as_default=False)


def test_cluster_settings_that_cannot_work_are_refused_with_the_fix(home: Path, tmp_path: Path) -> None:
    def settings(**overrides: object) -> Context:
        return Context(make_settings(home, job_executor="dask", **overrides))

    with pytest.raises(BadInput, match="DASK_SCHEDULER_ADDRESS"):
        make_executor(settings(), "background")
    with pytest.raises(BadInput, match="SQLite"):  # workers elsewhere cannot open this file
        make_executor(settings(dask_scheduler_address="tcp://10.1.2.3:8786"), "background")
    with pytest.raises(BadInput, match="DASK_TLS_CA_FILE, DASK_TLS_CERT and DASK_TLS_KEY"):
        cluster_security(settings(dask_scheduler_address="tls://127.0.0.1:8786").settings)
    with pytest.raises(BadInput, match="DASK_TLS_KEY is not set"):
        cluster_security(
            settings(dask_tls_ca_file=tmp_path / "ca.pem", dask_tls_cert=tmp_path / "c.pem").settings
        )
    files = _pem_files(Security.temporary(), tmp_path)
    with pytest.raises(BadInput, match="must be tls://"):
        cluster_security(settings(dask_scheduler_address="tcp://127.0.0.1:8786", **files).settings)


def test_without_a_cluster_background_jobs_run_in_supervised_processes(ctx: Context) -> None:
    pool = make_executor(ctx, "background")
    assert isinstance(pool, ProcessPool) and pool.detached  # the dashboard and the scheduler
    assert (pool.workers, pool.grace_s) == (ctx.settings.job_workers, ctx.settings.job_cancel_grace_s)
    pool.shutdown()
    assert isinstance(make_executor(ctx, "detached"), SubprocessExecutor)  # `trigger` exits at once
    assert isinstance(make_executor(ctx, "foreground"), ForegroundExecutor)  # the CLI waits
