"""`forensics recommend {heuristic,match,runs,parity}`: turn measurements into mixture weights."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from cli.common import console, emit_result, json_output_options


def _budget(value: str | None) -> float | None:
    """'2.5B' -> 2.5e9; plain numbers pass through (parsed as every count in the tool is)."""
    if value is None:
        return None
    from forensics.errors import ForensicsError
    from forensics.recommend.cpt import parse_count

    try:
        return parse_count(value)
    except ValueError:
        raise ForensicsError(f"--budget {value!r}: expected a number of tokens such as 1e9 or 500M") from None


def _inputs(*paths: Any) -> dict[str, str]:
    from pathlib import Path

    from forensics._results import file_sha256

    return {str(p): file_sha256(p) for p in paths if p is not None and Path(str(p)).is_file()}


def _emit(result: Any, *, command: str, parameters: dict, inputs: dict[str, str], as_json: bool,
          output: str | None, seed: int | None = None) -> dict:
    from cli.common import command_provenance

    payload = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else dict(result)
    payload["provenance"] = command_provenance(parameters=parameters, inputs=inputs, seed=seed)
    emit_result(payload, as_json=as_json, output=output)
    return payload


def _weights_csv(path: str | None, header: list[str], rows: list[list[Any]]) -> None:
    if path:
        from forensics.recommend._tables import write_csv

        write_csv(path, header, rows)


def _warn(warnings: list[str]) -> None:
    import sys

    sys.stdout.flush()  # the table first, then the warnings, when both go to one terminal or file
    for message in warnings:
        click.echo(f"warning: {message}", err=True)


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def _count(x: float) -> str:
    """A token or byte count in 3 significant digits with a k/M/B/T suffix: 83848 -> '83.8k'."""
    for suffix, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def _output_options(func):
    """--json, -o/--output (the shared group) and --csv."""
    func = click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
                        help="Write the weights as CSV here.")(func)
    return json_output_options()(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def recommend() -> None:
    """Recommend mixture weights: from sizes, a target mixture, past runs, or tokenizer parity.

    \b
    EXAMPLES
      forensics recommend heuristic sizes.json --method unimax --budget 100B --max-epochs 4
      forensics recommend match gpt2_mixture.json --source web=scans/web --source code=scans/code --budget 1B
      forensics recommend runs mixtures.csv --metrics losses.csv --target metric/pile_cc_loss
      forensics recommend parity fixtures/categories/languages --categories en,de,ja
    """


_SOURCE_OPTION = click.option(
    "--source", "scan_sources", multiple=True, metavar="NAME=SCAN_DIR",
    help="A candidate source measured by `forensics scan --out SCAN_DIR` (repeatable): its byte shares per "
         "category (unknown included) and its size in tokens (bytes if the scan counted none).")


def _scans(values: tuple[str, ...]):
    """{name: ScanSource} from --source options, or None; the scans' summaries for the provenance inputs."""
    if not values:
        return None, {}
    from forensics.recommend.sources import parse_source_options, read_scans

    scans = read_scans(parse_source_options(values))
    return scans, {f"source:{name}": scan.sha256 for name, scan in scans.items() if scan.sha256}


@recommend.command("heuristic")
@click.argument("sizes", required=False, type=click.Path(exists=True, dir_okay=False))
@_SOURCE_OPTION
@click.option("--method", type=click.Choice(["proportional", "temperature", "unimax", "all"]), default="unimax",
              show_default=True, help="Heuristic; 'all' compares the three.")
@click.option("--budget", help="Training tokens (1e9, 500M, 2B); default: all available tokens.")
@click.option("--alpha", type=float, default=0.3, show_default=True, help="Temperature exponent (mT5: 0.3).")
@click.option("--max-epochs", type=float, default=4.0, show_default=True,
              help="UniMax cap on repeats per category (a warning only for the other methods).")
