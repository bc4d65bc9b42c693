"""What the commands share: the conventions they follow, the option groups they declare, output helpers.

The conventions (new commands keep them; ``tests/test_cli_errors.py`` holds every command to the first,
``tests/test_cli_options.py`` every command to the option groups):

- Bad input: one line ``error: <file>: <problem>; <what to do>`` on stderr, exit code 2, nothing written.
  Ctrl-C: one line, exit code 130; long jobs keep what finished and resume.
- ``--json`` prints the JSON result (with its ``provenance``) on stdout; ``-o/--output FILE`` writes it
  to a file atomically; given both, both happen; without ``--json`` the table prints (:func:`emit_result`). A command whose main output is a directory takes ``--out DIR`` (``scan`` also
  answers to its older ``-o/--output``); ``suggest-runs``, whose main output is a CSV, writes the CSV
  with ``-o`` and its JSON with ``--json FILE``; ``recommend cpt`` writes its JSON with ``--json FILE``
  (``-`` for stdout); ``profiles build`` writes its ``.npz`` with ``-o``.
- Charts: ``--plot FILE.png`` (the ``plot`` extra).
- Lists of names: repeat the option or separate with commas (:func:`split_names`).
- Every tokenizer argument and option takes any supported format (``forensics.load_tokenizer``: a
  tokenizer.json, tiktoken ranks, merges.txt + vocab.json, SentencePiece, tekken; gzip/zstd; a
  directory holding one). ``count-pairs`` and ``scan`` encode a tokenizer.json with HF ``tokenizers``
  and every other format with the project's own exact BPE model (slower; see
  ``forensics/counting/pair_tokenizers.py``).

The option groups: a command that has the option declares it with these decorators, so that names,
defaults and help read the same everywhere.

- :func:`json_option` (``--json``) and :func:`json_output_options` (``--json`` and ``-o/--output FILE``);
- :func:`out_dir_option` (``--out DIR``), :func:`plot_option` (``--plot FILE``);
- :func:`categories_option` (``--categories`` sets, repeated or comma-separated);
- :func:`pretokenizer_option` (``--pretokenizer`` for rank files of unknown encodings);
- :func:`backend_options` (``--workers``, ``--backend local|ray``, ``--ray-address``) and
  :func:`array_job_options` (``--rank``, ``--world-size``: one slice of the work per array job);
- :func:`reader_options` (``--format``, ``--text-key``) and :func:`file_walk_options`
  (``--include-binary``, ``--follow-links``) for commands that read corpus files, with
  :func:`hash_inputs_option` (``--hash-inputs/--no-hash-inputs``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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


def emit_result(obj: Any, *, as_json: bool, output: str | None) -> bool:
    """The one rule for a command's JSON result: ``-o FILE`` writes it there (atomically), ``--json`` prints
    it on stdout (both may be given); True when neither printed it, so the caller shows its table."""
    if output:
        emit_json(obj, output)
    if as_json:
        emit_json(obj)
    return not as_json


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


# --- option groups ----------------------------------------------------------------------------------

def _options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several click options as one decorator, listed in the help in the order given."""

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def json_option() -> Callable[[F], F]:
    """``--json`` (parameter ``as_json``): print the result as JSON on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")


def json_output_options() -> Callable[[F], F]:
    """``--json`` and ``-o/--output FILE`` (parameters ``as_json``, ``output``).

    >>> @click.command()
    ... @json_output_options()
    ... def report(as_json, output): ...
    >>> [p.opts for p in report.params]
    [['--json'], ['-o', '--output']]
    """
    return _options(
        json_option(),
        click.option("-o", "--output", type=click.Path(dir_okay=False),
                     help="Write the JSON result to this file (atomically)."),
    )


def out_dir_option(help: str, *, required: bool = False, name: str = "out", older: tuple[str, ...] = ()
                   ) -> Callable[[F], F]:
    """``--out DIR`` (parameter ``name``), a command's output directory; ``older`` adds old spellings."""
    return click.option("--out", *older, name, required=required, type=click.Path(file_okay=False), help=help)


