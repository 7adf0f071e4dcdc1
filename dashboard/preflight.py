"""Before the server starts: refuse to serve an address other than loopback without sign-in.

`make run` runs `python -m dashboard.preflight --address $(HOST)` first, so an open bind never
starts a server at all; `dashboard/app.py` applies the same rule to the address Streamlit was
started on, so a direct `streamlit run … --server.address 0.0.0.0` serves only the refusal.
Exit codes follow the CLI's: 0 fine, 2 refused (the message names the fix).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import streamlit as st

from core.access.binding import check_open_bind
from core.errors import BadInput
from dashboard.signin_config import AuthConfig, parse_auth

FIX = (
    "configure sign-in under [auth] in .streamlit/secrets.toml (see .streamlit/secrets.toml.example "
    "and docs/operators/sign-in.md), or serve on 127.0.0.1 (make run HOST=127.0.0.1)"
)


def open_bind_refusal(address: str | None, config: AuthConfig) -> str | None:
    """The refusal message, or None when `address` may be served as configured."""
    if config.enabled:
        return None
    try:
        check_open_bind(address, what="the dashboard", fix=FIX)
    except BadInput as exc:
        return str(exc)
    return None


def secrets_auth() -> AuthConfig:
    """The `[auth]` section from the secrets files Streamlit itself would read (cwd, home)."""
    try:
        return parse_auth({"auth": st.secrets["auth"]} if "auth" in st.secrets else None)
    except FileNotFoundError:
        return parse_auth(None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.preflight", description=__doc__)
    parser.add_argument("--address", required=True, help="the address `streamlit run` will bind")
    args = parser.parse_args(argv)
    config = secrets_auth()
    refusal = open_bind_refusal(args.address, config)
    if refusal is None and config.problem:
        refusal = f"sign-in is misconfigured: {config.problem}"
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
