"""`forensics infer TOKENIZER`: estimate the training-data mixture of a BPE tokenizer."""

from __future__ import annotations

import click

from cli.common import (
    array_job_options, backend_options, categories_option, console, emit_json, emit_result, json_output_options,
    plot_option, pretokenizer_option,
)


@click.command("infer")
@click.argument("tokenizer", type=click.Path(dir_okay=True))
@categories_option("languages")
@click.option("--merges", type=int, default=3000, show_default=True, help="Number of merges in the window (0: all).")
@click.option("--start", type=int, default=0, show_default=True,
              help="First merge of the window, e.g. where a tokenizer appended merges to an earlier one.")
@click.option("--split", type=click.Choice(["count", "train", "all"]), default="all", show_default=True,
              help="Which split of each bundled category to use (all: the most text; train/count: disjoint halves).")
@click.option("--method", type=click.Choice(["sparse", "trimmed", "lp", "weighted"]), default="sparse",
              show_default=True,
              help="sparse: trimmed, then small categories removed while that costs the fit little (far less mass "
                   "on absent candidates); trimmed: LP1_T refitted without categories under --min-share; lp: "
                   "LP1_T of Hayase et al. exactly; weighted: slacks priced by the counts' noise. Measured in "
                   "benchmarks/results/inference.md.")
@click.option("--min-share", type=float, default=0.005, show_default=True,
              help="trimmed, sparse: categories whose byte share falls under this are set to zero.")
@click.option("--drop-share", type=float, default=0.03, show_default=True,
              help="sparse: categories under this share are tried for removal, smallest first.")
@click.option("--drop-cost", type=float, default=0.02, show_default=True,
              help="sparse: a category goes when the objective grows by less than this fraction without it.")
@click.option("--solver", default="highs", show_default=True,
              help="highs (HiGHS, incremental), highs-ipm, cbc, or any solver PuLP finds installed.")
@click.option("--bootstrap", type=int, default=0, show_default=True,
              help="Resample each category's documents this many times for intervals (widened by a factor "
                   "and a floor calibrated in controlled trials; see benchmarks/results/inference.md).")
@click.option("--confidence", type=float, default=0.9, show_default=True,
              help="Level of the intervals (calibrated at 0.9; other levels scale by the normal quantile).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--group", "groups", multiple=True, metavar="NAME=MEMBERS",
              help="Report the total of a group of categories, with an interval after --bootstrap (repeatable). "
                   "MEMBERS, comma-separated, apply in order: a category, @KIND (every category of that kind: "
                   "language, code, domain, other), * (all); a leading - removes. E.g. non-English=@language,-en.")
@backend_options("categories are counted")
@array_job_options("category", into="the cache ($FORENSICS_CACHE, shared by the ranks)",
                   then="a run without --rank/--world-size finds them counted and solves", optional=True)
