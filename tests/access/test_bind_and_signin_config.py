"""Serving without sign-in only on loopback: the rule, the preflight `make run` runs, and what
counts as a usable `[auth]` section. Inert text is checked here as a pure function too."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.access.binding import is_loopback
from core.context import Context
from core.db.database import forget_database
from core.errors import BadInput
from core.logging_setup import reset_logging
from dashboard import inert
from dashboard.preflight import open_bind_refusal
from dashboard.signin_config import NO_AUTH, parse_auth
from tests.conftest import REPO, make_settings
from tests.support.servers import free_port

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-long-random-cookie-secret-for-tests",
    "client_id": "candlelab",
    "client_secret": "s3cret-value",
    "server_metadata_url": "http://127.0.0.1:9400/.well-known/openid-configuration",
}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("", False),  # Streamlit binds every interface when no address is set
        (None, False),
        ("::", False),
        ("192.168.1.10", False),
        ("desk.example.com", False),
    ],
)
def test_only_loopback_counts_as_local(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_an_open_bind_is_refused_only_without_sign_in() -> None:
    refusal = open_bind_refusal("0.0.0.0", NO_AUTH)
    assert refusal is not None and "0.0.0.0" in refusal and "[auth] in .streamlit/secrets.toml" in refusal
    assert "HOST=127.0.0.1" in refusal  # the message names both fixes
    assert open_bind_refusal("127.0.0.1", NO_AUTH) is None
    assert open_bind_refusal("0.0.0.0", parse_auth({"auth": AUTH})) is None


def test_auth_sections_are_parsed_with_their_problems() -> None:
    assert parse_auth(None) == NO_AUTH and parse_auth({"other": {}}) == NO_AUTH
    one = parse_auth({"auth": AUTH})
    assert one.enabled and one.providers == ("default",) and one.problem is None
    shared = {k: AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    named = parse_auth({"auth": {**shared, "okta": provider, "google": provider}})
    assert named.providers == ("okta", "google") and named.problem is None
    broken = parse_auth({"auth": {"client_id": "x", "okta": {"client_id": "y"}}})
    assert broken.enabled and broken.problem is not None
    for needed in (
        "[auth] needs cookie_secret",
        "[auth] needs client_secret",
        "[auth.okta] needs server_metadata_url",
    ):
        assert needed in broken.problem
    assert "names no provider" in (parse_auth({"auth": shared}).problem or "")


def _preflight(cwd: Path, address: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(cwd)}  # no ~/.streamlit/secrets.toml
    return subprocess.run(
        [sys.executable, "-m", "dashboard.preflight", "--address", address],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_preflight_refuses_an_open_bind_until_sign_in_is_configured(tmp_path: Path) -> None:
    refused = _preflight(tmp_path, "0.0.0.0")
    assert refused.returncode == 2 and "refusing to serve the dashboard on 0.0.0.0" in refused.stderr
    assert _preflight(tmp_path, "127.0.0.1").returncode == 0
    (tmp_path / ".streamlit").mkdir()
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.write_text("[auth]\nredirect_uri = 'http://x/oauth2callback'\n")
    half = _preflight(tmp_path, "127.0.0.1")
    assert (
        half.returncode == 2 and "sign-in is misconfigured" in half.stderr and "cookie_secret" in half.stderr
    )
    secrets.write_text("[auth]\n" + "".join(f"{k} = {v!r}\n" for k, v in AUTH.items()))
    assert _preflight(tmp_path, "0.0.0.0").returncode == 0
    assert "s3cret-value" not in half.stderr + half.stdout


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_on_an_open_address_refuses_before_starting(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CANDLELAB_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    run = subprocess.run(
        ["make", "--no-print-directory", "run", "HOST=0.0.0.0", f"PORT={port}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0 and "refusing to serve the dashboard on 0.0.0.0" in run.stderr
    assert not _listening(port) and not (tmp_path / "home").exists()  # nothing started, nothing written


@pytest.mark.parametrize(
    "hostile",
    [
        "![x](http://127.0.0.1:9/track.png)",
        "[click](http://127.0.0.1:9/)",
        "<img src=http://127.0.0.1:9/a.png>",
        "see www.example.com or http://127.0.0.1:9/x",
        "``code`` and `one` :red[colour] $x^2$",
    ],
)
def test_inline_text_becomes_one_code_span_showing_every_character(hostile: str) -> None:
    shown = inert.md(hostile)
    fence = re.match(r"`+", shown)
    assert fence is not None
    ticks = fence.group(0)
    assert shown == f"{ticks} {hostile} {ticks}" and ticks not in hostile  # nothing inside closes it
    assert inert.md("line one\nline two\x00") == "` line one line two `"
    assert inert.md(None) == "—" and len(inert.md("x" * 5000)) < 700


def test_the_home_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    ctx = Context.create(make_settings(home), logs=True)
    try:
        assert (home / "candlelab.db").exists() and (home / "logs" / "backend.log").exists()
        assert stat.S_IMODE(home.stat().st_mode) == 0o700  # nobody else can reach what is inside
    finally:
        forget_database(ctx.settings.db_url)
        reset_logging()


def test_an_error_message_shows_its_quoted_parts_as_code_without_literal_backticks() -> None:
    message = "the database schema is not current; run `python -m core db upgrade` first"
    assert inert.error(BadInput(message)) == (
        "` the database schema is not current; run ` ` python -m core db upgrade ` ` first `"
    )
    # A quoted reply stays inert: every part is a code span, whatever it holds.
    hostile = inert.error("provider said `![x](http://127.0.0.1:9/t.png)` and <b>bold</b>")
    assert hostile == "` provider said ` ` ![x](http://127.0.0.1:9/t.png) ` ` and <b>bold</b> `"
    assert inert.error("``") == "—" and len(inert.error("x" * 5000)) < 700
