"""Local files readable by their owner only: the database, logs and artifacts under CANDLELAB_HOME.

Models, labels and the LLM ledger are a desk's private work, and a shared machine's other users
have no business reading them. Files get mode 0600 and folders 0700 explicitly where CandleLab
creates them, and entry points also set the process umask to 0077, so a file some other module
creates under the home (a job's log, a spooled upload) is private too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077


def restrict_umask() -> None:
    """Make every file this process creates from now on owner-only (entry points call this)."""
    os.umask(UMASK)


def _tighten(path: Path, mode: int) -> None:
    # Only our own, and never a shared sticky folder such as /tmp someone pointed the home at.
    with contextlib.suppress(OSError):
        info = path.stat()
        if info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX and info.st_mode & 0o777 != mode:
            path.chmod(mode)


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """Create `path` and its missing parents as 0700; with `tighten`, also an existing `path`.

    `tighten` is for CandleLab's own folders (the home, its logs and models): an installation
    made before files were private becomes private on its next start.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for created in missing:  # mkdir -p gives parents the default mode
        _tighten(created, DIR_MODE)
    if tighten:
        _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty as 0600 if missing; tighten it if it exists. Its folder is left as is."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        os.close(fd)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    return path


def opener(path: str, flags: int) -> int:
    """An `open(..., opener=opener)` that creates files as 0600 whatever the umask."""
    return os.open(path, flags, FILE_MODE)
