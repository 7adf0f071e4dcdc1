"""`python -m core` / `candlelab`: the command line of CONTRACTS §1."""

from core.cli.app import main

__all__ = ["main"]
