"""`transformer_bot`: a small self-attention encoder over the window of recent bars.

The window holds only bars at or before the point, so attention needs no causal mask; the
output at the last position (the point's own bar) feeds the heads. Learned position embeddings
tell the encoder how far back each bar lies.
"""

from __future__ import annotations

import torch
from torch import nn

from core.bots.sequence import SequenceBot

HEADS = 4


class TransformerEncoderNet(nn.Module):
    def __init__(self, n_features: int, window: int, width: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.project = nn.Linear(n_features, width)
        self.position = nn.Parameter(torch.randn(1, window, width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width, HEADS, 2 * width, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(self.project(x) + self.position)
        return self.norm(z[:, -1])


class TransformerBot(SequenceBot):
    name = "transformer_bot"

    def build_encoder(self, n_features: int) -> tuple[nn.Module, int]:
        p = self.hparams
        width = int(p["hidden"])
        if width % HEADS:
            raise ValueError(f"transformer_bot hidden size must be a multiple of {HEADS}")
        encoder = TransformerEncoderNet(
            n_features, int(p["window"]), width, int(p["layers"]), float(p["dropout"])
        )
        return encoder, width
