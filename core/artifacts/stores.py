"""Artifact stores chosen by URL, as MLflow chooses its artifact repositories.

- `file://…` (the default, CANDLELAB_HOME/models): `LocalArtifactStore`. Written here with plain
  `os` calls rather than fsspec's local filesystem, which neither fsyncs nor renames a finished
  folder into place: each file goes to a temporary name, is fsynced and renamed, and the folder
  is assembled under a staging name and renamed whole. Files 0600, folders 0700.
- any other fsspec URL (`s3://bucket/prefix`, and `gs://`, `az://` with their fsspec packages):
  `FsspecArtifactStore`. Every file is one PUT, which object stores apply whole or not at all; a
  version row is inserted only after every file is written and re-read under its SHA-256, so
  nothing refers to an artifact that is still being written.

A store that cannot be reached raises `ArtifactUnavailable` (the version is not marked broken);
a missing, extra or altered file raises `ArtifactError` (it is).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from core.artifacts.base import ArtifactStore
from core.errors import ArtifactError, ArtifactUnavailable, BadInput
from core.owner_only import private_dir
from core.settings import Settings
from core.urls import redact_url

log = logging.getLogger(__name__)

S3_SCHEMES = ("s3", "s3a")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Temporary file (0600) in the same folder, fsync, then rename over the target."""
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


class LocalArtifactStore(ArtifactStore):
    """Artifacts as folders under a local root (readable by this machine's processes only)."""

    shared = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def location(self, key: str) -> str:
        return str(self.root / key)

    def path_of(self, key: str) -> Path:
        return self.root / key

    def _write_files(self, key: str, files: dict[str, bytes]) -> None:
        private_dir(self.root, tighten=True)
        final = self.path_of(key)
        private_dir(final.parent)
        if final.exists():
            raise ArtifactError(f"artifact {final} already exists; refusing to overwrite it")
        staging = final.parent / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
        staging.mkdir(mode=0o700)
        try:
            for name, data in files.items():
                atomic_write(staging / name, data)
            _fsync_dir(staging)
            os.rename(staging, final)
            _fsync_dir(final.parent)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _read_files(self, key: str) -> dict[str, bytes]:
        path = self.path_of(key)
        if not path.is_dir():
            raise ArtifactError(f"artifact {path} is missing")
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise ArtifactError(f"artifact {path} leads outside {self.root}; refusing to read it")
        files: dict[str, bytes] = {}
        try:
            for entry in sorted(path.iterdir()):
                if not entry.is_file() or entry.is_symlink():
                    raise ArtifactError(f"artifact {path} holds an unexpected entry {entry.name!r}")
                files[entry.name] = entry.read_bytes()
        except FileNotFoundError:
            raise ArtifactError(f"artifact {path} is missing") from None
        except OSError as exc:
            raise ArtifactUnavailable(f"artifact {path} cannot be read: {exc}") from None
        return files

    def _remove(self, key: str) -> None:
        path = self.path_of(key)
        shutil.rmtree(path, ignore_errors=True)
        for parent in path.parents:  # tidy the emptied records/<id> folder, never the root
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            with contextlib.suppress(OSError):
                parent.rmdir()


