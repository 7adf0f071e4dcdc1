"""The dashboard's settings are built once per environment, working directory and `.env`, and
again as soon as any of them changes (a test or an operator pointing CANDLELAB_HOME elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.runtime import current_settings


def test_settings_are_reused_until_the_environment_or_dotenv_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CANDLELAB_HOME", str(tmp_path / "a"))
    first = current_settings()
    assert current_settings() is first and first.home == (tmp_path / "a").resolve()
    monkeypatch.setenv("CANDLELAB_HOME", str(tmp_path / "b"))
    moved = current_settings()
    assert moved is not first and moved.home == (tmp_path / "b").resolve()
    (tmp_path / ".env").write_text("LOG_LEVEL=DEBUG\n")
    reread = current_settings()
    assert reread is not moved and reread.log_level == "DEBUG"
