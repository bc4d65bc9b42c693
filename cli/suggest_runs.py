"""`forensics suggest-runs`: the next batch of small training runs to make, as a CSV ready to use."""

from __future__ import annotations

import click


@click.command("suggest-runs", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sources", help="Comma list of sources (uniform prior).")
@click.option("--prior", type=click.Path(exists=True, dir_okay=False),
              help="JSON or CSV {source: weight or tokens}: mixtures are drawn around it.")
@click.option("--from-runs", type=click.Path(exists=True, dir_okay=False),
              help="CSV of runs already made: prior = their mean mixture; new runs avoid them.")
@click.option("--weights", "weights_spec", metavar="PREFIX|A,B,C",
              help="Weight columns of --from-runs (prefix or comma list); default: columns in [0, 1].")
@click.option("-n", "--n", "count", type=int, default=32, show_default=True, help="Runs to propose.")
@click.option("--cap", multiple=True, metavar="SOURCE=MAX", help="Largest weight of a source (repeatable).")
@click.option("--min-distance", type=float, default=0.05, show_default=True,
              help="Smallest L1 distance between any two runs (deduplication).")
@click.option("--concentration", type=(float, float), default=(0.1, 10.0), show_default=True,
              help="Range of Dirichlet concentrations: low = far-flung and sparse, high = near the prior.")
@click.option("--decimals", type=int, default=3, show_default=True, help="Rounding of the weights.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the CSV here (default: stdout).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write a JSON record (mixtures, prior, caps, provenance).")
def command(sources, prior, from_runs, weights_spec, count, cap, min_distance, concentration, decimals, seed,
            output, json_path):
    """Propose diverse mixtures for the next small training runs, around a prior and under caps.

    \b
    EXAMPLES
      forensics suggest-runs --sources web,code,books,wiki -n 16 --cap books=0.2 -o next_runs.csv
      forensics suggest-runs --from-runs runs.csv -n 64 --seed 1
    """
    import dataclasses

    from forensics._results import file_sha256, write_json
    from cli.common import command_provenance
    from forensics.errors import ForensicsError
    from forensics.recommend._tables import (
        check_weights,
        parse_assignments,
        pick_weight_columns,
        read_mapping,
        read_table,
    )
    from forensics.recommend.runs import suggest_runs

    given = [x for x in (sources, prior, from_runs) if x]
    if len(given) != 1:
        raise ForensicsError("give exactly one of --sources, --prior or --from-runs")
    existing = None
    inputs = {}
    if sources:
        base = [s.strip() for s in sources.split(",") if s.strip()]
    elif prior:
        base = read_mapping(prior, what="prior mixture")
        inputs[prior] = file_sha256(prior)
    else:
        table = read_table(from_runs)
        spec = ([v.strip() for v in weights_spec.split(",")] if weights_spec and "," in weights_spec
                else weights_spec)
        names = pick_weight_columns(table, spec, exclude=["index"])
        existing = check_weights(table.values[:, [table.index(n) for n in names]], names, from_runs)
        base = dict(zip(names, existing.mean(axis=0).tolist()))
        inputs[from_runs] = file_sha256(from_runs)
    result = suggest_runs(base, n=count, caps=parse_assignments(cap, what="--cap") or None, existing=existing,
                          min_distance=min_distance, concentration=tuple(concentration), decimals=decimals,
                          seed=seed)
    lines = [",".join(["index", *result.sources])]
    lines += [",".join([str(i + 1), *(f"{w:.{decimals}f}" for w in row)]) for i, row in enumerate(result.mixtures)]
    text = "\n".join(lines) + "\n"
    if output:
        from forensics._results import atomic_write_text

        atomic_write_text(output, text)
        click.echo(f"wrote {len(result.mixtures)} mixtures over {len(result.sources)} sources to {output}", err=True)
    else:
        click.echo(text, nl=False)
    if json_path:
        payload = {**dataclasses.asdict(result), "provenance": command_provenance(
            seed=seed, inputs=inputs,
            parameters={"sources": sources, "prior": prior, "from_runs": from_runs, "weights": weights_spec,
                        "n": count, "caps": list(cap), "min_distance": min_distance,
                        "concentration": list(concentration), "decimals": decimals})}
        write_json(json_path, payload)
