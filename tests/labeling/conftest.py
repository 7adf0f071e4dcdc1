"""Fixtures for the labeling tests: a real fake-LLM server per test and contexts pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.context import Context
from core.data import supply as data_service
from core.db.database import forget_database
from core.db.models import Bar, Label, LabelSet, LLMCall
from core.labeling.result import LabelingResult
from core.settings import Settings
from tests.conftest import GOOG_CSV, make_settings
from tests.fakes.llm_server import FakeLLMServer

API_KEY = "sk-test-Zq8x1Lw93kPq7FfdC2"  # long enough to be redacted wherever it could leak
PROVIDERS = ("freddy", "openai")


# The fault, budget and security tests judge the client, not the firewall: their model's cutoff
# lies before the GOOG history, so every point is post-cutoff and sent as is (symbol, dates, prices).
# The firewall tests set a 2023 cutoff (gpt-4o's) explicitly.
EARLY_CUTOFF = "2000-01-01"


def llm_overrides(provider: str, server: FakeLLMServer, key: str = API_KEY) -> dict[str, Any]:
    common: dict[str, Any] = {
        "llm_timeout": 2.0,
        "llm_max_retries": 2,
        "llm_concurrency": 8,
        "llm_knowledge_cutoff": EARLY_CUTOFF,
    }
    if provider == "freddy":
        return {
            **common,
            "llm_provider": "freddy",
            "freddy_enabled": True,
            "freddy_api_key": key,
            "freddy_organization_id": "org-test",
            "freddy_assistant_id": "asst-test",
            "freddy_base_url": server.url,
        }
    return {**common, "llm_provider": "openai", "openai_api_key": key, "openai_base_url": server.openai_url}


@dataclass
class LLMEnv:
    """One provider, one fake server, one CANDLELAB_HOME holding the real GOOG daily bars."""

    provider: str
    server: FakeLLMServer
    home: Path
    _contexts: list[Context] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        return make_settings(self.home, **{**llm_overrides(self.provider, self.server), **overrides})

    def ctx(self, **overrides: Any) -> Context:
        ctx = Context.create(self.settings(**overrides), logs=False)
        if not self._contexts:
            data_service.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
        self._contexts.append(ctx)
        return ctx


@pytest.fixture(params=PROVIDERS)
def llm_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LLMEnv]:
    home = tmp_path / "home"
    home.mkdir()
    with FakeLLMServer(api_key=API_KEY) as server:
        env = LLMEnv(request.param, server, home)
        yield env
    forget_database(make_settings(home).db_url)


# --- assertions shared by the fault tests --------------------------------------------------------
def stored_snapshot(ctx: Context, exclude_set: int | None = None) -> dict[str, Any]:
    """Everything stored outside one label set: bars and every other set's labels, verbatim."""
    with ctx.db.read() as session:
        bars = session.scalar(select(func.count()).select_from(Bar))
        query = select(Label.id, Label.label_set_id, Label.ts, Label.status, Label.target, Label.outcome)
        if exclude_set is not None:
            query = query.where(Label.label_set_id != exclude_set)
        labels = sorted(tuple(r) for r in session.execute(query))
    return {"bars": bars, "labels": labels}


def assert_accounted(ctx: Context, result: LabelingResult, *, stopped: bool = False) -> None:
    """Every sampled point is labeled, rejected or (on a clean stop) not attempted, and stored as such."""
    if stopped:
        assert result.labeled + result.rejected + result.not_attempted == result.requested
    else:
        assert result.labeled + result.rejected == result.requested
        assert result.not_attempted == 0
    with ctx.db.read() as session:
        label_set = session.get(LabelSet, result.label_set_id)
        assert label_set is not None
        rows = dict(
            session.execute(
                select(Label.status, func.count())
                .where(Label.label_set_id == result.label_set_id)
                .group_by(Label.status)
            ).all()
        )
        calls = dict(
            session.execute(
                select(LLMCall.status, func.count())
                .where(LLMCall.label_set_id == result.label_set_id)
                .group_by(LLMCall.status)
            ).all()
        )
    assert rows.get("accepted", 0) == result.labeled == label_set.labeled
    assert rows.get("rejected", 0) == result.rejected == label_set.rejected
    assert label_set.status == result.status
    assert calls.get("cached", 0) == result.cache_hits == label_set.cache_hits
    assert calls.get("ok", 0) + calls.get("error", 0) == result.api_calls == label_set.api_calls
