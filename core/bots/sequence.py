"""The PyTorch plumbing shared by the sequence bots; `lstm_bot` and `transformer_bot` differ only in
the encoder they plug in.

Input: for each point, the standardised feature rows of the `window` bars ENDING AT the point's
bar (bars before the series start read as zeros). Nothing after the point enters its window.
Heads: direction (3 classes), the standardised expected return and log target/stop distances,
and the label's confidence. Training uses fixed seeds, AdamW, inverse-frequency class weights and
early stopping on the chronologically later validation points. Scalers are fitted on the bars up
to the last training point only, so held-out bars never shape the inputs.
"""

from __future__ import annotations

import functools
import io
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from core.bots.base import Bot, Predictions, normalise_scores
from core.bots.dataset import MAX_DISTANCE, MIN_DISTANCE, Dataset, Inputs
from core.bots.devices import resolve_device
from core.bots.tabular import Standardizer

WEIGHTS_FILE = "weights.pt"
PREDICT_BATCH = 2048
SALIENCY_POINTS = 256


class SequenceNet(nn.Module):
    def __init__(self, encoder: nn.Module, width: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.direction = nn.Linear(width, 3)
        self.regress = nn.Linear(width, 3)  # expected return, log target dist, log stop dist
        self.confidence = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.direction(h), self.regress(h), self.confidence(h).squeeze(-1)


class SequenceBot(Bot):
    # Two walk-forward models instead of one per fold: a network costs seconds to fit where trees
    # cost milliseconds; the folds' bars are all still judged, by a model that is at most one
    # fold staler (the trade-off is recorded as `walkforward_fits` in each version's metrics).
    walkforward_refits: ClassVar[int | None] = 2
    defaults: ClassVar[dict[str, Any]] = {
        "window": 32,
        "hidden": 32,
        "layers": 1,
        "dropout": 0.1,
        "epochs": 30,
        "patience": 5,
        "batch_size": 256,
        "learning_rate": 2e-3,
        "weight_decay": 1e-4,
        "min_valid": 16,
    }

    @abstractmethod
    def build_encoder(self, n_features: int) -> tuple[nn.Module, int]:
        """The encoder mapping (batch, window, features) to (batch, width), and its width."""

    # --- inputs -------------------------------------------------------------------------------
    @functools.cached_property
    def torch_device(self) -> torch.device:
        return resolve_device(self.device)

    def _on_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.torch_device)

    def _padded_features(self, inputs: Inputs) -> torch.Tensor:
        """Standardised feature rows with a zero row in front, the stand-in for bars before the start."""
        z = self.feature_scaler.transform(inputs.features).astype("float32")
        return self._on_device(np.vstack([np.zeros((1, z.shape[1]), dtype="float32"), z]))

    def _window_index(self, positions: np.ndarray) -> torch.Tensor:
        offsets = np.arange(int(self.hparams["window"]) - 1, -1, -1)
        idx = positions[:, None] - offsets[None, :] + 1  # +1 for the zero row
        return self._on_device(np.where(idx < 1, 0, idx).astype("int64"))

    def _build(self, n_features: int) -> None:
        torch.manual_seed(self.seed)  # weights are drawn on the CPU: the same on every device
        encoder, width = self.build_encoder(n_features)
        self.net = SequenceNet(encoder, width).to(self.torch_device)

    # --- training -----------------------------------------------------------------------------
    def _fit(self, train: Dataset, valid: Dataset | None) -> None:
        torch.set_num_threads(self.threads)
        p = self.hparams
        last = int(train.inputs.positions.max())
        self.feature_scaler = Standardizer.fit(train.inputs.features[: last + 1])
        self.target_scaler = Standardizer.fit(train.targets.matrix()[:, :3])
        self._build(len(self.feature_names))
        padded = self._padded_features(train.inputs)
        batches = self._tensors(train)
        val = None
        if valid is not None and len(valid) >= int(p["min_valid"]):
            val_padded, val = self._padded_features(valid.inputs), self._tensors(valid)
        counts = np.bincount(train.targets.direction, minlength=3).astype("float64")
        weights = np.where(counts > 0, counts.sum() / (3 * np.maximum(counts, 1)), 0.0)
        self.class_weights = self._on_device(weights.astype("float32"))
        opt = torch.optim.AdamW(self.net.parameters(), lr=p["learning_rate"], weight_decay=p["weight_decay"])
        gen = torch.Generator().manual_seed(self.seed)
        best, best_state, stale = float("inf"), None, 0
        n, size = len(train), int(p["batch_size"])
        self.epochs_run = 0
        for _epoch in range(int(p["epochs"])):
            self.epochs_run += 1
            self.net.train()
            for batch in torch.randperm(n, generator=gen).split(size):
                batch = batch.to(self.torch_device)
                loss = self._loss(padded, *(t[batch] for t in batches))
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
                opt.step()
            if val is None:
                continue
            self.net.eval()
            with torch.no_grad():
                v_loss = float(self._loss(val_padded, *val))
            if v_loss < best - 1e-6:
                best, stale = v_loss, 0
                best_state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
            else:
                stale += 1
                if stale >= int(p["patience"]):
                    break
        if best_state is not None:
            self.net.load_state_dict(best_state)
        self.net.eval()
        self._importance = self._saliency(padded, batches[0])

    def _tensors(self, data: Dataset) -> tuple[torch.Tensor, ...]:
        reg = self.target_scaler.transform(data.targets.matrix()[:, :3], fill=False)
        return (
            self._window_index(data.inputs.positions),
            self._on_device(data.targets.direction.astype("int64")),
            self._on_device(reg.astype("float32")),
            self._on_device(data.targets.confidence.astype("float32")),
        )

    def _loss(
        self,
        padded: torch.Tensor,
        idx: torch.Tensor,
        direction: torch.Tensor,
        reg: torch.Tensor,
        conf: torch.Tensor,
    ) -> torch.Tensor:
        logits, reg_out, conf_logit = self.net(padded[idx])
        ce = nn.functional.cross_entropy(logits, direction, weight=self.class_weights)
        mse = nn.functional.mse_loss(reg_out, reg)
        bce = nn.functional.binary_cross_entropy_with_logits(conf_logit, conf)
        return ce + mse + 0.5 * bce

    def _saliency(self, padded: torch.Tensor, idx: torch.Tensor) -> dict[str, float]:
        """Mean |d expected return / d input| per feature over some training windows (one backward pass)."""
        take = idx[torch.linspace(0, len(idx) - 1, min(SALIENCY_POINTS, len(idx))).long().to(idx.device)]
        x = padded[take].clone().requires_grad_(True)
        _, reg_out, _ = self.net(x)
        reg_out[:, 0].sum().backward()
        scores = x.grad.abs().mean(dim=(0, 1)).cpu().numpy()  # type: ignore[union-attr]
        self.net.zero_grad()
        return normalise_scores(
            dict(zip(self.feature_names, scores.tolist(), strict=True)), self.feature_names
        )

    # --- prediction ---------------------------------------------------------------------------
    def _predict(self, inputs: Inputs) -> Predictions:
        torch.set_num_threads(self.threads)
        padded = self._padded_features(inputs)
        idx = self._window_index(inputs.positions)
        logits, regs, confs = [], [], []
        self.net.eval()
        with torch.no_grad():
            for chunk in idx.split(PREDICT_BATCH):
                lg, rg, cf = self.net(padded[chunk])
                logits.append(lg)
                regs.append(rg)
                confs.append(cf)
        proba = torch.softmax(torch.cat(logits), dim=1).cpu().numpy()
        reg = self.target_scaler.inverse(torch.cat(regs).cpu().numpy().astype("float64"))
        conf = torch.sigmoid(torch.cat(confs)).cpu().numpy().astype("float64")
        direction = (proba.argmax(axis=1) - 1).astype(np.int8)
        target = np.clip(np.exp(reg[:, 1]), MIN_DISTANCE, MAX_DISTANCE)
        stop = np.clip(np.exp(reg[:, 2]), MIN_DISTANCE, MAX_DISTANCE)
        return Predictions(direction, reg[:, 0], target, stop, conf)

    # --- serialisation ------------------------------------------------------------------------
    def _parts(self) -> tuple[dict[str, bytes], dict[str, Any]]:
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self.net.state_dict().items()}, buf)
        state = {
            "feature_scaler": self.feature_scaler.to_json(),
            "target_scaler": self.target_scaler.to_json(),
            "importance": self._importance,
            "epochs_run": self.epochs_run,
        }
        return {WEIGHTS_FILE: buf.getvalue()}, state

    def _restore(self, parts: Mapping[str, bytes], state: dict[str, Any]) -> None:
        self.feature_scaler = Standardizer.from_json(state["feature_scaler"])
        self.target_scaler = Standardizer.from_json(state["target_scaler"])
        self._importance = dict(state["importance"])
        self.epochs_run = int(state.get("epochs_run", 0))
        self._build(len(self.feature_names))
        weights = torch.load(io.BytesIO(parts[WEIGHTS_FILE]), map_location="cpu", weights_only=True)
        self.net.load_state_dict(weights)
        self.net.eval()

    def feature_importance(self) -> dict[str, float]:
        return dict(self._importance)
