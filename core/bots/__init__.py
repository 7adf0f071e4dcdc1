"""The trading bots: one interface (`base.Bot`), the `BOTS` registry, `factory` to make them.

The registry (`core.plugins.Registry`) holds each bot's name and where its class lives
("module:Class"), not the class itself: importing this package stays cheap (no pandas, no
PyTorch), so command lines, settings checks and pages can list bots, and a bot's module loads
only when that bot is built.

Adding a bot: write its module (a `Bot` subclass with a unique `name`), add one `BOTS.add` line
below, and a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.plugins import Entry, Registry

if TYPE_CHECKING:
    from core.bots.base import Bot

# OpenMP threads (PyTorch, XGBoost) spin while they wait at a barrier. When the cores are shared
# (two training jobs on a 2-core box, the dashboard, another process) spinning threads steal the
# time the working ones need and training runs 5-10x slower. Passive waiting costs little when the
# cores are free. It must be set before either library loads its OpenMP runtime, hence here, in
# the package every bot import goes through; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass(frozen=True)
class BotEntry(Entry):
    # Computes with PyTorch and gains from a GPU: on a cluster whose workers declare one, its
    # training tasks ask for it (`core.jobs.dask.tasks`), known without importing PyTorch.
    accelerated: bool = False


BOTS: Registry[BotEntry, type[Bot]] = Registry("bot")
BOTS.add(
    BotEntry("xgb_agent", "core.bots.xgb_agent:XGBAgent", "XGBoost agent", "gradient-boosted trees (XGBoost)")
)
BOTS.add(
    BotEntry(
        "ensemble_bot",
        "core.bots.ensemble_bot:EnsembleBot",
        "Ensemble",
        "three learners averaged, disagreement lowering confidence",
    )
)
BOTS.add(
    BotEntry(
        "lstm_bot",
        "core.bots.lstm_bot:LSTMBot",
        "LSTM",
        "an LSTM over recent bars (PyTorch)",
        accelerated=True,
    )
)
BOTS.add(
    BotEntry(
        "transformer_bot",
        "core.bots.transformer_bot:TransformerBot",
        "Transformer",
        "a self-attention encoder over recent bars (PyTorch)",
        accelerated=True,
    )
)
