"""`make demo`: the main job on bundled data, end to end.

1. Train a byte-level BPE tokenizer (HF `tokenizers`) on a hidden random mixture of bundled language
   samples (train split), infer the mixture back from disjoint text (count split), print truth against
   estimate.
2. Audit a real tokenizer: GPT-2's merge list against the bundled languages.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", type=int, default=8)
    parser.add_argument("--merges", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table
    from forensics import infer_mixture, load_categories, load_tokenizer
    from forensics.inference.experiments import mixture_text, train_reference_bpe

    out = Console()
    seed = args.seed if args.seed is not None else int(time.time()) % 10_000
    rng = np.random.default_rng(seed)
    train = load_categories("languages", split="train")
    count = load_categories("languages", split="count")
    names = sorted(rng.choice([c.name for c in train], size=args.languages, replace=False).tolist())
    truth_weights = rng.dirichlet(np.ones(len(names)))
    out.rule(f"1. hidden mixture of {len(names)} languages (seed {seed})")
    parts, truth = mixture_text({n: train[n].texts() for n in names}, truth_weights, budget=5e6)
    texts = [doc for docs in parts.values() for doc in docs]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tokenizer.json"
        train_reference_bpe(texts, args.merges, path)
        size = sum(len(t.encode()) for t in texts)
        out.print(f"trained a {args.merges:,}-merge BPE tokenizer on {size / 1e6:.2f} MB in "
                  f"{time.perf_counter() - started:.1f} s; inferring from the disjoint count split ...")
        estimate = infer_mixture(load_tokenizer(path), {n: [str(f) for f in count[n].files] for n in names},
                                 merges=args.merges)
    table = Table(title="truth vs estimate (share of training bytes)", title_justify="left")
    for column in ("language", "truth", "estimate", "token-classification baseline"):
        table.add_column(column, justify="left" if column == "language" else "right")
    got = np.array([estimate.shares[n] for n in names])
    baseline = np.array([estimate.baselines["token_classification"][n] for n in names])
    for i in np.argsort(-truth):
        table.add_row(names[i], f"{truth[i]:.2%}", f"{got[i]:.2%}", f"{baseline[i]:.2%}")
    out.print(table)
    d = estimate.diagnostics
    out.print(f"log10 MSE: LP {np.log10(np.mean((got - truth) ** 2)):.2f}, baseline "
              f"{np.log10(np.mean((baseline - truth) ** 2)):.2f}; LP solved in {d['solver_seconds']} s "
              f"({d['rounds']} rounds, {d['rows_final']:,} rows standing for {d['step_pair_rows_represented']:,})")

    out.rule("2. audit a real tokenizer: GPT-2 against the bundled languages (first 3,000 merges)")
    gpt2 = load_tokenizer(ROOT / "fixtures" / "tokenizers" / "gpt2" / "vocab.bpe.gz")
    audit = infer_mixture(gpt2, "languages", merges=3000)
    top = [(k, v) for k, v in sorted(audit.shares.items(), key=lambda item: -item[1]) if v > 0][:8]
    table = Table(title="GPT-2: estimated share of training bytes (every category kept)", title_justify="left")
    table.add_column("language")
    table.add_column("share", justify="right")
    for name, share in top:
        table.add_row(name, f"{share:.2%}")
    out.print(table)
    d = audit.diagnostics
    out.print(f"evidence: fit of the first merges {d['fit_early']:.2f} (median 0.90 in controlled trials whose count "
              f"text comes from the training sources); {len(d['dropped_categories'])} categories set to zero "
              f"by the sparse estimator ({d['thin_spread_removed']:.1%} of the untrimmed estimate)", markup=False)
    for line in audit.warnings:
        out.print(f"warning: {line}", markup=False)
    out.print(json.dumps({"gpt2_top": dict(top)}, indent=None))


if __name__ == "__main__":
    main()
