"""A real API server for tests and the load bench: `python -m core api` on a free loopback port.

Shared by the API tests (one server per module) and `bench/api_load.py`. The child gets its own
CANDLELAB_HOME (and DATABASE_URL when given) and none of the developer's LLM settings.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import servers
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
_LEAKY = ("FREDDY_", "OPENAI_", "LLM_", "CANDLELAB_HOME", "DATABASE_URL", "MARKET_DATA", "QT_AI_")


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY)}
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return {**env, "CANDLELAB_HOME": str(home), **extra}


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """Run `python -m core ARGS --json` in this process against `home`: (exit code, JSON, stderr).

    The same `main` as the console script, without a interpreter start per call (seconds on a busy
    machine); `cli_process` runs the real subprocess where that matters.
    """
    from core.cli import main
    from core.logging_setup import reset_logging

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith(_LEAKY)]:
            patch.delenv(name)
        for name, value in {"CANDLELAB_HOME": str(home), **(env or {})}.items():
            patch.setenv(name, value)
        patch.chdir(home)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--json"])
        reset_logging()
    text = out.getvalue()
    return code, json.loads(text) if text.strip() else None, err.getvalue()


def cli_process(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, Any, str]:
    """Run `python -m core ARGS --json` in a subprocess; returns (exit code, parsed stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "core", *args, "--json"],
        cwd=home,
        env={**child_env(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    doc = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, doc, proc.stderr


def create_token(home: Path, name: str, scopes: str, *extra: str, env: dict[str, str] | None = None) -> str:
    code, doc, err = cli(home, "tokens", "create", "--name", name, "--scopes", scopes, *extra, env=env)
    assert code == 0, err
    return str(doc["token"])


@dataclass
class LiveServer:
    url: str
    home: Path
    log: Path
    process: subprocess.Popen[bytes]

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(
    home: Path, env: dict[str, str] | None = None, args: Sequence[str] = (), timeout: float = 60
) -> Iterator[LiveServer]:
    """Serve the API against `home` until the block ends (SIGTERM then, as an operator would)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home / f"api-{port}.log"
    with servers.serve(
        [sys.executable, "-m", "core", "api", "--host", "127.0.0.1", "--port", str(port), *args],
        ready=lambda: servers.answers(f"{url}/health"),
        log=log,
        name="the API",
        env={**child_env(home), **(env or {})},
        cwd=home,
        timeout=timeout,
    ) as process:
        yield LiveServer(url, home, log, process)
