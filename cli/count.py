"""`forensics count TOKENIZER --categories DIR --out DIR`: per-step pair counts of every category."""

from __future__ import annotations

import click

from cli.common import (
    array_job_options, backend_options, categories_option, console, json_option, out_dir_option, pretokenizer_option,
)


@click.command("count")
@click.argument("tokenizer", type=click.Path(dir_okay=True))
@categories_option("languages")
@out_dir_option("Directory for one trace per category (<name>.npz, written as each finishes) and summary.json.",
                required=True, name="out_dir")
@click.option("--merges", type=int, default=0, show_default=True,
              help="Replay only the first T merges (0: all, as in `forensics infer`).")
@click.option("--split", type=click.Choice(["count", "train", "all"]), default="all", show_default=True,
              help="Which split of each category to count.")
@backend_options("categories are counted")
@array_job_options("category", into="--out", then="the same command without --rank/--world-size writes summary.json")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Keep the traces in --out that match this tokenizer, merges and samples.")
@click.option("--no-cache", is_flag=True, help="Recompute word counts and traces instead of reading the cache.")
@pretokenizer_option()
@json_option()
def command(tokenizer, categories, out_dir, merges, split, workers, backend, ray_address, rank, world_size, resume,
            no_cache, pretokenizer, as_json):
    """Replay TOKENIZER's merges on every category sample and store exact per-step pair counts.

    Each category's trace is written to --out as soon as it is counted; a rerun (after Ctrl-C or a crash)
    counts only the categories still missing. Array jobs: each of N jobs runs with --rank R --world-size N
    into one shared --out; then the same command without --rank/--world-size finds every trace done and
    writes summary.json.

    \b
    EXAMPLES
      forensics count fixtures/tokenizers/gpt2/vocab.bpe.gz --categories languages --out traces --merges 3000
      forensics count tok.json --categories sets/fineweb2 --out /shared/traces --rank $SLURM_ARRAY_TASK_ID \\
          --world-size 16    # then once more without --rank/--world-size
      forensics count tok.json --categories sets/fineweb2 --out /shared/traces --backend ray
    \b
    MEMORY: per worker, grows with the number of unique words of a category, not with its size
    (a 1 GiB category with 1.8 million unique words: 1.15 GiB).
    """
    from cli.common import command_provenance, split_names
    from forensics._results import check_output_directory, file_sha256, to_json, write_json
    from forensics.bpe.formats import load_tokenizer
    from forensics.counting.categories import count_categories, summary_table
    from forensics.errors import ForensicsError

    if merges < 0:
        raise ForensicsError(f"--merges must be 0 (all merges) or a positive number, not {merges}")
    sets = split_names(categories) or ["languages"]
    tok = load_tokenizer(tokenizer, pretokenizer=pretokenizer)
    out = check_output_directory(out_dir)
    counts = count_categories(tok, sets, split=split, merges=merges or None, workers=workers, cache=not no_cache,
                              progress=not as_json, backend=backend, address=ray_address, out=out, resume=resume,
                              rank=rank, world_size=world_size)
    rows = summary_table(counts)
    if world_size > 1:
        done = sum(row["cached"] for row in rows)
        message = (f"rank {rank} of {world_size}: {len(rows)} categories in {out} ({len(rows) - done} counted now, "
                   f"{done} found done); when every rank has finished, run the same command without --rank and "
                   f"--world-size to write summary.json")
        if as_json:
            click.echo(to_json({"rank": rank, "world_size": world_size, "categories": rows}))
        else:
            click.echo(message, err=True)
        return
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
