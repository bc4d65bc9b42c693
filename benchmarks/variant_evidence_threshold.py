#!/usr/bin/env python3
"""A variant measured and not kept (stop 25): an evidence threshold for merges rare in every sample.

Steps whose merged pair has fewer than K raw counts in every category's count sample carry no constraint
(they are made inactive, as steps unseen in every sample already are); K = 0 is LP1_T. Run on the programs
`benchmarks/controlled.py --save-programs DIR` kept (one directory per setting, as for compare_estimators.py):

    python benchmarks/variant_evidence_threshold.py /tmp/progs --ks 0 3 10 --methods lp \\
        --out benchmarks/results/inference/variant-evidence-threshold.json

Result in benchmarks/results/inference.md ("Variants that did not help").
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forensics.inference.estimators import estimate  # noqa: E402
from forensics.inference.program import SCALE, pair_to_byte_shares  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("programs", type=Path, help="a directory of --save-programs directories (one per setting)")
    parser.add_argument("--ks", type=int, nargs="+", default=[0, 3, 10])
    parser.add_argument("--methods", nargs="+", default=["lp"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    trials = {}
    for path in sorted(args.programs.glob("*/trial-*.pkl")):
        saved = pickle.loads(path.read_bytes())
        program, truth = saved["program"], np.asarray(saved["truth"])
        best_raw = (program.merged * (program.total_pairs / SCALE)).max(axis=1)
        for k in args.ks:
            thresholded = program if k == 0 else replace(program, active=program.active & (best_raw >= k))
            for method in args.methods:
                shares = pair_to_byte_shares(estimate(thresholded, method=method).alpha, program.bytes_per_pair)
                absent = np.asarray(saved["absent"], dtype=bool) if saved.get("absent") is not None else None
                trials[f"{path.parent.name}/{path.name}/{k}/{method}"] = {
                    "log10_mse": float(np.log10(np.mean((shares - truth) ** 2))),
                    "absent_mass": float(shares[absent].sum()) if absent is not None else 0.0,
                    "active_steps": int(thresholded.active.sum())}
    summary = {}
    for key, value in trials.items():
        setting, _, k, method = key.split("/")
        summary.setdefault(f"{setting}/{k}/{method}", []).append(value)
    summary = {key: {"trials": len(v), "log10_mse": round(statistics.mean(x["log10_mse"] for x in v), 3),
                     "absent_mass": round(statistics.mean(x["absent_mass"] for x in v), 4),
                     "active_steps": round(statistics.mean(x["active_steps"] for x in v))}
               for key, v in sorted(summary.items())}
    for key, value in summary.items():
        print(key, value)
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "trials": trials,
                                        "parameters": {"ks": args.ks, "methods": args.methods,
                                                       "programs": str(args.programs)}}, indent=1))


if __name__ == "__main__":
    main()
