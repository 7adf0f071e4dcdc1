"""The trading bots: one interface (`base.Bot`) and four implementations; `factory` makes them by name."""

from __future__ import annotations

import os

# OpenMP threads (PyTorch, XGBoost) spin while they wait at a barrier. When the cores are shared
# (two training jobs on a 2-core box, the dashboard, another process) spinning threads steal the
# time the working ones need and training runs 5-10x slower. Passive waiting costs little when the
# cores are free. It must be set before either library loads its OpenMP runtime, hence here, in
# the package every bot import goes through; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# The names only: importing this package stays cheap (no pandas, no PyTorch) so command lines and
# pages can list bots; `core.bots.factory` builds and loads them.
BOT_NAMES: tuple[str, ...] = ("xgb_agent", "ensemble_bot", "lstm_bot", "transformer_bot")
