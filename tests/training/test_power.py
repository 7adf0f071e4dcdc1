"""Power on the chart path, small: a planted edge goes live, a random walk stays out.

The same runs as `bench/power.py` (which measures the rates over 20+ seeds each): a fresh home,
a 20,000-bar hourly CSV export imported, the chart opened with default settings, the promotion
gate as it is. Three seeds of each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.planted import garch_random_walk, planted_edge
from core.services.chart_run import run_chart_path

pytestmark = pytest.mark.slow

SEEDS = (2, 3, 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_planted_edge_goes_live(tmp_path: Path, seed: int) -> None:
    run = run_chart_path(tmp_path, planted_edge(seed).bars, symbol="EDGE")
    assert run.status == "succeeded", run.error
    assert run.live, run.versions
    promoted = [v for v in run.versions if v["verdict"] == "promote"]
    assert promoted and all(v["effective_n"] >= 30 and v["p_value"] < 0.05 for v in promoted)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_walk_stays_out(tmp_path: Path, seed: int) -> None:
    run = run_chart_path(tmp_path, garch_random_walk(seed), symbol="WALK")
    assert run.status == "succeeded", run.error
    assert not run.live, run.versions
    assert all(v["verdict"] != "promote" and v["effective_n"] >= 30 for v in run.versions)
