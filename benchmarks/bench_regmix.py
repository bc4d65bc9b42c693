"""How well `forensics recommend runs` ranks held-out RegMix runs, against RegMix's own regressors.

Trains on the 512 RegMix training runs (and on subsets of 64), lets K-fold cross-validation on the training runs
choose the model, and ranks the 256 held-out mixtures; the score is the Spearman correlation between predicted
and measured Pile-CC loss for the 1M and the 60M models (the 60M runs are never trained on). Competitors, fitted
on the same runs in the same process: RegMix's linear regression (OLS on the weights) and LightGBM with RegMix's
settings (1000 rounds, learning rate 0.01, no early stopping). The held-out runs are used only for scoring.

    .venv/bin/python benchmarks/bench_regmix.py [--subsets 20] [--write benchmarks/results/recommend.md]
    .venv/bin/python benchmarks/bench_regmix.py --region-only   # the region-shift section alone (issue 20)
    .venv/bin/python benchmarks/bench_regmix.py --intervals-only --write benchmarks/results/recommend.md

The region-shift section scores every model on each fold of `forensics.recommend.validation` (training runs
only) and compares the default choice (region) with the old K-fold choice on the held-out runs. The intervals
section measures the coverage of the 90% prediction intervals (`forensics.recommend.intervals`) on the 256
held-out runs and, refitted on each region-shift fold's training runs only, on that fold's held-out runs; and
the distance of the recommendation from the runs against the reach of the validation
(`forensics.recommend.distance`). With --intervals-only, --write replaces that section of the file (or appends
it) and leaves the rest.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from forensics import __version__
from forensics.recommend.distance import nearest_distance
from forensics.recommend.intervals import bootstrap_runs, calibrate, intervals
from forensics.recommend.run_models import Candidate, kfold_splits, out_of_fold
from forensics.recommend.runs import RunTable, fit_trees, load_runs, recommend_from_runs
from forensics.recommend.validation import Fold, nearest_fold, region_folds

REGMIX = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "regmix"
PILE_CC = "metric/the_pile_pile_cc_val_loss"
HAVE_TREES = importlib.util.find_spec("lightgbm") is not None


def load(target: str):
    train = load_runs(REGMIX / "train_mixture_1m.csv", metrics=REGMIX / "train_pile_loss_1m.csv", target=target)
    test_1m = load_runs(REGMIX / "test_mixture_1m.csv", metrics=REGMIX / "test_pile_loss_1m.csv", target=target)
    test_60m = load_runs(REGMIX / "test_mixture_1m.csv", metrics=REGMIX / "test_pile_loss_60m.csv", target=target)
    return train, test_1m, test_60m


def label_of(model: str, parameters: dict) -> str:
    if model == "ensemble":
        return "ensemble(" + " + ".join(parameters["members"]) + ")"
    return model + ("(" + ", ".join(f"{k}={v:g}" for k, v in parameters.items()) + ")" if parameters else "")


def ours(train: RunTable, rows: np.ndarray, test: np.ndarray, models, select: str = "kfold",
         keep: list | None = None) -> tuple[np.ndarray, str, float]:
    subset = RunTable(train.sources, train.weights[rows], train.target[rows], train.target_name, train.path)
    start = time.perf_counter()
    rec = recommend_from_runs(subset, models=models, candidates_count=2000, bootstrap=0, predict=test,
                              select=select)
    if keep is not None:
        keep.append(rec)
    return np.array(rec.predictions), label_of(rec.model, rec.model_parameters), time.perf_counter() - start


def ols(train: RunTable, rows: np.ndarray, test: np.ndarray) -> np.ndarray:
    design = np.hstack([np.ones((len(rows), 1)), train.weights[rows]])
    coef, *_ = np.linalg.lstsq(design, train.target[rows], rcond=None)
    return np.hstack([np.ones((len(test), 1)), test]) @ coef


def lightgbm_regmix(train: RunTable, rows: np.ndarray, test: np.ndarray) -> np.ndarray:
    return fit_trees(train.weights[rows], train.target[rows], seed=42)(test)


def rho(predicted: np.ndarray, measured: np.ndarray) -> float:
    return float(spearmanr(predicted, measured)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subsets", type=int, default=20, help="random 64-run subsets (plus the first 64)")
    parser.add_argument("--write", help="write the markdown results here")
    parser.add_argument("--region-only", action="store_true", help="only the region-shift section")
    parser.add_argument("--intervals-only", action="store_true", help="only the intervals and distance section")
    args = parser.parse_args()
    train, test_1m, test_60m = load(PILE_CC)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    if args.intervals_only:
        intervals_section(train, test_1m, args.subsets, say)
        if args.write:
            replace_section(Path(args.write), lines)
        return

    if args.region_only:
        region_section(train, test_1m, test_60m, args.subsets, say)
        if args.write:
            Path(args.write).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return

    say("# Recommendations from run tables: RegMix held-out ranking")
    say()
    say(f"forensics {__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()} ({platform.processor() or 'cpu'}), {platform.system()}; "
        f"lightgbm {'installed' if HAVE_TREES else 'not installed'}. Script: `benchmarks/bench_regmix.py`.")
    say()
    say("Target: Pile-CC validation loss. Trained on RegMix training runs (1M models), model chosen by 5-fold "
        "Spearman on the training runs only; scored by Spearman against the 256 held-out runs (1M and 60M models).")
    say()
    say("## Trained on all 512 runs")
    say()
    say("| method | chosen model | Spearman 1M | Spearman 60M | fit + CV time (s) |")
    say("|---|---|---|---|---|")
    everything = np.arange(len(train.target))
    configs = [("ours, core (explaw + ridge, no extras)", ["explaw", "ridge"]),
               ("ours, ridge only", ["ridge"]), ("ours, exponential law only", ["explaw"])]
    if HAVE_TREES:
        configs.insert(0, ("ours, auto (explaw + ridge + trees)", "auto"))
    for name, models in configs:
        predicted, label, seconds = ours(train, everything, test_1m.weights, models)
        say(f"| {name} | {label} | {rho(predicted, test_1m.target):.4f} | {rho(predicted, test_60m.target):.4f} "
            f"| {seconds:.1f} |")
    linear = ols(train, everything, test_1m.weights)
    say(f"| RegMix linear regression (OLS on w) | - | {rho(linear, test_1m.target):.4f} | "
        f"{rho(linear, test_60m.target):.4f} | - |")
    if HAVE_TREES:
        predicted = lightgbm_regmix(train, everything, test_1m.weights)
        say(f"| RegMix LightGBM (1000 rounds, lr 0.01) | - | {rho(predicted, test_1m.target):.4f} | "
            f"{rho(predicted, test_60m.target):.4f} | - |")
    say("| RegMix LightGBM, published (README of the data) | - | 0.989 | - | - |")
    say()

    subsets = [np.arange(64)] + [np.random.default_rng(s).permutation(len(train.target))[:64]
                                 for s in range(args.subsets)]
    say(f"## Trained on 64 runs ({len(subsets)} subsets: the first 64 rows and {args.subsets} random draws)")
    say()
    say("| method | Spearman 1M median (min..max) | Spearman 60M median (min..max) | subsets >= 0.93 (1M, 60M) "
        "| models chosen |")
    say("|---|---|---|---|---|")
    results: dict[str, tuple[list[float], list[float], list[str]]] = {}
    for name, models in [("ours, core (explaw + ridge)", ["explaw", "ridge"])]:
        scores_1m, scores_60m, labels = [], [], []
        for rows in subsets:
            predicted, label, _ = ours(train, rows, test_1m.weights, models)
            scores_1m.append(rho(predicted, test_1m.target))
            scores_60m.append(rho(predicted, test_60m.target))
            labels.append(label.split("(")[0])
        results[name] = (scores_1m, scores_60m, labels)
    ols_scores = ([rho(ols(train, r, test_1m.weights), test_1m.target) for r in subsets],
                  [rho(ols(train, r, test_1m.weights), test_60m.target) for r in subsets], ["-"])
    results["RegMix linear regression"] = ols_scores
    if HAVE_TREES:
        tree_predictions = [lightgbm_regmix(train, r, test_1m.weights) for r in subsets]
        results["RegMix LightGBM"] = ([rho(p, test_1m.target) for p in tree_predictions],
                                      [rho(p, test_60m.target) for p in tree_predictions], ["-"])
    for name, (s1, s60, labels) in results.items():
        chosen = ", ".join(f"{m} x{labels.count(m)}" for m in sorted(set(labels))) if labels != ["-"] else "-"
        say(f"| {name} | {statistics.median(s1):.4f} ({min(s1):.4f}..{max(s1):.4f}) | "
            f"{statistics.median(s60):.4f} ({min(s60):.4f}..{max(s60):.4f}) | "
            f"{sum(x >= 0.93 for x in s1)}/{len(s1)}, {sum(x >= 0.93 for x in s60)}/{len(s60)} | {chosen} |")
    say()
    first_1m, first_60m = results["ours, core (explaw + ridge)"][0][0], results["ours, core (explaw + ridge)"][1][0]
    say(f"First 64 rows, ours (core): {first_1m:.4f} (1M), {first_60m:.4f} (60M).")
    say()

    say("## Every RegMix target, all 512 runs (ours, core)")
    say()
    say("| target | chosen model | Spearman 1M | Spearman 60M |")
    say("|---|---|---|---|")
    with open(REGMIX / "train_pile_loss_1m.csv", encoding="utf-8") as handle:
        targets = [c for c in handle.readline().strip().split(",") if c != "index"]
    for target in targets:
        tr, t1, t60 = load(target)
        predicted, label, _ = ours(tr, everything, t1.weights, ["explaw", "ridge"])
        say(f"| {target.removeprefix('metric/the_pile_').removesuffix('_val_loss')} | {label} | "
            f"{rho(predicted, t1.target):.4f} | {rho(predicted, t60.target):.4f} |")
    say()
    region_section(train, test_1m, test_60m, args.subsets, say)
    intervals_section(train, test_1m, args.subsets, say)
    if args.write:
        Path(args.write).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write).write_text("\n".join(lines) + "\n", encoding="utf-8")


def region_section(train: RunTable, test_1m: RunTable, test_60m: RunTable, n_subsets: int, say) -> None:
    """Issue 20: Spearman per region-shift fold and model; the default (region) choice vs the K-fold choice."""
    say("## Model choice on region-shift folds (`select=\"region\"`, the default since issue 20)")
    say()
    say(f"forensics {__version__}, Python {platform.python_version()}, numpy {np.__version__}, lightgbm "
        f"{importlib.metadata.version('lightgbm') if HAVE_TREES else 'absent'}, {platform.machine()}, "
        f"{os.cpu_count()} cores. Folds on the 512 training runs only (20% held out per fold; `source_max` one "
        "fold per source, its top 10%, averaged; `near_optimum` is each model's own optimum, so its rows are "
        "different folds). Per model family, the configuration with the best region score.")
    say()
    everything = np.arange(len(train.target))
    for models in (["explaw", "ridge", "trees"] if HAVE_TREES else ["explaw", "ridge"],):
        kept: list = []
        start = time.perf_counter()
        region_pred, region_label, _ = ours(train, everything, test_1m.weights, models, "region", kept)
        seconds = time.perf_counter() - start
        rec = kept[0]
        kinds = list(rec.ranking[0].region)
        families: dict[str, object] = {}
        for score in rec.ranking:  # sorted best first, so the first of each family is its best
            families.setdefault(score.model, score)
        say("| model | K-fold | " + " | ".join(kinds) + " | region mean | worst fold |")
        say("|---" * (len(kinds) + 4) + "|")
        for score in families.values():
            say(f"| {label_of(score.model, score.parameters)} | {score.cv_spearman:.4f} | "
                + " | ".join(f"{score.region[k]:.4f}" for k in kinds)
                + f" | {score.region_spearman:.4f} | {min(score.region.values()):.4f} |")
        chosen = rec.ranking[0]
        best = {k: max(s.region[k] for s in rec.ranking) for k in kinds}
        say(f"| **default choice** {region_label} | {chosen.cv_spearman:.4f} | "
            + " | ".join(f"{chosen.region[k]:.4f} ({chosen.region[k] - best[k]:+.4f})" for k in kinds)
            + f" | {chosen.region_spearman:.4f} | {min(chosen.region.values()):.4f} |")
        say()
        say(f"Default choice vs the best of all {len(rec.ranking)} configurations on each fold kind in brackets; "
            f"fit + region validation + K-fold took {seconds:.1f} s.")
        say()
        kfold_pred, kfold_label, kfold_seconds = ours(train, everything, test_1m.weights, models, "kfold")
        say("| 512 runs -> 256 held-out runs | chosen | Spearman 1M | Spearman 60M | time (s) |")
        say("|---|---|---|---|---|")
        say(f"| default (region) | {region_label} | {rho(region_pred, test_1m.target):.4f} | "
            f"{rho(region_pred, test_60m.target):.4f} | {seconds:.1f} |")
        say(f"| old (K-fold) | {kfold_label} | {rho(kfold_pred, test_1m.target):.4f} | "
            f"{rho(kfold_pred, test_60m.target):.4f} | {kfold_seconds:.1f} |")
        say()
    subsets = [np.arange(64)] + [np.random.default_rng(s).permutation(len(train.target))[:64]
                                 for s in range(n_subsets)]
    say(f"64-run subsets ({len(subsets)}: the first 64 rows and {n_subsets} random draws), core models "
        "(explaw + ridge):")
    say()
    say("| select | Spearman 1M median (min..max) | Spearman 60M median (min..max) | subsets >= 0.93 (1M, 60M) "
        "| models chosen |")
    say("|---|---|---|---|---|")
    for select in ("region", "kfold"):
        s1, s60, labels = [], [], []
        for rows in subsets:
            predicted, label, _ = ours(train, rows, test_1m.weights, ["explaw", "ridge"], select)
            s1.append(rho(predicted, test_1m.target))
            s60.append(rho(predicted, test_60m.target))
            labels.append(label.split("(")[0])
        chosen_models = ", ".join(f"{m} x{labels.count(m)}" for m in sorted(set(labels)))
        say(f"| {select} | {statistics.median(s1):.4f} ({min(s1):.4f}..{max(s1):.4f}) | "
            f"{statistics.median(s60):.4f} ({min(s60):.4f}..{max(s60):.4f}) | "
            f"{sum(x >= 0.93 for x in s1)}/{len(s1)}, {sum(x >= 0.93 for x in s60)}/{len(s60)} | {chosen_models} |")
    say()


INTERVALS_HEADING = "## Prediction intervals and the distance from the runs (issue 20)"


def replace_section(path: Path, lines: list[str]) -> None:
    """Put ``lines`` (starting with their heading) in place of the section with that heading, or append them."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    heading = lines[0]
    if heading in text:
        before, _, rest = text.partition(heading)
        after = rest[rest.find("\n## "):] if "\n## " in rest else ""
        text = before + "\n".join(lines) + ("\n" + after.lstrip("\n") if after else "\n")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")