def plot_option(what: str, *, name: str = "plot") -> Callable[[F], F]:
    """``--plot FILE``: a PNG chart of ``what`` (parameter ``name``)."""
    return click.option("--plot", name, type=click.Path(dir_okay=False),
                        help=f"Draw {what} as a PNG chart here (needs the plot extra).")


def categories_option(default: str) -> Callable[[F], F]:
    """``--categories`` (multiple): category set names or directories; read them with :func:`split_names`."""
    return click.option("--categories", multiple=True,
                        help="Category set names (see `forensics categories list`) or directories of samples; "
                             f"repeat it or separate names by commas to combine sets [default: {default}].")


def pretokenizer_option() -> Callable[[F], F]:
    """``--pretokenizer``: rules that replace a tokenizer file's own (``forensics.load_tokenizer``)."""
    return click.option("--pretokenizer", default=None,
                        help="Preset name (gpt2, cl100k, o200k, ...) or regex replacing the tokenizer's own rules; "
                             "needed for rank files of unknown encodings.")


def backend_options(what: str) -> Callable[[F], F]:
    """``--workers``, ``--backend local|ray`` and ``--ray-address``; ``what`` runs on the backend
    ("categories are counted")."""
    return _options(
        click.option("--workers", type=int, default=None,
                     help="Worker processes on this machine (or CPUs of a Ray started here) [default: usable CPUs]."),
        click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help=f"Where {what}: processes on this machine, or tasks on a Ray cluster."),
        click.option("--ray-address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)."),
    )


def array_job_options(what: str, *, into: str, then: str, optional: bool = False) -> Callable[[F], F]:
    """``--rank R --world-size N``: rank R takes every N-th ``what`` from the R-th, writing ``into`` a
    place all ranks share; ``then`` says what finishes the job. ``optional``: both default to None
    (give both or neither) instead of 0 and 1."""
    rank: dict[str, Any] = {"default": None} if optional else {"default": 0, "show_default": True}
    size: dict[str, Any] = {"default": None} if optional else {"default": 1, "show_default": True}
    return _options(
        click.option("--rank", type=int, help="Array jobs: this job's rank, from 0 to --world-size - 1.", **rank),
        click.option("--world-size", type=int, **size,
                     help=f"Array jobs: the number of ranks N; rank R takes every N-th {what} from the R-th, "
                          f"into {into}; then {then}."),
    )


def reader_options() -> Callable[[F], F]:
    """``--format`` and ``--text-key``: how corpus files are read (``forensics.corpus.readers``)."""
    return _options(
        click.option("--format", "fmt", type=click.Choice(["infer", "text", "jsonl", "parquet"]), default="infer",
                     show_default=True, help="Format of the input files (infer: from each file's name)."),
        click.option("--text-key", default="text", show_default=True, help="JSONL/Parquet field holding the text."),
    )


def file_walk_options() -> Callable[[F], F]:
    """``--include-binary`` and ``--follow-links``: which files of the inputs are read."""
    return _options(
        click.option("--include-binary", is_flag=True,
                     help="Read text files that look binary (a NUL byte, or mostly invalid UTF-8, in the first "
                          "8 KiB); by default they are skipped and reported."),
        click.option("--follow-links", is_flag=True,
                     help="Follow symlinks that lead out of a directory or pattern given (by default they are "
                          "left out and reported; files named on the command line are always read)."),
    )


def hash_inputs_option() -> Callable[[F], F]:
    """``--hash-inputs/--no-hash-inputs``: record each input's sha256 (one more read of every file)."""
    return click.option("--hash-inputs/--no-hash-inputs", default=True, show_default=True,
                        help="Record each input's sha256 in the provenance (reads every file once more).")
