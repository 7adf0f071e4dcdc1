"""Copying the artifacts of ready versions to another store (`db copy --artifact-url`).

Each artifact is read under its recorded SHA-256 and written under the same key, so the copied
version rows point at it unchanged; one that fails its check is reported, not copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from core.artifacts.base import ArtifactStore
from core.db.database import Database
from core.db.models import AIModelVersion
from core.errors import ArtifactError, ArtifactUnavailable


@dataclass
class ArtifactCopy:
    store: str
    copied: list[str] = field(default_factory=list)
    present: int = 0  # already in the target store, intact
    unverified: dict[int, str] = field(default_factory=dict)  # version id -> why it was not copied

    def as_json(self) -> dict[str, object]:
        return {
            "store": self.store,
            "copied": len(self.copied),
            "already_present": self.present,
            "unverified": {str(k): v for k, v in self.unverified.items()},
        }


def _ready_artifacts(db: Database) -> list[tuple[int, str, str]]:
    query = (
        select(AIModelVersion.id, AIModelVersion.artifact_path, AIModelVersion.artifact_sha256)
        .where(AIModelVersion.status == "ready", AIModelVersion.artifact_path.is_not(None))
        .order_by(AIModelVersion.id)
    )
    with db.read() as session:
        return [(row.id, row.artifact_path, row.artifact_sha256) for row in session.execute(query)]


def copy_artifacts(db: Database, source: ArtifactStore, target: ArtifactStore, where: str) -> ArtifactCopy:
    """Copy every ready version's artifact from `source` to `target`; undone if any write fails."""
    report = ArtifactCopy(store=where)
    try:
        for version_id, key, sha256 in _ready_artifacts(db):
            try:
                files = source.read_verified(key, sha256)
            except ArtifactUnavailable:
                raise
            except ArtifactError as exc:
                report.unverified[version_id] = str(exc)
                continue
            try:
                target.read_verified(key, sha256)
                report.present += 1
                continue
            except ArtifactUnavailable:
                raise
            except ArtifactError:
                pass
            target.remove(key)  # a partial or altered copy from an earlier attempt
            target.write(key, files)
            report.copied.append(key)
    except BaseException:
        remove_copies(target, report.copied)
        raise
    return report


def remove_copies(target: ArtifactStore, keys: list[str]) -> None:
    for key in keys:
        target.remove(key)
