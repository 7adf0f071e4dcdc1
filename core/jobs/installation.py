"""What names an installation: the settings a job process must share with whoever submitted it.

A job runs in another process (a detached subprocess, a Dask worker's child). It reads the same
environment and `.env` as any process, plus these: the home, the database and the artifact store
(with the credentials that reach it), taken from the submitter's own settings. Everything else a
job needs (LLM keys, training knobs) comes from the environment of the process that runs it, as
a worker on another machine would be configured.
"""

from __future__ import annotations

from pydantic import SecretStr

from core.settings import Settings

INSTALLATION_FIELDS = (
    "candlelab_home",
    "database_url",
    "artifact_url",
    "aws_endpoint_url",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
)


def installation(settings: Settings) -> dict[str, str]:
    """The installation's settings that are set, by field name, as text."""
    out = {"candlelab_home": str(settings.home)}
    for name in INSTALLATION_FIELDS[1:]:
        value = getattr(settings, name)
        if value is not None:
            out[name] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    return out


def installation_env(settings: Settings) -> dict[str, str]:
    """The same, as environment variables for a child process."""
    return {name.upper(): value for name, value in installation(settings).items()}
