"""Making, validating and loading bots by name (PyTorch loads only for the bots that need it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.bots import BOTS
from core.bots.base import Bot, read_meta
from core.errors import ArtifactError, BadInput
from core.settings import Settings


def bot_class(name: str) -> type[Bot]:
    """The class of a registered bot, imported on first use so tree-only callers never load PyTorch."""
    cls = BOTS.load(name)
    if not (isinstance(cls, type) and issubclass(cls, Bot)) or cls.name != name:
        raise TypeError(f"{BOTS.entry(name).target} is not the Bot class named {name!r}")
    return cls


def make_bot(name: str, settings: Settings, *, seed: int = 0, timeframe: str = "1d", **params: Any) -> Bot:
    """A fresh bot with the timeframe's signal threshold and the thread count; `params` override defaults."""
    cls = bot_class(name)
    try:
        return cls(
            signal_threshold=settings.threshold_for(timeframe),
            seed=seed,
            threads=settings.training_threads,
            device=settings.torch_device,
            **params,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def load_bot(files: Mapping[str, bytes], settings: Settings) -> Bot:
    """Rebuild a bot from verified artifact bytes; the meta file names its class."""
    name = read_meta(files).get("bot")
    if name not in BOTS:
        raise ArtifactError(f"artifact names an unknown bot {name!r}")
    return bot_class(str(name)).from_files(
        files, threads=settings.training_threads, device=settings.torch_device
    )
