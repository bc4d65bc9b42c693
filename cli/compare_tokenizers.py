"""`forensics compare A B`: how two tokenizers' merge lists relate."""

from __future__ import annotations

import click

from cli.common import console, emit_result, json_output_options


@click.command("compare")
@click.argument("a", type=click.Path(dir_okay=True))
@click.argument("b", type=click.Path(dir_okay=True))
@json_output_options()
def command(a, b, as_json, output):
    """Compare the merge lists of tokenizers A and B: common prefix, shared merges, extension.

    \b
    EXAMPLES
      forensics compare cl100k_base.tiktoken llama3/tokenizer.json
    """
    from dataclasses import asdict

    from forensics._results import file_sha256
    from cli.common import command_provenance
    from forensics.bpe.compare import compare_tokenizers

    result = compare_tokenizers(a, b)
    data = asdict(result)
    data["provenance"] = command_provenance(parameters={"a": a, "b": b},
                                    inputs={a: file_sha256(result.a_source), b: file_sha256(result.b_source)})
    if not emit_result(data, as_json=as_json, output=output):
        return
    from rich.table import Table

    table = Table(show_header=True, title=result.summary, title_justify="left")
    table.add_column("")
    table.add_column("A", justify="right")
    table.add_column("B", justify="right")
    table.add_row("file", result.a_source, result.b_source)
    table.add_row("merges", f"{result.a_merges:,}", f"{result.b_merges:,}")
    table.add_row("tokens", f"{result.a_tokens:,}", f"{result.b_tokens:,}")
    table.add_row("common merge prefix", f"{result.common_prefix:,}", "")
    table.add_row("shared merges", f"{result.shared_merges:,}", "")
    table.add_row("shared tokens", f"{result.shared_tokens:,}", "")
    table.add_row("same pre-tokenizer", "yes" if result.same_pretokenizer else "no", "")
    if result.divergence:
        d = result.divergence
        table.add_row(f"first divergence (merge {d['index']:,})", repr(tuple(d["a"])), repr(tuple(d["b"])))
    console().print(table)
