"""Helpers shared by the command modules, and the conventions every command follows.

The conventions (new commands keep them; ``tests/test_cli_errors.py`` holds every command to the first):

- Bad input: one line ``error: <file>: <problem>; <what to do>`` on stderr, exit code 2, nothing written.
  Ctrl-C: one line, exit code 130; long jobs keep what finished and resume.
- ``--json`` prints the JSON result (with its ``provenance``) on stdout; ``-o/--output FILE`` writes it
  to a file atomically. A command whose main output is a directory takes ``--out DIR`` (``scan`` also
  answers to its older ``-o/--output``); ``suggest-runs``, whose main output is a CSV, writes the CSV
  with ``-o`` and its JSON with ``--json FILE``.
- Charts: ``--plot FILE.png`` (the ``plot`` extra).
- Lists of names: repeat the option or separate with commas (:func:`split_names`).
- Every tokenizer argument takes any supported format (``forensics.load_tokenizer``), except
  ``count-pairs --tokenizer``, which counts token pairs through HF ``tokenizers`` (a ``tokenizer.json``).
"""

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


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def command_provenance(*, parameters: dict[str, Any] | None = None, inputs: dict[str, str] | None = None,
                       seed: int | None = None) -> dict[str, Any]:
    """The provenance block of the running command: every option as given on the command line, with
    ``parameters`` (values as the command resolved them) taking precedence, plus input hashes and seed."""
    from forensics._results import provenance

    ctx = click.get_current_context()
    given = {key: _plain(value) for key, value in ctx.params.items()}
    return provenance(command=_command_name(ctx.command), parameters=given | (parameters or {}), inputs=inputs,
                      seed=seed)


def _command_name(command: click.Command) -> str:
    """``recommend cpt`` for that command, however it was invoked (through ``forensics`` or on its own)."""
    from cli.main import group

    def find(node: click.Command, path: list[str]) -> list[str] | None:
        if node is command:
            return path
        for name, child in getattr(node, "commands", {}).items():
            found = find(child, path + [name])
            if found is not None:
                return found
        return None

    return " ".join(find(group, []) or [command.name or "?"])
