"""A local S3-compatible server for tests: moto in server mode on 127.0.0.1, a free port, torn down after.

Moto checks no signatures, so any key pair works; tests still pass one, as a real desk would, to
show it never reaches a log, a page or the database.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

ACCESS_KEY = "AKIACANDLELABTEST01"
SECRET_KEY = "s3cr3t-Zq8x1Lw93kPq7FfdC2-candlelab"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.1)
        yield S3Server(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
