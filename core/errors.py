"""Error types that entry points translate into exit codes and page messages.

`BadInput` means the caller asked for something invalid and nothing was written (exit code 2);
everything else is an operational failure (exit code 1).
"""

from __future__ import annotations


class CandleLabError(Exception):
    """Base class for errors with a message fit to show a user as is."""


class BadInput(CandleLabError):
    """Invalid input: a broken file, an unknown symbol or timeframe, an impossible request."""


class NotFound(BadInput):
    """A named thing (version, label set, job) does not exist."""


class Conflict(BadInput):
    """Well-formed, but what is stored (or configured) rules it out: too few bars for the points,
    no LLM configured, a close before its call. The CLI exits 2 as for any bad input; the API
    answers 409, since the same request may succeed once the store holds what it needs."""


class NoActiveModel(BadInput):
    """The pair has no active model to predict or trade with."""


class ProviderUnavailable(CandleLabError):
    """A remote provider (Yahoo, the LLM) could not be reached or refused the request."""


class LLMAuthError(ProviderUnavailable):
    """The LLM rejected the credentials (HTTP 401/403); retrying cannot help."""


class BudgetExhausted(CandleLabError):
    """The daily LLM budget is spent; work stops cleanly and keeps what it has."""


class ArtifactError(CandleLabError):
    """A model artifact is missing, corrupt or does not match its recorded SHA-256."""


class ArtifactUnavailable(ArtifactError):
    """The artifact store could not be reached; the artifact itself may be fine (never marked broken)."""


class JobCancelled(CandleLabError):
    """A job was asked to stop; raised between stages so nothing half-written is kept."""


class Forbidden(CandleLabError):
    """The actor may not do this (a role or a token scope is missing)."""
