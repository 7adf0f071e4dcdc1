"""Is sign-in configured, and usably? Read from Streamlit's secrets (`[auth]` in secrets.toml).

Pure parsing of the secrets mapping, shared by the app (which must show a sign-in screen) and by
`dashboard.preflight` (which must refuse an open bind before the server starts). A section that
is there but unusable (say, no `cookie_secret`) is reported as a problem rather than ignored, so
a half-configured install never falls back to the open local mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SHARED_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
DEFAULT_PROVIDER = "default"  # Streamlit's name for the provider given directly under [auth]


@dataclass(frozen=True)
class AuthConfig:
    enabled: bool
    providers: tuple[str, ...] = ()
    problem: str | None = None


NO_AUTH = AuthConfig(enabled=False)


def _missing(section: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if not str(section.get(k) or "").strip()]


def parse_auth(secrets: Mapping[str, Any] | None) -> AuthConfig:
    """The `[auth]` section's providers, or what is missing from it."""
    section = (secrets or {}).get("auth")
    if not section:
        return NO_AUTH
    if not isinstance(section, Mapping):
        return AuthConfig(True, problem="[auth] in secrets.toml must be a table")
    problems = [f"[auth] needs {k}" for k in _missing(section, SHARED_KEYS)]
    providers: list[str] = []
    if "client_id" in section:
        providers.append(DEFAULT_PROVIDER)
        problems += [f"[auth] needs {k}" for k in _missing(section, PROVIDER_KEYS)]
    for name, value in section.items():
        if isinstance(value, Mapping) and name != "client_kwargs":
            providers.append(str(name))
            problems += [f"[auth.{name}] needs {k}" for k in _missing(value, PROVIDER_KEYS)]
            if "_" in str(name):
                problems.append(f"[auth.{name}]: provider names may not contain '_' (Streamlit's rule)")
    if not providers:
        problems.append("[auth] names no provider (client_id, client_secret, server_metadata_url)")
    problem = "; ".join(problems) + " (see .streamlit/secrets.toml.example)" if problems else None
    return AuthConfig(True, tuple(providers), problem)
