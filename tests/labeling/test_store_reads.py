"""The label store's reads for pages and the CLI: frozen views, read in a transaction of their own."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from core.context import Context
from core.errors import NotFound
from core.labeling import store
from core.labeling.schema import LabelRecord

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _set(ctx: Context, symbol: str, accepted: int, rejected: int = 0) -> int:
    records = [
        LabelRecord(T0 + timedelta(days=i), 100.0 + i, "accepted", recommendation="BUY")
        for i in range(accepted)
    ]
    records += [
        LabelRecord(T0 + timedelta(days=accepted + i), 90.0, "rejected", reject_reason="no stop")
        for i in range(rejected)
    ]
    with ctx.db.session() as session:
        set_id = store.create_label_set(
            session, symbol=symbol, timeframe="1d", labeler="rule", sampling="all"
        ).id
        store.add_labels(session, set_id, records)
    return set_id


def test_label_sets_are_frozen_views_newest_first_with_their_running_counts(ctx: Context) -> None:
    first = _set(ctx, "TEST", accepted=3, rejected=1)
    second = _set(ctx, "TEST", accepted=1)
    other = _set(ctx, "OTHER", accepted=2)

    sets = store.label_sets(ctx.db, "TEST", "1d")
    assert [s.id for s in sets] == [second, first]
    assert all(s.status == "running" and s.labeler == "rule" and s.quality is None for s in sets)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sets[0].status = "succeeded"  # type: ignore[misc]
    assert store.accepted_counts(ctx.db, [first, second, other]) == {first: 3, second: 1, other: 2}
    assert store.accepted_counts(ctx.db, []) == {}

    assert store.label_set(ctx.db, other).symbol == "OTHER"
    with pytest.raises(NotFound, match="label set 999999 does not exist"):
        store.label_set(ctx.db, 999_999)


def test_labels_are_read_in_full_or_as_a_frame(ctx: Context) -> None:
    set_id = _set(ctx, "TEST", accepted=2, rejected=1)
    frame = store.read_labels(ctx.db, set_id, accepted_only=False)
    assert list(frame["status"]) == ["accepted", "accepted", "rejected"]
    assert len(store.read_labels(ctx.db, set_id)) == 2

    rejected = store.label(ctx.db, int(frame["id"].iloc[2]))
    assert rejected is not None and rejected.label_set_id == set_id
    assert (rejected.status, rejected.reject_reason, rejected.current_price) == ("rejected", "no stop", 90.0)
    assert store.label(ctx.db, 999_999) is None
