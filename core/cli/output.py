"""Printing command results: exactly one JSON document with --json, readable text otherwise."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class CommandResult:
    data: Mapping[str, Any]
    render: Callable[[Mapping[str, Any]], str] | None = None
    exit_code: int = 0
    warnings: list[str] = field(default_factory=list)


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()  # type: ignore[union-attr]
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


def to_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, default=_default, allow_nan=False, indent=None)


def plain(data: Mapping[str, Any], indent: int = 0) -> str:
    """A readable key: value rendering for results without a dedicated renderer."""
    lines = []
    pad = "  " * indent
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}:")
            lines.append(plain(value, indent + 1))
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            lines.append(f"{pad}{key}: ({len(value)})")
            for item in value:
                lines.append(plain(item, indent + 1))
                lines.append("")
        else:
            text = json.dumps(value, default=_default) if isinstance(value, list | float) else _default(value)
            lines.append(f"{pad}{key}: {text}")
    return "\n".join(lines).rstrip()


def emit(result: CommandResult, as_json: bool) -> None:
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if as_json:
        sys.stdout.write(to_json(result.data) + "\n")
    else:
        sys.stdout.write((result.render or plain)(result.data) + "\n")
    sys.stdout.flush()


def emit_error(message: str, code: int, as_json: bool) -> None:
    print(f"error: {message}", file=sys.stderr)
    if as_json:
        sys.stdout.write(to_json({"error": {"message": message, "exit_code": code}}) + "\n")
        sys.stdout.flush()
