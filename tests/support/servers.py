"""Live servers for tests and benches: a free loopback port, a process started and polled until it
answers, stopped after; and waiting until a condition holds.

Ports are safe to take from parallel test processes (pytest-xdist): each worker draws from its own
block below the kernel's ephemeral range, so two workers never hand out the same port and no
outgoing connection (which takes an ephemeral port) can grab one between the check and the bind.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_BLOCK = 1_000  # ports per test process
_FIRST = 10_000  # well above the well-known and registered ports tests might meet
_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _worker_index() -> int:
    """0 outside xdist, N for worker `gwN`."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback TCP port nothing listens on, never handed out twice by this process."""
    start = _FIRST + _worker_index() * _BLOCK
    if start + _BLOCK <= _ephemeral_low():
        candidates = [p for p in range(start, start + _BLOCK) if p not in _handed_out]
        random.shuffle(candidates)  # other checkouts' suites on this machine start elsewhere
        for port in candidates:
            if _bindable(port):
                _handed_out.add(port)
                return port
    # Too many workers for the blocks below the ephemeral range (or all taken): let the kernel pick.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.1,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Call `condition` until it returns something truthy (returned) or `timeout` s pass.

    Then an AssertionError says what was awaited: `message`, or what `message()` says at that
    moment (the state that was still wrong).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            what = message() if callable(message) else message
            raise AssertionError(f"waited {timeout:g} s in vain for {what}")
        time.sleep(interval)


def answers(url: str, *, body: str | None = None, timeout: float = 2) -> bool:
    """`url` answers 200 (and, when given, exactly `body`, surrounding whitespace aside)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status == 200 and (body is None or reply.read().decode().strip() == body)
    except OSError:
        return False


def stop(process: subprocess.Popen[bytes], *, timeout: float = 20, group: bool = False) -> None:
    """SIGTERM (to its process group with `group`), as an operator would; SIGKILL if it lingers."""

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)

    send(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def serve(
    args: Sequence[str],
    *,
    ready: Callable[[], bool],
    log: Path,
    name: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    interval: float = 0.1,
    stop_timeout: float = 20,
    group: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `args` (output to `log`) until the block ends, once `ready()` says it serves.

    Fails with the log's tail if the process exits or is not ready within `timeout` s. `group`
    starts it in a new session and stops the whole group (for `make`, whose children do the work).
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=group,
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{_tail(log)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s:\n{_tail(log)}")
                time.sleep(interval)
            yield process
        finally:
            stop(process, timeout=stop_timeout, group=group)


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:]
