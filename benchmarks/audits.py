#!/usr/bin/env python3
"""Real audits as the check: every real tokenizer the project reads, against the bundled and the built sets.

Each audit runs `forensics infer` with every estimator on one window of merges and reports English, code
and other-language shares beside the paper's Table 4 (Hayase et al. 2024), plus the evidence diagnostics
and warnings a user sees. These audits are the *check*: no estimator setting is chosen by them (the
controlled benchmarks in benchmarks/controlled.py choose; benchmarks/results/inference.md).

    python benchmarks/audits.py                       # bundled sets, and the built sets when present
    python benchmarks/audits.py --sets bundled --methods lp trimmed --out benchmarks/results/audits.json
    python benchmarks/audits.py --methods sparse --add-to      # add one method's rows to the earlier run's

Large tokenizers (Llama 3, Qwen 3, full tekken) come from `python fixtures/rebuild_tokenizers.py
--large-only` (into the forensics cache); audits whose tokenizer is missing are listed as skipped.
Writes a markdown table to stdout and, with --md, to benchmarks/results/audits.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = Path(os.environ.get("FORENSICS_CACHE", Path.home() / ".cache" / "forensics")) / "tokenizers"
TOK = ROOT / "fixtures" / "tokenizers"

# name, candidate paths (first that exists), start, merges, Table 4 of the paper (shares of the groups)
AUDITS = [
    ("GPT-2 (r50k)", [TOK / "gpt2/vocab.bpe.gz"], 0, 3000, {"English": 0.991}),
    ("GPT-3.5 (cl100k)", [TOK / "tiktoken/cl100k_base.tiktoken.gz"], 0, 3000, {"code": 0.626}),
    ("GPT-4o (o200k)", [TOK / "tiktoken/o200k_base.tiktoken.gz"], 0, 3000, {"non-English": 0.390}),
    ("Llama 3, appended merges 100,000-103,000", [CACHE / "llama3.tokenizer.json"], 100_000, 3000,
     {"non-English": 0.485, "code": 0.302}),
    ("Claude", [TOK / "claude/claude.json.gz"], 0, 3000, {"code": 0.575}),
    ("Mistral NeMo (tekken)", [CACHE / "tekken_240911.json", TOK / "tekken/tekken_240911.first6000.json.gz"], 0,
     3000, {"non-English": 0.466}),
    ("Mistral v1 (SentencePiece)", [TOK / "sentencepiece/mistral-tokenizer.model.v1"], 0, 3000, {}),
    ("Qwen 3", [CACHE / "qwen3.tokenizer.json"], 0, 3000, {}),
]
BUILT = ROOT / "benchmarks" / "data" / "scan-sets"


# the groups of Table 4, as `forensics infer --group` takes them ("non-English": every language but English)
GROUPS = {"English": ["en"], "code": ["@code"], "non-English": ["@language", "-en"]}


def _share(value: float, interval: list[float] | None) -> str:
    return f"{value:.1%}" + (f" ({interval[0]:.0%}-{interval[1]:.0%})" if interval else "")


def render(rows: list[dict], skipped: list[str]) -> str:
    lines = ["| audit | window | sets | method | English | code | other languages | token classif. (En / code / "
             "other) | paper (Table 4) | first-merge fit | warnings | top categories | total s | estimator s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g, tc, gi = r["groups"], r["token_classification"], r.get("group_intervals") or {}
        paper = ", ".join(f"{k} {v:.1%}" for k, v in r["paper"].items()) or "-"
        top = ", ".join(f"{k} {v:.1%}" for k, v in r["top"][:4])
        lines.append(f"| {r['audit']} | {r['window'][0]:,}-{r['window'][1]:,} | {r['sets']} | {r['method']} | "
                     f"{_share(g['English'], gi.get('English'))} | {_share(g['code'], gi.get('code'))} | "
                     f"{_share(g['non-English'], gi.get('non-English'))} | {tc['English']:.0%} / "
                     f"{tc['code']:.0%} / {tc['non-English']:.0%} | {paper} | {r['fit_early']:.2f} | "
                     f"{len(r['warnings'])} | {top} | {r['seconds']:.0f} | {r['solver_seconds']:.0f} |")
    lines += [f"\nskipped: {s}" for s in skipped]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["bundled", "built"], choices=["bundled", "built"])
    parser.add_argument("--methods", nargs="+", default=["lp", "sparse"])
    parser.add_argument("--only", nargs="*", help="audits whose name contains one of these")
    parser.add_argument("--bootstrap", type=int, default=0, help="resamples for intervals (groups and categories)")
    parser.add_argument("--merges", type=int, help="window length instead of each audit's (3,000)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/audits.json")
    parser.add_argument("--md", type=Path)
    parser.add_argument("--from-json", type=Path, help="only render the markdown of an earlier run's JSON")
    parser.add_argument("--add-to", action="store_true",
                        help="keep the rows of --out for audits, sets and methods this run does not redo")
    args = parser.parse_args()
    if args.from_json:
        import json

        data = json.loads(args.from_json.read_text())
        table = render(data["rows"], data["skipped"])
        print(table)
        if args.md:
            args.md.write_text(table + "\n")
        return

    from forensics import __version__, infer_mixture, load_tokenizer

    set_specs = {"bundled": ["languages", "code"]}
    if "built" in args.sets and (BUILT / "languages").is_dir() and (BUILT / "code").is_dir():
        set_specs["built"] = [str(BUILT / "languages"), str(BUILT / "code")]
    rows, skipped = [], []
    for name, candidates, start, merges, paper in AUDITS:
        if args.only and not any(o.lower() in name.lower() for o in args.only):
            continue
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            skipped.append(f"{name}: tokenizer not fetched ({candidates[0]})")
            continue
        tok = load_tokenizer(path)
        for set_name in args.sets:
            if set_name not in set_specs:
                skipped.append(f"{name} with {set_name} sets: run bash benchmarks/build_scan_sets.sh first")
                continue
            spec = set_specs[set_name]
            merges = args.merges or merges
            for method in args.methods:
                t0 = time.perf_counter()
                estimate = infer_mixture(tok, spec, merges=merges, start=start, method=method, groups=GROUPS,
                                         bootstrap=args.bootstrap)
                seconds = time.perf_counter() - t0
                top = sorted(estimate.shares.items(), key=lambda kv: -kv[1])[:5]
                d = estimate.diagnostics
                row = {"audit": name, "tokenizer": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                       "tokenizer_sha256": tok.sha256, "window": [start, start + merges], "sets": set_name,
                       "method": method, "groups": {k: g["share"] for k, g in estimate.groups.items()},
                       "group_intervals": {k: g["interval"] for k, g in estimate.groups.items()} if args.bootstrap
                       else None, "paper": paper,
                       "token_classification": {k: g["token_classification"] for k, g in estimate.groups.items()},
                       "top": top, "intervals": estimate.intervals, "bootstrap": args.bootstrap,
                       "fit_early": d["fit_early"], "merges_with_evidence": d["merges_with_evidence"],
                       "dropped": len(d["dropped_categories"]), "warnings": estimate.warnings,
                       "seconds": seconds, "solver_seconds": d["estimating_seconds"]}
                rows.append(row)
                g = row["groups"]
                print(f"{name} [{set_name}, {method}]: English {g['English']:.1%}, code {g['code']:.1%}, "
                      f"non-English {g['non-English']:.1%}; fit_early {d['fit_early']:.2f}; {seconds:.0f} s",
                      flush=True)
    if args.add_to and args.out.exists():
        import json

        def key(r: dict) -> tuple:
            return r["audit"], r["sets"], r["method"], tuple(r["window"]), r.get("bootstrap", 0)

        done = {key(r) for r in rows}
        kept = [r for r in json.loads(args.out.read_text())["rows"] if key(r) not in done]
        order = {name: i for i, (name, *_rest) in enumerate(AUDITS)}
        rows = sorted(kept + rows, key=lambda r: (order.get(r["audit"], 99), r["sets"] != "bundled",
                                                 ["lp", "trimmed", "sparse", "weighted"].index(r["method"])))
    table = render(rows, skipped)
    print("\n" + table)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, forensics {__version__}"
    from forensics._results import provenance, write_json

    parameters = {"sets": {k: v for k, v in set_specs.items() if k in args.sets},
                  "methods": sorted({r["method"] for r in rows})}
    write_json(args.out, {"machine": machine, "rows": rows, "skipped": skipped,
                          "provenance": provenance(command="benchmarks/audits.py", parameters=parameters, seed=0)})
    if args.md:
        args.md.write_text(table + "\n")


if __name__ == "__main__":
    main()
