"""Artifact stores by URL: a local folder (file://) and S3 (a real moto server on 127.0.0.1).

Both must write atomically, verify the SHA-256 before every load, keep keys inside the store,
and let retention and "broken" marking work; an unreachable store is not a broken artifact.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from core.artifacts import stores
from core.artifacts.base import check_key, new_key
from core.artifacts.stores import FsspecArtifactStore, LocalArtifactStore
from core.context import Context
from core.db.database import forget_database
from core.errors import ArtifactError, ArtifactUnavailable, BadInput
from core.logging_setup import configure_logging, reset_logging
from core.registry.activation import activate
from core.registry.loading import load_version
from core.registry.retention import prune
from core.registry.versions import active_version, get_version
from core.training.service import train_pair as train
from tests import s3
from tests.bots.helpers import SMALL, add_version, random_walk, store_bars, store_hindsight_set
from tests.conftest import REPO, make_settings

FILES = {"meta.json": b'{"bot": "x"}', "weights.bin": bytes(range(256)) * 40}
SLOT = ("TEST", "1d", "xgb_agent")


@pytest.fixture(params=["file", "s3"])
def store_ctx(request: pytest.FixtureRequest, home: Path) -> Any:
    """A context whose artifact store is a local folder or a fresh bucket on the moto server."""
    overrides: dict[str, Any] = {}
    if request.param == "s3":
        server: s3.S3Server = request.getfixturevalue("s3_server")
        overrides = server.settings(server.new_bucket())
    ctx = Context.create(make_settings(home, **overrides), logs=False)
    yield ctx
    forget_database(ctx.settings.db_url)


def _objects(ctx: Context) -> set[str]:
    """Every file the store holds, relative to its root."""
    store = ctx.artifacts
    if isinstance(store, LocalArtifactStore):
        root = store.root
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    assert isinstance(store, FsspecArtifactStore)
    store.fs.invalidate_cache()
    return {path[len(store.root) + 1 :] for path in store.fs.find(store.root)}


def _tamper(ctx: Context, key: str, how: str) -> None:
    store = ctx.artifacts
    if isinstance(store, LocalArtifactStore):
        folder = store.path_of(key)
        if how == "flip_byte":
            (folder / "booster.ubj").write_bytes(b"\x00" + (folder / "booster.ubj").read_bytes()[1:])
        elif how == "extra_file":
            (folder / "payload.pkl").write_bytes(b"not part of the model")
        else:
            (folder / "booster.ubj").unlink()
        return
    assert isinstance(store, FsspecArtifactStore)
    prefix = f"{store.root}/{key}"
    if how == "flip_byte":
        store.fs.pipe_file(f"{prefix}/booster.ubj", b"\x00" + store.fs.cat_file(f"{prefix}/booster.ubj")[1:])
    elif how == "extra_file":
        store.fs.pipe_file(f"{prefix}/payload.pkl", b"not part of the model")
    else:
        store.fs.rm(f"{prefix}/booster.ubj")


# --- keys -----------------------------------------------------------------------------------


def test_keys_come_from_ids_and_never_escape() -> None:
    key = new_key(42)
    assert key.startswith("records/42/") and check_key(key) == key
    for bad in ("..", ".", "../x", "a/../b", "/etc/passwd", "a//b", "", None, "GOOG/.staging-x", "a\\b"):
        with pytest.raises(ArtifactError, match="not a plain relative path"):
            check_key(bad)
    # Keys written before keys came from ids (symbols as folders) stay readable.
    assert check_key("EURUSD=X/1h/xgb_agent/20260101T000000-abc") and check_key("^GSPC/1d/lstm_bot/x")
    with pytest.raises(ValueError, match="training record id"):
        new_key(0)


@pytest.mark.parametrize(
    ("url", "kind"),
    [("", LocalArtifactStore), ("file:///srv/models", LocalArtifactStore), ("/srv/m", LocalArtifactStore)],
)
def test_store_is_chosen_by_url(home: Path, url: str, kind: type) -> None:
    settings = make_settings(home, **({"artifact_url": url} if url else {}))
    store = stores.open_store(settings)
    assert isinstance(store, kind)
    assert store.root == (Path(url.removeprefix("file://")) if url else settings.models_dir)


def test_a_file_url_naming_a_host_or_an_unknown_scheme_is_refused(home: Path) -> None:
    with pytest.raises(BadInput, match="names a host"):
        stores.open_store(make_settings(home, artifact_url="file://otherhost/models"))
    with pytest.raises(BadInput, match="not a store URL fsspec knows") as refused:
        stores.open_store(make_settings(home, artifact_url="nosuchscheme://user:pw-777777@host/models"))
    assert "pw-777777" not in str(refused.value) and "user:***@host" in str(refused.value)


# --- both stores ------------------------------------------------------------------------------


def test_write_then_read_verified_returns_the_bytes(store_ctx: Context) -> None:
    store = store_ctx.artifacts
    info = store.write(new_key(1), FILES)
    assert info.size == sum(map(len, FILES.values())) and len(info.sha256) == 64
    assert store.read_verified(info.key, info.sha256) == FILES
    assert _objects(store_ctx) == {f"{info.key}/{name}" for name in FILES}
    with pytest.raises(ArtifactError, match="already exists"):
        store.write(info.key, FILES)  # a key is written once, never over
    with pytest.raises(ArtifactError, match="no recorded SHA-256"):
        store.read_verified(info.key, None)
    with pytest.raises(ArtifactError, match="is missing"):
        store.read_verified(new_key(2), info.sha256)
    with pytest.raises(ValueError, match="plain file name"):
        store.write(new_key(3), {"../escape": b""})
    store.remove(info.key)
    assert _objects(store_ctx) == set()


def test_a_failed_write_leaves_nothing(store_ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_ctx.artifacts
    calls = {"n": 0}

    def fail_on_second(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("disk full")
            return original(*args, **kwargs)

        return wrapper

    if isinstance(store, LocalArtifactStore):
        monkeypatch.setattr(stores, "atomic_write", fail_on_second(stores.atomic_write))
        expected: type[Exception] = OSError
    else:
        monkeypatch.setattr(store.fs, "pipe_file", fail_on_second(store.fs.pipe_file))
        expected = ArtifactUnavailable
    with pytest.raises(expected, match="disk full"):
        store.write(new_key(7), FILES)
    assert calls["n"] == 2
    assert _objects(store_ctx) == set()  # no staging folder, no half artifact


@pytest.mark.parametrize("tamper", ["flip_byte", "extra_file", "missing_file"])
def test_a_tampered_artifact_is_refused_and_marked_broken(store_ctx: Context, tamper: str) -> None:
    version = add_version(store_ctx)
    _tamper(store_ctx, version.artifact_path, tamper)
    with pytest.raises(ArtifactError, match=r"does not match its recorded SHA-256|is missing"):
        load_version(store_ctx, version)
    assert get_version(store_ctx.db, version.version_id).status == "broken"
    with pytest.raises(BadInput, match="is broken"):
        activate(store_ctx, version.version_id, actor="test")


def test_retention_removes_pruned_artifacts_from_the_store(store_ctx: Context) -> None:
    ids = [add_version(store_ctx).version_id for _ in range(4)]
    activate(store_ctx, ids[-1], actor="test")
    pruned = prune(store_ctx, *SLOT, keep=2)
    assert sorted(pruned) == ids[:2]
    kept = {get_version(store_ctx.db, v).artifact_path for v in ids[2:]}
    assert {name.rsplit("/", 1)[0] for name in _objects(store_ctx)} == kept
    assert load_version(store_ctx, get_version(store_ctx.db, ids[-1])).fitted


# --- S3 specifics ----------------------------------------------------------------------------


def test_an_unreachable_store_is_not_a_broken_artifact(s3_server: s3.S3Server, home: Path, caplog) -> None:
    bucket = s3_server.new_bucket()
    ctx = Context.create(make_settings(home, **s3_server.settings(bucket)), logs=False)
    version = add_version(ctx)
    # The same installation seen through an endpoint nobody listens on.
    down = Context(
        make_settings(home, **{**s3_server.settings(bucket), "aws_endpoint_url": "http://127.0.0.1:9"})
    )
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(ArtifactUnavailable, match="cannot be loaded now") as exc,
    ):
        load_version(down, version)
    assert get_version(ctx.db, version.version_id).status == "ready"  # not marked broken
    assert s3.SECRET_KEY not in str(exc.value) and s3.SECRET_KEY not in caplog.text
    assert f"s3://{bucket}/models/{version.artifact_path}" in str(exc.value)
    assert load_version(ctx, version).fitted
    forget_database(ctx.settings.db_url)


def test_s3_credentials_are_secrets(s3_server: s3.S3Server, home: Path) -> None:
    settings = make_settings(
        home, **s3_server.settings("bucket"), database_url="postgresql+psycopg://desk:pg-pass-123@db/cl"
    )
    secrets = settings.secret_values()
    assert {s3.SECRET_KEY, s3.ACCESS_KEY, "pg-pass-123"} <= set(secrets)
    summary = json.dumps(settings.public_summary())
    assert s3.SECRET_KEY not in summary and "pg-pass-123" not in summary
    assert '"artifacts": "s3://bucket/models"' in summary
    masked = make_settings(home, artifact_url="sftp://desk:sftp-pass-99@files/models?token=tok-abcdef")
    assert masked.public_summary()["artifacts"] == "sftp://desk:***@files/models?…"
    assert {"sftp-pass-99", "tok-abcdef"} <= set(masked.secret_values())
    log_file = configure_logging(home / "logs", "INFO", secrets)
    try:
        logging.getLogger("core.test").warning("key=%s secret=%s", s3.ACCESS_KEY, s3.SECRET_KEY)
    finally:
        reset_logging()
    text = log_file.read_text()
    assert "key=*** secret=***" in text and s3.SECRET_KEY not in text


@pytest.mark.slow
@pytest.mark.backends("postgresql")
def test_a_model_trained_into_s3_is_loaded_by_a_process_with_another_home(
    s3_server: s3.S3Server, home: Path, tmp_path: Path
) -> None:
    """A worker writes the model; a process sharing only the database and the bucket loads it."""
    bucket = s3_server.new_bucket()
    ctx = Context.create(make_settings(home, **s3_server.settings(bucket)), logs=False)
    store_bars(ctx, "RW", "1d", random_walk(900, 11))
    label_set = store_hindsight_set(ctx, "RW", "1d", horizon=5, samples=300)
    result = train(
        ctx, "RW", "1d", bots="xgb_agent", label_set_id=label_set, bot_params=SMALL, activate="always"
    )
    version = active_version(ctx.db, "RW", "1d", "xgb_agent")
    assert version is not None and version.version_id == result.versions[0].version_id
    assert not (home / "models").exists()  # nothing went to the local disk
    assert any(name.startswith(version.artifact_path) for name in _objects(ctx))
    other_home = tmp_path / "dashboard-elsewhere"
    script = textwrap.dedent(
        """
        import json, sys
        from core.context import Context
        from core.registry.loading import load_version
        from core.registry.versions import active_version
        ctx = Context.create(logs=False)
        version = active_version(ctx.db, "RW", "1d", "xgb_agent")
        bot = load_version(ctx, version)
        print(json.dumps({"version_id": version.version_id, "bot": bot.name, "fitted": bot.fitted}))
        """
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "CANDLELAB_HOME": str(other_home)}
    env |= {**s3_server.environment(bucket), "DATABASE_URL": ctx.settings.db_url}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"version_id": version.version_id, "bot": "xgb_agent", "fitted": True}
    assert not (other_home / "models").exists()
    forget_database(ctx.settings.db_url)
