#!/usr/bin/env python3
"""Controlled-accuracy harness for mixture inference: settings that look like real audits.

Each trial draws a mixture, trains a byte-level BPE tokenizer with HF `tokenizers` on that mixture of
the categories' *train* text, counts disjoint *count* text of every candidate category once, and then
solves with every estimator in ``--methods`` on the same counts, so the estimators are compared on the
same trials. Numbers: log10 MSE of the byte shares over the candidates (the paper's Table 1 metric),
mass put on candidates absent from the truth, the token-classification baseline, times.

Settings (``--setting``):
  size      n categories, mixture uniform on the simplex (the paper's protocol); ``--count-mb`` sizes.
  many      every category of the sets is a candidate; the truth is on ``--present`` of them (drawn
            uniformly among 3-8 by default). Reports the mass on absent categories.
  shift     each category's source units (the package before ':' in a document id) are split at random in
            two groups: the tokenizer is trained on one group's train text, counted on the other's count
            text (the paper's section 6.1 setting). Categories with one source are not drawn.
  unlisted  the truth is on n categories, ``--hidden`` of them are not candidates; the error is measured
            against the truth renormalised over the listed ones.
  appended  mixture A trains ``--base-merges`` merges, mixture B the next T: by continuing BPE from A's
            merges on B's text (``continued``, benchmarks/continue_bpe.py), or as the merges of a separately
            trained B tokenizer that A lacks (``separate``); B is inferred from the window of T merges.
            Control (``B alone``): the same window of the tokenizer trained on B alone.

    python benchmarks/controlled.py --setting size --categories languages --n 10 --trials 10
    python benchmarks/controlled.py --setting many --categories languages --categories code --trials 10
    python benchmarks/controlled.py --setting shift --categories benchmarks/data/scan-sets/languages --count-mb 2

Methods: ``lp`` (LP1_T), ``trimmed:MIN_SHARE`` (LP1_T refitted without categories under MIN_SHARE),
``sparse:DROP_SHARE:DROP_COST`` (trimmed, then backward elimination of small categories that cost little),
``weighted:SHIFT`` (noise-weighted slacks); see forensics/inference/estimators.py. Results print as a markdown table per setting and go to --out as JSON
(machine, versions, every parameter and seed, per-trial truth and estimates).
"""

from __future__ import annotations

import argparse
import json
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


def parse_method(text: str) -> tuple[str, dict]:
    """``lp`` -> ("lp", {}); ``weighted:0.1`` -> ("weighted", {"shift": 0.1})."""
    name, _, arg = text.partition(":")
    if name == "lp":
        return name, {}
    if name == "weighted":
        return name, {"shift": float(arg) if arg else 0.1}
    if name == "trimmed":
        return name, {"min_share": float(arg)} if arg else {}
    if name == "sparse":   # sparse, sparse:DROP_SHARE or sparse:DROP_SHARE:DROP_COST
        parts = [float(x) for x in arg.split(":")] if arg else []
        return name, dict(zip(("drop_share", "drop_cost"), parts))
    raise SystemExit(f"unknown method {text!r}")


class Pool:
    """Train and count documents of every category (several sets merged), with their source units."""

    def __init__(self, specs: list[str]):
        from forensics import load_categories

        self.train: dict[str, list[tuple[str, str]]] = {}
        self.count: dict[str, list[tuple[str, str]]] = {}
        for spec in specs:
            for split, target in (("train", self.train), ("count", self.count)):
                for cat in load_categories(spec, split=split):
                    if cat.name in target and split == "train":
                        raise SystemExit(f"category {cat.name!r} is in two of the sets")
                    target[cat.name] = [((doc.id or "").split(":")[0], doc.text) for doc in cat.documents()]
        self.names = sorted(self.train)

    def keep_larger(self, mb: float) -> None:
        """Only categories with at least ``mb`` MB of text in each split (small ones cap every mixture's size)."""
        def size(docs):
            return sum(len(t.encode("utf-8")) for _, t in docs) / 1e6
        self.names = [n for n in self.names if min(size(self.train[n]), size(self.count[n])) >= mb]

    def sources(self, name: str) -> list[str]:
        return sorted({s for s, _ in self.train[name]} & {s for s, _ in self.count[name]})


def shuffled(items, rng) -> list:
    items = list(items)
    return [items[i] for i in rng.permutation(len(items))]


