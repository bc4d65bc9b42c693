"""Write a synthetic corpus of known make-up for `forensics scan` benchmarks (into benchmarks/data/, gitignored).

Documents are 1-4 paragraphs (200+ bytes each) of one category from the COUNT split of the bundled
sets (profiles are built from the TRAIN split), in shards of mixed formats (.jsonl, .jsonl.gz,
.jsonl.zst); the exact byte make-up goes to <out>.truth.json.

    python benchmarks/make_synthetic_corpus.py --mb 1024 --shards 64 --out benchmarks/data/scan-1gb
"""

from __future__ import annotations

import argparse
import time

from forensics.composition.synthetic import write_synthetic_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=1024, help="Total text (MB, 10**6 bytes).")
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--categories", default="languages,code", help="Comma-separated category sets.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/data/scan-1gb")
    args = parser.parse_args()
    started = time.perf_counter()
    truth = write_synthetic_corpus(args.out, args.categories.split(","), total_bytes=int(args.mb * 1e6),
                                   shards=args.shards, seed=args.seed)
    total = sum(truth["bytes"].values())
    print(f"wrote {args.out}: {sum(truth['documents'].values()):,} documents, {total / 1e6:,.0f} MB of text, "
          f"{len(truth['files'])} shards, {len(truth['bytes'])} categories in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
