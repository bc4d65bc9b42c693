"""Helpers shared by the command modules: JSON/terminal output."""

from __future__ import annotations

import sys
from typing import Any

import click


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