class FsspecArtifactStore(ArtifactStore):
    """Artifacts as objects under a prefix of any fsspec filesystem (S3 and compatibles)."""

    shared = True

    def __init__(self, url: str, storage_options: dict[str, Any], secrets: list[str]) -> None:
        try:
            import fsspec  # imported with a remote store only; the default store needs no fsspec

            self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except ImportError as exc:  # fsspec itself, or the scheme's package (s3fs for s3://)
            scheme = urlsplit(url).scheme
            extra = " (install the s3 extra: pip install 'candlelab[s3]')" if scheme in S3_SCHEMES else ""
            raise BadInput(
                f"ARTIFACT_URL {redact_url(url)} needs a package that is missing{extra}: {exc}"
            ) from None
        except ValueError as exc:  # fsspec's "Protocol not known"
            raise BadInput(f"ARTIFACT_URL {redact_url(url)} is not a store URL fsspec knows: {exc}") from None
        self.root = root.rstrip("/")
        self._display = redact_url(url).rstrip("/")
        self._secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)

    def location(self, key: str) -> str:
        return f"{self._display}/{key}"

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def _unavailable(self, action: str, key: str, exc: BaseException) -> ArtifactUnavailable:
        text = f"{type(exc).__name__}: {exc}"
        for secret in self._secrets:  # a driver's message must never carry a credential onwards
            text = text.replace(secret, "***")
        return ArtifactUnavailable(f"could not {action} artifact {self.location(key)}: {text}")

    def _write_files(self, key: str, files: dict[str, bytes]) -> None:
        prefix = self._path(key)
        try:
            if self.fs.exists(prefix):
                raise ArtifactError(f"artifact {self.location(key)} already exists; refusing to overwrite it")
            for name, data in files.items():
                self.fs.pipe_file(f"{prefix}/{name}", data)  # one PUT: the object is whole or absent
        except ArtifactError:
            raise
        except Exception as exc:
            self._remove(key)
            raise self._unavailable("write", key, exc) from None

    def _read_files(self, key: str) -> dict[str, bytes]:
        prefix = self._path(key)
        try:
            self.fs.invalidate_cache(prefix)
            found = self.fs.find(prefix, withdirs=True, detail=True)
        except FileNotFoundError:
            found = {}
        except Exception as exc:
            raise self._unavailable("list", key, exc) from None
        found.pop(prefix, None)  # the key's own "folder"
        if not found:
            raise ArtifactError(f"artifact {self.location(key)} is missing")
        files: dict[str, bytes] = {}
        for path, info in sorted(found.items()):
            name = path[len(prefix) + 1 :] if path.startswith(prefix + "/") else path
            if info.get("type") != "file" or not name or "/" in name:
                raise ArtifactError(f"artifact {self.location(key)} holds an unexpected entry {name!r}")
            try:
                files[name] = self.fs.cat_file(path)
            except FileNotFoundError:
                raise ArtifactError(f"artifact {self.location(key)} lost {name!r} while read") from None
            except Exception as exc:
                raise self._unavailable("read", key, exc) from None
        return files

    def _remove(self, key: str) -> None:
        try:
            self.fs.rm(self._path(key), recursive=True)
        except FileNotFoundError:
            pass
        except Exception as exc:  # housekeeping: a leftover object costs storage, nothing else
            log.warning("%s", self._unavailable("remove", key, exc))


def _storage_options(settings: Settings, scheme: str) -> dict[str, Any]:
    if scheme not in S3_SCHEMES:
        return {}
    options: dict[str, Any] = {
        "use_listings_cache": False,  # another worker may have written a moment ago
        # Fail within seconds when the endpoint is unreachable, rather than botocore's minutes.
        "config_kwargs": {"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 3}},
    }
    if settings.aws_endpoint_url:
        options["endpoint_url"] = settings.aws_endpoint_url
    for option, secret in (
        ("key", settings.aws_access_key_id),
        ("secret", settings.aws_secret_access_key),
        ("token", settings.aws_session_token),
    ):
        if secret is not None and secret.get_secret_value():
            options[option] = secret.get_secret_value()
    return options


def local_root(url: str) -> Path | None:
    """The folder of a `file://` URL or plain path; None for any other scheme."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "file"):
        return None
    if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
        raise BadInput(f"ARTIFACT_URL {redact_url(url)} names a host; use file:///absolute/path")
    path = Path(url2pathname(parts.path) if parts.scheme else url).expanduser()
    return path.resolve()


def open_store(settings: Settings) -> ArtifactStore:
    """The artifact store `ARTIFACT_URL` names (CANDLELAB_HOME/models when unset)."""
    url = settings.artifact_location
    root = local_root(url)
    if root is not None:
        return LocalArtifactStore(root)
    scheme = urlsplit(url).scheme
    return FsspecArtifactStore(url, _storage_options(settings, scheme), settings.secret_values())
