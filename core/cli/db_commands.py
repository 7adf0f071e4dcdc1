"""`db upgrade` (and `db downgrade`, `db current` for operators)."""

from __future__ import annotations

import argparse

from core.cli.output import CommandResult
from core.context import Context


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    db = subparsers.add_parser("db", help="database schema migrations")
    sub = db.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", parents=[common], help="apply migrations up to a revision (head)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_upgrade, skip_migrate=True)
    down = sub.add_parser("downgrade", parents=[common], help="revert migrations down to a revision")
    down.add_argument("revision")
    down.set_defaults(handler=_downgrade, skip_migrate=True)
    cur = sub.add_parser("current", parents=[common], help="show the applied and the latest revision")
    cur.set_defaults(handler=_current, skip_migrate=True)


def _upgrade(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.db import migrate

    revision = migrate.upgrade(ctx.db, args.revision)
    return CommandResult({"revision": revision, "head": migrate.head_revision(ctx.db)})


def _downgrade(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.db import migrate

    return CommandResult({"revision": migrate.downgrade(ctx.db, args.revision)})


def _current(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.db import migrate

    return CommandResult(
        {"revision": migrate.current_revision(ctx.db), "head": migrate.head_revision(ctx.db)}
    )