@_output_options
def heuristic(sizes, scan_sources, method, budget, alpha, max_epochs, as_json, output, csv_path):
    """Weights from the tokens available per category (SIZES: a scan result, JSON {name: tokens} or name,tokens
    CSV) or per source (--source NAME=SCAN_DIR, one per source).

    \b
    Reports the tokens and epochs each category (or source) gets within the budget; with --source, also the
    category mixture by bytes the weights give.

    \b
    EXAMPLE
      forensics recommend heuristic --source web=scans/web --source code=scans/code --budget 1B --max-epochs 4
    """
    from forensics.errors import ForensicsError
    from forensics.recommend.heuristics import METHODS, recommend_heuristic

    if (sizes is None) == (not scan_sources):
        raise ForensicsError("give SIZES (tokens per category) or --source NAME=SCAN_DIR per source, one of them")
    scans, scan_inputs = _scans(scan_sources)
    methods = list(METHODS) if method == "all" else [method]
    results = [recommend_heuristic(sizes, scans=scans, method=m, budget=_budget(budget), alpha=alpha,
                                   max_epochs=max_epochs) for m in methods]
    parameters = {"sizes": sizes, "sources": dict(s.partition("=")[::2] for s in scan_sources) or None,
                  "method": method, "budget": budget, "alpha": alpha, "max_epochs": max_epochs}
    body = results[0] if len(results) == 1 else {"recommendations": [dataclasses.asdict(r) for r in results]}
    _emit(body, command="recommend heuristic", parameters=parameters, inputs=_inputs(sizes) | scan_inputs,
          as_json=as_json, output=output)
    names = list(results[0].available)
    what = "source" if scans else "category"
    _weights_csv(csv_path, [what, *[f"{r.method}_weight" for r in results]],
                 [[n, *[r.weights[n] for r in results]] for n in names])
    if not as_json:
        from rich.table import Table

        unit = results[0].unit
        table = Table(title=f"recommended weights (budget {_count(results[0].budget)} {unit})")
        short = {"proportional": "prop", "temperature": "temp", "unimax": "unimax"}
        table.add_column(what)
        table.add_column(unit, justify="right")
        for r in results:
            table.add_column(f"{short[r.method]} w", justify="right")
            table.add_column("epochs", justify="right")
        for n in names:
            row = [n, _count(results[0].available[n])]
            for r in results:
                row += [f"{r.weights[n]:.4f}", f"{r.epochs[n]:.3g}"]
            table.add_row(*row)
        console().print(table)
        if results[0].mixture is not None:
            mixture = Table(title="category mixture by bytes", min_width=32)
            mixture.add_column("category")
            for r in results:
                mixture.add_column(short[r.method], justify="right")
            for category in results[0].mixture:
                mixture.add_row(category, *[f"{r.mixture[category]:.4f}" for r in results if r.mixture])
            console().print(mixture)
    shown = set()
    for r in results:
        new = [w for w in r.warnings if w not in shown]
        shown.update(new)
        _warn([f"{r.method}: {w}" for w in new])


@recommend.command("match")
@click.argument("target", type=click.Path(exists=True, dir_okay=False))
@_SOURCE_OPTION
@click.option("--sources", type=click.Path(exists=True, dir_okay=False),
              help="JSON {source: {category: share}} (instead of --source); default: each category is a source.")
@click.option("--cap", multiple=True, metavar="SOURCE=MAX", help="Largest weight of a source (repeatable).")
@click.option("--available", type=click.Path(exists=True, dir_okay=False),
              help="Tokens available per source (JSON or CSV); with --budget and --max-epochs gives caps.")
@click.option("--budget", help="Training tokens (1e9, 500M, 2B); with --source, in the scans' unit.")
@click.option("--max-epochs", type=float, help="Most repeats of any source.")
@click.option("--norm", type=click.Choice(["l1", "l2"]), default="l1", show_default=True,
              help="Distance to the target: l1 (LP) or l2 (QP).")
