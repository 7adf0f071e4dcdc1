"""The registry: atomic artifacts, SHA checks, one active version under races, rollback, gate, retention."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.context import Context
from core.db import migrate
from core.db.database import Database
from core.db.models import AIModelVersion, ModelActivation
from core.errors import ArtifactError, BadInput, NotFound
from core.registry import gate
from core.registry.activation import activate, deactivate, history, previous_active_id, rollback
from core.registry.loading import load_version
from core.registry.retention import prune
from core.registry.versions import (
    active_version,
    get_version,
    lock_version,
    mark_broken,
    set_metric,
    slot_for,
)
from tests.bots.helpers import add_version, heldout_metrics
from tests.bots.race_worker import activate_many

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database

SLOT = ("TEST", "1d", "xgb_agent")


def assert_exactly_one_active(ctx: Context, expected_ids: set[int]) -> int:
    """One row holds the slot, is_active agrees with it, and the history is one unbroken chain."""
    with ctx.db.read() as session:
        holders = session.scalars(
            select(AIModelVersion).where(AIModelVersion.active_slot == slot_for(*SLOT))
        ).all()
        flagged = session.scalars(select(AIModelVersion.id).where(AIModelVersion.is_active.is_(True))).all()
        chain = session.execute(
            select(ModelActivation.version_id, ModelActivation.previous_version_id).order_by(
                ModelActivation.id
            )
        ).all()
    assert len(holders) == 1 and list(flagged) == [holders[0].id]
    assert holders[0].id in expected_ids
    previous = None
    for version_id, previous_id in chain:
        assert previous_id == previous  # every switch saw the switch before it: they were serialised
        previous = version_id
    assert previous == holders[0].id
    return holders[0].id


# --- artifacts (the stores themselves: test_artifact_stores.py) ------------------------------


@pytest.mark.parametrize("tamper", ["flip_byte", "extra_file", "missing_file", "edit_meta"])
def test_tampered_artifact_is_refused_and_marked_broken(ctx, tamper):
    version = add_version(ctx)
    folder = ctx.settings.models_dir / version.artifact_path
    model = folder / "booster.ubj"
    if tamper == "flip_byte":
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
    elif tamper == "extra_file":
        (folder / "payload.pkl").write_bytes(b"not part of the model")
    elif tamper == "missing_file":
        model.unlink()
    else:
        meta = folder / "meta.json"
        meta.write_bytes(meta.read_bytes().replace(b'"signal_threshold": 0.001', b'"signal_threshold": 0.5'))
    with pytest.raises(ArtifactError, match="does not match its recorded SHA-256"):
        load_version(ctx, version)
    after = get_version(ctx.db, version.version_id)
    assert after.status == "broken" and "SHA-256" in after.broken_reason
    with pytest.raises(BadInput, match="is broken: artifact"):
        activate(ctx, version.version_id, actor="test")
    assert active_version(ctx.db, *SLOT) is None


def test_intact_artifact_loads_and_predicts(ctx):
    version = add_version(ctx)
    bot = load_version(ctx, version)
    assert bot.name == "xgb_agent" and bot.fitted
    assert get_version(ctx.db, version.version_id).status == "ready"


# --- one active version -------------------------------------------------------------------------


def test_database_itself_refuses_two_active_rows(ctx):
    a, b = add_version(ctx), add_version(ctx)
    with pytest.raises(IntegrityError), ctx.db.session() as session:
        for version in (a, b):
            session.get(AIModelVersion, version.version_id).active_slot = slot_for(*SLOT)
            session.flush()


def test_activation_switches_in_one_step_with_history(ctx):
    a, b = add_version(ctx), add_version(ctx)
    first = activate(ctx, a.version_id, actor="alice", reason="first")
    second = activate(ctx, b.version_id, actor="bob", reason="better")
    assert (first.previous_active_id, second.previous_active_id) == (None, a.version_id)
    assert active_version(ctx.db, *SLOT).version_id == b.version_id
    assert not get_version(ctx.db, a.version_id).is_active
    rows = history(ctx.db, *SLOT)
    assert [(r["version_id"], r["previous_version_id"], r["actor"]) for r in rows] == [
        (b.version_id, a.version_id, "bob"),
        (a.version_id, None, "alice"),
    ]
    again = activate(ctx, b.version_id, actor="bob")  # already active: nothing changes, no history row
    assert not again.changed and len(history(ctx.db, *SLOT)) == 2


def test_racing_threads_leave_exactly_one_active(ctx):
    versions = [add_version(ctx).version_id for _ in range(6)]
    barrier = threading.Barrier(len(versions))
    failures: list[BaseException] = []

    def worker(version_id: int) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                activate(ctx, version_id, actor=f"thread-{version_id}")
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert_exactly_one_active(ctx, set(versions))


def test_racing_processes_leave_exactly_one_active(ctx):
    versions = [add_version(ctx).version_id for _ in range(8)]
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    groups = [versions[i::4] for i in range(4)]
    procs = [
        spawn.Process(target=activate_many, args=(str(ctx.settings.home), group, 4, start))
        for group in groups
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert_exactly_one_active(ctx, set(versions))
    assert len(history(ctx.db, *SLOT, limit=1000)) >= len(versions)


# --- rollback ---------------------------------------------------------------------------------


def test_rollback_returns_to_the_previous_active(ctx):
    with pytest.raises(BadInput, match="no active version"):
        rollback(ctx, *SLOT, actor="test")
    a, b, c = (add_version(ctx).version_id for _ in range(3))
    activate(ctx, a, actor="test")
    with pytest.raises(BadInput, match="no previous active version"):
        rollback(ctx, *SLOT, actor="test")
    activate(ctx, b, actor="test")
    activate(ctx, c, actor="test")
    result = rollback(ctx, *SLOT, actor="ops")
    assert (result.version_id, result.previous_active_id) == (b, c)
    assert active_version(ctx.db, *SLOT).version_id == b
    newest = history(ctx.db, *SLOT)[0]
    assert newest["reason"] == f"rollback from version {c}"
    assert newest["action"] == "rollback" and (newest["version_id"], newest["previous_version_id"]) == (b, c)
    assert [h["action"] for h in history(ctx.db, *SLOT)[1:]] == ["activate"] * 3


# --- promotion gate ---------------------------------------------------------------------------


def test_gate_decisions(ctx):
    kw = {"min_points": 30, "alpha": 0.05}
    first = gate.decide(heldout_metrics(0.58, 0.52, 0.08), None, **kw)
    assert first.activate and first.verdict == gate.PROMOTE and "no active version" in first.reason
    # No evidence, no activation: the first version of a bot included.
    chance = gate.decide(heldout_metrics(0.55, 0.52, 0.20, p=0.3), None, **kw)
    assert not chance.activate and chance.verdict == gate.NO_EVIDENCE and "not significantly" in chance.reason
    thin = gate.decide(heldout_metrics(0.80, 0.50, 0.50, n=12, p=0.01), None, **kw)
    assert not thin.activate and "too little evidence (< 30 independent points)" in thin.reason
    worse = heldout_metrics(0.40, 0.52, -0.2, p=0.99)
    below = gate.decide(worse, None, **kw)
    assert not below.activate and below.verdict == gate.BELOW_BASELINE
    legacy = gate.decide({"directional_accuracy": 0.9, "baseline_directional_accuracy": 0.5}, None, **kw)
    assert not legacy.activate and "before effective samples" in legacy.reason

    active = add_version(ctx, metrics=heldout_metrics(0.55, 0.52, 0.05))
    beats = gate.decide(heldout_metrics(0.58, 0.52, 0.08), active, **kw)
    assert beats.activate and "beats version" in beats.reason and beats.compared_with == active.version_id
    weaker = gate.decide(heldout_metrics(0.54, 0.52, 0.09), active, **kw)
    assert not weaker.activate and weaker.verdict == gate.KEEP_ACTIVE and "does not beat" in weaker.reason
    poorer = gate.decide(heldout_metrics(0.60, 0.52, 0.01), active, **kw)
    assert not poorer.activate and "P&L" in poorer.reason
    assert not gate.decide(worse, active, **kw).activate
    unproven = add_version(ctx, metrics=heldout_metrics(0.80, 0.50, 0.10, p=0.4))  # activated by hand
    measured = gate.decide(heldout_metrics(0.53, 0.50, 0.01), unproven, **kw)
    assert measured.activate and "has no such evidence" in measured.reason
    mark_broken(ctx.db, active.version_id, "test")
    replaces_broken = gate.decide(
        heldout_metrics(0.56, 0.52, 0.0), get_version(ctx.db, active.version_id), **kw
    )
    assert replaces_broken.activate and "broken" in replaces_broken.reason
    assert gate.decide(worse, get_version(ctx.db, active.version_id), **kw).activate is False


def test_versions_are_numbered_per_bot_and_deactivation_is_history(ctx):
    a, b, c = add_version(ctx), add_version(ctx, bot="ensemble_bot"), add_version(ctx)
    other = add_version(ctx, symbol="OTHER")
    assert [v.bot_version for v in (a, b, c, other)] == [1, 1, 2, 1]
    assert (b.label, c.label) == ("ensemble_bot v1", "xgb_agent v2")
    activate(ctx, c.version_id, actor="test")
    assert deactivate(ctx, c.version_id, actor="ops", reason="taken out of service")
    assert not deactivate(ctx, c.version_id, actor="ops", reason="again")  # not active any more
    assert active_version(ctx.db, *SLOT) is None
    latest = history(ctx.db, *SLOT)[0]
    assert (latest["action"], latest["version_id"], latest["reason"]) == (
        "deactivate",
        c.version_id,
        "taken out of service",
    )
    assert history(ctx.db, *SLOT)[1]["action"] == "activate"


@pytest.mark.backends("sqlite")  # its own SQLite file at an old revision
def test_the_migration_numbers_existing_versions_per_bot(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(db, "0001")
    with db.engine.begin() as conn:
        for bot in ("lstm_bot", "xgb_agent", "lstm_bot", "lstm_bot"):
            conn.execute(
                sa.text(
                    "INSERT INTO ai_model_versions (bot, symbol, timeframe, status, is_active, "
                    "training_type, metrics, params, lineage, created_at) VALUES (:bot, 'X', '1d', "
                    "'ready', false, 'manual', '{}', '{}', '{}', CURRENT_TIMESTAMP)"
                ),
                {"bot": bot},
            )
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT bot, bot_version FROM ai_model_versions ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("lstm_bot", 1), ("xgb_agent", 1), ("lstm_bot", 2), ("lstm_bot", 3)]
    db.dispose()


# --- retention --------------------------------------------------------------------------------


def test_retention_keeps_newest_active_and_previous(ctx):
    ids = [add_version(ctx, metrics={"pnl": 0.01 * i}).version_id for i in range(8)]
    activate(ctx, ids[0], actor="test")
    activate(ctx, ids[1], actor="test")  # active: ids[1], previous active: ids[0]
    assert previous_active_id(ctx.db, *SLOT) == ids[0]
    pruned = prune(ctx, *SLOT, keep=3)
    assert sorted(pruned) == ids[2:5]
    for vid in ids:
        version = get_version(ctx.db, vid)
        folder = ctx.settings.models_dir / version.artifact_path
        if vid in pruned:
            assert version.status == "pruned" and not folder.exists()
            assert version.metrics["pnl"] == pytest.approx(0.01 * ids.index(vid))  # metrics kept
        else:
            assert version.status == "ready" and folder.is_dir()
    with pytest.raises(BadInput, match="pruned"):
        activate(ctx, ids[2], actor="test")
    assert prune(ctx, *SLOT, keep=3) == []  # idempotent


def test_a_version_is_looked_up_and_locked_with_its_bots_versions_by_one_function(ctx: Context) -> None:
    first, second = add_version(ctx), add_version(ctx)
    add_version(ctx, bot="lstm_bot")  # another bot's versions are not locked with these
    with ctx.db.session() as session:
        row, locked = lock_version(session, second.version_id)
        assert row.id == second.version_id
        assert [r.id for r in locked] == [first.version_id, second.version_id]
    for change in (
        lambda: activate(ctx, 999_999, actor="test"),
        lambda: deactivate(ctx, 999_999, actor="test", reason="x"),
        lambda: set_metric(ctx.db, 999_999, "k", 1),
        lambda: get_version(ctx.db, 999_999),
    ):
        with pytest.raises(NotFound, match="model version 999999 does not exist; `python -m core versions`"):
            change()
    set_metric(ctx.db, first.version_id, "live_accuracy", 0.5)
    assert get_version(ctx.db, first.version_id).metrics["live_accuracy"] == 0.5
