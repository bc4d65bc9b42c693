"""`forensics scan`: what a corpus is made of (languages, programming languages), by documents, bytes, tokens."""

from __future__ import annotations

import click

from cli.common import (
    array_job_options, backend_options, categories_option, file_walk_options, hash_inputs_option, json_option,
    out_dir_option, plot_option, reader_options, split_names,
)


def show_result(result, *, top: int = 25) -> None:
    """A rich table of the largest categories, the estimate beside the per-document shares."""
    from rich.table import Table

    from cli.common import console

    shares = result.shares
    half_widths = result.estimate_half_widths() or {}
    table = Table(title=f"composition of {result.partial.read.files} shards, "
                        f"{result.partial.documents.sum():,} documents, {result.partial.bytes.sum() / 1e6:,.1f} MB")
    for column in ("category", "group", "documents", "bytes", *(["tokens"] if "tokens" in shares else []),
                   "pair-count estimate"):
        table.add_column(column, justify="left" if column in ("category", "group") else "right")
    for row in result.rows()[:top]:
        if not row["bytes"] and not (row["estimate"] or 0) >= 0.0005:
            continue
        cells = [row["category"], row["group"], f"{row['document_share']:.1%}", f"{row['byte_share']:.1%}"]
        if "tokens" in shares:
            cells.append(f"{row['token_share']:.1%}")
        if row["estimate"] is None:
            cells.append("")
        elif row["category"] not in half_widths:
            cells.append(f"{row['estimate']:.1%}")
        else:
            cells.append(f"{row['estimate']:.1%} ± {half_widths[row['category']]:.1%}")
        table.add_row(*cells)
    out = console()
    out.print(table)
    if result.estimate_sd is not None:
        out.print("± marks 90% intervals of the pair-count estimate (calibrated on held-back training text)")
    comparison = result.comparison()
    out.print(f"L1 distance, per-document byte shares vs pair-count estimate: "
              f"{comparison['l1_bytes_vs_estimate']:.3f} (unknown: {comparison['unknown_byte_share']:.1%} of bytes)")
    novel = result.partial.novel_bytes
    if novel:
        out.print(f"of the unknown bytes, {novel / max(int(result.partial.bytes.sum()), 1):.1%} of all bytes "
                  f"({result.partial.novel_documents:,} documents) are unlike every category (--novelty)")
    guesses = result.unknown_best_guess()
    if guesses:
        listed = ", ".join(f"{name} {share:.1%}" for name, share in list(guesses.items())[:6])
        out.print(f"unknown documents looked most like: {listed}{', ...' if len(guesses) > 6 else ''} (of all bytes)",
                  markup=False)
    weak = result.weak_categories()
    if weak:
        listed = ", ".join(f"{name} {value:.0%}" for name, value in list(weak.items())[:8])
        out.print(f"note: short held-back documents of {len(weak)} categories were classified right less than 90% of "
                  f"the time ({listed}{', ...' if len(weak) > 8 else ''}); more sample text helps, e.g. "
                  f"forensics categories build --source code --out DIR --mb-per-category 5", markup=False)
    if result.partial.markup_documents:
        out.print(f"{result.partial.markup_documents:,} HTML pages ({result.partial.markup_bytes / 1e6:,.1f} MB) were "
                  f"classified by their visible text (--markup keep classifies the markup too)", markup=False)
    problems = result.partial.read.problems
    if problems:
        read = result.partial.read
        out.print(f"[yellow]{read.skipped_lines} lines and {read.skipped_files} shards skipped ({read.binary_files} "
                  f"binary; --include-binary reads them), {read.skipped_links} symlinks out of the inputs left out "
                  f"(--follow-links follows them)[/yellow]; first problems:")
        for problem in problems[:5]:
            out.print(f"  {problem}", markup=False)


def finish(result, *, output, as_json, labels, png, plot=None) -> None:
    from forensics.composition.report import write_png, write_report

    from cli.common import emit_json

    if plot:
        write_png(result, plot)
    if output:
        paths = write_report(result, output, labels=labels, png=png)
        if not as_json:
            click.echo(f"wrote {', '.join(paths.values())}", err=True)
    elif labels or png:
        raise click.UsageError("--labels and --png need --output DIR")
    if as_json:
        emit_json(result.to_dict())
    else:
        show_result(result)


@click.command("scan", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True)
@categories_option("languages,code")
@click.option("--profiles", "profiles_file", type=click.Path(exists=True, dir_okay=False),
              help="A profiles .npz from `forensics profiles build` instead of --categories.")
