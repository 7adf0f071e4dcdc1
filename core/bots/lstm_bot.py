"""`lstm_bot`: a one-layer LSTM over the window of recent bars; its last hidden state feeds the heads."""

from __future__ import annotations

import torch
from torch import nn

from core.bots.sequence import SequenceBot


class LSTMEncoder(nn.Module):
    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_features, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        return self.norm(h[-1])


class LSTMBot(SequenceBot):
    name = "lstm_bot"

    def build_encoder(self, n_features: int) -> tuple[nn.Module, int]:
        p = self.hparams
        hidden = int(p["hidden"])
        return LSTMEncoder(n_features, hidden, int(p["layers"]), float(p["dropout"])), hidden
