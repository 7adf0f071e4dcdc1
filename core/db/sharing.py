"""Storage that workers on other machines can share, checked before any of them is used.

SQLite is a file on this machine: a worker elsewhere cannot open it, and SQLite's locking is not
safe over network filesystems, so remote workers on SQLite are refused. A `file://` artifact
store works for them only when that path is one shared filesystem mounted at the same place on
every machine (NFS, a cluster volume), which cannot be checked from here: that gives a warning.

Workers count as remote when `JOB_EXECUTOR=dask` names a scheduler beyond loopback. Only literal
loopback addresses and `localhost` are local: a host name is not resolved (a name that points
here today may not tomorrow, and workers connect from anywhere the scheduler is reachable).
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from core.errors import BadInput
from core.settings import Settings
from core.urls import redact_url

log = logging.getLogger(__name__)


def scheduler_host(address: str) -> str:
    """The host of a Dask address such as `tcp://10.0.0.5:8786`, `tls://[::1]:8786` or `host:8786`."""
    text = address.strip()
    if "://" not in text:
        text = f"tcp://{text}"
    return (urlsplit(text).hostname or "").lower()


def is_loopback(address: str) -> bool:
    if address.strip().startswith("inproc://"):
        return True  # a scheduler inside this very process
    host = scheduler_host(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def remote_workers(settings: Settings) -> bool:
    """Whether job bodies may run on other machines (a Dask scheduler beyond loopback)."""
    if settings.job_executor != "dask":
        return False
    address = settings.dask_scheduler_address
    return bool(address) and not is_loopback(address or "")


def require_shared_database(settings: Settings) -> None:
    """Refuse remote workers on SQLite, with a message that names the fix."""
    if remote_workers(settings) and settings.db_url.startswith("sqlite"):
        raise BadInput(
            f"JOB_EXECUTOR=dask with the scheduler at {settings.dask_scheduler_address} lets workers run on "
            f"other machines, but the database is SQLite ({settings.db_url.removeprefix('sqlite:///')}), a "
            "file only this machine can open. Set DATABASE_URL to a PostgreSQL server every worker "
            "reaches (postgresql+psycopg://user@host/candlelab), run `python -m core db upgrade`, and "
            "move the existing data with `python -m core db copy --to URL`."
        )


def artifact_store_warning(settings: Settings) -> str | None:
    """A warning when remote workers would write artifacts to a folder of this machine."""
    if not remote_workers(settings):
        return None
    parts = urlsplit(settings.artifact_location)
    if parts.scheme not in ("", "file"):
        return None
    return (
        f"ARTIFACT_URL is {redact_url(settings.artifact_location)}, a local folder: workers on other "
        "machines can write models there only if it is one shared filesystem mounted at the same path on "
        "every machine. Otherwise set ARTIFACT_URL to an object store, e.g. s3://bucket/candlelab."
    )


def require_shared_storage(settings: Settings) -> list[str]:
    """Everything a distributed executor checks before it starts: refuses SQLite, warns on file://."""
    require_shared_database(settings)
    warnings = [w for w in (artifact_store_warning(settings),) if w]
    for warning in warnings:
        log.warning("%s", warning)
    return warnings
