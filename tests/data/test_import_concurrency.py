"""A long import never locks anyone out: reads answer, writers get the lock, a training beside it
finishes, and nothing is left `running`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.context import Context
from core.data import supply
from core.db.models import LabelSet, ModelTrainingRecord, TrainingJob
from tests.conftest import GOOG_CSV, REPO, make_settings
from tests.data.helpers import hourly_fx, write_yahoo

pytestmark = pytest.mark.slow

ROWS = 150_000
# A third of the 30 s busy timeout: the import holds the write lock only for its final move (about
# 0.4 s for these rows on an idle machine; a few seconds here, where four processes share two cores).
WRITER_WAIT_S = 10.0


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FREDDY_", "OPENAI_", "LLM_", "MARKET_"))}
    return {**env, "CANDLELAB_HOME": str(home), "PYTHONPATH": str(REPO)}


def _probe_writers(db_path: Path, stop: threading.Event, waits: list[float], errors: list[str]) -> None:
    """Take the write lock again and again (BEGIN IMMEDIATE, then roll back: nothing is written)."""
    while not stop.is_set():
        conn = sqlite3.connect(db_path, timeout=WRITER_WAIT_S, isolation_level=None)
        started = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
            waits.append(time.perf_counter() - started)
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            errors.append(str(exc))
        finally:
            conn.close()
        time.sleep(0.05)


def test_a_long_import_beside_reads_writers_another_import_and_a_training(
    cli, home: Path, tmp_path: Path
) -> None:
    ctx = Context.create(make_settings(home), logs=False)
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    big = write_yahoo(hourly_fx(ROWS, start="1990-01-01"), tmp_path / "big.csv")
    small = write_yahoo(hourly_fx(2_000), tmp_path / "small.csv")
    stop, waits, errors = threading.Event(), [], []  # type: ignore[var-annotated]
    probe = threading.Thread(target=_probe_writers, args=(home / "candlelab.db", stop, waits, errors))
    probe.start()

    def core(*args: object) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "core", *map(str, args), "--json"]
        return subprocess.Popen(
            cmd, cwd=home, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    long_import = core("data", "import", big, "--symbol", "EURUSD", "--timeframe", "1h")
    time.sleep(1.0)  # it is parsing now
    train = core(
        "train", "--symbol", "GOOG", "--timeframe", "1d", "--labeler", "rules", "--bots", "xgb_agent"
    )
    second = core("data", "import", small, "--symbol", "USDCHF", "--timeframe", "1h")
    reads = []
    while long_import.poll() is None:
        for command in (("jobs",), ("versions",), ("samples", "--limit", "5")):
            reads.append(cli(*command, "--json"))
        time.sleep(0.1)
    procs = {"import": long_import, "train": train, "second": second}
    results = {name: (p, *p.communicate(timeout=300)) for name, p in procs.items()}
    stop.set()
    probe.join()

    for name, (proc, out, err) in results.items():
        assert proc.returncode == 0, f"{name}: {err}"
        assert "database is locked" not in out + err
    assert json.loads(results["import"][1])["rows"] == ROWS
    assert json.loads(results["second"][1])["rows"] == 2_000
    assert reads and all(r.code == 0 for r in reads), [r.err for r in reads if r.code]
    assert not any("locked" in r.out + r.err for r in reads)
    assert not errors, errors
    assert waits and max(waits) < WRITER_WAIT_S
    print(f"writers waited at most {max(waits):.2f} s over {len(waits)} probes", file=sys.stderr)
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).where(LabelSet.status == "running")) == 0
        assert session.scalar(select(func.count()).where(TrainingJob.status == "running")) == 0
        assert session.scalar(select(func.count()).where(ModelTrainingRecord.status == "running")) == 0
