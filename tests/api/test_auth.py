"""Tokens and scopes against a real server: 401 without a usable token, 403 without the route's
scope, the secret shown once and found nowhere else, and "last used" without a write per request."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.access import audit
from core.access.tokens import TokenCache
from core.context import Context
from core.errors import Forbidden, NotFound
from core.requests import TokenRef, TokenRequest
from core.services import tokens as token_service
from core.services.actors import TOKEN_SCOPES, Actor, Permission, allowed
from tests.api import live
from tests.conftest import make_settings
from tests.support import servers

SCOPES = ("read", "train", "activate", "outcomes")
# Every route but /health with the scope it needs (a test checks this covers the OpenAPI schema).
ROUTES = [
    ("POST", "/api/ai-training/generate-dataset", "train"),
    ("POST", "/api/ai-training/trigger-for-active-symbol", "train"),
    ("GET", "/api/ai-training/status", "read"),
    ("POST", "/ai/retrain", "train"),
    ("GET", "/ai/models", "read"),
    ("POST", "/ai/activate-model/1", "activate"),
    ("GET", "/ai/training-samples", "read"),
    ("GET", "/ai/signals?symbol=GOOG&timeframe=1d", "read"),
    ("POST", "/ai/outcomes", "outcomes"),
    ("POST", "/ai/outcomes/o-1/close", "outcomes"),
]


@pytest.fixture(scope="module")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-auth")


@pytest.fixture(scope="module")
def server(api_home: Path) -> Iterator[live.LiveServer]:
    with live.serve(api_home, args=["--access-log"]) as running:  # the secrets test reads it
        yield running


@pytest.fixture(scope="module")
def secrets(api_home: Path, server: live.LiveServer) -> dict[str, str]:
    """One token per scope, one with all of them; every secret this module makes is kept here."""
    made = {scope: live.create_token(api_home, f"only-{scope}", scope) for scope in SCOPES}
    # One through the real console command, as an operator runs it.
    code, doc, err = live.cli_process(
        api_home, "tokens", "create", "--name", "engine-1", "--scopes", ",".join(SCOPES)
    )
    assert code == 0, err
    assert set(doc) >= {"token_id", "name", "scopes", "token"} and doc["scopes"] == list(SCOPES)
    made["all"] = doc["token"]
    return made


def _path_of(route: str) -> str:
    return route.split("?")[0].replace("/1", "/{version_id}").replace("/o-1/", "/{order_id}/")


def test_the_route_table_covers_every_route_and_only_health_and_the_schema_are_open(
    server: live.LiveServer,
) -> None:
    with server.client() as http:
        schema = http.get("/openapi.json")
        assert schema.status_code == 200
        paths = {p for p, methods in schema.json()["paths"].items() for _ in methods}
        assert paths == {_path_of(path) for _, path, _ in ROUTES} | {"/health"}
        assert http.get("/docs").status_code == 200
        assert http.get("/health").json()["status"] == "ok"
        for method, path, _ in ROUTES:
            reply = http.request(method, path, json={})
            assert reply.status_code == 401, (method, path, reply.text)
            assert reply.headers["www-authenticate"] == "Bearer"
            assert reply.json()["error"]["type"] == "unauthorized"
            assert "Authorization: Bearer" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-token", "Bearer cl_" + "A" * 43, "bearer  cl_x"],
)
def test_a_bad_authorization_header_is_401(server: live.LiveServer, header: str) -> None:
    reply = live.httpx.get(f"{server.url}/ai/models", headers={"Authorization": header})
    assert reply.status_code == 401
    assert reply.json()["error"]["type"] == "unauthorized"


def test_each_route_refuses_a_token_without_its_scope_before_reading_the_body(
    server: live.LiveServer, secrets: dict[str, str]
) -> None:
    for method, path, scope in ROUTES:
        for other in (s for s in SCOPES if s != scope):
            with server.client(secrets[other]) as http:
                reply = http.request(method, path, json={})
            assert reply.status_code == 403, (method, path, other, reply.text)
            error = reply.json()["error"]
            assert error["type"] == "forbidden"
            assert f"'{scope}' scope" in error["message"] and f"only-{other}" in error["message"]


def _answer_within(http: live.httpx.Client, seconds: float, status: int) -> tuple[live.httpx.Response, float]:
    """Poll `/ai/models` until it answers `status`; the answer and how long that took."""
    started = time.monotonic()
    while True:
        reply = http.get("/ai/models")
        waited = time.monotonic() - started
        if reply.status_code == status or waited > seconds:
            return reply, waited
        time.sleep(0.05)


def test_expired_and_revoked_tokens_stop_working(api_home: Path, server: live.LiveServer) -> None:
    """Expiry holds on every request; a revocation reaches a running server within a second."""
    revoked = live.create_token(api_home, "revoked-soon", "read")
    ctx = Context.create(make_settings(api_home), migrate=False, logs=False)
    lifetime_s = 2.0  # made in-process: a CLI start would take much of that
    request = TokenRequest(name="brief", scopes=("read",), expires_days=lifetime_s / 86_400)
    brief = token_service.create_token(ctx, Actor.cli(), request).secret
    made = time.monotonic()
    with server.client(brief) as http:
        assert http.get("/ai/models").status_code == 200
    with server.client(revoked) as http:
        assert http.get("/ai/models").status_code == 200
    code, listing, _ = live.cli(api_home, "tokens", "list")
    token_id = next(t["token_id"] for t in listing["tokens"] if t["name"] == "revoked-soon")
    code, doc, _ = live.cli(api_home, "tokens", "revoke", str(token_id))
    assert code == 0 and doc["state"] == "revoked"
    with server.client(revoked) as http:
        reply, waited = _answer_within(http, 3.0, 401)
    assert reply.status_code == 401 and "revoked" in reply.json()["error"]["message"]
    assert waited <= TokenCache().ttl_s + 0.5
    time.sleep(max(0.0, made + lifetime_s + 0.05 - time.monotonic()))
    with server.client(brief) as http:
        reply = http.get("/ai/models")  # at once: expiry is checked on every request, cached or not
    assert reply.status_code == 401 and "expired" in reply.json()["error"]["message"]
    code, again, _ = live.cli(api_home, "tokens", "revoke", str(token_id))
    assert code == 0 and again["revoked_at"] == doc["revoked_at"]  # revoking twice changes nothing


def test_last_used_is_recorded_without_a_write_per_request(api_home: Path, server: live.LiveServer) -> None:
    secret = live.create_token(api_home, "usage", "read")

    def last_used() -> str | None:
        _, listing, _ = live.cli(api_home, "tokens", "list")
        return next(t["last_used_at"] for t in listing["tokens"] if t["name"] == "usage")

    assert last_used() is None
    with server.client(secret) as http:
        assert http.get("/ai/models").status_code == 200
        first = last_used()
        assert first is not None
        for _ in range(5):
            assert http.get("/ai/models").status_code == 200
    assert last_used() == first  # within a minute of the recorded use nothing is written


def test_token_commands_refuse_bad_input_and_write_nothing(api_home: Path, secrets: dict[str, str]) -> None:
    _, before, _ = live.cli(api_home, "tokens", "list")
    bad = [
        ("create", "--name", "two words", "--scopes", "read"),
        ("create", "--name", "x" * 33, "--scopes", "read"),
        ("create", "--name", "ok", "--scopes", "read,admin"),
        ("create", "--name", "ok", "--scopes", ""),
        ("create", "--name", "ok", "--scopes", "read", "--expires-days", "-1"),
        ("create", "--name", "engine-1", "--scopes", "read"),  # a live token holds the name
        ("revoke", "9999"),
        ("revoke", "0"),
    ]
    for args in bad:
        code, doc, err = live.cli(api_home, "tokens", *args)
        assert code == 2, (args, err)
        assert doc["error"]["message"]
    _, after, _ = live.cli(api_home, "tokens", "list")
    assert after == before
    listed = repr(after)
    assert all(secret not in listed for secret in secrets.values())
    assert "sha256" not in listed


def test_secrets_appear_nowhere_but_in_the_create_output(
    api_home: Path, server: live.LiveServer, secrets: dict[str, str]
) -> None:
    leaky = secrets["read"]
    with server.client(secrets["read"]) as http:
        # A client that puts its token in a URL by mistake: the access log must not keep it.
        assert http.get(f"/ai/models?token={leaky}").status_code == 200
        assert http.get(f"/ai/training-samples?limit=x&note={leaky}").status_code == 422
    with sqlite3.connect(api_home / "candlelab.db") as conn:
        dump = "\n".join(conn.iterdump())
    logs = server.output() + (api_home / "logs" / "backend.log").read_text()
    assert "GET /ai/models?token=***" in logs
    for secret in secrets.values():
        assert secret not in dump
        assert secret not in logs
        assert secret[3:] not in logs  # not even without its prefix


def test_non_loopback_bind_without_a_token_is_refused(tmp_path: Path) -> None:
    port = str(servers.free_port())
    code, doc, _ = live.cli_process(tmp_path, "api", "--host", "0.0.0.0", "--port", port)
    assert code == 2
    assert "no API token exists" in doc["error"]["message"]
    assert "python -m core tokens create" in doc["error"]["message"]
    code, doc, _ = live.cli(tmp_path, "api", "--port", "70000")
    assert code == 2 and "--port" in doc["error"]["message"]


def test_a_token_may_do_only_what_its_scopes_grant(ctx: Context) -> None:
    for scope, granted in TOKEN_SCOPES.items():
        actor = Actor("engine", "token", scopes=frozenset({scope}))
        assert {p for p in Permission if allowed(actor, p)} == granted
    everything = Actor("engine", "token", scopes=frozenset(TOKEN_SCOPES))
    assert not allowed(everything, Permission.MANAGE_ACCESS)
    assert not allowed(everything, Permission.IMPORT)
    assert not allowed(Actor("engine", "token", scopes=frozenset({"root"})), Permission.READ)
    assert allowed(Actor.cli(), Permission.MANAGE_ACCESS)
    request = TokenRequest(name="minted", scopes=("read",))
    with pytest.raises(Forbidden, match="lacks a scope no token has"):
        token_service.create_token(ctx, everything, request)  # no token mints tokens
    with pytest.raises(Forbidden, match="needs the admin role"):
        token_service.create_token(ctx, Actor("op@desk.example", "user", role="operator"), request)
    assert token_service.list_tokens(ctx, Actor.cli()) == []


def test_token_changes_are_on_the_audit_log_without_their_secret(ctx: Context) -> None:
    admin = Actor("lead@desk.example", "user", role="admin")
    issued = token_service.create_token(
        ctx, admin, TokenRequest(name="engine-7", scopes=("read", "outcomes"))
    )
    token_service.revoke_token(ctx, Actor.cli(), TokenRef(token_id=issued.view.token_id))
    with pytest.raises(NotFound):
        token_service.revoke_token(ctx, Actor.cli(), TokenRef(token_id=999))  # bad input: no row
    created, revoked = reversed(audit.entries(ctx.db))
    assert (created.actor, created.actor_kind, created.action, created.target) == (
        *("lead@desk.example", "user", "create_token", "token engine-7"),
    )
    assert created.detail["scopes"] == ["read", "outcomes"] and created.outcome == "succeeded"
    assert (revoked.action, revoked.actor_kind, revoked.detail["name"]) == ("revoke_token", "cli", "engine-7")
    assert revoked.detail["revoked_at"] is not None
    assert issued.secret not in repr([created.as_json(), revoked.as_json()])
