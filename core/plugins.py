"""The one plug-in idiom: a registry of names, each pointing at the "module:attr" that implements it.

Bots, labelers, LLM providers and market-data providers are each one `Registry`. An entry holds the
name, where the implementation lives, a title for pages and a line of help for command lines, plus
whatever facts its kind lists without loading it (a bot's GPU use, a feed's liveness). The module is
imported on the first `load` and cached: command lines, settings checks and pages list names and
titles without paying for pandas, PyTorch or a client library.

A plug-in module imports the interface it implements, never the registry that names it; the only
edge from a registry to a plug-in is the "module:attr" string, which tests/test_import_graph.py
counts as an import.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from core.errors import BadInput


@dataclass(frozen=True)
class Entry:
    """One registered plug-in: `target` is "package.module:attr"; `help` says what it is or how to use it."""

    name: str
    target: str
    title: str
    help: str = ""

    def __post_init__(self) -> None:
        module, sep, attr = self.target.partition(":")
        if self.target and not (sep and module and attr.isidentifier()):
            raise ValueError(f"{self.name}: {self.target!r} is not 'package.module:attr'")


E = TypeVar("E", bound=Entry)
T = TypeVar("T")


class Registry(Generic[E, T]):
    """Plug-ins of one kind by name, in registration order; each loaded once, when first asked for."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "bot", "labeler": how a message names one
        self._entries: dict[str, E] = {}
        self._loaded: dict[str, T] = {}
        self._lock = threading.Lock()

    def add(self, entry: E) -> E:
        """Register `entry`; the same name twice, or no target, is a programming error, refused at import."""
        if not entry.target:
            raise ValueError(f"{self.kind} {entry.name!r} names no 'package.module:attr' to load")
        if entry.name in self._entries:
            raise ValueError(
                f"{self.kind} {entry.name!r} is already registered as {self._entries[entry.name].target}"
            )
        self._entries[entry.name] = entry
        return entry

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def titles(self) -> dict[str, str]:
        return {name: entry.title for name, entry in self._entries.items()}

    def entries(self) -> tuple[E, ...]:
        return tuple(self._entries.values())

    def describe(self) -> str:
        """Each name with its help, for a command line's --help."""
        return "; ".join(f"{e.name}: {e.help}" if e.help else e.name for e in self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def unknown(self, name: object) -> BadInput:
        """The error for a name that is not registered, naming the choices."""
        return BadInput(f"unknown {self.kind} {name!r}; use one of {', '.join(self._entries)}")

    def entry(self, name: str) -> E:
        try:
            return self._entries[name]
        except KeyError:
            raise self.unknown(name) from None

    def load(self, name: str) -> T:
        """The implementation of plug-in `name`, imported on first use (`BadInput` for an unknown name)."""
        entry = self.entry(name)
        with self._lock:
            if name not in self._loaded:
                module, _, attr = entry.target.partition(":")
                self._loaded[name] = cast(T, getattr(importlib.import_module(module), attr))
            return self._loaded[name]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"
