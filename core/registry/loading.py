"""Loading a version's model: SHA-256 checked first; a bad artifact is refused and marked broken."""

from __future__ import annotations

import logging

from core.bots.base import Bot
from core.bots.factory import load_bot
from core.context import Context
from core.errors import ArtifactError, ArtifactUnavailable
from core.registry.versions import VersionView, mark_broken

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
        return ctx.artifacts.read_verified(version.artifact_path, version.artifact_sha256)
    except ArtifactUnavailable as exc:  # the store is down, not the artifact bad: nothing is marked
        raise ArtifactUnavailable(f"model version {version.version_id} cannot be loaded now: {exc}") from None
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