@_output_options
def match(target, scan_sources, sources, cap, available, budget, max_epochs, norm, as_json, output, csv_path):
    """Weights over sources whose mixture comes closest to TARGET (JSON {category: share}, e.g. the -o result
    of `forensics infer`).

    \b
    Sources: one `forensics scan` output each (--source NAME=SCAN_DIR: composition and size, in tokens when
    the scans counted them), or a JSON of compositions (--sources) with --available sizes. The residual per
    category lists every category of the target and the sources (a category the target lacks counts as 0).

    \b
    EXAMPLES
      forensics recommend match gpt_mixture.json --source web=scans/web --source code=scans/code \\
          --budget 100B --max-epochs 4
      forensics recommend match gpt_mixture.json --sources compositions.json --available tokens.json \\
          --budget 100B --max-epochs 4
    """
    from forensics.errors import ForensicsError
    from forensics.recommend._tables import parse_assignments, read_mapping
    from forensics.recommend.match import recommend_match

    if scan_sources and (sources or available):
        raise ForensicsError("--source takes a scan per source (composition and size): drop --sources and "
                             "--available, or --source")
    scans, scan_inputs = _scans(scan_sources)
    caps = parse_assignments(cap, what="--cap") or None
    available_map = read_mapping(available, what="available tokens") if available else None
    result = recommend_match(target, sources=sources, scans=scans, caps=caps, available=available_map,
                             budget=_budget(budget), max_epochs=max_epochs, norm=norm)
    parameters = {"target": target, "sources": sources,
                  "scans": dict(s.partition("=")[::2] for s in scan_sources) or None, "caps": caps,
                  "available": available, "budget": budget, "max_epochs": max_epochs, "norm": norm}
    _emit(result, command="recommend match", parameters=parameters,
          inputs=_inputs(target, sources, available) | scan_inputs, as_json=as_json, output=output)
    _weights_csv(csv_path, ["source", "weight"], [[s, w] for s, w in result.weights.items()])
    if not as_json:
        _print_match(result, norm)
    _warn(result.warnings)


def _print_match(result, norm: str) -> None:
    from rich.table import Table

    unit = result.unit
    weights = Table(title=f"source weights (shares of the {unit})")
    columns = ["source", "weight", *(["byte share"] if result.byte_weights else []), "cap", unit, "epochs"]
    columns += ["size", "unknown"] if result.sources else []
    for column in columns:
        weights.add_column(column, justify="left" if column == "source" else "right")
    for s, w in result.weights.items():
        row = [s, f"{w:.4f}", *([f"{result.byte_weights[s]:.4f}"] if result.byte_weights else []),
               f"{result.caps[s]:.4g}", _count(result.tokens[s]) if result.tokens else "-",
               f"{result.epochs[s]:.3g}" if result.epochs and s in result.epochs else "-"]
        if result.sources:
            info = result.sources[s]
            row += [_count(info["size"]), f"{info['unknown']:.1%}"]
        weights.add_row(*row)
    residual = Table(title=f"category mixture by bytes ({norm} distance {result.distance:.4f})")
    for column in ("category", "target", "achieved", "residual", "note"):
        residual.add_column(column, justify="left" if column in ("category", "note") else "right")
    for c in result.target:
        note = "in no source" if c in result.not_in_sources else "not in the target" if c in result.not_in_target \
            else ""
        residual.add_row(c, f"{result.target[c]:.4f}", f"{result.achieved[c]:.4f}", f"{result.residual[c]:+.4f}",
                         note)
    console().print(weights)
    console().print(residual)


def _parse_targets(items: tuple[str, ...]) -> str | dict[str, float]:
    """['a'] -> 'a'; ['a=0.5', 'b=0.5'] -> {'a': 0.5, 'b': 0.5}; a term without '=' has weight 1."""
    from forensics.errors import ForensicsError

    if not items:
        raise ForensicsError("name the metric to optimise with --target COLUMN (repeat it, with =WEIGHT, for a sum)")
    terms: dict[str, float] = {}
    for item in items:
        name, sep, weight = item.rpartition("=")
        try:
            terms[name if sep else item] = float(weight) if sep else 1.0
        except ValueError:
            terms[item] = 1.0
    if len(terms) == 1 and list(terms.values()) == [1.0]:
        return next(iter(terms))
    return terms


def _weights_spec(value: str | None) -> str | list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()] if "," in value else value


@recommend.command("runs")
@click.argument("runs", type=click.Path(exists=True, dir_okay=False))
@click.option("--target", multiple=True, metavar="COLUMN[=WEIGHT]",
              help="Metric to optimise; repeat with =WEIGHT to optimise a weighted sum.")
@click.option("--weights", "weights_spec", metavar="PREFIX|A,B,C",
              help="Weight columns: a name prefix or a comma list; default: the other columns in [0, 1].")
@click.option("--metrics", type=click.Path(exists=True, dir_okay=False),
              help="A second CSV with the metrics, joined on --on.")
@click.option("--on", default="index", show_default=True, help="Join column for --metrics.")
@click.option("--maximize", is_flag=True, help="Higher is better (accuracy); default: lower (loss).")
@click.option("--models", default="auto", show_default=True,
              help="Comma list from explaw, ridge, trees (trees needs the 'trees' extra); auto picks by runs.")
