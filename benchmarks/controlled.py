#!/usr/bin/env python3
"""Controlled-accuracy harness for mixture inference (Hayase et al. 2024, Table 1 protocol).

Each trial: draw a mixture uniformly from the simplex over n categories; train a byte-level BPE tokenizer
with HF `tokenizers` on that mixture of the categories' *train* text; infer the mixture back with
forensics from disjoint *count* text (documents never used for training); record log10 MSE of the byte
shares, the token-classification baseline's log10 MSE, and the time of every stage. Reports mean and
standard deviation over trials for every number of merges T and count-sample size.

    python benchmarks/controlled.py --categories languages --n 10 --trials 5 --merges 3000 30000
    python benchmarks/controlled.py --categories benchmarks/data/languages --count-mb 0.5 2 10 --train-mb 100

Category sets: a bundled name (`languages`, `code`, `domains`) or a directory built by
`forensics categories build` (several MB per category). Results print as a markdown table and go to
--out as JSON (with the machine, versions and every parameter).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def shuffled(documents, rng) -> list[str]:
    docs = list(documents)
    return [docs[i] for i in rng.permutation(len(docs))]


def run_trial(rng, names, train, count, *, merges_list, count_mb_list, train_mb, workdir: Path) -> list[dict]:
    import json as _json

    from forensics import infer_mixture, load_tokenizer
    from forensics.inference.experiments import mixture_text, take_documents, train_reference_bpe

    weights = rng.dirichlet(np.ones(len(names)))
    # documents in a random order, so that training and count text come from the same distribution
    # (category files are ordered by source package; taking the first documents would shift it)
    parts, truth = mixture_text({n: shuffled(train[n].texts(), rng) for n in names}, weights,
                                budget=train_mb * 1e6)
    texts = [doc for docs in parts.values() for doc in docs]
    t0 = time.perf_counter()
    tok_path = workdir / "tokenizer.json"
    train_reference_bpe(texts, max(merges_list), tok_path)
    train_seconds = time.perf_counter() - t0
    train_bytes = sum(len(t.encode("utf-8")) for t in texts)
    tok = load_tokenizer(tok_path)
    rows = []
    for count_mb in count_mb_list:
        sample_dir = workdir / f"count-{count_mb}"
        sample_dir.mkdir(exist_ok=True)
        sample_sizes = {}
        for name in names:
            docs, size = take_documents(shuffled(count[name].texts(), rng), count_mb * 1e6)
            (sample_dir / f"{name}.jsonl").write_text("".join(_json.dumps({"text": d}) + "\n" for d in docs))
            sample_sizes[name] = size
        for merges in merges_list:
            t0 = time.perf_counter()
            estimate = infer_mixture(tok, sample_dir, merges=merges, cache=False)
            total = time.perf_counter() - t0
            got = np.array([estimate.shares[n] for n in names])
            tc = np.array([estimate.baselines["token_classification"][n] for n in names])
            d = estimate.diagnostics
            rows.append({
                "merges": merges, "count_mb": count_mb, "train_mb": train_bytes / 1e6,
                "count_mb_actual": float(np.mean(list(sample_sizes.values())) / 1e6),
                "log10_mse": float(np.log10(np.mean((got - truth) ** 2))),
                "log10_mse_token_classification": float(np.log10(np.mean((tc - truth) ** 2))),
                "train_seconds": train_seconds, "count_seconds": d["counting_seconds"],
                "solve_seconds": d["solver_seconds"], "total_seconds": total, "rounds": d["rounds"],
                "rows": d["rows_final"], "status": d["status"], "truth": truth.tolist(), "estimate": got.tolist(),
            })
            print(f"  T={merges:>6} count={count_mb} MB: log10 MSE {rows[-1]['log10_mse']:.2f} "
                  f"(TC {rows[-1]['log10_mse_token_classification']:.2f}); count {d['counting_seconds']:.1f} s, "
                  f"solve {d['solver_seconds']:.1f} s, {d['rounds']} rounds, {d['status']}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--categories", default="languages")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--merges", type=int, nargs="+", default=[3000])
    parser.add_argument("--count-mb", type=float, nargs="+", default=[1.0])
    parser.add_argument("--train-mb", type=float, default=50.0, help="cap on the training text")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import numba
    import tokenizers

    from forensics import __version__, load_categories

    train = load_categories(args.categories, split="train")
    count = load_categories(args.categories, split="count")
    all_names = [c.name for c in train]
    if args.n > len(all_names):
        raise SystemExit(f"{args.categories} has only {len(all_names)} categories")
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, forensics "
               f"{__version__}, tokenizers {tokenizers.__version__}, numba {numba.__version__}")
    print(f"machine: {machine}")
    rng = np.random.default_rng(args.seed)
    rows = []
    for trial in range(args.trials):
        names = sorted(rng.choice(all_names, size=args.n, replace=False).tolist())
        print(f"trial {trial + 1}/{args.trials}: {', '.join(names)}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for row in run_trial(rng, names, train, count, merges_list=args.merges, count_mb_list=args.count_mb,
                                 train_mb=args.train_mb, workdir=Path(tmp)):
                rows.append({"trial": trial, "categories": names, **row})
    print("\n| set | n | T | count MB/category | log10 MSE (mean ± sd) | token classification | train s | "
          "count s | solve s | trials |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    for merges in args.merges:
        for count_mb in args.count_mb:
            group = [r for r in rows if r["merges"] == merges and r["count_mb"] == count_mb]
            mse = [r["log10_mse"] for r in group]
            tc = [r["log10_mse_token_classification"] for r in group]
            sd = statistics.stdev(mse) if len(mse) > 1 else 0.0
            item = {"merges": merges, "count_mb": count_mb, "mean": statistics.mean(mse), "sd": sd,
                    "tc_mean": statistics.mean(tc), "train_s": statistics.median(r["train_seconds"] for r in group),
                    "count_s": statistics.median(r["count_seconds"] for r in group),
                    "solve_s": statistics.median(r["solve_seconds"] for r in group), "trials": len(group),
                    "actual_count_mb": statistics.mean(r["count_mb_actual"] for r in group)}
            summary.append(item)
            print(f"| {args.categories} | {args.n} | {merges:,} | {item['actual_count_mb']:.2f} | "
                  f"{item['mean']:.2f} ± {item['sd']:.2f} | {item['tc_mean']:.2f} | {item['train_s']:.1f} | "
                  f"{item['count_s']:.1f} | {item['solve_s']:.1f} | {len(group)} |")
    if args.out:
        from forensics._results import provenance, write_json

        parameters = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        write_json(args.out, {"machine": machine, "parameters": parameters, "summary": summary, "trials": rows,
                              "provenance": provenance(command="benchmarks/controlled.py", parameters=parameters,
                                                       seed=args.seed)})


if __name__ == "__main__":
    main()
