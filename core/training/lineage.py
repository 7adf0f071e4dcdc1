"""Where a version came from: labels, data window, features, parameters and the code that trained it."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from core.bots.dataset import Dataset
from core.evaluation.folds import WalkForwardPlan

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


@functools.cache
def code_version() -> str:
    """The git commit of the working tree when there is one, else the installed package version."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"candlelab {metadata.version('candlelab')}"
    except metadata.PackageNotFoundError:
        return "unknown"


def build_lineage(
    *,
    label_set_id: int | None,
    labeler: str | None,
    bars: pd.DataFrame,
    dataset: Dataset,
    split: WalkForwardPlan,
    params: dict[str, Any],
    training_type: str,
    wall_s: float,
    fit_s: float,
    source: str,
    label_sets: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    times = dataset.inputs.times
    return {
        "label_set_id": label_set_id,
        # When several labelers made the rows (the chart path: the analyst's newest points and
        # hindsight labels across the history), each one's label set and count.
        "label_sets": list(label_sets),
        "labeler": labeler,
        "label_source": source,
        "labels": len(dataset),
        "labels_dropped": dataset.dropped,
        "label_first": times[0].isoformat() if len(times) else None,
        "label_last": times[-1].isoformat() if len(times) else None,
        "data_window": {
            "first_bar": bars.index[0].isoformat(),
            "last_bar": bars.index[-1].isoformat(),
            "n_bars": len(bars),
        },
        "split": split.as_json(),
        "features": list(dataset.inputs.feature_names),
        "parameters": params,
        "code_version": code_version(),
        "training_type": training_type,
        "training_wall_s": round(wall_s, 3),
        "fit_s": round(fit_s, 3),
    }
