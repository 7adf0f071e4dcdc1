"""The trading bots: one interface (`base.Bot`), a registry of implementations, `factory` to make them.

The registry holds each bot's name and where its class lives ("module:Class"), not the class
itself: importing this package stays cheap (no pandas, no PyTorch), so command lines, settings
checks and pages can list bots, and a bot's module loads only when that bot is built.

Adding a bot: write its module (a `Bot` subclass with a unique `name`), add one `register` line
below, and a test.
"""

from __future__ import annotations

import os

# OpenMP threads (PyTorch, XGBoost) spin while they wait at a barrier. When the cores are shared
# (two training jobs on a 2-core box, the dashboard, another process) spinning threads steal the
# time the working ones need and training runs 5-10x slower. Passive waiting costs little when the
# cores are free. It must be set before either library loads its OpenMP runtime, hence here, in
# the package every bot import goes through; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_REGISTRY: dict[str, str] = {}
_ACCELERATED: set[str] = set()


def register(name: str, target: str, *, accelerated: bool = False) -> None:
    """Register bot `name` whose class is `target` ("package.module:ClassName").

    `accelerated` bots compute with PyTorch and gain from a GPU: on a cluster whose workers declare
    one, their training tasks ask for it (`core.jobs.dask.tasks`).
    """
    if name in _REGISTRY and _REGISTRY[name] != target:
        raise ValueError(f"bot {name!r} is already registered as {_REGISTRY[name]}")
    _REGISTRY[name] = target
    if accelerated:
        _ACCELERATED.add(name)


def accelerated(name: str) -> bool:
    """Whether bot `name` trains on a GPU when one is there (known without importing PyTorch)."""
    return name in _ACCELERATED


def bot_names() -> tuple[str, ...]:
    """Registered bot names, in registration order."""
    return tuple(_REGISTRY)


def bot_target(name: str) -> str | None:
    """Where bot `name`'s class lives, or None for an unknown name."""
    return _REGISTRY.get(name)


register("xgb_agent", "core.bots.xgb_agent:XGBAgent")
register("ensemble_bot", "core.bots.ensemble_bot:EnsembleBot")
register("lstm_bot", "core.bots.lstm_bot:LSTMBot", accelerated=True)
register("transformer_bot", "core.bots.transformer_bot:TransformerBot", accelerated=True)

# The registered names, for callers that want a constant (CLI choices, parametrised tests).
BOT_NAMES: tuple[str, ...] = bot_names()
