"""Bearer tokens of the service API: issued once, kept only as a SHA-256 of the secret.

Why SHA-256 and not bcrypt or argon2: slow hashes exist to make guessing low-entropy passwords
expensive. A token is 256 random bits (`secrets.token_urlsafe(32)`), which no amount of guessing
finds, so a slow hash would only add tens of milliseconds to every request. A fast digest also
makes the check an indexed equality lookup in the database: no secret is compared in Python, and
a stolen database yields no usable token.

A server checks a token with one indexed read, then trusts it for a second (`TokenCache`;
expiry is checked on every request, a revocation takes effect within that second). "Last used" is
written at most once a minute per token and process (`UsageClock`), never once per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from core.db.database import Database
from core.db.models import ApiToken
from core.db.types import utcnow
from core.errors import BadInput, CandleLabError, NotFound

PREFIX = "cl_"  # marks a CandleLab token, so log filters and secret scanners can recognise one
SECRET_PATTERN = re.compile(r"cl_[A-Za-z0-9_-]{43}")  # token_urlsafe(32) is 43 characters
USAGE_INTERVAL_S = 60.0
CACHE_TTL_S = 1.0

TokenState = Literal["active", "expired", "revoked"]


class TokenRejected(CandleLabError):
    """The bearer secret is not a usable token (unknown, expired or revoked)."""


@dataclass(frozen=True)
class TokenView:
    """A token as anyone may see it: never its secret, never its digest."""

    token_id: int
    name: str
    scopes: tuple[str, ...]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    # The `api_tokens` columns behind the fields, in order.
    COLUMNS: ClassVar[tuple[str, ...]] = (
        *("id", "name", "scopes", "created_by", "created_at"),
        *("expires_at", "last_used_at", "revoked_at", "revoked_by"),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", tuple(self.scopes or ()))

    @classmethod
    def of(cls, row: ApiToken) -> TokenView:
        return cls(*(getattr(row, name) for name in cls.COLUMNS))

    def state(self, now: datetime | None = None) -> TokenState:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "token_id": self.token_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "state": self.state(now),
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
            "revoked_by": self.revoked_by,
        }


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret: the only moment the secret exists outside its holder."""

    view: TokenView
    secret: str

    def as_json(self) -> dict[str, Any]:
        view = self.view.as_json()
        return {
            "token_id": view["token_id"],
            "name": view["name"],
            "scopes": view["scopes"],
            "token": self.secret,
            "expires_at": view["expires_at"],
        }


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue(
    db: Database, *, name: str, scopes: tuple[str, ...], expires_at: datetime | None, created_by: str
) -> IssuedToken:
    """Store a new token's digest and return its secret; a name held by a live token is refused."""
    secret = PREFIX + secrets.token_urlsafe(32)
    try:
        with db.session() as session:
            row = ApiToken(
                name=name,
                active_name=name,
                secret_sha256=digest(secret),
                scopes=list(scopes),
                created_by=created_by[:64],
                expires_at=expires_at,
            )
            session.add(row)
            session.flush()
            return IssuedToken(TokenView.of(row), secret)
    except IntegrityError:
        with db.read() as session:
            other = session.scalar(select(ApiToken.id).where(ApiToken.active_name == name))
        raise BadInput(
            f"a token named {name!r} exists (id {other}); revoke it with `python -m core tokens revoke "
            f"{other}` or choose another name"
        ) from None


def list_tokens(db: Database) -> list[TokenView]:
    with db.read() as session:
        return [TokenView.of(row) for row in session.scalars(select(ApiToken).order_by(ApiToken.id))]


def revoke(db: Database, token_id: int, *, revoked_by: str) -> TokenView:
    """Revoke a token for good (revoking it again changes nothing); its name becomes free."""
    with db.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"API token {token_id} does not exist; `python -m core tokens list` lists them")
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by, row.active_name = utcnow(), revoked_by[:64], None
        return TokenView.of(row)


# The columns of a token, read without the ORM: this runs on every request.
_BY_DIGEST = select(*(ApiToken.__table__.c[name] for name in TokenView.COLUMNS)).where(
    ApiToken.secret_sha256 == bindparam("digest")
)


def authenticate(db: Database, secret: str, now: datetime | None = None) -> TokenView:
    """The live token whose secret this is, or `TokenRejected` saying why not."""
    if not SECRET_PATTERN.fullmatch(secret):
        raise TokenRejected("invalid token")
    with db.engine.connect() as conn:
        row = conn.execute(_BY_DIGEST, {"digest": digest(secret)}).first()
    if row is None:
        raise TokenRejected("invalid token")
    return usable(TokenView(*row), now)


def usable(token: TokenView, now: datetime | None = None) -> TokenView:
    """The token itself when it is live, else `TokenRejected` saying since when it is not."""
    state = token.state(now)
    if state != "active":
        when = token.revoked_at if state == "revoked" else token.expires_at
        raise TokenRejected(f"token {token.name!r} was {state} at {when:%Y-%m-%d %H:%M} UTC")
    return token


def any_active(db: Database, now: datetime | None = None) -> bool:
    return any(token.state(now) == "active" for token in list_tokens(db))


def record_use(db: Database, token_id: int, when: datetime | None = None) -> None:
    with db.session() as session:
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when or utcnow()))


class UsageClock:
    """Says when a token's "last used" is due to be written: at most once per interval per token."""

    def __init__(self, interval_s: float = USAGE_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._written: dict[int, float] = {}
        self._lock = threading.Lock()

    def due(self, token_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            last = self._written.get(token_id)
            if last is not None and now - last < self.interval_s:
                return False
            self._written[token_id] = now
            return True


class TokenCache:
    """Tokens authenticated in the last `ttl_s` seconds, by digest, so a busy client's requests
    cost no database read each; expiry is still checked on every use, and a revocation reaches a
    running server within `ttl_s`."""

    def __init__(self, ttl_s: float = CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._tokens: dict[str, tuple[TokenView, float]] = {}
        self._lock = threading.Lock()

    def get(self, secret: str) -> TokenView | None:
        key = digest(secret)
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry[1] >= self.ttl_s:
                del self._tokens[key]
                return None
            return entry[0]

    def put(self, secret: str, token: TokenView) -> None:
        with self._lock:
            self._tokens[digest(secret)] = (token, time.monotonic())
