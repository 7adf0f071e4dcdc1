"""`xgb_agent`: gradient-boosted trees on the label's expected return.

One multi-output booster predicts the expected return (which sets BUY/SELL/HOLD through the
±signal_threshold band), the log distances to target and stop, and the label's confidence.
Targets are standardised so one squared-error objective weighs the four outputs alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from core.bots import xgb_tools
from core.bots.base import Bot, Predictions, normalise_scores
from core.bots.dataset import Dataset, Inputs
from core.bots.tabular import Standardizer, decode

MODEL_FILE = "booster.ubj"


class XGBAgent(Bot):
    name = "xgb_agent"
    defaults: ClassVar[dict[str, Any]] = {
        "rounds": 400,
        "max_depth": 4,
        "learning_rate": 0.05,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 5.0,
        "reg_lambda": 1.0,
        "early_stopping": 30,
    }

    def _booster_params(self) -> dict[str, Any]:
        p = self.hparams
        return {
            "max_depth": p["max_depth"],
            "eta": p["learning_rate"],
            "subsample": p["subsample"],
            "colsample_bytree": p["colsample_bytree"],
            "min_child_weight": p["min_child_weight"],
            "lambda": p["reg_lambda"],
            "nthread": self.threads,
            "seed": self.seed,
        }

    def _fit(self, train: Dataset, valid: Dataset | None) -> None:
        self.target_scaler = Standardizer.fit(train.targets.matrix())
        y = self.target_scaler.transform(train.targets.matrix(), fill=False)
        val = None
        if valid is not None:
            val = (valid.inputs.rows(), self.target_scaler.transform(valid.targets.matrix(), fill=False))
        self.booster = xgb_tools.train_booster(
            self._booster_params(),
            train.inputs.rows(),
            y,
            self.feature_names,
            rounds=int(self.hparams["rounds"]),
            valid=val,
            early_stopping=int(self.hparams["early_stopping"]),
        )

    def _predict(self, inputs: Inputs) -> Predictions:
        z = xgb_tools.predict(self.booster, inputs.rows(), self.feature_names)
        return decode(self.target_scaler.inverse(z), self.signal_threshold)

    def _parts(self) -> tuple[dict[str, bytes], dict[str, Any]]:
        return {MODEL_FILE: xgb_tools.to_bytes(self.booster)}, {"target_scaler": self.target_scaler.to_json()}

    def _restore(self, parts: Mapping[str, bytes], state: dict[str, Any]) -> None:
        self.booster = xgb_tools.from_bytes(parts[MODEL_FILE])
        self.target_scaler = Standardizer.from_json(state["target_scaler"])

    def feature_importance(self) -> dict[str, float]:
        return normalise_scores(xgb_tools.gain_scores(self.booster), self.feature_names)
