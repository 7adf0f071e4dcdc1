"""The Labels page under the knowledge-cutoff firewall: GOOG 1d labeled by the fake LLM as gpt-4o
(cutoff 2023-10-01) has no post-cutoff point, so the headline says n = 0 and the figures appear
apart as "possibly remembered"; one label shows exactly the anonymized context that was sent."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.context import Context
from core.labeling.probe import run_probe
from core.labeling.service import run_labeling
from core.settings import load_settings
from tests.dashboard.conftest import open_app, texts
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-test-dashboard-firewall-77"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key=KEY) as fake:
        yield fake


def _use_gpt_4o(monkeypatch: pytest.MonkeyPatch, server: FakeLLMServer, **extra: str) -> None:
    """The fake server as an OpenAI-compatible gpt-4o (knowledge cutoff 2023-10-01)."""
    settings = {
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": server.openai_url,
        "OPENAI_MODEL": "gpt-4o",
        **extra,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


def test_labels_page_keeps_possibly_remembered_labels_out_of_the_headline(
    dashboard_home: Callable[[Path | None], Path],
    goog_template: Path,
    server: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dashboard_home(goog_template)
    _use_gpt_4o(monkeypatch, server, LLM_ANONYMIZE="on")
    ctx = Context.create(load_settings(), logs=False)
    server.script("invalid")
    result = run_labeling(ctx, "GOOG", "1d", samples=30, labeler="llm", seed=3)
    assert result.labeled == 29 and result.invalid_replies == 1
    run_probe(ctx, "GOOG", "1d", points=4)

    at = open_app("labels", {"symbol": "GOOG", "tf": "1d"})
    page = texts(at)
    assert (
        "Headline figures count only the **0** labels after the model's knowledge cutoff (2023-10-01)" in page
    )
    assert "on 0 scored BUY/SELL labels" in page  # the headline's n
    assert "**Possibly remembered** · 29 labels before the knowledge cutoff" in page
    assert "1 invalid replies" in page
    assert any("knowledge cutoff 2023-10-01" in e.label for e in at.expander)
    assert "Before the cutoff" in " ".join(" ".join(map(str, df.value.iloc[:, 0])) for df in at.dataframe)
    probe = next(c.value for c in at.caption if c.value.startswith("Last probe"))
    assert re.match(r"Last probe \d{4}-\d\d-\d\d \d\d:\d\d UTC on ", probe), probe  # a human time, not ISO
    at.session_state["labels_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    page = texts(at)
    assert "possibly remembered" in page and "Exactly what was sent, anonymized" in page
    sent = [j.value for j in at.json]
    assert sent and "GOOG" not in str(sent[0]) and '"as_of": "t0"' in str(sent[0]).replace("'", '"')


def test_experiments_page_marks_a_result_forced_past_the_cutoff(
    dashboard_home: Callable[[Path | None], Path],
    goog_template: Path,
    server: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.requests import ExperimentRequest
    from core.services.actors import Actor
    from core.services.experiments import run_experiment

    dashboard_home(goog_template)
    _use_gpt_4o(monkeypatch, server)
    ctx = Context.create(load_settings(), logs=False)
    request = ExperimentRequest(
        symbol="GOOG",
        timeframe="1d",
        labelers=("llm", "rules"),
        bots=("xgb_agent",),
        samples=60,
        folds=2,
        force=True,
    )
    run_experiment(ctx, Actor.system("test"), request)
    at = open_app("experiments", {"symbol": "GOOG", "tf": "1d"})
    warnings = " ".join(w.value for w in at.warning)
    assert "Forced: the window lies wholly before the LLM's knowledge cutoff (2023-10-01)" in warnings
