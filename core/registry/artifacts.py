"""Model artifacts on disk: written atomically, fingerprinted, and verified before every load.

An artifact is a directory of files (`{name: bytes}` from `Bot.to_files`). Each file is written to
a temporary name, fsynced and renamed; the directory is assembled under a staging name and renamed
into place, so a reader sees either the complete artifact or nothing. Its SHA-256 covers every
file name and byte, and `read_verified` returns the very bytes it hashed: nothing is loaded from
disk after the check.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import ArtifactError


@dataclass(frozen=True)
class ArtifactInfo:
    path: Path  # absolute directory
    sha256: str
    size: int


def digest(files: Mapping[str, bytes]) -> str:
    """One SHA-256 over all files: each name with the hash of its bytes, in name order."""
    outer = hashlib.sha256()
    for name in sorted(files):
        outer.update(name.encode() + b"\0" + hashlib.sha256(files[name]).hexdigest().encode() + b"\n")
    return outer.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Temporary file in the same directory, fsync, then rename over the target."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _check_name(name: str) -> None:
    if not name or name.startswith(".") or "/" in name or "\\" in name or name in {".", ".."}:
        raise ValueError(f"artifact file name {name!r} is not a plain file name")


def write_artifact(root: Path, files: Mapping[str, bytes]) -> ArtifactInfo:
    """Write a new artifact directory under `root` and return where it is and its fingerprint."""
    if not files:
        raise ValueError("an artifact needs at least one file")
    for name in files:
        _check_name(name)
    root.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:10]}"
    staging = root / f".staging-{name}"
    staging.mkdir()
    try:
        for file_name, data in files.items():
            atomic_write(staging / file_name, bytes(data))
        final = root / name
        os.replace(staging, final)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ArtifactInfo(final, digest(files), sum(len(d) for d in files.values()))


def read_verified(path: Path, expected_sha256: str | None) -> dict[str, bytes]:
    """Every file of an artifact, after checking the whole set against its recorded SHA-256."""
    if not expected_sha256:
        raise ArtifactError(f"artifact {path} has no recorded SHA-256; refusing to load it unchecked")
    if not path.is_dir():
        raise ArtifactError(f"artifact {path} is missing")
    files: dict[str, bytes] = {}
    for entry in sorted(path.iterdir()):
        if not entry.is_file() or entry.is_symlink():
            raise ArtifactError(f"artifact {path} holds an unexpected entry {entry.name!r}")
        files[entry.name] = entry.read_bytes()
    actual = digest(files)
    if actual != expected_sha256:
        raise ArtifactError(
            f"artifact {path} does not match its recorded SHA-256 (recorded {expected_sha256[:12]}…, "
            f"found {actual[:12]}…): it was changed or corrupted after it was written"
        )
    return files


def remove_artifact(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