@click.option("--no-cache", is_flag=True, help="Recount everything instead of reading cached traces.")
@pretokenizer_option()
@json_output_options()
@plot_option("the shares (with their intervals after --bootstrap)")
def command(tokenizer, categories, merges, start, split, method, min_share, drop_share, drop_cost, solver, bootstrap,
            confidence, seed, groups, workers,
            backend, ray_address, rank, world_size, no_cache, pretokenizer, as_json, output, plot):
    """Estimate what share of TOKENIZER's training data came from each category.

    Replays the merge list on sample text of every category and solves the linear program of Hayase et
    al. (2024) exactly, then (default --method sparse) refits it without the categories under --min-share
    and without each small category whose removal costs the fit less than --drop-cost; shares are by bytes. Below the table: the evidence behind the estimate (how many merges the samples
    see, how well the first merges fit) and warnings when it rests on too little.

    \b
    EXAMPLES
      forensics infer fixtures/tokenizers/gpt2/vocab.bpe.gz --categories languages --merges 3000
      forensics infer fixtures/tokenizers/gpt2/vocab.bpe.gz --categories languages,code
      forensics infer o200k_base.tiktoken --categories languages,code --group non-English=@language,-en --bootstrap 10
      forensics infer llama3/tokenizer.json --start 100000 --merges 20000 --json
    """
    from forensics._results import file_sha256
    from cli.common import command_provenance
    from forensics.bpe.formats import load_tokenizer
    from forensics.inference.infer import infer_mixture

    from cli.common import split_names

    from forensics.errors import ForensicsError
    from forensics.inference.groups import parse_group_option

    sets = split_names(categories) or ["languages"]
    named: dict[str, list[str]] = {}
    for text in groups:
        name, members = parse_group_option(text)
        if name in named:
            raise ForensicsError(f"--group {name!r} is given twice; give each group one name")
        named[name] = members
    tok = load_tokenizer(tokenizer, pretokenizer=pretokenizer)
    if rank is not None or world_size is not None:
        _count_rank(tok, sets, merges=merges, start=start, split=split, workers=workers, backend=backend,
                    address=ray_address, rank=rank, world_size=world_size, cache=not no_cache, as_json=as_json)
        return
    estimate = infer_mixture(tok, sets, merges=merges or None, start=start, split=split, method=method,
                             min_share=min_share, drop_share=drop_share, drop_cost=drop_cost, solver=solver,
                             bootstrap=bootstrap, confidence=confidence, seed=seed, groups=named or None,
                             workers=workers,
                             backend=backend, address=ray_address, cache=not no_cache, progress=not as_json)
    result = estimate.to_dict()
    result["provenance"] = command_provenance(
        seed=seed,
        parameters={"tokenizer": str(tokenizer), "categories": sets, **estimate.parameters},
        inputs={str(tokenizer): file_sha256(tok.source), **{f"category:{k}": v for k, v in estimate.inputs.items()
                                                           if k != "tokenizer"}})
    if plot:
        _plot(estimate, plot)
    if emit_result(result, as_json=as_json, output=output):
        _show(estimate)


def _count_rank(tok, sets, *, merges, start, split, workers, backend, address, rank, world_size, cache,
                as_json) -> None:
    """One rank of an array job: count its share of the categories into the cache (what the final run reads)."""
    from forensics.counting.categories import count_categories, summary_table
    from forensics.errors import ForensicsError

    if rank is None or world_size is None:
        raise ForensicsError("--rank and --world-size go together; give both, or neither to solve")
    if not cache:
        raise ForensicsError("--rank counts into the cache for the final run to read; drop --no-cache")
    if merges < 0 or start < 0:
        raise ForensicsError(f"--merges and --start must not be negative, got {merges} and {start}")
    steps = start + merges if merges else None  # the same traces (cache keys) as the final run's
    counts = count_categories(tok, sets, split=split, merges=steps, workers=workers, backend=backend, address=address,
                              rank=rank, world_size=world_size, progress=not as_json)
    rows = summary_table(counts)
    if as_json:
        emit_json({"rank": rank, "world_size": world_size, "categories": rows})
        return
    done = sum(row["cached"] for row in rows)
    click.echo(f"rank {rank} of {world_size}: {len(rows)} categories in the cache ({len(rows) - done} counted now, "
               f"{done} found done); when every rank has finished, run the same command without --rank and "
               f"--world-size to solve", err=True)


