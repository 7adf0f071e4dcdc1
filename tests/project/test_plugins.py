"""The one plug-in idiom: every kind of plug-in is a `core.plugins.Registry`, loaded lazily, and
every name list (CLI choices, settings, API schema, pages) reads it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from core.bots import BOTS
from core.bots.base import Bot
from core.data.providers.registry import MARKET_PROVIDERS
from core.errors import BadInput
from core.labeling.labelers import LABELERS
from core.llm_providers import LLM_PROVIDERS
from core.plugin_settings import PluginSettings
from core.plugins import Entry, Registry
from tests.conftest import REPO


@dataclass(frozen=True)
class _Fact(Entry):
    weight: int = 0


def test_a_registry_lists_loads_and_refuses_by_name() -> None:
    reg: Registry[_Fact, object] = Registry("widget")
    reg.add(_Fact("json", "json:dumps", "JSON", "text", weight=2))
    reg.add(_Fact("path", "pathlib:Path", "Paths"))
    assert reg.names() == ("json", "path") and reg.titles() == {"json": "JSON", "path": "Paths"}
    assert "json" in reg and "xml" not in reg and reg.entry("json").weight == 2
    import json

    assert reg.load("json") is json.dumps and reg.load("json") is reg.load("json")
    with pytest.raises(BadInput, match="unknown widget 'xml'; use one of json, path"):
        reg.load("xml")
    with pytest.raises(ValueError, match="already registered"):
        reg.add(_Fact("json", "json:loads", "JSON again"))
    with pytest.raises(ValueError, match="names no"):
        reg.add(_Fact("csv", "", "an entry that only describes (an imported file's producer)"))
    with pytest.raises(ValueError, match=r"not 'package\.module:attr'"):
        _Fact("bad", "json.dumps", "no colon")


def test_every_kind_is_a_registry_whose_targets_load() -> None:
    for registry in (BOTS, LABELERS, LLM_PROVIDERS, MARKET_PROVIDERS):
        assert isinstance(registry, Registry) and registry.names()
        assert all(entry.title and entry.help for entry in registry.entries())
    for name in BOTS.names():
        bot = BOTS.load(name)
        assert issubclass(bot, Bot) and bot.name == name
    for entry in LABELERS.entries():
        if not entry.uses_llm:
            assert LABELERS.load(entry.name)(horizon=5).name == entry.name
    for name in LLM_PROVIDERS.names():  # its own settings, under the flat names FREDDY_*, OPENAI_*
        own = LLM_PROVIDERS.load(name).settings
        assert issubclass(own, PluginSettings) and own.prefix() == f"{name}_"


def test_listing_the_plug_ins_loads_none_of_them() -> None:
    """Names and titles come from the registration lines: no plug-in module is imported for them."""
    code = (
        "import sys; from core.bots import BOTS; from core.labeling.labelers import LABELERS; "
        "from core.data.providers.registry import MARKET_PROVIDERS; "
        "regs = (BOTS, LABELERS, MARKET_PROVIDERS); [(r.names(), r.titles()) for r in regs]; "
        "mods = [e.target.partition(':')[0] for r in regs for e in r.entries()]; "
        "print(sorted(m for m in mods if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
