"""Keeping secrets out of the server's logs.

Tokens travel only in the `Authorization` header, which uvicorn never logs; but a client may
still put one in a URL by mistake, and the access log prints query strings. This filter masks
anything shaped like a CandleLab token, and the value of any credential-named query parameter,
in every record of the uvicorn loggers before it is formatted.
"""

from __future__ import annotations

import logging
import re

from core.access.tokens import SECRET_PATTERN

_CREDENTIAL_PARAM = re.compile(
    r"(?i)([?&](?:access_token|token|api_key|apikey|key|secret|password|auth|authorization)=)[^&\s\"]*"
)
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def redact(text: str) -> str:
    return _CREDENTIAL_PARAM.sub(r"\1***", SECRET_PATTERN.sub("cl_***", text))


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Attach the filter to uvicorn's loggers (once per process)."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
