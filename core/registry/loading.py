"""Loading a version's model: SHA-256 checked first; a bad artifact is refused and marked broken."""

from __future__ import annotations

import logging

from core.bots.base import Bot
from core.bots.factory import load_bot
from core.context import Context
from core.errors import ArtifactError
from core.registry.artifacts import read_verified
from core.registry.versions import VersionView, artifact_dir, mark_broken

log = logging.getLogger(__name__)


def _refuse(ctx: Context, version: VersionView, exc: ArtifactError) -> ArtifactError:
    mark_broken(ctx.db, version.version_id, str(exc))
    log.error(
        "model version %d (%s %s %s) marked broken: %s",
        version.version_id,
        version.bot,
        version.symbol,
        version.timeframe,
        exc,
    )
    return ArtifactError(
        f"model version {version.version_id} ({version.bot} {version.symbol} {version.timeframe}) "
        f"refused and marked broken: {exc}"
    )


def verified_files(ctx: Context, version: VersionView) -> dict[str, bytes]:
    """The artifact's bytes, only if they match the SHA-256 recorded when it was written."""
    if version.status == "pruned":
        raise ArtifactError(f"model version {version.version_id} was pruned; its artifact no longer exists")
    if version.status == "broken":
        raise ArtifactError(f"model version {version.version_id} is marked broken: {version.broken_reason}")
    try:
        return read_verified(artifact_dir(ctx.settings.models_dir, version), version.artifact_sha256)
    except ArtifactError as exc:
        raise _refuse(ctx, version, exc) from None


def load_version(ctx: Context, version: VersionView) -> Bot:
    files = verified_files(ctx, version)
    try:
        bot = load_bot(files, ctx.settings)
    except ArtifactError as exc:
        raise _refuse(ctx, version, exc) from None
    if bot.name != version.bot:
        raise _refuse(ctx, version, ArtifactError(f"artifact holds a {bot.name}, not a {version.bot}"))
    return bot