@click.option("--folds", type=int, default=5, show_default=True, help="K for K-fold model selection.")
@click.option("--select", type=click.Choice(["region", "kfold"]), default="region", show_default=True,
              help="Choose the model by region-shift folds (held-out far, high/low-entropy, source-heavy and "
                   "near-optimum runs) or by K-fold only.")
@click.option("--validate", "validate_path", type=click.Path(exists=True, dir_okay=False),
              help="CSV of your own runs not trained on (same weight and target columns): choose the model "
                   "that ranks them best.")
@click.option("--validate-metrics", type=click.Path(exists=True, dir_okay=False),
              help="A second CSV with the metrics of the --validate runs, joined on --on.")
@click.option("--cap", multiple=True, metavar="SOURCE=MAX", help="Largest weight of a source (repeatable).")
@click.option("--prior", type=click.Path(exists=True, dir_okay=False),
              help="JSON {source: weight} to centre the search on; default: the runs' mean mixture.")
@click.option("--candidates", "candidates_count", type=int, default=50_000, show_default=True,
              help="Dirichlet mixtures scored in the search.")
@click.option("--top-k", type=int, default=100, show_default=True, help="Average of the k best candidates.")
@click.option("--bootstrap", type=int, default=20, show_default=True,
              help="Refits on resampled runs (and ensemble members): the spread of the weights and the 90% "
                   "intervals of the predictions (0: neither).")
@click.option("--predict", "predict_path", type=click.Path(exists=True, dir_okay=False),
              help="CSV of mixtures (same weight columns): print the model's prediction for each row.")
@click.option("--extrapolate", is_flag=True,
              help="Let the search give a source more weight than any run did (the model is untested there).")
@click.option("--seed", type=int, default=0, show_default=True)
@_output_options
def runs(runs, target, weights_spec, metrics, on, maximize, models, folds, select, validate_path, validate_metrics,
         cap, prior, candidates_count, top_k, bootstrap, predict_path, extrapolate, seed, as_json, output, csv_path):
    """Learn metric ~ mixture from a CSV of past training runs (RegMix-style) and recommend a mixture.

    \b
    Models (exponential mixing law, ridge on [w, log w], LightGBM trees) are chosen by rank correlation
    on region-shift folds of the runs (held-out regions where recommendations land; K-fold is reported
    too), or on your own --validate runs. The search scores Dirichlet mixtures under the caps and averages the top k.
    Refits on resampled runs give the spread of the weights and 90% intervals for every prediction (plus
    out-of-bag residuals, widened when the K-fold folds need it); the next-best distinct mixtures are shown with
    theirs, and a line says when they cannot be told apart. The distance (TV) from the runs is reported, and a
    warning says when it exceeds what the model choice was tested on, or the optimum lies outside the runs' ranges.

    \b
    EXAMPLE (RegMix tables)
      forensics recommend runs train_mixture_1m.csv --metrics train_pile_loss_1m.csv \\
          --target metric/the_pile_pile_cc_val_loss --predict test_mixture_1m.csv
    """
    from forensics.recommend._tables import parse_assignments, read_mapping
    from forensics.recommend.runs import recommend_from_runs

    target_spec = _parse_targets(target)
    caps = parse_assignments(cap, what="--cap") or None
    prior_map = read_mapping(prior, what="prior mixture") if prior else None
    model_list = "auto" if models == "auto" else [m.strip() for m in models.split(",") if m.strip()]
    result = recommend_from_runs(runs, target=target_spec, weights=_weights_spec(weights_spec), metrics=metrics,
                                 on=on, maximize=maximize, models=model_list, folds=folds, caps=caps,
                                 prior=prior_map, candidates_count=candidates_count, top_k=top_k,
                                 bootstrap=bootstrap, predict=predict_path, extrapolate=extrapolate, select=select,
                                 validate=validate_path, validate_metrics=validate_metrics, seed=seed)
    parameters = {"runs": runs, "target": target_spec, "weights": weights_spec, "metrics": metrics, "on": on,
                  "maximize": maximize, "models": models, "folds": folds, "caps": caps, "prior": prior,
                  "candidates": candidates_count, "top_k": top_k, "bootstrap": bootstrap, "predict": predict_path,
                  "extrapolate": extrapolate, "select": select, "validate": validate_path,
                  "validate_metrics": validate_metrics}
    _emit(result, command="recommend runs", parameters=parameters,
          inputs=_inputs(runs, metrics, prior, predict_path, validate_path, validate_metrics), as_json=as_json,
          output=output, seed=seed)
    _weights_csv(csv_path, ["index", *result.sources], [[1, *result.weights.values()]])
    if not as_json:
        _print_runs(result)
    _warn(result.warnings)


