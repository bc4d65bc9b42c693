#!/usr/bin/env python3
"""Compare estimators on the programs `benchmarks/controlled.py --save-programs DIR` kept, without recounting.

Every trial's program (the counts of every candidate over the window) and truth were pickled by the
controlled harness; this script solves each with every method and reports log10 MSE of byte shares and
the mass on absent candidates, as controlled.py does, so estimators are compared on the very same trials.

    python benchmarks/controlled.py --setting many --categories benchmarks/data/scan-sets/languages \\
        --categories benchmarks/data/scan-sets/code --trials 8 --count-mb 1 --methods lp --seed 202 \\
        --save-programs /tmp/programs/many
    python benchmarks/compare_estimators.py /tmp/programs/many --methods lp trimmed sparse \\
        --out benchmarks/results/inference/estimators-many.json

Methods as in controlled.py: ``lp``, ``trimmed[:MIN_SHARE]``, ``sparse[:DROP_SHARE[:DROP_COST]]``,
``weighted[:SHIFT]``.

``--min-raw-count K`` is a variant measured and not kept (stop 25, in results/inference.md): steps whose merged
pair has fewer than K raw counts in every category's sample carry no constraint (made inactive, as steps unseen
in every sample already are); K = 0 (the default) is the program as counted.

    python benchmarks/compare_estimators.py /tmp/programs/size --methods lp --min-raw-count 10
"""

from __future__ import annotations

import argparse
import pickle
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("programs", type=Path, help="a --save-programs directory of controlled.py")
    parser.add_argument("--methods", nargs="+", default=["lp", "trimmed", "sparse"])
    parser.add_argument("--count-mb", type=float, help="only the trials counted at this size")
    parser.add_argument("--min-raw-count", type=int, default=0,
                        help="steps whose merged pair has fewer raw counts in every sample are made inactive")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from controlled import _log_mse, parse_method

    from forensics import __version__
    from forensics.inference.estimators import estimate
    from forensics.inference.program import SCALE, pair_to_byte_shares

    files = sorted(args.programs.glob("trial-*.pkl"))
    trials = []
    for path in files:
        with open(path, "rb") as f:
            trial = pickle.load(f)
        if args.count_mb is None or trial["count_mb"] == args.count_mb:
            trials.append((path.name, trial))
    if not trials:
        raise SystemExit(f"no trial programs in {args.programs}")
    methods = {m: parse_method(m) for m in args.methods}
    rows = []
    for name, trial in trials:
        program, truth, absent = trial["program"], np.asarray(trial["truth"]), np.asarray(trial["absent"])
        if args.min_raw_count:
            best_raw = (program.merged * (program.total_pairs / SCALE)).max(axis=1)
            program = replace(program, active=program.active & (best_raw >= args.min_raw_count))
        line = []
        for label, (method, kwargs) in methods.items():
            t0 = time.perf_counter()
            result = estimate(program, method=method, **kwargs)
            seconds = time.perf_counter() - t0
            got = pair_to_byte_shares(result.alpha, program.bytes_per_pair)
            rows.append({"trial": name, "setting": trial.get("setting"), "count_mb": trial["count_mb"],
                         "merges": trial["merges"], "method": label, "log10_mse": _log_mse(got, truth),
                         "absent_mass": float(got[absent].sum()), "seconds": seconds, "dropped": result.dropped,
                         "candidates": program.names, "truth": truth.tolist(), "estimate": got.tolist(),
                         "count_mb_actual": float(program.total_bytes.mean() / 1e6)})
            line.append(f"{label} {rows[-1]['log10_mse']:.2f}" + (f" ({rows[-1]['absent_mass']:.1%} absent)"
                                                                  if absent.any() else ""))
        print(f"{name}: " + ", ".join(line), flush=True)
    print("\n| count MB (asked) | method | log10 MSE (mean ± sd) | absent mass (mean, max) | seconds (median) | trials |")
    print("|---|---|---|---|---|---|")
    summary = []
    for count_mb, label in [(c, m) for c in sorted({r["count_mb"] for r in rows}) for m in methods]:
        group = [r for r in rows if r["method"] == label and r["count_mb"] == count_mb]
        mse = [r["log10_mse"] for r in group]
        item = {"count_mb": count_mb, "method": label, "mean": statistics.mean(mse),
                "sd": statistics.stdev(mse) if len(mse) > 1 else 0.0,
                "absent_mean": statistics.mean(r["absent_mass"] for r in group),
                "absent_max": max(r["absent_mass"] for r in group),
                "seconds": statistics.median(r["seconds"] for r in group), "trials": len(group)}
        summary.append(item)
        print(f"| {count_mb} | {label} | {item['mean']:.2f} ± {item['sd']:.2f} | {item['absent_mean']:.1%}, "
              f"{item['absent_max']:.1%} | {item['seconds']:.0f} | {item['trials']} |")
    if args.out:
        from forensics._results import file_sha256, provenance, write_json

        machine = f"{platform.machine()}, python {platform.python_version()}, forensics {__version__}"
        parameters = {"programs": str(args.programs), "methods": args.methods, "count_mb": args.count_mb,
                      "min_raw_count": args.min_raw_count}
        write_json(args.out, {"machine": machine, "summary": summary, "trials": rows,
                              "provenance": provenance(command="benchmarks/compare_estimators.py",
                                                       parameters=parameters, seed=0,
                                                       inputs={name: file_sha256(args.programs / name)
                                                               for name, _ in trials})})


if __name__ == "__main__":
    main()
