"""Credentials inside URLs (`DATABASE_URL`, `ARTIFACT_URL`, `db copy --to`): find them, hide them.

A URL may carry a password (`postgresql://user:pw@host/db`) or a token in its query string
(`?sig=…`). `url_secrets` lists those parts so the log filter masks them; `redact_url` is the
form that may be shown on a page, in a log line or in an error message.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit


def url_secrets(url: str | None) -> list[str]:
    """The password and query-string values of `url` (empty when it carries none)."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not parseable as a URL: treat the whole value as secret
        return [url]
    secrets = [password] if password else []
    secrets += [value for _name, value in parse_qsl(parts.query) if value]
    if secrets:
        secrets.append(url)  # the URL as a whole, wherever it is logged verbatim
    return secrets


def redact_url(url: str | None) -> str:
    """`url` with its password replaced by *** and its query string by `?…`."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "***"
    netloc = parts.netloc
    if password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}"
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
