"""The settings a plug-in declares for itself, and how any settings model marks its secrets.

A provider keeps its settings in its own module as a `PluginSettings` model whose `env_prefix`
gives the flat names the environment has always used (`env_prefix="FREDDY_"` reads `api_key`
from FREDDY_API_KEY), from the environment and `.env` like `core.settings.Settings`.
`Settings.plugin` builds them, and the secret list and masking read their declared secret fields,
so no key name is written anywhere but in the plug-in's own model.
"""

from __future__ import annotations

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.urls import url_secrets

# How a plain-`str` field declares that its value (or a URL's credential parts) is secret;
# every `SecretStr` field is secret by its type.
SECRET: dict[str, object] = {"secret": "value"}
SECRET_URL: dict[str, object] = {"secret": "url"}


class PluginSettings(BaseSettings):
    """Base of a plug-in's own settings; a subclass sets `env_prefix` to its flat names' prefix."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    @classmethod
    def prefix(cls) -> str:
        """The lower-case prefix of its flat names (`freddy_`), as `Settings(freddy_api_key=…)` has them."""
        return str(cls.model_config.get("env_prefix") or "").lower()


def secret_values_of(model: BaseModel) -> list[str]:
    """The configured secrets of a settings model: its `SecretStr` fields and the fields marked secret."""
    values: list[str] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        kind = extra.get("secret")
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
        elif kind == "value" and isinstance(value, str):
            values.append(value)
        elif kind == "url" and isinstance(value, str):
            values += url_secrets(value)
    return [v for v in values if v]