def draw_setting(rng, pool: Pool, args) -> dict:
    """Which categories are candidates, which carry the truth, and which documents train and count."""
    names = pool.names
    if args.setting in ("size", "appended"):
        present = sorted(rng.choice(names, size=args.n, replace=False).tolist())
        candidates = present
    elif args.setting == "many":
        k = int(rng.integers(args.present[0], args.present[-1] + 1))
        present = sorted(rng.choice(names, size=k, replace=False).tolist())
        candidates = names
    elif args.setting == "unlisted":
        present = sorted(rng.choice(names, size=args.n, replace=False).tolist())
        hidden = set(rng.choice(present, size=args.hidden, replace=False).tolist())
        candidates = [n for n in present if n not in hidden]
    elif args.setting == "shift":
        eligible = [n for n in names if len(pool.sources(n)) >= 2]
        if len(eligible) < args.n:
            raise SystemExit(f"only {len(eligible)} categories have two or more sources")
        present = sorted(rng.choice(eligible, size=args.n, replace=False).tolist())
        candidates = present
    else:
        raise SystemExit(f"unknown setting {args.setting}")
    train_docs, count_docs = {}, {}
    for name in sorted(set(present) | set(candidates)):
        if args.setting == "shift":
            sources = shuffled(pool.sources(name), rng)
            size = {s: 0 for s in sources}
            for s, t in pool.train[name] + pool.count[name]:
                if s in size:
                    size[s] += len(t)
            group_a, running, total = set(), 0, sum(size.values())
            for s in sources:                      # about half the text on each side, at least one source each
                if running < total / 2 or not group_a:
                    group_a.add(s)
                    running += size[s]
            if len(group_a) == len(sources):
                group_a.discard(sources[-1])
            train = [(s, t) for s, t in pool.train[name] if s in group_a]
            count = [(s, t) for s, t in pool.count[name] if s in size and s not in group_a]
        else:
            train, count = pool.train[name], pool.count[name]
        train_docs[name] = [t for _, t in shuffled(train, rng)]
        count_docs[name] = [t for _, t in shuffled(count, rng)]
    weights = rng.dirichlet(np.ones(len(present)))
    return {"present": present, "candidates": candidates, "weights": weights, "train": train_docs,
            "count": count_docs}


def write_samples(documents: dict[str, list[str]], names: list[str], mb: float, folder: Path):
    """Each category's first ``mb`` MB of count documents as JSONL in ``folder``: ({name: [file]}, {name: bytes})."""
    from forensics.inference.experiments import take_documents

    folder.mkdir(exist_ok=True)
    files, sizes = {}, {}
    for name in names:
        docs, sizes[name] = take_documents(documents[name], mb * 1e6)
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
        files[name] = [str(path)]
    return files, sizes


