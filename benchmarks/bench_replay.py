#!/usr/bin/env python3
"""Merge replay against HF `tokenizers` training and the pure-Python reference, on the same text and merges.

For each sample size and number of merges T: train a byte-level BPE with HF `tokenizers` on the text
(its trainer counts words and pairs and applies merges, plus choosing the maximum), then replay the same
T merges with forensics (word counting + numba replay, no cache) on the same text. The pure-Python
reference runs on a small prefix only (it recounts all pairs every step). Prints MB/s, ratios, peak
memory (each measurement in its own process), the machine and versions. Medians over --repeat runs.

    python benchmarks/bench_replay.py --sizes 1 10 100 --merges 3000 30000 100000
    python benchmarks/bench_replay.py --words --words-mb 50   # word counting only: reference vs fast
Text: real files from this machine (Python's standard library, /usr/share/doc, /usr/include), built once
into benchmarks/data/replay-<N>mb.txt (never committed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def build_text(megabytes: int) -> Path:
    """Concatenate real text files (sorted, deterministic) up to ``megabytes``."""
    target = DATA / f"replay-{megabytes}mb.txt"
    if target.exists():
        return target
    DATA.mkdir(parents=True, exist_ok=True)
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path("/usr/share/doc"), Path("/usr/include")]
    budget = megabytes * 1_000_000
    written = 0
    with open(target, "wb") as out:
        for root in roots:
            for path in sorted(root.rglob("*")):
                if written >= budget:
                    break
                if not path.is_file() or path.suffix not in {".py", ".txt", ".rst", ".md", ".h", ".c", ""}:
                    continue
                try:
                    data = path.read_bytes()
                    data.decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                data = data[: budget - written]
                out.write(data + b"\n\n")
                written += len(data) + 2
    return target


def _child(kind: str, text: str, merges: int, tokenizer: str) -> dict:
    import resource

    started = time.perf_counter()
    if kind == "hf":
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=256 + merges, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False, min_frequency=0)

        def blocks():
            with open(text, encoding="utf-8") as handle:
                while chunk := handle.read(1 << 20):
                    yield chunk

        tok.train_from_iterator(blocks(), trainer=trainer)
        tok.save(tokenizer)
        extra = {"merges_trained": len(json.load(open(tokenizer))["model"]["merges"])}
    else:
        from forensics import load_tokenizer
        from forensics.counting.replay import replay_merges
        from forensics.counting.words import count_words

        tok = load_tokenizer(tokenizer)
        t0 = time.perf_counter()
        words = count_words([text], pretokenizer=tok.training_pretokenizer, workers=os.cpu_count())
        t1 = time.perf_counter()
        trace = replay_merges(words, tok, merges=merges, engine="numba" if kind == "forensics" else "reference")
        extra = {"words_seconds": t1 - t0, "replay_seconds": time.perf_counter() - t1,
                 "unique_words": words.unique_words, "deltas": int(len(trace.delta_key))}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": time.perf_counter() - started, "peak_mb": peak, **extra}


def measure(kind: str, text: Path, merges: int, tokenizer: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(text), str(merges), str(tokenizer)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def prefix(text: Path, size: int) -> Path:
    target = DATA / f"{text.stem}.prefix{size}.txt"
    if not target.exists():
        data = text.read_bytes()[:size]
        target.write_bytes(data.decode("utf-8", "ignore").encode("utf-8"))
    return target


def build_category_text(megabytes: int) -> Path:
    """Bundled category samples (fixtures/categories, sorted), repeated up to ``megabytes``, one text file."""
    import gzip

    target = DATA / f"words-{megabytes}mb.txt"
    if target.exists():
        return target
    DATA.mkdir(parents=True, exist_ok=True)
    texts = []
    for path in sorted((HERE.parent / "fixtures" / "categories").glob("*/*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    blob = "\n\n".join(texts).encode("utf-8")
    budget = megabytes * 1_000_000
    with open(target, "wb") as out:
        written = 0
        while written < budget:
            piece = blob[: budget - written].decode("utf-8", "ignore").encode("utf-8")
            out.write(piece + b"\n\n")
            written += len(piece) + 2
    return target


WORD_TOKENIZERS = {"gpt2 (r50k)": "r50k", "claude": "claude", "cl100k": "cl100k", "o200k": "o200k", "llama3": "llama3",
                   "tekken": "tekken", "whitespace": "whitespace",
                   "sentencepiece mistral (fallback)": "fixtures/tokenizers/sentencepiece/mistral-tokenizer.model.v1"}


def words_main(megabytes: int, repeat: int) -> list[dict]:
    """Word counting alone, reference (processes) vs fast scanner (threads), same text, same run."""
    import numba
    import regex

    from forensics import load_tokenizer
    from forensics.bpe.pretokenize import PreTokenizer
    from forensics.counting.fast_words import supported
    from forensics.counting.words import count_words

    text = build_category_text(megabytes)
    mb = text.stat().st_size / 1e6
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; python "
          f"{platform.python_version()}, regex {regex.__version__}, numba {numba.__version__}")
    print(f"text: {mb:.0f} MB of bundled category samples ({text.name}); median of {repeat} runs, "
          f"{os.cpu_count()} workers each\n")
    print("| pre-tokenizer | fast path | words | reference s | fast s | speedup | reference MB/s | fast MB/s "
          "| reference Mwords/s | fast Mwords/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for label, source in WORD_TOKENIZERS.items():
        rules = (PreTokenizer.preset(source) if source in PreTokenizer.presets()
                 else load_tokenizer(HERE.parent / source).training_pretokenizer)
        count_words([text], pretokenizer=rules, fast=True)  # compile / warm the caches
        times = {}
        for fast in (False, True):
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                counted = count_words([text], pretokenizer=rules, fast=fast)
                runs.append(time.perf_counter() - started)
            times[fast] = statistics.median(runs)
            if not fast:
                reference = counted
        same = reference.words == counted.words and bool((reference.counts == counted.counts).all())
        if not same:
            raise SystemExit(f"{label}: fast counts differ from the reference")
        words = counted.total_words
        row = {"pretokenizer": label, "fast": supported(rules), "words": words, "mb": mb,
               "reference_seconds": times[False], "fast_seconds": times[True]}
        rows.append(row)
        print(f"| {label} | {'yes' if row['fast'] else 'no'} | {words / 1e6:.1f} M | {times[False]:.2f} | "
              f"{times[True]:.2f} | {times[False] / times[True]:.1f}x | {mb / times[False]:.1f} | "
              f"{mb / times[True]:.1f} | {words / times[False] / 1e6:.2f} | {words / times[True] / 1e6:.2f} |",
              flush=True)
    print(json.dumps({"words": rows}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--merges", type=int, nargs="+", default=[3000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference-bytes", type=int, default=100_000)
    parser.add_argument("--reference-merges", type=int, default=300)
    parser.add_argument("--child", nargs=4)
    parser.add_argument("--words", action="store_true", help="time word counting only (reference vs fast)")
    parser.add_argument("--words-mb", type=int, default=50)
    args = parser.parse_args()
    if args.words:
        words_main(args.words_mb, args.repeat)
        return
    if args.child:
        kind, text, merges, tokenizer = args.child
        print(json.dumps(_child(kind, text, int(merges), tokenizer)))
        return
    import numba
    import tokenizers

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; python "
          f"{platform.python_version()}, tokenizers {tokenizers.__version__}, numba {numba.__version__}")
    print("| sample | T | HF train s | forensics s (words + replay) | ratio HF/forensics | HF MB/s | forensics MB/s "
          "| peak MB HF / ours |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for size in args.sizes:
        text = build_text(size)
        mb = text.stat().st_size / 1e6
        for merges in args.merges:
            tokenizer = DATA / f"hf-{size}mb-{merges}.json"
            hf = [measure("hf", text, merges, tokenizer) for _ in range(args.repeat)]
            ours = [measure("forensics", text, merges, tokenizer) for _ in range(args.repeat)]
            hf_s = statistics.median(r["seconds"] for r in hf)
            our_s = statistics.median(r["seconds"] for r in ours)
            words_s = statistics.median(r["words_seconds"] for r in ours)
            replay_s = statistics.median(r["replay_seconds"] for r in ours)
            row = {"mb": mb, "merges": merges, "hf_seconds": hf_s, "forensics_seconds": our_s,
                   "words_seconds": words_s, "replay_seconds": replay_s, "ratio": hf_s / our_s,
                   "hf_peak_mb": max(r["peak_mb"] for r in hf), "forensics_peak_mb": max(r["peak_mb"] for r in ours)}
            results.append(row)
            print(f"| {mb:.0f} MB | {merges:,} | {hf_s:.2f} | {our_s:.2f} ({words_s:.2f} + {replay_s:.2f}) | "
                  f"{hf_s / our_s:.2f}x | {mb / hf_s:.1f} | {mb / our_s:.1f} | "
                  f"{row['hf_peak_mb']:.0f} / {row['forensics_peak_mb']:.0f} |", flush=True)
    # the pure-Python reference, on a prefix small enough for it
    text = prefix(build_text(args.sizes[0]), args.reference_bytes)
    tokenizer = DATA / f"hf-ref-{args.reference_merges}.json"
    measure("hf", text, args.reference_merges, tokenizer)
    ref = measure("reference", text, args.reference_merges, tokenizer)
    ours = statistics.median(measure("forensics", text, args.reference_merges, tokenizer)["replay_seconds"]
                             for _ in range(args.repeat))
    print(f"\nreference vs numba replay on {args.reference_bytes / 1e3:.0f} KB, T = {args.reference_merges}: "
          f"reference {ref['replay_seconds']:.2f} s, numba {ours:.4f} s, ratio {ref['replay_seconds'] / ours:.0f}x")
    print(json.dumps({"results": results, "reference_seconds": ref["replay_seconds"], "numba_seconds": ours}))


if __name__ == "__main__":
    main()
