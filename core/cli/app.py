"""Argument parsing, context set-up and the mapping of errors to exit codes (0, 2 bad input, 1 other)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from core.cli.output import CommandResult, emit, emit_error
from core.context import Context
from core.db.faults import storage_fault
from core.errors import BadInput, CandleLabError
from core.settings import load_settings

log = logging.getLogger("core.cli")

# Each module exposes `register(subparsers, common)`; a handler takes (ctx, args) and returns a
# CommandResult. Modules are imported lazily per run so `--help` stays fast.
COMMAND_MODULES = (
    "core.cli.db_commands",
    "core.cli.data_commands",
    "core.cli.label_commands",
    "core.cli.job_commands",
    "core.cli.learning_commands",
    "core.cli.train_commands",
    "core.cli.experiment_commands",
    "core.cli.access_commands",
    "core.cli.token_commands",
    "core.cli.api_commands",
    "core.cli.llm_commands",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits on its own; raise instead so usage errors honour --json and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInput(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="CandleLab engine command line")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers, common)
    return parser


def _context(args: argparse.Namespace) -> Context:
    from core.db import migrate

    settings = load_settings()
    ctx = Context.create(settings, migrate=False)
    if getattr(args, "skip_migrate", False):
        return ctx
    if ctx.db.is_sqlite:
        # The embedded database keeps itself current; a shared server is upgraded on purpose.
        migrate.upgrade(ctx.db)
    elif not migrate.is_current(ctx.db):
        raise BadInput("the database schema is not current; run `python -m core db upgrade` first")
    return ctx


def _database_url() -> str | None:
    try:
        return load_settings().db_url
    except Exception:  # the settings themselves are broken: the fault names "the database"
        return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        ctx = _context(args)
        result: CommandResult = args.handler(ctx, args)
    except BadInput as exc:
        emit_error(str(exc), 2, as_json)
        return 2
    except CandleLabError as exc:
        log.error("%s failed: %s", argv[:2], exc)
        emit_error(str(exc), 1, as_json)
        return 1
    except KeyboardInterrupt:
        emit_error("interrupted", 1, as_json)
        return 1
    except Exception as exc:  # the last line of defence: log the traceback, print one line
        fault = storage_fault(exc, _database_url())
        if fault is not None:  # the driver's text (SQL, parameters) stays out of the terminal
            log.error("%s failed: %s", argv[:2], fault)
            emit_error(str(fault), 1, as_json)
            return 1
        log.exception("unexpected failure in %s", argv[:2])
        emit_error(f"unexpected failure: {type(exc).__name__}: {exc} (details in the log)", 1, as_json)
        return 1
    emit(result, as_json)
    return result.exit_code
