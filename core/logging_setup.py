"""Logging to stderr and `CANDLELAB_HOME/logs/backend.log`: one line per event, greppable.

Operators grep for fixed phrases ("AI training", "Freddy AI", "Successfully trained"), so the
modules that emit those events keep the phrases verbatim. Every configured secret is redacted
from every record before it is formatted, whichever module logs it.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import IO

from core import masking
from core.owner_only import opener, private_dir, private_file

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
_HANDLER_TAG = "_candlelab_handler"


class OneLineRedactingFormatter(logging.Formatter):
    """Formats the whole record, traceback included, as one line with secrets masked."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__(FORMAT)
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: list[str]) -> None:
        masking.register(secrets)
        self.secrets = sorted({*self.secrets, *secrets}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = masking.mask(super().format(record))
        return text.replace("\r", "").replace("\n", " | ")


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are created 0600: the log records what the desk does."""

    def _open(self) -> IO[str]:
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=opener)


def add_secrets(secrets: list[str]) -> None:
    """Mask more values from now on: a credential that came from the command line, not settings."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, _HANDLER_TAG, False) and isinstance(handler.formatter, OneLineRedactingFormatter):
            handler.formatter.add(secrets)


def reset_logging() -> None:
    """Remove CandleLab's handlers (tests and embedded use; the next configure installs fresh ones)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_TAG, False):
            root.removeHandler(handler)
            handler.close()


def configure_logging(log_dir: Path, level: str = "INFO", secrets: list[str] | None = None) -> Path:
    """Install CandleLab's handlers on the root logger once per process; returns the log file."""
    private_dir(log_dir, tighten=True)
    log_file = private_file(log_dir / "backend.log")
    reset_logging()
    # A log that cannot be written (a full or read-only disk) must not print a traceback per
    # record over the one line the command reports; the failure itself is reported there.
    logging.raiseExceptions = False
    root = logging.getLogger()
    formatter = OneLineRedactingFormatter(secrets or [])
    file_handler = PrivateRotatingFileHandler(log_file, maxBytes=10_000_000, backupCount=5, encoding="utf-8")
    stream_handler = logging.StreamHandler(sys.stderr)
    for handler in (file_handler, stream_handler):
        setattr(handler, _HANDLER_TAG, True)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter would drown the events operators grep for.
    for noisy in ("httpx", "httpcore", "urllib3", "peewee", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # yfinance logs every failed request as an ERROR; CandleLab reports those itself, once.
    logging.getLogger("yfinance").setLevel(logging.DEBUG if level == "DEBUG" else logging.CRITICAL)
    return log_file
