"""How well `forensics recommend runs` ranks held-out RegMix runs, against RegMix's own regressors.

Trains on the 512 RegMix training runs (and on subsets of 64), lets K-fold cross-validation on the training runs
choose the model, and ranks the 256 held-out mixtures; the score is the Spearman correlation between predicted
and measured Pile-CC loss for the 1M and the 60M models (the 60M runs are never trained on). Competitors, fitted
on the same runs in the same process: RegMix's linear regression (OLS on the weights) and LightGBM with RegMix's
settings (1000 rounds, learning rate 0.01, no early stopping). The held-out runs are used only for scoring.

    .venv/bin/python benchmarks/bench_regmix.py [--subsets 20] [--write benchmarks/results/recommend.md]
    .venv/bin/python benchmarks/bench_regmix.py --region-only   # the region-shift section alone (issue 20)

The region-shift section scores every model on each fold of `forensics.recommend.validation` (training runs
only) and compares the default choice (region) with the old K-fold choice on the held-out runs.
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
from forensics.recommend.runs import RunTable, fit_trees, load_runs, recommend_from_runs

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
    args = parser.parse_args()
    train, test_1m, test_60m = load(PILE_CC)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

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


if __name__ == "__main__":
    main()
