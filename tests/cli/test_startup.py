"""Every CLI process builds the whole parser, so the parser must not load the engine: a command
module that imports pandas, PyTorch, XGBoost or the job runner at its top slows every command."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

ENGINE = ("pandas", "torch", "xgboost", "core.jobs.runner")


def test_building_the_parser_loads_no_engine() -> None:
    code = (
        "import sys; from core.cli.app import build_parser; build_parser(); "
        f"print([name for name in {ENGINE!r} if name in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
