"""`forensics inspect TOKENIZER`: what a tokenizer file holds."""

from __future__ import annotations

import click

from cli.common import console, emit_result, json_output_options, pretokenizer_option


@click.command("inspect")
@click.argument("tokenizer", type=click.Path(dir_okay=True))
@json_output_options()
@click.option("--format", "fmt", default=None, help="Force a reader (hf-json, tiktoken, tiktoken-json, tekken, "
              "sentencepiece, merges-txt); by default the content decides.")
@pretokenizer_option()
@click.option("--top", default=10, show_default=True, help="How many of the longest tokens to show.")
def command(tokenizer, as_json, output, fmt, pretokenizer, top):
    """Show format, sizes, pre-tokenizer, scripts and digit handling of TOKENIZER.

    \b
    EXAMPLES
      forensics inspect fixtures/tokenizers/tiktoken/cl100k_base.tiktoken.gz
      forensics inspect tokenizer.json --json
    """
    from dataclasses import asdict

    from forensics._results import file_sha256
    from cli.common import command_provenance
    from forensics.bpe.inspect import inspect_tokenizer

    report = inspect_tokenizer(tokenizer, top=top, format=fmt, pretokenizer=pretokenizer)
    result = asdict(report)
    result["provenance"] = command_provenance(parameters={"tokenizer": tokenizer, "format": fmt,
                                                                      "pretokenizer": pretokenizer, "top": top},
                                      inputs={tokenizer: file_sha256(report.source)})
    if emit_result(result, as_json=as_json, output=output):
        _show(report)


def _show(report) -> None:
    from rich.table import Table

    out = console()
    table = Table(title=f"{report.source}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("format", report.format + (f" (recognised: {report.recognised_encoding})" if report.recognised_encoding else "")),
        ("vocabulary size", f"{report.vocab_size:,}"),
        ("merges", f"{report.num_merges:,}"),
        ("byte level", "yes" if report.byte_level else "no (characters" + (", byte fallback)" if report.byte_fallback else ")")),
        ("pre-tokenizer", f"{report.pretokenizer} [{report.pretokenizer_source}]"),
        ("normaliser", report.normalizer or "none"),
        ("special tokens", f"{report.num_special_tokens:,}"),
        ("redundant merges removed", f"{report.redundant_merges_removed:,} (of {report.listed_merges:,} listed)"
         if report.listed_merges else "0"),
        ("unreachable tokens", f"{report.unreachable_tokens:,}"),
        ("digits", f"{report.digit_handling}; {report.digit_tokens:,} digit tokens, longest {report.longest_digit_token}"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)
    scripts = Table(title="tokens per script", title_justify="left")
    scripts.add_column("script")
    scripts.add_column("share", justify="right")
    for name, share in list(report.script_shares.items())[:12]:
        scripts.add_row(name, f"{share:.2%}")
    out.print(scripts)
    longest = Table(title="longest tokens", title_justify="left")
    longest.add_column("id", justify="right")
    longest.add_column("bytes", justify="right")
    longest.add_column("token")
    for item in report.longest_tokens:
        shown = repr(item["token"])
        longest.add_row(str(item["id"]), str(item["bytes"]), shown if len(shown) <= 48 else shown[:47] + "…")
    out.print(longest)
    for note in report.notes:
        out.print(f"note: {note}")
