"""Workers on other machines need a shared database (refused on SQLite) and shared artifacts (warned)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db.sharing import is_loopback, remote_workers, require_shared_database, require_shared_storage
from core.errors import BadInput
from tests.conftest import make_settings

PG = "postgresql+psycopg://desk:pw-secret-77@db.internal/candlelab"


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("tcp://127.0.0.1:8786", True),
        ("127.0.0.5:8786", True),
        ("tls://localhost:8786", True),
        ("tcp://[::1]:8786", True),
        ("inproc://10.0.0.5/1234/1", True),
        ("tcp://10.0.0.5:8786", False),
        ("tls://scheduler.desk.internal:8786", False),
        ("0.0.0.0:8786", False),
        ("tcp://192.168.1.20:8786", False),
    ],
)
def test_only_literal_loopback_addresses_are_local(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_sqlite_with_remote_workers_is_refused_with_the_fix(home: Path) -> None:
    settings = make_settings(home, job_executor="dask", dask_scheduler_address="tcp://10.0.0.5:8786")
    assert remote_workers(settings)
    with pytest.raises(BadInput) as refused:
        require_shared_database(settings)
    message = str(refused.value)
    assert "SQLite" in message and "tcp://10.0.0.5:8786" in message
    assert "DATABASE_URL" in message and "db copy --to" in message and "db upgrade" in message


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # the local executor
        {"job_executor": "dask"},  # a cluster started on this machine
        {"job_executor": "dask", "dask_scheduler_address": "tcp://127.0.0.1:8786"},
        {"job_executor": "local", "dask_scheduler_address": "tcp://10.0.0.5:8786"},
    ],
)
def test_sqlite_is_fine_when_every_worker_is_on_this_machine(home: Path, overrides: dict[str, str]) -> None:
    settings = make_settings(home, **overrides)
    assert not remote_workers(settings)
    assert require_shared_storage(settings) == []


def test_a_local_artifact_folder_with_remote_workers_is_warned_about(home: Path) -> None:
    remote = {"job_executor": "dask", "dask_scheduler_address": "tls://10.0.0.5:8786", "database_url": PG}
    warnings = require_shared_storage(make_settings(home, **remote))
    assert len(warnings) == 1 and "shared filesystem" in warnings[0] and "s3://" in warnings[0]
    assert "pw-secret-77" not in warnings[0]
    shared = make_settings(home, **remote, artifact_url="s3://desk-models/candlelab")
    assert require_shared_storage(shared) == []
