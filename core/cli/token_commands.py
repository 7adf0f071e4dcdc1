"""`tokens create | list | revoke`: bearer tokens of the service API (CONTRACTS §1, §4)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from core.cli.output import CommandResult
from core.context import Context
from core.requests import TOKEN_SCOPES, TokenRef, TokenRequest, parse
from core.services import tokens
from core.services.actors import Actor


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    tok = subparsers.add_parser("tokens", help="API tokens: create (the secret is shown once), list, revoke")
    sub = tok.add_subparsers(dest="tokens_command", required=True)
    create = sub.add_parser("create", parents=[common], help="create a token and print its secret once")
    create.add_argument("--name", required=True, help="who the token acts as (recorded with its actions)")
    create.add_argument("--scopes", required=True, help=f"comma-separated, from {','.join(TOKEN_SCOPES)}")
    create.add_argument("--expires-days", type=float, help="days until it stops working (default: never)")
    create.set_defaults(handler=_create)
    listing = sub.add_parser("list", parents=[common], help="every token: scopes, created, last used, state")
    listing.set_defaults(handler=_list)
    revoke = sub.add_parser("revoke", parents=[common], help="revoke a token for good")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(handler=_revoke)


def _render_created(data: Mapping[str, Any]) -> str:
    expiry = f", expires {data['expires_at']}" if data["expires_at"] else ""
    return (
        f"token {data['token_id']} ({data['name']}, scopes {','.join(data['scopes'])}{expiry}):\n"
        f"{data['token']}\n"
        "This is the only time the secret is shown: only its SHA-256 is stored. "
        "Send it as `Authorization: Bearer <token>`."
    )


def _create(ctx: Context, args: argparse.Namespace) -> CommandResult:
    request = parse(TokenRequest, name=args.name, scopes=args.scopes, expires_days=args.expires_days)
    return CommandResult(tokens.create_token(ctx, Actor.cli(), request).as_json(), _render_created)


def _render_list(data: Mapping[str, Any]) -> str:
    if not data["tokens"]:
        return "no API tokens; create one with `python -m core tokens create --name NAME --scopes read`"
    lines = []
    for t in data["tokens"]:
        lines.append(
            f"#{t['token_id']:<4} {t['name']:<20} {t['state']:<8} {','.join(t['scopes']):<28} "
            f"created {t['created_at'][:16]}  last used {(t['last_used_at'] or 'never')[:16]}  "
            f"expires {(t['expires_at'] or 'never')[:16]}"
        )
    return "\n".join(lines)


def _list(ctx: Context, args: argparse.Namespace) -> CommandResult:
    return CommandResult(
        {"tokens": [t.as_json() for t in tokens.list_tokens(ctx, Actor.cli())]}, _render_list
    )


def _revoke(ctx: Context, args: argparse.Namespace) -> CommandResult:
    request = parse(TokenRef, token_id=args.token_id)
    token = tokens.revoke_token(ctx, Actor.cli(), request)
    return CommandResult(token.as_json(), lambda d: f"token {d['token_id']} ({d['name']}) is {d['state']}")