def run_appended_trial(rng, pool: Pool, args, methods, workdir: Path) -> list[dict]:
    """Mixture A trains the first ``--base-merges`` merges; mixture B (other weights, the other half of
    the train documents) the next ``T``, either by continuing BPE from A's merges (``continued``) or by a
    separate tokenizer whose merges A lacks are appended (``separate``). Inferred: B, from the window."""
    from continue_bpe import append_separate, extend_tokenizer

    from forensics import load_tokenizer
    from forensics.counting.categories import count_categories
    from forensics.inference.estimators import estimate
    from forensics.inference.evidence import evidence
    from forensics.inference.experiments import mixture_text, train_reference_bpe
    from forensics.inference.program import build_program, pair_to_byte_shares

    drawn = draw_setting(rng, pool, args)
    names = drawn["present"]
    half_a = {n: drawn["train"][n][::2] for n in names}
    half_b = {n: drawn["train"][n][1::2] for n in names}
    weights_b = rng.dirichlet(np.ones(len(names)))
    parts_a, _ = mixture_text(half_a, drawn["weights"], budget=args.train_mb * 1e6)
    parts_b, truth = mixture_text(half_b, weights_b, budget=args.train_mb * 1e6)
    text_a = [d for docs in parts_a.values() for d in docs]
    text_b = [d for docs in parts_b.values() for d in docs]
    window = max(args.merges)
    base, separate_b = workdir / "a.json", workdir / "b.json"
    train_reference_bpe(text_a, args.base_merges, base)
    train_reference_bpe(text_b, args.base_merges + window, separate_b)
    files, _ = write_samples(drawn["count"], names, args.count_mb[0], workdir / "count")
    rows = []
    for mode in ("continued", "separate", "B alone"):
        path = workdir / f"{mode}.json"
        if mode == "continued":
            added = extend_tokenizer(base, text_b, window, path)
        elif mode == "separate":
            added = append_separate(base, separate_b, window, path)
        else:   # control: the same late window of a tokenizer trained on B alone
            path, added = separate_b, [None] * window
        tok = load_tokenizer(path)
        counts = count_categories(tok, files, cache=False)
        program = build_program([counts.traces[n] for n in names], start=args.base_merges, steps=len(added),
                                names=names)
        for label, (method, kwargs) in methods.items():
            result = estimate(program, method=method, **kwargs)
            got = pair_to_byte_shares(result.alpha, program.bytes_per_pair)
            report = evidence(program, result.alpha)
            rows.append({"merges": window, "count_mb": args.count_mb[0], "method": f"{label} [{mode}]",
                         "log10_mse": _log_mse(got, truth), "absent_mass": 0.0, "solve_seconds": 0.0,
                         "count_mb_actual": float(np.mean([t.total_bytes for t in counts.traces.values()]) / 1e6),
                         "appended": len(added), "fit_early": report["fit_early"], "fit": report["fit"],
                         "truth": truth.tolist(), "estimate": got.tolist(), "candidates": names})
        print(f"  {mode}: {len(added)} merges appended; " + ", ".join(
            f"{r['method']} {r['log10_mse']:.2f} (fit_early {r['fit_early']:.2f})" for r in rows
            if r["method"].endswith(f"[{mode}]")), flush=True)
    return rows


