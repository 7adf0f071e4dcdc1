"""The budget reservation is atomic in the database itself, on SQLite and on PostgreSQL alike:
many connections reserving at once never commit more than the cap together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.db import migrate
from core.db.database import Database
from core.labeling.llm import ledger
from core.settings import Settings

LIMIT, EACH, THREADS = 1.0, 0.03, 8  # room for exactly 33 reservations

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """This test's database: SQLite in its home, or a fresh copy of the session's migrated template."""
    database = Database(settings.db_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


def _reserve_until_refused(db: Database, granted: list[int]) -> None:
    row = ledger.CallRow(None, "openai", "gpt-4o", "k" * 64, "sent")
    expires = datetime.now(UTC) + timedelta(minutes=5)
    while True:
        with db.session() as session:
            call_id = ledger.reserve(session, row, reserved_usd=EACH, limit_usd=LIMIT, expires_at=expires)
        if call_id is None:
            return
        granted.append(call_id)


def test_concurrent_reservations_never_exceed_the_cap(db: Database) -> None:
    granted: list[int] = []
    threads = [threading.Thread(target=_reserve_until_refused, args=(db, granted)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with db.read() as session:
        committed = ledger.spent_today(session)
        totals = ledger.ledger_totals(session)
    assert len(granted) == int(LIMIT / EACH) == totals.in_flight == 33
    assert committed == pytest.approx(33 * EACH) and committed <= LIMIT

    # Settling a request below its reservation frees room for one more.
    with db.session() as session:
        freed = ledger.settle(session, granted[0], ledger.CallResult("ok", 1, 10.0, cost_usd=0.0))
    assert freed == pytest.approx(-EACH)
    _reserve_until_refused(db, granted)
    assert len(granted) == 34