def covered(bounds: list[list[float]] | tuple[np.ndarray, np.ndarray], measured: np.ndarray) -> tuple[float, float]:
    """Share of ``measured`` inside the intervals, and their median width."""
    low, high = (np.asarray(b) for b in (zip(*bounds) if isinstance(bounds, list) else bounds))
    return float(np.mean((measured >= low) & (measured <= high))), float(np.median(high - low))


def fold_coverage(candidate: Candidate, weights: np.ndarray, target: np.ndarray, train: np.ndarray,
                  test: np.ndarray, replicates: int) -> dict[str, np.ndarray | float]:
    """Intervals fitted on ``train`` runs only (bootstrap and K-fold calibration), scored on ``test`` runs: per
    held-out run whether inside (raw, calibrated), the width, the error and the TV to the nearest training run."""
    w, y = weights[train], target[train]
    reps = bootstrap_runs(w, y, candidate, replicates=replicates, seed=0)
    calibration = calibrate(reps, w, y, out_of_fold(w, y, candidate, folds=5, seed=0))
    centre = candidate.fit(w, y, 0)(weights[test])
    measured = target[test]
    low, high = intervals(reps, weights[test], centre)
    scaled_low, scaled_high = intervals(reps, weights[test], centre, scale=calibration.scale)
    return {"raw": (measured >= low) & (measured <= high),
            "inside": (measured >= scaled_low) & (measured <= scaled_high), "width": scaled_high - scaled_low,
            "error": measured - centre, "distance": nearest_distance(weights[test], w), "scale": calibration.scale}


