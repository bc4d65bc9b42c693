"""`forensics count TOKENIZER --categories DIR --out DIR`: per-step pair counts of every category."""

from __future__ import annotations

import click

from cli.common import console


@click.command("count")
@click.argument("tokenizer", type=click.Path(dir_okay=True))
@click.option("--categories", multiple=True,
              help="A bundled category set name (see `forensics categories list`) or a directory; repeat it or "
                   "separate names by commas to combine sets (default: languages).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for one trace per category (<name>.npz) and summary.json.")
@click.option("--merges", type=int, default=0, show_default=True,
              help="Replay only the first T merges (0: all, as in `forensics infer`).")
@click.option("--split", type=click.Choice(["count", "train", "all"]), default="all", show_default=True,
              help="Which split of each category to count.")
@click.option("--workers", type=int, default=None, help="Processes (default: all cores).")
@click.option("--no-cache", is_flag=True, help="Recompute word counts and traces instead of reading the cache.")
@click.option("--pretokenizer", default=None, help="Preset or regex for rank files of unknown encodings.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(tokenizer, categories, out_dir, merges, split, workers, no_cache, pretokenizer, as_json):
    """Replay TOKENIZER's merges on every category sample and store exact per-step pair counts.

    \b
    EXAMPLES
      forensics count fixtures/tokenizers/gpt2/vocab.bpe.gz --categories languages --out traces --merges 3000
    \b
    MEMORY: grows with the number of unique words per category, not with sample size.
    """

    from forensics._results import check_output_directory, file_sha256, output_directory, to_json, write_json
    from cli.common import command_provenance
    from forensics.bpe.formats import load_tokenizer
    from forensics.counting.categories import count_categories, summary_table

    from cli.common import split_names
    from forensics.errors import ForensicsError

    if merges < 0:
        raise ForensicsError(f"--merges must be 0 (all merges) or a positive number, not {merges}")
    sets = split_names(categories) or ["languages"]
    tok = load_tokenizer(tokenizer, pretokenizer=pretokenizer)
    check_output_directory(out_dir)
    counts = count_categories(tok, sets, split=split, merges=merges or None, workers=workers,
                              cache=not no_cache,
                              progress=not as_json)
    out = output_directory(out_dir)
    for name, trace in counts.traces.items():
        trace.save(out / f"{name}.npz")
    rows = summary_table(counts)
    result = {
        "tokenizer": str(tokenizer), "merges": counts.merges, "categories": rows,
        "provenance": command_provenance(parameters={"tokenizer": str(tokenizer), "categories": sets,
                                                               "merges": merges, "split": split, "cache": not no_cache},
                                 inputs={str(tokenizer): file_sha256(tok.source), **counts.inputs}),
    }
    write_json(out / "summary.json", result)
    if as_json:
        click.echo(to_json(result))
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} categories, {counts.merges:,} merges -> {out}", title_justify="left")
    for column in ("category", "bytes", "words", "unique", "pairs", "merges seen", "missing", "seconds"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for row in rows:
        table.add_row(row["name"], f"{row['bytes']:,}", f"{row['words']:,}", f"{row['unique_words']:,}",
                      f"{row['pairs']:,}", f"{row['merges_seen']:,}", f"{row['merges_missing']:,}",
                      f"{row['seconds']:.2f}" + (" (cached)" if row["cached"] else ""))
    console().print(table)
    bad = sum(row["invalid_utf8_sequences"] for row in rows)
    if bad:
        console().print(f"note: {bad:,} invalid UTF-8 sequences were decoded as U+FFFD and counted")