def _show(estimate) -> None:
    from rich.table import Table

    d = estimate.diagnostics
    table = Table(title=f"estimated training mixture ({d['merges_in_window']:,} merges, {d['status']})",
                  title_justify="left")
    table.add_column("category")
    table.add_column("share (bytes)", justify="right")
    if estimate.intervals:
        table.add_column("interval", justify="right")
    table.add_column("pair mass", justify="right")
    table.add_column("token classif.", justify="right")
    baseline = estimate.baselines["token_classification"]
    raw = d.get("bootstrap_percentile_intervals") or {}
    zero = [name for name, share in estimate.shares.items()   # zero here and in every bootstrap replicate
            if share == 0 and not (raw and raw[name][1] > 0)]
    for name, share in sorted(estimate.shares.items(), key=lambda item: -item[1]):
        if name in zero and len(zero) > 1:
            continue
        row = [name, f"{share:.2%}"]
        if estimate.intervals:
            low, high = estimate.intervals[name]
            row.append(f"{low:.2%} - {high:.2%}")
        row += [f"{estimate.pair_shares[name]:.2%}", f"{baseline[name]:.2%}"]
        table.add_row(*row)
    if len(zero) > 1:   # every category is in the JSON; the table folds the zeros into one row
        widest = max(estimate.intervals[name][1] for name in zero) if estimate.intervals else 0.0
        row = [f"{len(zero)} others", "0"] + ([f"each 0 - {widest:.2%}"] if estimate.intervals else []) + [
            "0", f"{sum(baseline[name] for name in zero):.2%}"]
        table.add_row(*row, style="dim")
    out = console()
    out.print(table)
    work = d.get("all_solves") or {}
    solves = (f" (the last of {work['solves']} solves: {work['rounds']} rounds, {work['solver_seconds']}s in the "
              f"solver)" if work.get("solves", 1) > 1 else "")
    out.print(f"LP: objective {d['objective']:.4g}, {d['rounds']} rounds{solves}, {d['rows_final']:,} generated rows + "
              f"{d['tree_rows']:,} tree rows standing for {d['step_pair_rows_represented']:,} (step, pair) rows; "
              f"{d['merges_unseen_in_any_sample']:,} merges unseen in every sample; counting {d['counting_seconds']}s, "
              f"estimation {d['estimating_seconds']}s")
    out.print(f"evidence: {d['merges_with_evidence']:.0%} of the merges occur in some sample; fit of the first merges "
              f"{d['fit_early']:.2f}, of all {d['fit']:.2f} (merged pair's count over its strongest competitor's, "
              f"median)" + (f"; set to zero: {len(d['dropped_categories'])} categories, "
                            f"{d['thin_spread_removed']:.1%} of the untrimmed estimate"
                            if d.get("dropped_categories") else ""), markup=False)
    for group in d.get("similar_groups", []):
        interval = (f" ({group['interval'][0]:.1%} - {group['interval'][1]:.1%})" if group.get("interval") else "")
        out.print(f"together: {' + '.join(group['categories'])} {group['share']:.1%}{interval}; their text is similar "
                  f"(merged-pair similarity {group['similarity']:.2f}), so the total is better determined than the "
                  f"split", markup=False)
    for name, group in estimate.groups.items():
        interval = (f" ({group['interval'][0]:.1%} - {group['interval'][1]:.1%})" if group.get("interval") else "")
        out.print(f"group {name}: {group['share']:.1%}{interval} over {len(group['categories'])} categories "
                  f"(token classification {group['token_classification']:.1%})", markup=False)
    for line in estimate.warnings:
        out.print(f"warning: {line}", markup=False)


def _plot(estimate, path: str) -> None:
    from forensics._plots import figure, save_png

    items = sorted(estimate.shares.items(), key=lambda item: -item[1])
    names = [k for k, _ in items]
    values = [v for _, v in items]
    fig = figure(figsize=(max(4, 0.45 * len(names) + 2), 3.5), purpose="--plot")
    ax = fig.subplots()
    if estimate.intervals:
        low = [max(v - estimate.intervals[k][0], 0) for k, v in items]
        high = [max(estimate.intervals[k][1] - v, 0) for k, v in items]
        ax.bar(names, values, yerr=[low, high], capsize=3, color="#4878a8")
    else:
        ax.bar(names, values, color="#4878a8")
    ax.set_ylabel("share of training bytes")
    ax.tick_params(axis="x", rotation=60)
    fig.tight_layout()
    save_png(fig, path)
