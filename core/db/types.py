"""Column types that behave the same on SQLite and PostgreSQL.

Numbers: SQLite stores a NaN silently (as NULL) and an infinity as a REAL, PostgreSQL refuses a
NaN in an integer column and keeps NaN in a float column, and JSON with `NaN` in it is not JSON
at all (PostgreSQL refuses it). So no NaN or infinity reaches any column: `guard_numeric_columns`
gives every Float, Integer and JSON column of every model a guard that stores NULL where the
column may be NULL and refuses the value with a message naming the column where it may not.
One mechanism at the type level covers the ORM, Core inserts and bulk updates alike.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import JSON, DateTime, Float, Integer, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC.

    SQLite drops time zones and PostgreSQL converts them, so the only portable rule is to store
    UTC without a zone and attach it again on the way out. A naive input is taken to be UTC.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class NonFiniteValue(ValueError):
    """A NaN, an infinity or a fractional number was bound to a column that cannot hold it."""


def json_ready(value: Any) -> Any:
    """`value` with every NaN and infinity replaced by None and NumPy scalars made plain Python.

    What JSON can say: PostgreSQL refuses the `NaN` token that `json.dumps` writes by default.
    """
    if isinstance(value, float):  # np.float64 is a float subclass
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        return json_ready(value.item())
    return value


class _Guarded(TypeDecorator[Any]):
    """Base of the guards: knows its column's name and whether it may be NULL."""

    cache_ok = True

    def __init__(self, impl: TypeEngine[Any], column: str, nullable: bool) -> None:
        self.impl = impl  # the column's own type, so DDL and comparisons are unchanged
        self.column, self.nullable = column, nullable

    @property
    def _static_cache_key(self) -> tuple[Any, ...]:  # type: ignore[override]
        return (type(self), self.column, self.nullable, self.impl._static_cache_key)

    def _missing(self, value: object) -> None:
        if not self.nullable:
            raise NonFiniteValue(
                f"{self.column} cannot store {value!r}: the column is required, and a NaN or infinity "
                "there means the value was never computed"
            )
        return None


class FiniteFloat(_Guarded):
    impl = Float

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value  # not a number at all: the driver reports it as it would
        return number if math.isfinite(number) else self._missing(value)

    def bind_processor(self, dialect: Dialect) -> Any:
        """A plain finite float passes on a fast path: bar imports bind millions of them."""
        slow = super().bind_processor(dialect)
        if slow is None:  # pragma: no cover - process_bind_param above is always set
            return None

        def process(value: Any) -> Any:
            if type(value) is float and value - value == 0.0:  # false for NaN and both infinities
                return value
            return slow(value)

        return process


class FiniteInteger(_Guarded):
    impl = Integer

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or type(value) is int:
            return value
        if isinstance(value, bool | np.bool_):
            return int(value)
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating):
            if not math.isfinite(value):
                return self._missing(value)
            if not float(value).is_integer():
                raise NonFiniteValue(f"{self.column} holds whole numbers; refusing {value!r}")
            return int(value)
        return value


class FiniteJSON(_Guarded):
    impl = JSON

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return json_ready(value)


_GUARDS: tuple[tuple[type[TypeEngine[Any]], type[_Guarded]], ...] = (
    (JSON, FiniteJSON),
    (Float, FiniteFloat),
    (Integer, FiniteInteger),
)


def guard_numeric_columns(table: Table) -> None:
    """Give every Float, Integer and JSON column of `table` its NaN/infinity guard.

    Called for each model as it is declared (see `models.Base`), so a new table is covered
    without anyone remembering to. Primary keys are generated, never bound from data.
    """
    for column in table.columns:
        if column.primary_key or isinstance(column.type, TypeDecorator):
            continue
        for plain, guard in _GUARDS:
            if isinstance(column.type, plain):
                column.type = guard(column.type, f"{table.name}.{column.name}", bool(column.nullable))
                break