def run_trial(rng, pool: Pool, args, methods, workdir: Path) -> list[dict]:
    from forensics import load_tokenizer
    from forensics.counting.categories import count_categories
    from forensics.inference.baselines import token_classification
    from forensics.inference.estimators import estimate
    from forensics.inference.evidence import evidence
    from forensics.inference.experiments import mixture_text, take_documents, train_reference_bpe
    from forensics.inference.infer import _bootstrap, calibrated_intervals, percentile_intervals
    from forensics.inference.program import build_program, pair_to_byte_shares
    from forensics.inference.solve import SolveOptions

    drawn = draw_setting(rng, pool, args)
    present, candidates = drawn["present"], drawn["candidates"]
    if args.spare_count_to_train:
        # the count documents beyond the largest count sample train the tokenizer too (still disjoint)
        for name in present:
            sample, _ = take_documents(drawn["count"][name], max(args.count_mb) * 1e6)
            drawn["train"][name] = drawn["train"][name] + drawn["count"][name][len(sample):]
    parts, truth_present = mixture_text({n: drawn["train"][n] for n in present}, drawn["weights"],
                                        budget=args.train_mb * 1e6)
    train_mb_per_category = {n: sum(len(d.encode("utf-8")) for d in parts[n]) / 1e6 for n in present}
    texts = [doc for docs in parts.values() for doc in docs]
    t0 = time.perf_counter()
    tok_path = workdir / "tokenizer.json"
    train_reference_bpe(texts, max(args.merges), tok_path)
    train_seconds = time.perf_counter() - t0
    train_bytes = sum(len(t.encode("utf-8")) for t in texts)
    tok = load_tokenizer(tok_path)
    truth_all = dict(zip(present, truth_present))
    truth = np.array([truth_all.get(n, 0.0) for n in candidates])
    listed_mass = float(truth.sum())
    truth = truth / truth.sum()
    absent = np.array([n not in truth_all for n in candidates])
    rows = []
    for count_mb in args.count_mb:
        files, sizes = write_samples(drawn["count"], candidates, count_mb, workdir / f"count-{count_mb}")
        t0 = time.perf_counter()
        counts = count_categories(tok, files, merges=max(args.merges), cache=False)
        count_seconds = time.perf_counter() - t0
        traces = [counts.traces[n] for n in candidates]
        for merges in args.merges:
            program = build_program(traces, steps=merges, names=candidates)
            if args.save_programs:
                _save_program(args.save_programs, program, truth=truth, absent=absent, count_mb=count_mb,
                              merges=merges, setting=args.setting)
            tc = token_classification(program)
            base = {"merges": merges, "count_mb": count_mb, "train_mb": train_bytes / 1e6,
                    "count_mb_actual": float(np.mean(list(sizes.values())) / 1e6), "present": present,
                    "candidates": len(candidates), "listed_truth_mass": listed_mass,
                    "train_seconds": train_seconds, "count_seconds": count_seconds,
                    "train_mb_per_category": train_mb_per_category,
                    "unseen_merges": int((~program.active).sum()), "truth": truth.tolist()}
            rows.append({**base, "method": "token-classification", "log10_mse": _log_mse(tc, truth),
                         "absent_mass": float(tc[absent].sum()), "solve_seconds": 0.0, "estimate": tc.tolist()})
            for label, (method, kwargs) in methods.items():
                t0 = time.perf_counter()
                result = estimate(program, method=method, **kwargs)
                seconds = time.perf_counter() - t0
                got = pair_to_byte_shares(result.alpha, program.bytes_per_pair)
                report = evidence(program, result.alpha)
                row = {**base, "method": label, "log10_mse": _log_mse(got, truth),
                       "absent_mass": float(got[absent].sum()), "solve_seconds": seconds,
                       "status": result.solution.status, "estimate": got.tolist(),
                       "fit_early": report["fit_early"], "fit": report["fit"]}
                if args.bootstrap and label == args.methods[0]:
                    t0 = time.perf_counter()
                    samples = _bootstrap(tok, files, candidates, split="all", start=0, steps=max(args.merges),
                                         merges=merges, replicates=args.bootstrap, seed=int(rng.integers(2**31)),
                                         options=SolveOptions(), method=method)
                    intervals = dict(zip(candidates, percentile_intervals(samples, 0.9)))
                    low = np.array([intervals[n][0] for n in candidates])
                    high = np.array([intervals[n][1] for n in candidates])
                    inside = (truth >= low - 1e-9) & (truth <= high + 1e-9)
                    widened = calibrated_intervals(dict(zip(candidates, got)), intervals, 0.9,
                                                   fit_early=report["fit_early"])
                    c_low = np.array([widened[n][0] for n in candidates])
                    c_high = np.array([widened[n][1] for n in candidates])
                    c_inside = (truth >= c_low - 1e-9) & (truth <= c_high + 1e-9)
                    row.update({"interval_low": low.tolist(), "interval_high": high.tolist(),
                                "coverage": float(inside.mean()), "interval_width": float(np.mean(high - low)),
                                "calibrated_low": c_low.tolist(), "calibrated_high": c_high.tolist(),
                                "bootstrap_shares": samples.round(6).tolist(),
                                "calibrated_coverage": float(c_inside.mean()),
                                "calibrated_width": float(np.mean(c_high - c_low)),
                                "bootstrap_seconds": time.perf_counter() - t0})
                rows.append(row)
            line = ", ".join(f"{r['method']} {r['log10_mse']:.2f}" + (f" (absent {r['absent_mass']:.1%})"
                                                                     if absent.any() else "")
                             for r in rows if r["merges"] == merges and r["count_mb"] == count_mb)
            print(f"  T={merges:>6} count={count_mb} MB: {line}", flush=True)
    return rows


def _save_program(folder: Path, program, **extra) -> None:
    """Keep a trial's program and truth (pickle) so estimators can be compared later without recounting."""
    import pickle

    folder.mkdir(parents=True, exist_ok=True)
    number = len(list(folder.glob("trial-*.pkl")))
    with open(folder / f"trial-{number:03d}.pkl", "wb") as f:
        pickle.dump({"program": program, **extra}, f)


