"""`ensemble_bot`: three different learners averaged, their disagreement lowering the confidence.

- boosted trees (XGBoost gbtree): sequential, low-bias;
- a random forest (XGBoost with `num_parallel_tree` and one round): bagged, low-variance;
- ridge regression (closed form, numpy): linear, smooth, extrapolates where trees stay flat.

Each predicts the standardised regression targets; the average is decoded like `xgb_agent`.
Confidence = the averaged label confidence × (0.5 + 0.5 × agreement), where
agreement = |mean| / (|mean| + std) of the three expected-return predictions: learners that agree
on the size and sign of the move keep the confidence, learners that contradict each other halve it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from core.bots import xgb_tools
from core.bots.base import Bot, Predictions, normalise_scores
from core.bots.dataset import Dataset, Inputs
from core.bots.ridge import Ridge
from core.bots.tabular import Standardizer, decode

LEARNERS = ("gbtree", "forest", "ridge")


class EnsembleBot(Bot):
    name = "ensemble_bot"
    defaults: ClassVar[dict[str, Any]] = {
        "gb_rounds": 300,
        "gb_depth": 3,
        "gb_learning_rate": 0.05,
        "forest_trees": 40,
        "forest_depth": 6,
        "min_child_weight": 5.0,
        "early_stopping": 30,
    }

    def _fit(self, train: Dataset, valid: Dataset | None) -> None:
        p = self.hparams
        common = {"nthread": self.threads, "seed": self.seed, "min_child_weight": p["min_child_weight"]}
        self.target_scaler = Standardizer.fit(train.targets.matrix())
        self.feature_scaler = Standardizer.fit(train.inputs.rows())
        x, y = train.inputs.rows(), self.target_scaler.transform(train.targets.matrix(), fill=False)
        val = None
        if valid is not None:
            val = (valid.inputs.rows(), self.target_scaler.transform(valid.targets.matrix(), fill=False))
        gb_params = {
            **common,
            "max_depth": p["gb_depth"],
            "eta": p["gb_learning_rate"],
            "subsample": 0.8,
            "colsample_bytree": 0.8,
        }
        self.gbtree = xgb_tools.train_booster(
            gb_params,
            x,
            y,
            self.feature_names,
            rounds=int(p["gb_rounds"]),
            valid=val,
            early_stopping=int(p["early_stopping"]),
        )
        forest_params = {
            **common,
            "max_depth": p["forest_depth"],
            "eta": 1.0,
            "subsample": 0.7,
            "colsample_bynode": 0.7,
            "num_parallel_tree": p["forest_trees"],
        }
        self.forest = xgb_tools.train_booster(forest_params, x, y, self.feature_names, rounds=1)
        ridge_valid = None if val is None else (self.feature_scaler.transform(val[0]), val[1])
        self.ridge = Ridge.fit(self.feature_scaler.transform(x), y, ridge_valid)

    def _learner_outputs(self, rows: np.ndarray) -> np.ndarray:
        """Shape (3 learners, n points, 4 targets), in original (unstandardised) units."""
        z = [
            xgb_tools.predict(self.gbtree, rows, self.feature_names),
            xgb_tools.predict(self.forest, rows, self.feature_names),
            self.ridge.predict(self.feature_scaler.transform(rows)),
        ]
        return np.stack([self.target_scaler.inverse(v) for v in z])

    def _predict(self, inputs: Inputs) -> Predictions:
        outputs = self._learner_outputs(inputs.rows())
        mean = outputs.mean(axis=0)
        spread = outputs[:, :, 0].std(axis=0)
        agreement = np.abs(mean[:, 0]) / (np.abs(mean[:, 0]) + spread + 1e-12)
        confidence = np.clip(mean[:, 3], 0.0, 1.0) * (0.5 + 0.5 * agreement)
        return decode(mean, self.signal_threshold, confidence)

    def _parts(self) -> tuple[dict[str, bytes], dict[str, Any]]:
        parts = {
            "gbtree.ubj": xgb_tools.to_bytes(self.gbtree),
            "forest.ubj": xgb_tools.to_bytes(self.forest),
            "ridge.npz": self.ridge.to_bytes(),
        }
        state = {
            "target_scaler": self.target_scaler.to_json(),
            "feature_scaler": self.feature_scaler.to_json(),
            "learners": list(LEARNERS),
        }
        return parts, state

    def _restore(self, parts: Mapping[str, bytes], state: dict[str, Any]) -> None:
        self.gbtree = xgb_tools.from_bytes(parts["gbtree.ubj"])
        self.forest = xgb_tools.from_bytes(parts["forest.ubj"])
        self.ridge = Ridge.from_bytes(parts["ridge.npz"])
        self.target_scaler = Standardizer.from_json(state["target_scaler"])
        self.feature_scaler = Standardizer.from_json(state["feature_scaler"])

    def feature_importance(self) -> dict[str, float]:
        """The mean of each learner's normalised scores: tree gain, and |weight| for the ridge."""
        names = self.feature_names
        ridge_scores = dict(zip(names, np.abs(self.ridge.weights).sum(axis=1), strict=True))
        per_learner = [
            normalise_scores(xgb_tools.gain_scores(self.gbtree), names),
            normalise_scores(xgb_tools.gain_scores(self.forest), names),
            normalise_scores(ridge_scores, names),
        ]
        return normalise_scores({n: sum(s[n] for s in per_learner) for n in names}, names)
