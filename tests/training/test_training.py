"""The training service: versions with honest metrics and lineage, records, gate, cancel, bad input."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from core.data.supply import load_window
from core.db.models import AIModelVersion, ModelTrainingRecord
from core.errors import BadInput, JobCancelled, NotFound
from core.registry import gate
from core.registry.versions import active_version, get_version, list_versions
from core.training.service import LabelFrame, RunOptions, TrainingFailed, train_frame
from core.training.service import train_pair as train
from tests.bots.helpers import SMALL, hindsight_frame, random_walk, store_bars, store_hindsight_set

# Trains real models; the behaviour depends on the database.
pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite", "postgresql")]

CONTRACT_METRICS = (
    "train_accuracy",
    "validation_accuracy",
    "validation_mae",
    "directional_accuracy",
    "baseline_directional_accuracy",
)
DETAIL_METRICS = (
    "directional_accuracy_n",
    "directional_accuracy_ci",
    "baseline_directional_accuracy_n",
    "baseline_directional_accuracy_ci",
    "validation_accuracy_n",
    "validation_accuracy_ci",
    "train_accuracy_n",
    "information_coefficient",
    "pnl",
    "hit_rate",
    "hit_rate_n",
    "hit_rate_ci",
    "trades",
    "max_drawdown",
    "equity_curve",
    "calibration",
    "feature_importance",
    "heldout_start",
    "heldout_end",
    "purged_points",
    "directional_effective_n",
    "directional_edge_p_value",
    "price_error",
    "price_error_baseline",
    "baseline_hit_rate",
    "baseline_pnl",
    "fold_results",
    "confidence_calibration",
    "costs",
    "gap_fills",
)
LINEAGE = (
    "label_set_id",
    "labeler",
    "data_window",
    "features",
    "parameters",
    "code_version",
    "training_wall_s",
    "training_type",
)


@pytest.fixture
def walk_ctx(ctx):
    store_bars(ctx, "RW", "1d", random_walk(1500, 5))
    return ctx


def train_from_frame(ctx, symbol, tf, labels, *, bots, bot_params=None):
    bars, _ = load_window(ctx, symbol, tf)
    options = RunOptions(bots=tuple(bots), training_type="retrain", bot_params=bot_params or {})
    return train_frame(ctx, symbol, tf, LabelFrame(labels, bars), options)


def counts(ctx) -> tuple[int, int]:
    with ctx.db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(AIModelVersion)),
            session.scalar(select(func.count()).select_from(ModelTrainingRecord)),
        )


def test_training_registers_versions_with_metrics_lineage_and_records(walk_ctx, caplog):
    ctx = walk_ctx
    label_set_id = store_hindsight_set(ctx, "RW", "1d", horizon=5, samples=600)
    stages: list[tuple[float, str]] = []
    with caplog.at_level(logging.INFO, logger="core.training"):
        result = train(
            ctx,
            "rw",
            "1d",
            bots="xgb_agent,lstm_bot",
            label_set_id=label_set_id,
            bot_params=SMALL,
            progress=lambda f, s: stages.append((f, s)),
        )
    assert [v.bot for v in result.versions] == ["xgb_agent", "lstm_bot"] and result.failed == []
    assert ("training lstm_bot 2/2" in [s for _, s in stages]) and stages[-1] == (1.0, "done")
    assert "AI training started for RW 1d" in caplog.text and "Successfully trained lstm_bot" in caplog.text
    for trained in result.versions:
        m = trained.metrics
        for key in CONTRACT_METRICS:
            assert isinstance(m[key], float), key
        for key in DETAIL_METRICS:
            assert key in m, key
        # Reality on every out-of-sample bar (most of the window), label fit on the labeled points.
        assert m["directional_accuracy_n"] > 1000 > m["validation_n"] and len(m["equity_curve"]) <= 200
        assert m["evaluated_share"] > 0.75 and m["folds"] == 5 and len(m["fold_results"]) == 5
        assert m["directional_effective_n"] == pytest.approx(m["directional_accuracy_n"] / 10, abs=2)
        lo, hi = m["directional_accuracy_ci"]
        assert lo <= m["directional_accuracy"] <= hi
        assert hi - lo > 0.15  # as wide as ~115 independent points allow, not ~1,150 bars
        assert m["costs"] == {"asset_class": "equity", "commission_bps": 2.0, "slippage_bps": 2.0}
        assert trained.bot_version == 1 and trained.gate_verdict in ("no_evidence", "below_baseline")
        assert not trained.activated and active_version(ctx.db, "RW", "1d", trained.bot) is None
        version = get_version(ctx.db, trained.version_id)
        assert (version.gate_verdict, version.gate_reason) == (trained.gate_verdict, trained.gate_reason)
        assert trained.as_json()["gate"]["evidence"]["effective_n"] == m["directional_effective_n"]
        for key in LINEAGE:
            assert key in version.lineage, key
        assert version.lineage["label_set_id"] == label_set_id and version.lineage["labeler"] == "hindsight"
        assert (ctx.settings.models_dir / version.artifact_path).is_dir() and len(
            version.artifact_sha256
        ) == 64
    with ctx.db.read() as session:
        records = session.scalars(select(ModelTrainingRecord).order_by(ModelTrainingRecord.id)).all()
        assert [(r.bot, r.status) for r in records] == [("xgb_agent", "succeeded"), ("lstm_bot", "succeeded")]
        for record in records:
            assert record.samples_used > 0 and record.wall_s > 0 and record.label_set_id == label_set_id
            assert {"training_type", "label_set_id", "llm_calls", "cost_usd", "gate"} <= set(record.config)


def test_activation_modes_and_gate_are_recorded(walk_ctx):
    ctx = walk_ctx
    label_set_id = store_hindsight_set(ctx, "RW", "1d", horizon=5, samples=400)
    kw = {"bots": ["xgb_agent"], "label_set_id": label_set_id, "bot_params": SMALL}
    never = train(ctx, "RW", "1d", activate="never", **kw).versions[0]
    assert not never.activated and never.gate_reason.startswith("activation not requested (the gate alone:")
    forced = train(ctx, "RW", "1d", activate="always", **kw).versions[0]
    assert forced.activated
    assert active_version(ctx.db, "RW", "1d", "xgb_agent").version_id == forced.version_id
    # A person may activate without evidence; the record still says what the gate thought.
    assert forced.gate_reason.startswith("activation requested (the gate alone: no evidence of an edge:")
    assert forced.gate_verdict in ("no_evidence", "below_baseline") and forced.bot_version == 2
    gated = train(ctx, "RW", "1d", seed=3, **kw).versions[0]  # decided by the gate against `forced`
    assert gated.metrics["gate"]["compared_with"] == forced.version_id and not gated.activated
    assert active_version(ctx.db, "RW", "1d", "xgb_agent").version_id == forced.version_id
    with ctx.db.read() as session:  # the verdicts are queryable columns
        verdicts = session.scalars(select(AIModelVersion.gate_verdict).order_by(AIModelVersion.id)).all()
    assert verdicts == [never.gate_verdict, forced.gate_verdict, gated.gate_verdict]


def test_cancel_between_bots_discards_what_the_run_registered(walk_ctx):
    ctx = walk_ctx
    label_set_id = store_hindsight_set(ctx, "RW", "1d", horizon=5, samples=300)
    asked = iter([False, True])
    with pytest.raises(JobCancelled, match="before lstm_bot"):
        train(
            ctx,
            "RW",
            "1d",
            bots="xgb_agent,lstm_bot",
            label_set_id=label_set_id,
            bot_params=SMALL,
            activate="always",
            should_cancel=lambda: next(asked),
        )
    # The finished bot's version is on record but can never go live: the run did not commit.
    assert [(v.bot, v.status, v.is_active) for v in list_versions(ctx.db)] == [
        ("xgb_agent", "discarded", False)
    ]
    assert active_version(ctx.db, "RW", "1d", "xgb_agent") is None
    discarded = list_versions(ctx.db)[0]  # it still says what the gate thought of it
    assert discarded.gate_verdict in gate.VERDICTS
    assert discarded.gate_reason.startswith("activation requested (the gate alone:")
    with ctx.db.read() as session:
        statuses = session.scalars(select(ModelTrainingRecord.status)).all()
    assert statuses == ["succeeded"]


def test_a_failing_bot_is_recorded_and_the_others_still_train(walk_ctx):
    ctx = walk_ctx
    label_set_id = store_hindsight_set(ctx, "RW", "1d", horizon=5, samples=300)
    params = {**SMALL, "transformer_bot": {**SMALL["transformer_bot"], "hidden": 10}}  # not a multiple of 4
    result = train(
        ctx, "RW", "1d", bots="transformer_bot,xgb_agent", label_set_id=label_set_id, bot_params=params
    )
    assert [v.bot for v in result.versions] == ["xgb_agent"]
    assert result.failed[0]["bot"] == "transformer_bot" and "multiple of 4" in result.failed[0]["error"]
    with ctx.db.read() as session:
        failed = session.scalar(
            select(ModelTrainingRecord).where(ModelTrainingRecord.bot == "transformer_bot")
        )
    assert failed.status == "failed" and "multiple of 4" in failed.error
    # The only artifacts on disk are those of registered versions: the failure left none behind.
    keys = {str(p.relative_to(ctx.settings.models_dir)) for p in ctx.settings.models_dir.glob("records/*/*")}
    assert keys == {v.artifact_path for v in list_versions(ctx.db)}
    with pytest.raises(TrainingFailed, match="every bot failed"):
        train(ctx, "RW", "1d", bots="transformer_bot", label_set_id=label_set_id, bot_params=params)


def test_bad_input_is_refused_before_anything_is_written(walk_ctx, ctx):
    tiny = store_hindsight_set(walk_ctx, "RW", "1d", horizon=5, samples=12)
    with pytest.raises(BadInput, match=r"label set \d+ has 12 usable labels .*at least 30"):
        train(ctx, "RW", "1d", bots="xgb_agent", label_set_id=tiny)
    with pytest.raises(NotFound, match="label set 999 does not exist"):
        train(ctx, "RW", "1d", bots="xgb_agent", label_set_id=999)
    with pytest.raises(BadInput, match="is for RW 1d, not GOOG 1d"):
        train(ctx, "GOOG", "1d", bots="xgb_agent", label_set_id=tiny)
    with pytest.raises(BadInput, match="--activate"):
        train(ctx, "RW", "1d", bots="xgb_agent", label_set_id=tiny, activate="maybe")
    labels = hindsight_frame(random_walk(1500, 5), horizon=5)
    only_buys = labels[labels["recommendation"] == "BUY"]
    with pytest.raises(BadInput, match=r"only one class \(SELL 0, HOLD 0, BUY"):
        train_from_frame(walk_ctx, "RW", "1d", only_buys, bots=["xgb_agent"])
    assert counts(ctx) == (0, 0)


def test_a_label_like_frame_trains_without_a_label_set(walk_ctx):
    """The continuous-learning path: any frame with the label columns, no label set behind it."""
    frame = hindsight_frame(random_walk(1500, 5), horizon=5, every=3)
    result = train_from_frame(walk_ctx, "RW", "1d", frame, bots=["ensemble_bot"], bot_params=SMALL)
    version = result.versions[0]
    assert result.label_set_id is None and version.metrics["directional_accuracy_n"] > 50
    stored = get_version(walk_ctx.db, version.version_id)
    assert stored.training_type == "retrain" and stored.lineage["label_source"] == "frame"
