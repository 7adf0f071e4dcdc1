"""Whether a server may listen on an address without sign-in: only on the loopback interface.

The dashboard (and any other entry point that serves people) is open to whoever reaches it
when no sign-in is configured, so it must only be reachable from this machine.
"""

from __future__ import annotations

import ipaddress

from core.errors import BadInput

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; an empty address means every interface."""
    name = (host or "").strip().strip("[]").lower()
    if not name:
        return False
    if name in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name may resolve to any interface


def check_open_bind(host: str | None, *, what: str, fix: str) -> None:
    """Raise `BadInput` naming `fix` when `host` is not loopback (the caller has no sign-in)."""
    if is_loopback(host):
        return
    shown = host or "every interface"
    raise BadInput(f"refusing to serve {what} on {shown} without sign-in: {fix}")
