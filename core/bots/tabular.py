"""Helpers shared by the bots that read one feature row per point: scaling and decoding outputs.

A model predicts the four REGRESSION_TARGETS in standardised units; `decode` turns them back
into a return, positive target/stop distances and a confidence in 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.bots.base import Predictions, threshold_direction
from core.bots.dataset import MAX_DISTANCE, MIN_DISTANCE

CLIP_Z = 5.0  # standardised inputs are clipped so one wild bar cannot dominate a linear model


@dataclass
class Standardizer:
    """Column means and scales fitted on training data only, stored as JSON in the artifact."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardizer:
        values = np.asarray(values, dtype="float64")
        finite = np.where(np.isfinite(values), values, np.nan)
        with np.errstate(all="ignore"):
            mean = np.nanmean(finite, axis=0) if len(values) else np.zeros(values.shape[1])
            scale = np.nanstd(finite, axis=0) if len(values) else np.ones(values.shape[1])
        mean = np.nan_to_num(mean, nan=0.0)
        scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
        return cls(mean, scale)

    def transform(self, values: np.ndarray, *, fill: bool = True) -> np.ndarray:
        """Standardise; with `fill`, missing values become 0 (the training mean) and extremes clip."""
        z = (np.asarray(values, dtype="float64") - self.mean) / self.scale
        if fill:
            z = np.clip(np.nan_to_num(z, nan=0.0, posinf=CLIP_Z, neginf=-CLIP_Z), -CLIP_Z, CLIP_Z)
        return z

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype="float64") * self.scale + self.mean

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Standardizer:
        return cls(np.asarray(data["mean"], dtype="float64"), np.asarray(data["scale"], dtype="float64"))


def decode(outputs: np.ndarray, threshold: float, confidence: np.ndarray | None = None) -> Predictions:
    """Regression outputs (expected return, log target/stop distance, confidence) to predictions.

    The direction comes from the expected return and the ±threshold band.
    """
    expected = outputs[:, 0]
    target = np.clip(np.exp(outputs[:, 1]), MIN_DISTANCE, MAX_DISTANCE)
    stop = np.clip(np.exp(outputs[:, 2]), MIN_DISTANCE, MAX_DISTANCE)
    conf = np.clip(outputs[:, 3] if confidence is None else confidence, 0.0, 1.0)
    return Predictions(threshold_direction(expected, threshold), expected, target, stop, conf)
