"""Model artifacts: fingerprinted on write, verified before every load, wherever they are stored.

An artifact is a set of files (`{name: bytes}` from `Bot.to_files`) under a key. Keys are made
from the training record's id plus a random nonce (`records/<id>/<nonce>`), never from a symbol,
timeframe or bot name, so no user text can steer where an artifact goes. The SHA-256 covers every
file name and byte, and `read_verified` returns the very bytes it hashed: nothing is read from the
store after the check. Formats load no pickled code (that is the bots' side: XGBoost UBJ, PyTorch
state dicts with `weights_only=True`).

`ArtifactStore` holds what every store shares (key and name rules, the digest check); the stores
themselves (`core.artifacts.stores`) only move bytes.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import ArtifactError

# One part of a key or a file name. Keys written before keys came from ids hold symbols (`^GSPC`,
# `EURUSD=X`), so those characters stay readable; a leading dot (`.`, `..`, `.staging`) never is.
_PART = re.compile(r"[A-Za-z0-9^=_-][A-Za-z0-9._^=-]{0,99}")


@dataclass(frozen=True)
class ArtifactInfo:
    key: str  # relative to the store's root; what `ai_model_versions.artifact_path` records
    sha256: str
    size: int


def digest(files: Mapping[str, bytes]) -> str:
    """One SHA-256 over all files: each name with the hash of its bytes, in name order."""
    outer = hashlib.sha256()
    for name in sorted(files):
        outer.update(name.encode() + b"\0" + hashlib.sha256(files[name]).hexdigest().encode() + b"\n")
    return outer.hexdigest()


def new_key(record_id: int) -> str:
    """A fresh key for the artifact of one training record.

    The nonce keeps two installations that share a bucket (or a restored database whose ids
    repeat) from ever writing over each other's artifacts.
    """
    if not isinstance(record_id, int) or record_id < 1:
        raise ValueError(f"an artifact key needs a training record id, not {record_id!r}")
    return f"records/{record_id}/{uuid.uuid4().hex[:16]}"


def check_key(key: str | None) -> str:
    """`key` if it is a relative path of plain parts (no `.`, `..`, empty part or absolute path)."""
    parts = (key or "").split("/")
    if not key or not all(_PART.fullmatch(part) and part not in {".", ".."} for part in parts):
        raise ArtifactError(f"artifact key {key!r} is not a plain relative path; refusing to use it")
    return key


def check_name(name: str) -> None:
    if not _PART.fullmatch(name) or name in {".", ".."}:
        raise ValueError(f"artifact file name {name!r} is not a plain file name")


class ArtifactStore(ABC):
    """One place artifacts live. Subclasses write, list, read and remove the files of a key."""

    # True when workers on other machines reach the same artifacts (not so for a local folder).
    shared: bool = False

    @abstractmethod
    def location(self, key: str) -> str:
        """Where a key's files are, fit for a message (no credentials)."""

    @abstractmethod
    def _write_files(self, key: str, files: dict[str, bytes]) -> None:
        """Store all files of a new key so a reader sees each file whole or not at all."""

    @abstractmethod
    def _read_files(self, key: str) -> dict[str, bytes]:
        """Every file under a key; ArtifactError for a missing key or an unexpected entry."""

    @abstractmethod
    def _remove(self, key: str) -> None:
        """Delete a key's files; a missing key is not an error."""

    def write(self, key: str, files: Mapping[str, bytes]) -> ArtifactInfo:
        """Write a new artifact under `key` and return its fingerprint."""
        check_key(key)
        if not files:
            raise ValueError("an artifact needs at least one file")
        for name in files:
            check_name(name)
        data = {name: bytes(content) for name, content in files.items()}
        self._write_files(key, data)
        return ArtifactInfo(key, digest(data), sum(len(d) for d in data.values()))

    def read_verified(self, key: str | None, expected_sha256: str | None) -> dict[str, bytes]:
        """Every file of an artifact, after checking the whole set against its recorded SHA-256."""
        if not expected_sha256:
            raise ArtifactError(f"artifact {key} has no recorded SHA-256; refusing to load it unchecked")
        files = self._read_files(check_key(key))
        actual = digest(files)
        if actual != expected_sha256:
            raise ArtifactError(
                f"artifact {self.location(key or '')} does not match its recorded SHA-256 (recorded "
                f"{expected_sha256[:12]}…, found {actual[:12]}…): it was changed or corrupted after it "
                "was written"
            )
        return files

    def remove(self, key: str | None) -> None:
        try:
            self._remove(check_key(key))
        except ArtifactError:
            return  # a key that could not have been written names nothing to remove
