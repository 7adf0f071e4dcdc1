"""The one masking function: every configured secret out of any text from outside.

A provider may echo its key in a reply, an error may quote a connection string, a ledger row may
keep an excerpt. Each of those texts passes through `mask` before it is stored (the database hook
in core.db.database), logged (core.logging_setup) or shown. A secret is found verbatim, escaped
inside a JSON string (once or twice, ASCII or \\u form) and URL-encoded (upper or lower hex).

The process keeps one registry of secrets, filled from each `Settings` a context is built with
(core.context), because texts reach the database and the log through many modules that have no
settings object at hand; a value once registered stays masked for the life of the process.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
# Very short values would mask ordinary words; real keys, ids and passwords are longer.
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)


def variants(secret: str) -> set[str]:
    """The spellings under which `secret` may appear in a text."""
    json_ascii = json.dumps(secret)[1:-1]
    json_utf8 = json.dumps(secret, ensure_ascii=False)[1:-1]
    unicode_escaped = "".join(f"\\u{ord(c):04x}" for c in secret)
    found = {
        secret,
        json_ascii,
        json_utf8,
        json.dumps(json_ascii)[1:-1],  # a JSON document stored inside another JSON string
        unicode_escaped,
        unicode_escaped.upper().replace("\\U", "\\u"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    found |= {_lower_hex(v) for v in found if "%" in v}
    return {v for v in found if v}


def _compile(secrets: Iterable[str]) -> re.Pattern[str] | None:
    spellings = {v for s in secrets for v in variants(s)}
    if not spellings:
        return None
    # Longest first, so a secret that contains another is masked whole.
    return re.compile("|".join(re.escape(v) for v in sorted(spellings, key=len, reverse=True)))


def register(secrets: Iterable[str | None]) -> None:
    """Mask these values from now on in this process (settings' secrets, a `--to` URL's password)."""
    global _pattern
    new = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    with _lock:
        if new <= _secrets:
            return
        _secrets.update(new)
        _pattern = _compile(_secrets)


def active() -> bool:
    """Whether any secret is registered (callers skip their scan when none is)."""
    return _pattern is not None


def mask(text: str) -> str:
    """`text` with every registered secret, in every spelling, replaced by ***."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def mask_with(text: str, secrets: Iterable[str]) -> str:
    """`text` masked for these secrets as well as the registered ones (a client's own key list)."""
    register(secrets)
    return mask(text)


def mask_value(value: object) -> object:
    """A JSON-like value with every string in it masked (dicts, lists, tuples kept in shape)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask_value(k): mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_value(v) for v in value)
    return value
