"""The one bot interface: fit on a dataset, predict, and turn into files and back.

Like a FreqAI model, each bot implements one small `_fit`, a `_predict`, and how its parts are
serialised. Bots never touch the filesystem: `to_files()` returns `{name: bytes}` and
`from_files()` reads the same mapping, so the registry owns atomic writes and the SHA-256 covers
exactly the bytes a bot is rebuilt from. Every part is a format that loads no pickled code
(XGBoost UBJ, PyTorch state dicts with `weights_only=True`, `.npz` without pickles, JSON).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from core.bots.dataset import DIRECTIONS, Dataset, Inputs
from core.errors import ArtifactError

BOT_FORMAT = 1
META_FILE = "meta.json"


@dataclass(frozen=True)
class Predictions:
    """One bot's view of many points, as arrays (vectorised for the batch replay)."""

    direction: np.ndarray  # int8: -1 SELL, 0 HOLD, +1 BUY
    expected_return: np.ndarray
    target_dist: np.ndarray  # positive fraction of the price to the target
    stop_dist: np.ndarray  # positive fraction of the price to the stop
    confidence: np.ndarray  # 0..1

    def __len__(self) -> int:
        return len(self.direction)

    @property
    def recommendation(self) -> np.ndarray:
        return np.asarray(DIRECTIONS, dtype=object)[self.direction.astype(np.int64) + 1]

    def take(self, idx: np.ndarray) -> Predictions:
        return Predictions(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def threshold_direction(expected: np.ndarray, threshold: float) -> np.ndarray:
    """BUY above +threshold, SELL below -threshold, HOLD in between."""
    out = np.zeros(len(expected), dtype=np.int8)
    out[expected > threshold] = 1
    out[expected < -threshold] = -1
    return out


class Bot(ABC):
    name: ClassVar[str]
    # Hyper-parameters with their production defaults; tests pass smaller ones explicitly.
    defaults: ClassVar[dict[str, Any]] = {}
    # How many models walk-forward evaluation may fit for this bot (None: one per fold); slow
    # learners serve consecutive folds with one model (see `core.evaluation.walkforward`).
    walkforward_refits: ClassVar[int | None] = None

    def __init__(
        self,
        *,
        signal_threshold: float = 0.001,
        seed: int = 0,
        threads: int = 1,
        device: str = "cpu",
        **params: Any,
    ):
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(f"{self.name} has no parameter(s) {', '.join(unknown)}")
        self.hparams: dict[str, Any] = {**self.defaults, **params}
        self.signal_threshold = float(signal_threshold)
        self.seed = int(seed)
        self.threads = int(threads)  # a runtime choice, not part of the model
        self.device = device  # TORCH_DEVICE for the bots that use PyTorch; a runtime choice too
        self.feature_names: tuple[str, ...] = ()
        self.fitted = False

    # --- what each bot implements ----------------------------------------------------------
    @abstractmethod
    def _fit(self, train: Dataset, valid: Dataset | None) -> None: ...

    @abstractmethod
    def _predict(self, inputs: Inputs) -> Predictions: ...

    @abstractmethod
    def _parts(self) -> tuple[dict[str, bytes], dict[str, Any]]:
        """Binary parts and the JSON-safe state (scalers, best iteration) needed to rebuild."""

    @abstractmethod
    def _restore(self, parts: Mapping[str, bytes], state: dict[str, Any]) -> None: ...

    @abstractmethod
    def feature_importance(self) -> dict[str, float]:
        """Feature name -> non-negative score summing to 1 (cheap: gain or gradients)."""

    # --- shared behaviour ----------------------------------------------------------------------
    def fit(self, train: Dataset, valid: Dataset | None = None) -> Bot:
        if len(train) == 0:
            raise ValueError("cannot fit on an empty dataset")
        self.feature_names = train.inputs.feature_names
        self._fit(train, valid if valid is not None and len(valid) else None)
        self.fitted = True
        return self

    def predict(self, inputs: Inputs) -> Predictions:
        if not self.fitted:
            raise RuntimeError(f"{self.name} is not fitted")
        if inputs.feature_names != self.feature_names:
            raise ValueError(
                f"{self.name} was trained on features {list(self.feature_names)}, "
                f"got {list(inputs.feature_names)}"
            )
        if len(inputs) == 0:
            empty = np.zeros(0)
            return Predictions(np.zeros(0, dtype=np.int8), empty, empty, empty, empty)
        return self._predict(inputs)

    def params(self) -> dict[str, Any]:
        return {"signal_threshold": self.signal_threshold, "seed": self.seed, **self.hparams}

    def to_files(self) -> dict[str, bytes]:
        if not self.fitted:
            raise RuntimeError(f"{self.name} is not fitted")
        parts, state = self._parts()
        if META_FILE in parts:
            raise ValueError(f"{META_FILE} is reserved")
        meta = {
            "bot": self.name,
            "format": BOT_FORMAT,
            "params": self.hparams,
            "signal_threshold": self.signal_threshold,
            "seed": self.seed,
            "feature_names": list(self.feature_names),
            "state": state,
        }
        return {**parts, META_FILE: json.dumps(meta, sort_keys=True, allow_nan=False).encode()}

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], *, threads: int = 1, device: str = "cpu") -> Bot:
        meta = read_meta(files)
        if meta.get("bot") != cls.name:
            raise ArtifactError(f"artifact holds a {meta.get('bot')!r}, not a {cls.name}")
        bot = cls(
            signal_threshold=meta["signal_threshold"],
            seed=meta["seed"],
            threads=threads,
            device=device,
            **meta["params"],
        )
        bot.feature_names = tuple(meta["feature_names"])
        try:
            bot._restore(files, meta["state"])
        except Exception as exc:  # any decoding failure of a part means the artifact is unusable
            raise ArtifactError(f"{cls.name} artifact cannot be loaded: {exc}") from exc
        bot.fitted = True
        return bot


def read_meta(files: Mapping[str, bytes]) -> dict[str, Any]:
    try:
        meta = json.loads(files[META_FILE])
    except KeyError:
        raise ArtifactError(f"artifact has no {META_FILE}") from None
    except ValueError as exc:
        raise ArtifactError(f"artifact {META_FILE} is not JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != BOT_FORMAT:
        raise ArtifactError(f"artifact {META_FILE} has an unknown format {meta.get('format')!r}")
    return meta


def normalise_scores(scores: Mapping[str, float], names: tuple[str, ...]) -> dict[str, float]:
    """Scores for every feature (0 where absent), scaled to sum to 1."""
    values = np.array([max(float(scores.get(n, 0.0)), 0.0) for n in names])
    total = values.sum()
    if total > 0:
        values = values / total
    return {n: round(float(v), 6) for n, v in zip(names, values, strict=True)}
