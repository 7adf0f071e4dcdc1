"""A local S3-compatible server for tests: moto in server mode on 127.0.0.1, a free port, torn down after.

Moto checks no signatures, so any key pair works; tests still pass one, as a real desk would, to
show it never reaches a log, a page or the database.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import servers
from tests.support.servers import free_port

ACCESS_KEY = "AKIACANDLELABTEST01"
SECRET_KEY = "s3cr3t-Zq8x1Lw93kPq7FfdC2-candlelab"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def new_bucket(self) -> str:
        """A fresh, empty bucket (the S3 API's CreateBucket is a plain PUT for moto)."""
        name = f"candlelab-{uuid.uuid4().hex[:12]}"
        httpx.put(f"{self.endpoint}/{name}", timeout=10).raise_for_status()
        return name

    def settings(self, bucket: str, prefix: str = "models") -> dict[str, str]:
        """Settings overrides that point the artifact store at `bucket/prefix` on this server."""
        return {
            "artifact_url": f"s3://{bucket}/{prefix}",
            "aws_endpoint_url": self.endpoint,
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
        }

    def environment(self, bucket: str, prefix: str = "models") -> dict[str, str]:
        return {name.upper(): value for name, value in self.settings(bucket, prefix).items()}


@contextmanager
def temporary_server() -> Iterator[S3Server]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with (
        tempfile.TemporaryDirectory(prefix="candlelab-s3-") as folder,
        servers.serve(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            ready=lambda: servers.answers(f"{endpoint}/moto-api/"),
            log=Path(folder) / "moto.log",
            name="the moto S3 server",
            stop_timeout=10,
        ),
    ):
        yield S3Server(endpoint)