def _print_runs(result) -> None:
    import os

    from rich.table import Table

    out = console()
    by = {"region": "region-shift", "kfold": "K-fold", "validate": "--validate"}.get(result.select, result.select)
    cv = Table(title=f"models by {by} rank correlation ({result.n_runs} runs)")
    columns = ["model", "parameters", "K-fold Spearman", "RMSE"]
    columns += ["region Spearman", "worst fold"] if result.select != "kfold" else []
    columns += ["--validate Spearman"] if result.select == "validate" else []
    for column in columns:
        cv.add_column(column, justify="left" if column in ("model", "parameters") else "right")
    for score in result.ranking[:8]:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={'+'.join(map(str, v))}"
                           for k, v in score.parameters.items())
        row = [score.model, params, f"{score.cv_spearman:.4f}", f"{score.cv_rmse:.4g}"]
        if result.select != "kfold":
            worst = min(score.region, key=score.region.get) if score.region else None
            row += [f"{score.region_spearman:.4f}" if score.region_spearman is not None else "-",
                    f"{score.region[worst]:.3f} ({worst})" if worst else "-"]
        if result.select == "validate":
            row.append(f"{score.validate_spearman:.4f}")
        cv.add_row(*row)
    out.print(cv)
    prefix = os.path.commonprefix(result.sources)
    prefix = prefix if all(len(s) > len(prefix) for s in result.sources) else ""
    table = Table(title=f"recommended mixture for {result.target} "
                        f"({'max' if result.maximize else 'min'}imised; model {result.model})")
    table.add_column(f"source ({prefix}...)" if prefix else "source")
    for column in ("weight", "bootstrap sd", "5%..95%", "best run"):
        table.add_column(column, justify="right")
    for s in result.sources:
        low, high = result.weights_interval[s]
        table.add_row(s[len(prefix):], f"{result.weights[s]:.4f}", f"{result.weights_spread[s]:.4f}",
                      f"{low:.3f}..{high:.3f}",
                      f"{result.best_run['weights'][s]:.4f}")
    out.print(table)
    level = f"{result.interval.get('level', 0.9):.0%}"
    interval = (f"{level} interval {result.predicted_interval[0]:.4f}..{result.predicted_interval[1]:.4f}; "
                if result.predicted_interval else "")
    out.print(f"predicted {result.target}: {result.predicted:.4f} ({interval}bootstrap sd "
              f"{result.predicted_spread:.4f}); best run (row {result.best_run['row']}): "
              f"{result.best_run['value']:.4f}", markup=False)
    _print_distance(out, result.distance)
    calibration = result.interval.get("calibration")
    if calibration:
        out.print(f"intervals: {result.interval['replicates']} refits on resampled runs plus out-of-bag residuals; "
                  f"on the K-fold folds {calibration['raw_coverage']:.0%} of the runs fell inside, scaled by "
                  f"{calibration['scale']:.2f} to {calibration['coverage']:.0%}", markup=False)
    if result.alternatives:
        others = Table(title=f"the recommendation and the next-best distinct mixtures ({level} intervals; "
                             "weights in the JSON)")
        for column in ("mixture", "predicted", f"{level} interval", "TV from rec.", "rec. better in"):
            others.add_column(column, justify="left" if column == "mixture" else "right")
        rows = [{"label": "recommended", "predicted": result.predicted, "interval": result.predicted_interval,
                 "distance": 0.0, "recommended_better": None}, *result.alternatives]
        for alt in rows:
            span, better = alt["interval"], alt["recommended_better"]
            others.add_row(alt["label"], f"{alt['predicted']:.4f}",
                           f"{span[0]:.4f}..{span[1]:.4f}" if span else "-", f"{alt['distance']:.3f}",
                           f"{better:.0%} of refits" if better is not None else "-")
        out.print(others)
    if result.comparison:
        out.print(result.comparison, markup=False)
    if result.predictions is not None:
        shown = min(20, len(result.predictions))
        predictions = Table(title=f"predictions for the --predict mixtures ({shown} of {len(result.predictions)})")
        for column in ("row", "predicted", f"{level} interval", "TV to nearest run"):
            predictions.add_column(column, justify="right")
        spans = result.prediction_intervals or [None] * len(result.predictions)
        for i in range(shown):
            span = spans[i]
            predictions.add_row(str(i + 1), f"{result.predictions[i]:.4f}",
                                f"{span[0]:.4f}..{span[1]:.4f}" if span else "-",
                                f"{result.prediction_distances[i]:.3f}")
        out.print(predictions)