def intervals_section(train: RunTable, test_1m: RunTable, n_subsets: int, say) -> None:
    """Issue 20 items 1-2: coverage of the 90% intervals, and the recommendation's distance from the runs."""
    say(INTERVALS_HEADING)
    say()
    say(f"forensics {__version__}, Python {platform.python_version()}, numpy {np.__version__}, lightgbm "
        f"{importlib.metadata.version('lightgbm') if HAVE_TREES else 'absent'}, {platform.machine()}, "
        f"{os.cpu_count()} cores (shared). Target Pile-CC loss; intervals are 90%, from `--bootstrap` refits on "
        "resampled runs plus their out-of-bag residuals, centred on the model's prediction and widened by the "
        "K-fold calibration scale when the K-fold folds need it (`forensics/recommend/intervals.py`).")
    say()
    everything = np.arange(len(train.target))
    say("### The whole command on the 512 runs (default region choice)")
    say()
    say("| models | --bootstrap | chosen | K-fold raw coverage | scale | coverage, 256 held-out runs (1M) | "
        "median width | recommendation: predicted (90% interval) | wall time (s) |")
    say("|---|---|---|---|---|---|---|---|---|")
    kept = {}
    for label, chosen_models, replicates in [("core", ["explaw", "ridge"], 0), ("core", ["explaw", "ridge"], 20),
                                             ("core", ["explaw", "ridge"], 100)] + (
            [("auto", "auto", 20)] if HAVE_TREES else []):
        start = time.perf_counter()
        rec = recommend_from_runs(train, models=chosen_models, bootstrap=replicates, predict=test_1m.weights)
        seconds = time.perf_counter() - start
        kept[(label, replicates)] = rec
        calibration = rec.interval.get("calibration")
        if rec.prediction_intervals is None:
            say(f"| {label} | {replicates} | {label_of(rec.model, rec.model_parameters)} | - | - | - | - | "
                f"{rec.predicted:.4f} | {seconds:.1f} |")
            continue
        coverage, width = covered(rec.prediction_intervals, test_1m.target)
        low, high = rec.predicted_interval
        say(f"| {label} | {replicates} | {label_of(rec.model, rec.model_parameters)} | "
            f"{calibration['raw_coverage']:.3f} | {calibration['scale']:.3f} | {coverage:.3f} | {width:.4f} | "
            f"{rec.predicted:.4f} ({low:.4f}..{high:.4f}) | {seconds:.1f} |")
    say()
    rec = kept[("core", 20)]
    say(f"Measured Pile-CC loss of the 256 held-out runs: sd {np.std(test_1m.target):.4f}, range "
        f"{np.min(test_1m.target):.4f}..{np.max(test_1m.target):.4f}; the best training run: "
        f"{rec.best_run['value']:.4f}.")
    say()
    if rec.comparison:
        say(f"Next-best distinct mixtures (core, 20 refits): {rec.comparison}.")
        say()
        say("| mixture | predicted | 90% interval | TV from the recommendation | "
            "refits preferring the recommendation |")
        say("|---|---|---|---|---|")
        for alt in rec.alternatives:
            say(f"| {alt['label']} | {alt['predicted']:.4f} | {alt['interval'][0]:.4f}..{alt['interval'][1]:.4f} "
                f"| {alt['distance']:.3f} | {alt['recommended_better']:.0%} |")
        say()

    if rec.model == "ensemble":  # the folds refit one configuration; on the 512 runs the choice is ridge
        raise SystemExit("the default choice is an ensemble; fix the model of the fold coverage by hand")
    chosen = Candidate(rec.model, rec.model_parameters)
    say("### Coverage where predictions land: refitted on each region-shift fold's training runs only")
    say()
    say(f"Model fixed to the default choice on all runs, {label_of(rec.model, rec.model_parameters)}; on each fold "
        "the bootstrap (20 refits) and the K-fold calibration use the fold's training runs only, and the fold's "
        "held-out runs are scored (`source_max`: 17 folds pooled; `near_optimum`: the runs nearest the "
        "recommendation).")
    say()
    say("| fold kind | held-out runs | raw coverage | calibrated coverage | median width | mean error "
        "(measured - predicted) | median TV to the nearest training run | scale |")
    say("|---|---|---|---|---|---|---|---|")
    w, y = train.weights, train.target
    point = np.array([rec.weights[s] for s in train.sources])
    folds = region_folds(w) + [nearest_fold(w, point, int(np.ceil(0.2 * len(y))))]
    folds += [Fold("kfold", f"kfold[{k + 1}/5]", tr, te) for k, (tr, te) in enumerate(kfold_splits(len(y), 5, 0))]
    results: dict[str, list[dict]] = {}
    for fold in folds:
        results.setdefault(fold.kind, []).append(fold_coverage(chosen, w, y, fold.train, fold.test, 20))

    def pooled(parts: list[dict], key: str) -> np.ndarray:
        return np.concatenate([part[key] for part in parts])

    for kind, parts in results.items():
        say(f"| {kind} | {len(pooled(parts, 'inside'))} | {pooled(parts, 'raw').mean():.3f} | "
            f"{pooled(parts, 'inside').mean():.3f} | {np.median(pooled(parts, 'width')):.4f} | "
            f"{pooled(parts, 'error').mean():+.4f} | {np.median(pooled(parts, 'distance')):.3f} | "
            f"{np.mean([part['scale'] for part in parts]):.3f} |")
    region = [part for kind, parts in results.items() if kind != "kfold" for part in parts]
    kinds_mean = np.mean([pooled(parts, "inside").mean() for kind, parts in results.items() if kind != "kfold"])
    say(f"| region-shift, runs pooled | {len(pooled(region, 'inside'))} | {pooled(region, 'raw').mean():.3f} | "
        f"{pooled(region, 'inside').mean():.3f} | {np.median(pooled(region, 'width')):.4f} | "
        f"{pooled(region, 'error').mean():+.4f} | {np.median(pooled(region, 'distance')):.3f} | - |")
    say(f"| region-shift, mean of the 5 fold kinds | - | - | {kinds_mean:.3f} | - | - | - | - |")
    say()
    say("By the held-out run's TV to its nearest training run (calibrated coverage, runs of every region-shift fold "
        "pooled; K-fold beside):")
    say()
    say("| TV to the nearest training run | region-shift runs | coverage | K-fold runs | coverage |")
    say("|---|---|---|---|---|")
    far_d, far_in = pooled(region, "distance"), pooled(region, "inside")
    k_d, k_in = pooled(results["kfold"], "distance"), pooled(results["kfold"], "inside")
    for low, high in [(0.0, 0.15), (0.15, 0.25), (0.25, 0.35), (0.35, 0.45), (0.45, 1.0)]:
        here, there = (far_d >= low) & (far_d < high), (k_d >= low) & (k_d < high)
        say(f"| {low:.2f}..{high:.2f} | {here.sum()} | {far_in[here].mean() if here.any() else float('nan'):.3f} | "
            f"{there.sum()} | " + (f"{k_in[there].mean():.3f} |" if there.any() else "- |"))
    say()

    subsets = [np.arange(64)] + [np.random.default_rng(s).permutation(len(train.target))[:64]
                                 for s in range(n_subsets)]
    say(f"### 64-run subsets ({len(subsets)}: the first 64 rows and {n_subsets} random draws), core models, "
        "20 refits, scored on the 256 held-out runs")
    say()
    coverages, widths, scales, labels, reaches, beyond, seconds = [], [], [], [], [], 0, []
    for rows in subsets:
        subset = RunTable(train.sources, train.weights[rows], train.target[rows], train.target_name, train.path)
        start = time.perf_counter()
        sub = recommend_from_runs(subset, models=["explaw", "ridge"], candidates_count=2000, bootstrap=20,
                                  predict=test_1m.weights)
        seconds.append(time.perf_counter() - start)
        coverage, width = covered(sub.prediction_intervals, test_1m.target)
        coverages.append(coverage)
        widths.append(width)
        scales.append(sub.interval["calibration"]["scale"])
        labels.append(sub.model)
        beyond += bool(sub.distance["beyond"])
        reaches.append((sub.distance["nearest_run"], sub.distance["validated"]["nearest_run"]))
    say("| coverage median (min..max) | subsets >= 0.85 | median width | calibration scale median (max) | models "
        "chosen | median wall time (s) |")
    say("|---|---|---|---|---|---|")
    chosen_models = ", ".join(f"{m} x{labels.count(m)}" for m in sorted(set(labels)))
    say(f"| {statistics.median(coverages):.3f} ({min(coverages):.3f}..{max(coverages):.3f}) | "
        f"{sum(c >= 0.85 for c in coverages)}/{len(coverages)} | {statistics.median(widths):.4f} | "
        f"{statistics.median(scales):.3f} ({max(scales):.3f}) | {chosen_models} | {statistics.median(seconds):.1f} |")
    say()

    say("### Distance of the recommendation from the runs (TV), against the reach of the validation")
    say()
    say("Reach: the 90th percentile of the held-out runs' TV from their fold's nearest training run and from its "
        "training runs' centre, each fold kind weighted equally (`forensics/recommend/distance.py`). A warning "
        "when the recommendation lies farther out on either.")
    say()
    say("| runs | select | to the nearest run | reach | to the runs' centre | reach | nearest runs (row: TV) | "
        "warning |")
    say("|---|---|---|---|---|---|---|---|")
    for runs_label, subset_rows in [("512", everything), ("first 64", np.arange(64))]:
        subset = RunTable(train.sources, train.weights[subset_rows], train.target[subset_rows], train.target_name,
                          train.path, [train.ids[i] for i in subset_rows] if train.ids else None)
        for select, extrapolate in (("region", False), ("kfold", False), ("region", True)):
            d = recommend_from_runs(subset, models=["explaw", "ridge"], candidates_count=5000, bootstrap=0,
                                    select=select, extrapolate=extrapolate).distance
            reach = d["validated"]
            nearest = ", ".join(f"{r['row']}: {r['distance']:.3f}" for r in d["nearest_runs"][:3])
            mode = select + (", --extrapolate" if extrapolate else "")
            say(f"| {runs_label} | {mode} | {d['nearest_run']:.3f} | {reach['nearest_run']:.3f} | "
                f"{d['centre']:.3f} | {reach['centre']:.3f} | {nearest} | {'yes' if d['beyond'] else 'no'} |")
    say()
    near, limit = zip(*reaches)
    say(f"64-run subsets (core, region): the recommendation lies {statistics.median(near):.3f} TV from the nearest "
        f"run (median; reach {statistics.median(limit):.3f}); the warning fired on {beyond} of {len(subsets)}.")
    say()


if __name__ == "__main__":
    main()
