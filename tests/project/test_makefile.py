"""The Makefile's install stamps follow EXTRAS and TORCH_SPEC: another choice installs again; a
fresh `make test` builds the project once, and `make run` after it installs nothing."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.conftest import REPO


def _plan(venv: Path, *assignments: str, target: str = "install") -> str:
    """What `make <target>` would run (`make -n`), against a stand-in virtualenv."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={venv}", *assignments],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k not in ("EXTRAS", "TORCH_SPEC", "MAKEFLAGS")},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _install(venv: Path, *assignments: str) -> None:
    """Pretend `make install` ran: create the stamp it would touch, newer than what it depends on."""
    stamps = [
        line.split()[-1] for line in _plan(venv, *assignments).splitlines() if line.startswith("touch ")
    ]
    assert len(stamps) == 1, stamps
    Path(stamps[0]).touch()
    later = max(time.time(), (REPO / "pyproject.toml").stat().st_mtime) + 60
    os.utime(stamps[0], (later, later))


def test_another_extras_or_torch_spec_installs_again(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    first = _plan(venv)
    assert "pip install --quiet torch==" in first and 'pip install --quiet -e "."' in first
    _install(venv)
    assert "pip install" not in _plan(venv)  # installed: nothing to do

    with_s3 = _plan(venv, "EXTRAS=s3")
    assert 'pip install --quiet -e ".[s3]"' in with_s3
    _install(venv, "EXTRAS=s3")
    assert "pip install" not in _plan(venv, "EXTRAS=s3")
    assert "pip install" not in _plan(venv)  # going back needs nothing: the base install is a subset

    other_torch = _plan(venv, "TORCH_SPEC=torch==2.5.1")
    assert "pip install --quiet torch==2.5.1" in other_torch


def test_a_fresh_make_test_installs_the_project_once_and_make_run_then_nothing(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    plan = _plan(venv, "EXTRAS=s3", target="test").splitlines()
    installs = [line for line in plan if "pip install" in line]
    assert len(installs) == 2 and "pip install --quiet torch" in installs[0]
    assert installs[1].endswith('pip install --quiet -e ".[test,s3]"')  # one resolution, one build
    touched = next(line for line in plan if line.startswith("touch ")).split()[1:]
    later = max(time.time(), (REPO / "pyproject.toml").stat().st_mtime) + 60
    for stamp in touched:
        Path(stamp).touch()
        os.utime(stamp, (later, later))
    assert "pip install" not in _plan(venv, "EXTRAS=s3", target="test")
    assert "pip install" not in _plan(venv, "EXTRAS=s3")  # `make run`'s install is part of it
