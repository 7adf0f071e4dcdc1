"""A provider that echoes its key in a 200 reply: the key lands in no file and on no page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit import config as st_config

from core import masking
from core.context import Context
from core.db.models import Label, LLMCall
from core.labeling.service import run_labeling
from core.logging_setup import reset_logging
from tests.labeling.conftest import LLMEnv, llm_overrides

# Characters that change under URL encoding, so each spelling is a different byte string.
KEY = "sk-echo/Zq8x1+Lw93kPq7=FfdC2"
ORG = "org-echo-7Hs2kq"


def _spellings(secret: str) -> list[bytes]:
    escaped = "".join(f"\\u{ord(c):04x}" for c in secret)
    return [s.encode() for s in (secret, quote(secret, safe=""), escaped, json.dumps(secret)[1:-1])]


def _leaks(home: Path, secrets: list[str]) -> list[str]:
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {s!r}" for secret in secrets for s in _spellings(secret) if s in data]
    return found


def test_masking_covers_verbatim_json_escaped_and_url_encoded() -> None:
    masking.register([KEY])
    lower_hex = re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(KEY, safe=""))
    text = f"a {KEY} b {json.dumps(KEY)} c {quote(KEY, safe='')} d {lower_hex}"
    masked = masking.mask(text + " " + "".join(f"\\u{ord(c):04x}" for c in KEY))
    assert KEY not in masked and "%2F" not in masked and "\\u0073" not in masked
    assert masked.count("***") == 5


def test_short_values_are_not_treated_as_secrets() -> None:
    masking.register(["abc"])
    assert masking.mask("abc def") == "abc def"


def test_an_echoed_key_lands_in_no_file_and_on_no_page(
    llm_env: LLMEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_env.server.api_key = KEY
    llm_env.server.default = "echo"
    overrides = {**llm_overrides(llm_env.provider, llm_env.server, key=KEY), "freddy_organization_id": ORG}
    llm_env.ctx()  # the bars
    ctx = Context.create(llm_env.settings(**overrides, log_level="DEBUG"), logs=True)
    try:
        result = run_labeling(ctx, "GOOG", "1d", samples=6, labeler="llm")
    finally:
        reset_logging()  # flush and close the log before reading it
    assert result.labeled == 6, result  # the echoing replies are valid labels: the test sees their text
    with ctx.db.read() as session:
        reasons = list(session.scalars(select(Label.reasoning).where(Label.reasoning.is_not(None))))
        calls = session.scalar(select(LLMCall.id).limit(1))
    assert calls is not None and reasons and all(r.startswith("debug: ***") for r in reasons)
    secrets = [KEY, ORG] if llm_env.provider == "freddy" else [KEY]
    ctx.db.dispose()  # the WAL folded in or not, every file is read as it lies
    assert not _leaks(llm_env.home, secrets)

    # The Labels page of this installation, with the key configured, shows the label in full.
    from tests.dashboard.conftest import open_app

    monkeypatch.setenv("CANDLELAB_HOME", str(llm_env.home))
    monkeypatch.setenv("DASHBOARD_SCHEDULER", "false")
    monkeypatch.chdir(llm_env.home)
    for name, value in overrides.items():
        monkeypatch.setenv(name.upper(), str(value))
    address = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")  # AppTest reads no config file
    try:
        at = open_app("labels", {"symbol": "GOOG", "tf": "1d"})
        at.session_state["labels_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
        at.run()
    finally:
        st_config.set_option("server.address", address)
        st.cache_resource.clear()
    sent = "".join(str(getattr(n, "proto", "")) for top in at._tree.children.values() for n in _walk(top))
    assert "debug: ***" in sent  # the page does show the stored reasoning
    for secret in secrets:
        assert not any(s.decode() in sent for s in _spellings(secret)), secret
    reset_logging()
    assert not _leaks(llm_env.home, secrets)


def _walk(node):  # type: ignore[no-untyped-def]
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)