def _log_mse(got: np.ndarray, truth: np.ndarray) -> float:
    return float(np.log10(max(np.mean((got - truth) ** 2), 1e-30)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=["size", "many", "shift", "unlisted", "appended"], default="size")
    parser.add_argument("--base-merges", type=int, default=2000, help="appended: merges of mixture A")
    parser.add_argument("--categories", action="append", help="set name or directory (repeatable)")
    parser.add_argument("--n", type=int, default=10, help="categories in the truth (size, shift, unlisted)")
    parser.add_argument("--present", type=int, nargs="+", default=[3, 8], help="many: truth size range")
    parser.add_argument("--hidden", type=int, default=2, help="unlisted: categories of the truth not listed")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--merges", type=int, nargs="+", default=[3000])
    parser.add_argument("--count-mb", type=float, nargs="+", default=[1.0])
    parser.add_argument("--train-mb", type=float, default=50.0, help="cap on the training text")
    parser.add_argument("--methods", nargs="+", default=["lp", "trimmed:0.005", "sparse"])
    parser.add_argument("--bootstrap", type=int, default=0,
                        help="resamples for 90%% intervals of the first method; reports their coverage")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-split-mb", type=float, default=0.0,
                        help="draw only categories with at least this much text in each split")
    parser.add_argument("--spare-count-to-train", action="store_true",
                        help="train the tokenizer also on the count documents beyond the largest count sample")
    parser.add_argument("--save-programs", type=Path, default=None,
                        help="pickle every trial's program and truth here (for comparing estimators offline)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.categories = args.categories or ["languages"]

    import numba
    import tokenizers

    from forensics import __version__

    pool = Pool(args.categories)
    if args.min_split_mb:
        pool.keep_larger(args.min_split_mb)
        print(f"{len(pool.names)} categories with at least {args.min_split_mb} MB per split")
    methods = {m: parse_method(m) for m in args.methods}
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, forensics "
               f"{__version__}, tokenizers {tokenizers.__version__}, numba {numba.__version__}")
    print(f"machine: {machine}")
    rng = np.random.default_rng(args.seed)
    rows = []
    for trial in range(args.trials):
        print(f"trial {trial + 1}/{args.trials}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            trial_fn = run_appended_trial if args.setting == "appended" else run_trial
            for row in trial_fn(rng, pool, args, methods, Path(tmp)):
                rows.append({"trial": trial, **row})
    label = "+".join(Path(c).name for c in args.categories)
    print("\n| setting | set | T | count MB/category | method | log10 MSE (mean ± sd) | absent mass (mean, max) | "
          "solve s | trials |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary = []
    for merges in args.merges:
        for count_mb in args.count_mb:
            labels = list(dict.fromkeys(r["method"] for r in rows))   # in the order they were run
            for method in labels:
                group = [r for r in rows if r["merges"] == merges and r["count_mb"] == count_mb
                         and r["method"] == method]
                if not group:
                    continue
                mse = [r["log10_mse"] for r in group]
                absent = [r["absent_mass"] for r in group]
                covered = [r["coverage"] for r in group if "coverage" in r]
                item = {"setting": args.setting, "merges": merges, "count_mb": count_mb, "method": method,
                        "mean": statistics.mean(mse), "sd": statistics.stdev(mse) if len(mse) > 1 else 0.0,
                        "absent_mean": statistics.mean(absent), "absent_max": max(absent),
                        "solve_s": statistics.median(r["solve_seconds"] for r in group), "trials": len(group),
                        "actual_count_mb": statistics.mean(r["count_mb_actual"] for r in group),
                        "coverage_90": statistics.mean(covered) if covered else None,
                        "interval_width": statistics.mean(r["interval_width"] for r in group if "coverage" in r)
                        if covered else None,
                        "calibrated_coverage": statistics.mean(r["calibrated_coverage"] for r in group
                                                               if "coverage" in r) if covered else None,
                        "calibrated_width": statistics.mean(r["calibrated_width"] for r in group
                                                            if "coverage" in r) if covered else None,
                        "fit_early": statistics.median(r["fit_early"] for r in group) if "fit_early" in group[0]
                        else None}
                summary.append(item)
                print(f"| {args.setting} | {label} | {merges:,} | {item['actual_count_mb']:.2f} | {method} | "
                      f"{item['mean']:.2f} ± {item['sd']:.2f} | {item['absent_mean']:.1%}, {item['absent_max']:.1%} | "
                      f"{item['solve_s']:.1f} | {len(group)} |"
                      + (f" bootstrap 90% intervals hold the truth {item['coverage_90']:.0%} (mean width "
                         f"{item['interval_width']:.1%}); calibrated: {item['calibrated_coverage']:.0%} (width "
                         f"{item['calibrated_width']:.1%})" if covered else ""))
    if args.out:
        from forensics._results import provenance, write_json

        parameters = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        write_json(args.out, {"machine": machine, "parameters": parameters, "summary": summary, "trials": rows,
                              "provenance": provenance(command="benchmarks/controlled.py", parameters=parameters,
                                                       seed=args.seed)})


if __name__ == "__main__":
    main()
