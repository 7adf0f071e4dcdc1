"""A trained installation to act on: GOOG daily bars and two xgb_agent versions (v1 active)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.training.service import train_pair
from tests.conftest import GOOG_CSV, make_settings

LABELING = {"lookback_days": 3000, "samples": 60, "labeler": "rules", "sampling": "uniform"}


@pytest.fixture(scope="session")
def versions_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("access_home")
    ctx = Context.create(make_settings(home), logs=False)
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    first = train_pair(ctx, "GOOG", "1d", bots=["xgb_agent"], labeling=LABELING, activate="always")
    train_pair(
        ctx, "GOOG", "1d", bots=["xgb_agent"], label_set_id=first.label_set_id, activate="never", seed=1
    )
    forget_database(make_settings(home).db_url)
    return home


@pytest.fixture
def desk(versions_template: Path, home: Path) -> Iterator[Context]:
    """A private copy of the trained installation (v1 active, v2 ready) in the test's home,
    the one the `cli` fixture runs against."""
    shutil.copytree(versions_template, home, dirs_exist_ok=True)
    ctx = Context.create(make_settings(home), logs=False)
    yield ctx
    forget_database(ctx.settings.db_url)
