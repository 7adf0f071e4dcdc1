"""Making, validating and loading bots by name (PyTorch loads only for the bots that need it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.bots import BOT_NAMES
from core.bots.base import Bot, read_meta
from core.errors import ArtifactError, BadInput
from core.settings import Settings


def bot_class(name: str) -> type[Bot]:
    """The class of a bot; imported lazily so tree-only callers never load PyTorch."""
    if name == "xgb_agent":
        from core.bots.xgb_agent import XGBAgent

        return XGBAgent
    if name == "ensemble_bot":
        from core.bots.ensemble_bot import EnsembleBot

        return EnsembleBot
    if name == "lstm_bot":
        from core.bots.lstm_bot import LSTMBot

        return LSTMBot
    if name == "transformer_bot":
        from core.bots.transformer_bot import TransformerBot

        return TransformerBot
    raise BadInput(f"unknown bot {name!r}; use one of {', '.join(BOT_NAMES)}")


def parse_bots(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Validate a bot list ("a,b" or a list); duplicates dropped, order kept."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    names = list(dict.fromkeys(s.strip() for s in items if s and s.strip()))
    if not names:
        raise BadInput(f"no bots given; use one or more of {', '.join(BOT_NAMES)}")
    for name in names:
        bot_class(name)
    return names


def make_bot(name: str, settings: Settings, *, seed: int = 0, timeframe: str = "1d", **params: Any) -> Bot:
    """A fresh bot with the timeframe's signal threshold and the thread count; `params` override defaults."""
    cls = bot_class(name)
    try:
        return cls(
            signal_threshold=settings.threshold_for(timeframe), seed=seed, threads=settings.torch_threads,
            **params,
        )  # fmt: skip
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def load_bot(files: Mapping[str, bytes], settings: Settings) -> Bot:
    """Rebuild a bot from verified artifact bytes; the meta file names its class."""
    name = read_meta(files).get("bot")
    if name not in BOT_NAMES:
        raise ArtifactError(f"artifact names an unknown bot {name!r}")
    return bot_class(str(name)).from_files(files, threads=settings.torch_threads)
