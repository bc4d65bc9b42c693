#!/usr/bin/env python3
"""How the reported intervals hold, per category and for groups, from stored controlled trials (no rerunning).

`benchmarks/controlled.py --bootstrap B` keeps every trial's truth, estimate, first-merge fit, the raw
bootstrap percentile interval of every category and (since stop 25) every replicate's byte shares
(``bootstrap_shares``). From them, for each candidate form of the shift term of
:func:`forensics.inference.infer.calibrated_intervals` (``--grid``):

* **per-category coverage**: how often the reported 90% interval holds the true share;
* **group coverage** (`forensics infer --group`; trials with replicates): groups of candidates drawn at random
  (2, 3 and half the candidates; ``--groups-per-size`` of each, seeded by the trial) and "all but the largest
  true category" (the shape of an audit's "non-English"), each interval made by
  :func:`forensics.inference.infer.sum_interval` as `infer_mixture` makes it; how often the true total is inside;
* **bagging** (an estimator variant of issue 16's list): the replicates' mean as the estimate, log10 MSE
  against the point estimate's.

A grid entry ``W`` is the constant shift term of stop 24 (W points added when the first merges fit poorly);
``W:S0`` scales it with the share s of the category or group: W x sqrt(max(s, S0) (1 - s)), so a group and its
complement get the same interval and large shares (whose errors are larger) get more.

    python benchmarks/calibrate_intervals.py benchmarks/results/inference/coverage-*.json \\
        --grid 0.02 0.1:0.02 0.15:0.02 --out benchmarks/results/inference/interval-calibration.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _log_mse(got: np.ndarray, truth: np.ndarray) -> float:
    return float(np.log10(max(np.mean((got - truth) ** 2), 1e-30)))


def parse_grid(text: str) -> tuple[float, float | None]:
    widening, _, floor = text.partition(":")
    return float(widening), (float(floor) if floor else None)


def trial_groups(n: int, truth: np.ndarray, *, per_size: int, seed: int) -> list[tuple[str, list[int]]]:
    """Random groups of 2, 3 and n // 2 candidates (``per_size`` of each) and all but the largest true share."""
    rng = np.random.default_rng(seed)
    out = []
    for size in sorted({2, 3, n // 2}):
        if 2 <= size < n:
            out += [(f"random {size}", sorted(rng.choice(n, size, replace=False).tolist())) for _ in range(per_size)]
    out.append(("all but the largest", [i for i in range(n) if i != int(np.argmax(truth))]))
    return out


def load_trials(paths: list[Path]) -> list[dict]:
    trials = []
    for path in paths:
        data = json.loads(path.read_text())
        for t in data["trials"]:
            if "interval_low" in t and t.get("fit_early") is not None:
                trials.append({**t, "file": path.name, "setting": data["parameters"]["setting"]})
    return trials


def evaluate(trials: list[dict], widening: float, min_share: float | None, *, per_size: int) -> list[dict]:
    """One row per trial: per-category and group coverage under this shift term."""
    from forensics.inference.infer import calibrated_intervals, sum_interval

    rows = []
    for number, t in enumerate(trials):
        truth, got = np.array(t["truth"]), np.array(t["estimate"])
        names = [str(i) for i in range(len(truth))]
        raw = dict(zip(names, zip(t["interval_low"], t["interval_high"])))
        kw = {"fit_early": t["fit_early"], "shift_widening": widening, "shift_min_share": min_share}
        cal = calibrated_intervals(dict(zip(names, got.tolist())), raw, 0.9, **kw)
        low, high = np.array([cal[n][0] for n in names]), np.array([cal[n][1] for n in names])
        inside = (truth >= low - 1e-9) & (truth <= high + 1e-9)
        row = {"file": t["file"], "setting": t["setting"], "trial": t["trial"], "fit_early": t["fit_early"],
               "per_category": inside.tolist(), "per_category_width": float(np.mean(high - low)), "groups": []}
        if "bootstrap_shares" in t:
            samples = np.array(t["bootstrap_shares"])
            for kind, columns in trial_groups(len(truth), truth, per_size=per_size, seed=number):
                share, total = float(got[columns].sum()), float(truth[columns].sum())
                interval, _ = sum_interval(samples, columns, share, 0.9, **kw)
                row["groups"].append({"kind": kind, "columns": columns, "truth": total, "share": share,
                                      "interval": interval, "error": abs(share - total),
                                      "inside": interval[0] - 1e-9 <= total <= interval[1] + 1e-9})
            row["log10_mse"] = _log_mse(got, truth)
            row["log10_mse_bagged"] = _log_mse(samples.mean(axis=0), truth)
        rows.append(row)
    return rows


def summarise(rows: list[dict], label: str) -> list[dict]:
    out = []
    for key in sorted({(r["setting"], r["file"]) for r in rows}):
        mine = [r for r in rows if (r["setting"], r["file"]) == key]
        groups = [g for r in mine for g in r["groups"]]
        item = {"shift_term": label, "setting": key[0], "file": key[1], "trials": len(mine),
                "per_category_coverage": float(np.mean([x for r in mine for x in r["per_category"]])),
                "per_category_width": statistics.mean(r["per_category_width"] for r in mine)}
        if groups:
            item.update(group_coverage=statistics.mean(g["inside"] for g in groups),
                        group_width=statistics.mean(g["interval"][1] - g["interval"][0] for g in groups),
                        group_error=statistics.mean(g["error"] for g in groups),
                        by_kind={k: statistics.mean(g["inside"] for g in groups if g["kind"] == k)
                                 for k in sorted({g["kind"] for g in groups})},
                        log10_mse=statistics.mean(r["log10_mse"] for r in mine if "log10_mse" in r),
                        log10_mse_bagged=statistics.mean(r["log10_mse_bagged"] for r in mine if "log10_mse" in r),
                        bagging_better_in=sum(r["log10_mse_bagged"] < r["log10_mse"] for r in mine if "log10_mse" in r))
        out.append(item)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--grid", nargs="+", default=["0.02"], help="shift terms: W (constant) or W:S0 (scaled)")
    parser.add_argument("--groups-per-size", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    trials = load_trials(args.files)
    if not trials:
        raise SystemExit("error: no trial in these files has intervals; run benchmarks/controlled.py --bootstrap 10")
    summary, detail = [], {}
    print("| shift term | setting (file) | trials | per category: coverage, width | groups: coverage, width, "
          "mean error | by kind | log10 MSE point / bagged (bagged better in) |")
    print("|---|---|---|---|---|---|---|")
    for text in args.grid:
        widening, min_share = parse_grid(text)
        rows = evaluate(trials, widening, min_share, per_size=args.groups_per_size)
        detail[text] = rows
        for s in summarise(rows, text):
            summary.append(s)
            groups = (f"{s['group_coverage']:.0%}, {s['group_width']:.1%}, {s['group_error']:.1%}"
                      if "group_coverage" in s else "-")
            kinds = "; ".join(f"{k} {v:.0%}" for k, v in s.get("by_kind", {}).items()) or "-"
            bag = (f"{s['log10_mse']:.2f} / {s['log10_mse_bagged']:.2f} ({s['bagging_better_in']} of "
                   f"{s['trials']})" if "log10_mse" in s else "-")
            print(f"| {text} | {s['setting']} ({s['file']}) | {s['trials']} | {s['per_category_coverage']:.0%}, "
                  f"{s['per_category_width']:.1%} | {groups} | {kinds} | {bag} |")
    if args.out:
        from forensics._results import file_sha256, provenance, write_json

        write_json(args.out, {"summary": summary, "trials": detail,
                              "provenance": provenance(command="benchmarks/calibrate_intervals.py",
                                                       parameters={"grid": args.grid,
                                                                   "groups_per_size": args.groups_per_size,
                                                                   "files": [str(p) for p in args.files]},
                                                       inputs={str(p): file_sha256(p) for p in args.files})})


if __name__ == "__main__":
    main()
