"""A real OpenID Connect provider on 127.0.0.1 for sign-in tests: `oidc-provider-mock` (PyPI).

It runs in its own process (uvicorn), issues real signed ID tokens for the users given, and
shows its authorization form in the browser, where a test picks the user to sign in as.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support import servers
from tests.support.servers import free_port


@contextlib.contextmanager
def oidc_provider(users: list[dict[str, str]], log: Path, timeout: float = 30) -> Iterator[str]:
    """Serve the provider until the block ends; yields its issuer URL (metadata under it)."""
    port = free_port()
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
    issuer = f"http://127.0.0.1:{port}"
    with servers.serve(
        args,
        ready=lambda: servers.answers(f"{issuer}/.well-known/openid-configuration"),
        log=log,
        name="the OIDC provider",
        env={**os.environ, "NO_COLOR": "1"},
        timeout=timeout,
        interval=0.2,
        stop_timeout=10,
    ):
        yield issuer