@out_dir_option("Directory for partials, summary.json, composition.csv (a rerun resumes here).", name="output",
                older=("-o", "--output"))
@json_option()
@backend_options("work units run")
@array_job_options("work unit", into="--out", then="`forensics merge OUT` adds up the ranks")
@click.option("--threshold", type=float, default=0.5, show_default=True,
              help="Label a document `unknown` below this calibrated probability.")
@click.option("--novelty/--no-novelty", default=False, show_default=True,
              help="Also label `unknown` the documents unlike every category: a language or script the categories "
                   "lack, junk (see benchmarks/results/scan.md for what it catches and costs).")
@click.option("--max-bytes", type=int, default=16384, show_default=True,
              help="Classify each document by N of its bytes: all of a shorter one, 4 windows spread over "
                   "a longer one (0 = all); shares count every byte.")
@click.option("--tokenizer", type=click.Path(exists=True, dir_okay=False),
              help="Tokenizer file (any format; tokenizer.json is fastest): adds shares by tokens.")
@reader_options()
@click.option("--id-key", default="id", show_default=True, help="JSONL/Parquet field holding the document id.")
@click.option("--labels", type=click.Choice(["jsonl", "parquet"]), help="Also write per-document labels.")
@plot_option("the composition")
@click.option("--png", is_flag=True, hidden=True, help="Older spelling: --plot OUT/composition.png.")
@click.option("--unit-mb", type=float, default=64, show_default=True, help="Work unit size (MiB on disk).")
@click.option("--estimate", "estimate_method", type=click.Choice(["nnls", "em"]), default="nnls", show_default=True,
              help="How the pair-count mixture estimate is fitted.")
@click.option("--resume/--no-resume", default=True, show_default=True, help="Skip units finished before.")
@hash_inputs_option()
@click.option("--markup", type=click.Choice(["strip", "keep"]), default="strip", show_default=True,
              help="HTML pages: classify them by their visible text (strip) or with their markup (keep); "
                   "their bytes and tokens count as they are either way (benchmarks/results/markup.md).")
@file_walk_options()
@click.option("--progress/--no-progress", default=None, help="Progress bar [default: on a terminal].")
def command(paths, categories, profiles_file, output, as_json, workers, backend, ray_address, rank, world_size,
            threshold, novelty, max_bytes, tokenizer, fmt, text_key, id_key, labels, plot, png, unit_mb, estimate_method,
            resume, hash_inputs, markup, include_binary, follow_links, progress):
    """Scan corpus shards and report their composition by documents, bytes and tokens.

    Every document (a JSONL record, a Parquet row, a text file) gets its most likely category from
    naive Bayes profiles of the category samples (hashed byte 3-grams, and word tokens where the bytes
    leave doubt) with a calibrated probability, or `unknown` below --threshold or (with --novelty)
    when it is unlike every category. Beside the per-document shares, a mixture of the categories'
    byte-pair distributions is fitted to the corpus' total pair counts (the pair-count estimate), with
    90% intervals whose width the profile build calibrates on held-back training text.

    Work runs in units of about --unit-mb over the sorted shard list; each finished unit is saved in
    --output, so an interrupted scan resumes where it stopped. Memory stays bounded (batches of 8 MiB
    per worker). Accuracy: see benchmarks/results/scan.md.

    \b
    EXAMPLES
      forensics scan corpus/ -o out/scan
      forensics scan 'shards/*.jsonl.zst' --categories languages,code --tokenizer tokenizer.json --json
      forensics scan shards/ -o /shared/scan --rank $SLURM_ARRAY_TASK_ID --world-size 64  # then: forensics merge
      forensics scan shards/ -o out/scan --backend ray --ray-address auto
    """
    import sys

    from forensics.composition.scan import scan_corpus

    result = scan_corpus(list(paths), categories=split_names(categories), profiles=profiles_file, output=output,
                         backend=backend, workers=workers, address=ray_address, rank=rank, world_size=world_size,
                         threshold=threshold, novelty=novelty, max_bytes=max_bytes or None, tokenizer=tokenizer, format=fmt,
                         text_key=text_key, id_key=id_key, unit_mb=unit_mb, labels=labels is not None,
                         estimate_method=estimate_method, hash_inputs=hash_inputs,
                         progress=sys.stderr.isatty() if progress is None else progress, resume=resume,
                         include_binary=include_binary, follow_links=follow_links, markup=markup)
    if result is None:
        click.echo(f"rank {rank} of {world_size} finished its units in {output}; after every rank has finished, "
                   f"run: forensics merge {output}", err=True)
        return
    finish(result, output=output, as_json=as_json, labels=labels, png=png, plot=plot)
