"""`forensics recommend cpt`: fit the D-CPT Law to a table of runs and recommend the domain ratio.

Mounted by the `recommend` group (``from cli._recommend_cpt import cpt``); the leading underscore
keeps command discovery from adding it at the top level.
"""

from __future__ import annotations

import click

from cli.common import plot_option


def _count(ctx, param, value):
    if value is None:
        return None
    from forensics.recommend.cpt import parse_count

    try:
        return parse_count(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _counts(ctx, param, value):
    if not value:
        return None
    return [_count(ctx, param, part) for part in value.split(",") if part.strip()]


@click.command("cpt")
@click.argument("runs", type=click.Path(dir_okay=False))
@click.option("--model-size", callback=_count, help="Planned model size N (e.g. 1.8B); default: the largest in RUNS.")
@click.option("--tokens", callback=_count, help="Planned training tokens D (e.g. 20B); default: the largest in RUNS.")
@click.option("--max-general-increase", type=float, default=0.03, show_default=True,
              help="Allowed relative rise of the general loss over the baseline (0.03 = 3%; inf = no limit).")
@click.option("--general-baseline", type=float,
              help="The model's general loss before continual pre-training; default: the predicted general "
                   "loss at the smallest domain ratio of the runs (same N and D).")
@click.option("--domain-tokens", callback=_count, help="Use (b): domain tokens available (e.g. 2B).")
@click.option("--compute-budget", callback=_count, help="Use (c): compute budget in FLOPs (6*N*D, e.g. 1e21).")
@click.option("--candidate-sizes", callback=_counts,
              help="Use (c): comma-separated model sizes to choose from; default: those of the runs.")
@click.option("--model-size-column", default="model_size", show_default=True)
@click.option("--tokens-column", default="tokens", show_default=True)
@click.option("--ratio-column", default="domain_ratio", show_default=True, help="Domain share, in (0, 1).")
@click.option("--general-column", default="general_loss", show_default=True)
@click.option("--domain-column", default="domain_loss", show_default=True)
@click.option("--huber-delta", type=float, default=1e-3, show_default=True, help="Huber delta on log loss.")
@click.option("--starts", type=int, default=8, show_default=True, help="L-BFGS-B runs from the best grid starts.")
@click.option("--no-loo", is_flag=True, help="Skip the leave-one-out refits.")
@click.option("--step", type=float, default=0.05, show_default=True, help="Step of the table along r.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the JSON result ('-' = stdout).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write a long-format CSV result.")
@plot_option("the losses along r", name="plot_path")
def cpt(runs, model_size, tokens, max_general_increase, general_baseline, domain_tokens, compute_budget,
        candidate_sizes, model_size_column, tokens_column, ratio_column, general_column, domain_column,
        huber_delta, starts, no_loo, step, json_path, csv_path, plot_path):
    """Fit the D-CPT Law to RUNS.csv and recommend the domain ratio for continual pre-training.

    RUNS.csv has one row per run: model size N, training tokens D, domain ratio r and the general
    and domain validation losses. Two laws L = E + A/N^alpha + B*r^eta/D^beta + C/(r+eps)^gamma are
    fitted (domain loss with r = domain ratio, general loss with r = 1 - domain ratio); every
    recommendation minimises the domain loss while the general loss stays within
    --max-general-increase of the baseline.

    \b
    EXAMPLES
      forensics recommend cpt runs.csv --model-size 1.8B --tokens 20B
      forensics recommend cpt runs.csv --domain-tokens 2B --compute-budget 1e21 --json cpt.json
      forensics recommend cpt runs.csv --plot cpt.png --csv cpt.csv
    """
    from forensics._results import file_sha256
    from cli.common import command_provenance
    from forensics.recommend.cpt import (cpt_report, fit_dcpt_law, plot_cpt_ratio, read_cpt_runs,
                                         recommend_cpt_ratio, write_cpt_csv)

    if max_general_increase == float("inf"):
        max_general_increase = None  # JSON has no infinity; None means no limit
    if starts < 1:
        raise click.BadParameter("must be at least 1", param_hint="--starts")
    table = read_cpt_runs(runs, model_size_column=model_size_column, tokens_column=tokens_column,
                          ratio_column=ratio_column, general_column=general_column, domain_column=domain_column)
    laws = fit_dcpt_law(table, huber_delta=huber_delta, n_starts=starts, leave_one_out=not no_loo)
    rec = recommend_cpt_ratio(laws, model_size=model_size, tokens=tokens, max_general_increase=max_general_increase,
                              general_baseline=general_baseline, domain_tokens=domain_tokens,
                              compute_budget=compute_budget, candidate_model_sizes=candidate_sizes,
                              curve_step=step)
    parameters = {"runs": runs, "model_size": rec.model_size, "tokens": rec.tokens,
                  "max_general_increase": max_general_increase, "general_baseline": general_baseline,
                  "domain_tokens": domain_tokens, "compute_budget": compute_budget,
                  "candidate_sizes": candidate_sizes, "columns": {
                      "model_size": model_size_column, "tokens": tokens_column, "domain_ratio": ratio_column,
                      "general_loss": general_column, "domain_loss": domain_column},
                  "huber_delta": huber_delta, "starts": starts, "leave_one_out": not no_loo, "step": step}
    block = command_provenance(parameters=parameters, inputs={runs: file_sha256(runs)})
    if json_path:
        from cli.common import emit_json

        emit_json(cpt_report(rec, provenance=block), None if json_path == "-" else json_path)
    if csv_path:
        write_cpt_csv(csv_path, rec, provenance=block)
    if plot_path:
        plot_cpt_ratio(rec, plot_path)
    if json_path != "-":
        _print(rec)
    for warning in rec.warnings:
        click.echo(f"warning: {warning}", err=True)


def _print(rec) -> None:
    from rich.table import Table

    from cli.common import console

    out = console()
    fits = Table(title=f"D-CPT Law fits ({rec.laws.n_runs} runs; Huber on log loss)")
    laws = (rec.laws.domain, rec.laws.general)
    fits.add_column("")
    for fit in laws:
        fits.add_column(f"{fit.target} loss (r = {fit.ratio} ratio)", justify="right")
    for name in ("E", "A", "alpha", "B", "beta", "eta", "C", "gamma", "epsilon"):
        fits.add_row(name, *(f"{getattr(fit.params, name):.4g}" for fit in laws))
    for label, name, form in (("R^2", "r2", ".4f"), ("Huber", "huber", ".2e"), ("RMSE", "rmse", ".2e"),
                              ("LOO R^2", "loo_r2", ".4f"), ("LOO Huber", "loo_huber", ".2e"),
                              ("LOO RMSE", "loo_rmse", ".2e")):
        fits.add_row(label, *("-" if getattr(fit, name) is None else format(getattr(fit, name), form)
                              for fit in laws))
    out.print(fits)

    limit = ("no limit on the general loss" if rec.max_general_increase is None
             else f"general loss <= +{rec.max_general_increase:.1%} over the baseline")
    choices = [c for c in (rec.tradeoff, rec.limited_domain, rec.budget) if c is not None]
    labels = {"tradeoff": "(a) planned run", "limited_domain": "(b) limited domain", "budget": "(c) compute budget"}
    picks = Table(title=f"Recommended domain ratio ({limit})")
    picks.add_column("")
    for choice in choices:
        picks.add_column(labels[choice.use], justify="right")
    rows = (("domain ratio", lambda c: f"{c.domain_ratio:.3f}"), ("model size N", lambda c: f"{c.model_size:.3g}"),
            ("tokens D", lambda c: f"{c.tokens:.3g}"), ("domain tokens", lambda c: f"{c.domain_tokens:.3g}"),
            ("general tokens", lambda c: f"{c.general_tokens:.3g}"),
            ("domain loss", lambda c: f"{c.domain_loss:.4f}"), ("general loss", lambda c: f"{c.general_loss:.4f}"),
            ("general baseline", lambda c: f"{c.general_baseline:.4f}"),
            ("general change", lambda c: f"{c.general_increase:+.2%}"),
            ("within limit", lambda c: "yes" if c.within_tolerance else "NO"))
    for label, form in rows:
        picks.add_row(label, *(form(c) for c in choices))
    out.print(picks)
    out.print(f"general baseline: {rec.baseline_rule}")

    curve = Table(title=f"Predicted losses along r at N = {rec.model_size:.3g}, D = {rec.tokens:.3g}")
    for name in ("domain ratio", "domain loss", "general loss", "general change"):
        curve.add_column(name, justify="right")
    for point in rec.curve:
        mark = " *" if point.domain_ratio == rec.tradeoff.domain_ratio else ""
        curve.add_row(f"{point.domain_ratio:.3f}{mark}", f"{point.domain_loss:.4f}", f"{point.general_loss:.4f}",
                      f"{point.general_increase:+.2%}")
    out.print(curve)
