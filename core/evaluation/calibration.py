"""Calibrated confidence: what share of a bot's calls at a given raw confidence came true out of sample.

A bot's raw confidence is learned from its labels (an LLM's 82 % is the LLM's opinion), so it
says nothing by itself about how often the bot is right. The map here is fitted on the
walk-forward outcomes of the bot's own out-of-sample calls: isotonic regression (monotone: a
higher raw confidence never maps to a lower calibrated one) by pool-adjacent-violators.

PAV is ten lines of numpy, so it is written here instead of adding scikit-learn (and SciPy) for
`IsotonicRegression`; like scikit-learn's, the fitted map keeps each block's lowest and highest
raw value and interpolates linearly between blocks, clipping outside the fitted range. The map
is plain JSON stored with the version, applied in `core.registry.predict`.

Two maps: BUY/SELL calls are right when the price moved their way over the horizon; HOLD calls
when the close at the horizon stayed inside their band. With fewer than `MIN_POINTS` outcomes a
shape cannot be told from noise, and the map is the constant (Laplace-smoothed) hit rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_POINTS = 30
MAX_KNOTS = 64  # the stored map stays small; interpolation between kept knots is nearly exact


def isotonic_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots (raw values, calibrated values) of the increasing least-squares fit of y on x."""
    order = np.argsort(x, kind="stable")
    xs, ys = np.asarray(x, dtype="float64")[order], np.asarray(y, dtype="float64")[order]
    # Pool ties first: one block per distinct raw value.
    uniq, start = np.unique(xs, return_index=True)
    weight = np.diff(np.r_[start, len(xs)]).astype("float64")
    mean = np.add.reduceat(ys, start) / weight
    lo, hi = uniq.copy(), uniq.copy()
    blocks: list[list[float]] = []  # [mean, weight, lo, hi]
    for m, w, a, b in zip(mean, weight, lo, hi, strict=True):
        blocks.append([m, w, a, b])
        while len(blocks) > 1 and blocks[-2][0] >= blocks[-1][0]:
            m2, w2, _, b2 = blocks.pop()
            m1, w1, a1, _ = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, a1, b2])
    knots_x = np.array([v for blk in blocks for v in (blk[2], blk[3])])
    knots_y = np.array([blk[0] for blk in blocks for _ in (0, 1)])
    return knots_x, knots_y


def _thin(knots_x: np.ndarray, knots_y: np.ndarray) -> tuple[list[float], list[float]]:
    if len(knots_x) > MAX_KNOTS:
        keep = np.unique(np.linspace(0, len(knots_x) - 1, MAX_KNOTS).round().astype(int))
        knots_x, knots_y = knots_x[keep], knots_y[keep]
    return [round(float(v), 6) for v in knots_x], [round(float(v), 6) for v in knots_y]


def fit_map(raw: np.ndarray, hit: np.ndarray) -> dict[str, Any]:
    """One calibration map as JSON: isotonic knots, or a constant rate for thin evidence."""
    raw, hit = np.asarray(raw, dtype="float64"), np.asarray(hit, dtype=bool)
    ok = np.isfinite(raw)
    raw, hit = raw[ok], hit[ok]
    n, k = len(raw), int(hit.sum())
    if n < MIN_POINTS:
        return {"method": "constant", "n": n, "value": round((k + 1) / (n + 2), 6)}
    xs, ys = _thin(*isotonic_fit(raw, hit.astype("float64")))
    return {"method": "isotonic", "n": n, "x": xs, "y": ys}


def fit_calibration(
    direction: np.ndarray, raw: np.ndarray, call_hit: np.ndarray, hold_hit: np.ndarray
) -> dict[str, Any]:
    """Maps for BUY/SELL calls and for HOLD calls, from out-of-sample outcomes of known points."""
    calls = np.asarray(direction) != 0
    return {
        "calls": fit_map(np.asarray(raw)[calls], np.asarray(call_hit)[calls]),
        "holds": fit_map(np.asarray(raw)[~calls], np.asarray(hold_hit)[~calls]),
    }


def apply_map(spec: dict[str, Any] | None, raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw, dtype="float64")
    if not spec:
        return raw.copy()
    if spec.get("method") == "constant":
        return np.full(len(raw), float(spec["value"]))
    if spec.get("method") == "isotonic" and spec.get("x"):
        return np.interp(raw, np.asarray(spec["x"], dtype="float64"), np.asarray(spec["y"], dtype="float64"))
    return raw.copy()


def calibrate(calibration: dict[str, Any] | None, direction: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Calibrated confidence of each call (the raw value where a version has no calibration)."""
    raw = np.asarray(raw, dtype="float64")
    if not calibration:
        return raw.copy()
    calls = np.asarray(direction) != 0
    out = raw.copy()
    out[calls] = apply_map(calibration.get("calls"), raw[calls])
    out[~calls] = apply_map(calibration.get("holds"), raw[~calls])
    return np.clip(out, 0.0, 1.0)
