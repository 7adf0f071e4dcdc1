"""A real OpenID Connect provider on 127.0.0.1 for sign-in tests: `oidc-provider-mock` (PyPI).

It runs in its own process (uvicorn), issues real signed ID tokens for the users given, and
shows its authorization form in the browser, where a test picks the user to sign in as.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def oidc_provider(users: list[dict[str, str]], log: Path, timeout: float = 30) -> Iterator[str]:
    """Serve the provider until the block ends; yields its issuer URL (metadata under it)."""
    port = _free_port()
    args = [
        sys.executable,
        "-W",
        "ignore",
        "-m",
        "oidc_provider_mock",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    for user in users:
        args += ["--user-claims", json.dumps(user)]
    out = log.open("wb")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the OIDC provider exited with {proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the OIDC provider did not answer in {timeout:.0f} s")
            time.sleep(0.2)
        yield issuer
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        out.close()
