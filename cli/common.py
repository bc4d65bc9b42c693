"""Helpers shared by the command modules: JSON/terminal output."""

from __future__ import annotations

import sys
from typing import Any

import click


def split_names(values: tuple[str, ...]) -> list[str] | None:
    """Names from repeated and comma-separated options: ("a,b", "c") -> ["a", "b", "c"]; none -> None.

    >>> split_names(("languages,code", " domains"))
    ['languages', 'code', 'domains']
    """
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


def emit_json(obj: Any, output: str | None = None) -> None:
    """Print JSON to stdout, or write it atomically to ``output``."""
    from forensics._results import to_json, write_json

    if output:
        write_json(output, obj)
    else:
        click.echo(to_json(obj))


def console():
    """A rich console on stdout (plain when not a terminal)."""
    from rich.console import Console

    return Console(file=sys.stdout, soft_wrap=False)