def _print_distance(out, distance: dict) -> None:
    """One line: how far the recommendation lies from the runs, and how far out the model choice was tested."""
    if not distance:
        return
    nearest = ", ".join(f"row {r['row']}" + (f" (run {r['run']})" if r["run"] not in (None, str(r["row"])) else "")
                        + f" {r['distance']:.3f}" for r in distance["nearest_runs"][:3])
    line = (f"distance from the runs (TV): {distance['nearest_run']:.3f} to the nearest run ({nearest}), "
            f"{distance['centre']:.3f} to the runs' centre")
    reach = distance.get("validated")
    if reach:
        by = {"region": "region-shift folds", "kfold": "K-fold folds", "validate": "--validate runs"}[reach["by"]]
        line += (f"; the {by} tested the model out to {reach['nearest_run']:.3f} and {reach['centre']:.3f} "
                 f"({reach['quantile']:.0%} of {reach['held_out_runs']} held-out runs)")
        if distance["beyond"]:
            line += ": BEYOND what was tested (see the warning)"
    out.print(line, markup=False)


@recommend.command("parity")
@click.argument("samples")
@click.option("--categories", help="Comma list of categories to balance (default: all in SAMPLES).")
@click.option("--target", multiple=True, metavar="CATEGORY=SHARE",
              help="Relative tokens per byte wanted (default: equal).")
@click.option("--vocab-size", type=int, default=2000, show_default=True, help="Size of the small BPE trained.")
@click.option("--iterations", type=int, default=6, show_default=True, help="Tokenizers trained.")
@click.option("--max-bytes", type=int, default=1 << 20, show_default=True, help="Sample bytes read per category.")
@_output_options
def parity(samples, categories, target, vocab_size, iterations, max_bytes, as_json, output, csv_path):
    """Tokenizer training mixture that equalises tokens per byte across categories (SAMPLES: a category set
    name or directory with one file or folder per category).

    \b
    Trains a small byte-level BPE per iteration with HF tokenizers; compares with the proportional mixture.
    EXAMPLE
      forensics recommend parity languages --categories en,de,ja,ru --vocab-size 4000
    """
    from forensics.recommend._tables import parse_assignments
    from forensics.recommend.parity import recommend_parity

    names = [c.strip() for c in categories.split(",")] if categories else None
    target_map = parse_assignments(target, what="--target") or None
    result = recommend_parity(samples, categories=names, target=target_map, vocab_size=vocab_size,
                              iterations=iterations, max_bytes=max_bytes)
    parameters = {"samples": samples, "categories": names, "target": target_map, "vocab_size": vocab_size,
                  "iterations": iterations, "max_bytes": max_bytes}
    _emit(result, command="recommend parity", parameters=parameters, inputs={}, as_json=as_json, output=output)
    _weights_csv(csv_path, ["category", "weight", "proportional_weight"],
                 [[n, w, result.proportional_weights[n]] for n, w in result.weights.items()])
    if not as_json:
        from rich.table import Table

        table = Table(title=f"tokens per byte, BPE vocab {vocab_size}: parity {result.parity:.3f} (recommended) "
                            f"vs {result.proportional_parity:.3f} (proportional); 1 is equal")
        for column in ("category", "train bytes", "prop. w", "tok/byte", "rec. w", "tok/byte "):
            table.add_column(column, justify="left" if column == "category" else "right")
        for n, w in result.weights.items():
            table.add_row(n, str(result.sample_bytes[n]), f"{result.proportional_weights[n]:.4f}",
                          f"{result.proportional_tokens_per_byte[n]:.4f}", f"{w:.4f}",
                          f"{result.tokens_per_byte[n]:.4f}")
        console().print(table)
    _warn(result.warnings)


# The continual pre-training recommender (issue 9) lives in its own module when present.
try:
    from cli._recommend_cpt import cpt as _cpt

    recommend.add_command(_cpt)
except ImportError:
    pass

command = recommend
