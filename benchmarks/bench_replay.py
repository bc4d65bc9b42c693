#!/usr/bin/env python3
"""Merge replay against HF `tokenizers` training and the pure-Python reference, on the same text and merges.

For each sample size and number of merges T: train a byte-level BPE with HF `tokenizers` on the text
(its trainer counts words and pairs and applies merges, plus choosing the maximum), then replay the same
T merges with forensics (word counting + numba replay, no cache) on the same text. The pure-Python
reference runs on a small prefix only (it recounts all pairs every step). Prints MB/s, ratios, peak
memory (each measurement in its own process), the machine and versions. Medians over --repeat runs.

    python benchmarks/bench_replay.py --sizes 1 10 100 --merges 3000 30000 100000
    python benchmarks/bench_replay.py --words --words-mb 50   # word counting only: reference vs fast
    python benchmarks/bench_replay.py --category-mib 1024 --merges 30000   # one 1 GiB category (issue 17)
Text: real files from this machine (Python's standard library, /usr/share/doc, /usr/include), built once
into benchmarks/data/replay-<N>mb.txt (never committed). The category mode takes distinct files (by
sha256) of more folders (also site-packages, /usr/lib, /usr/share), then repeats them up to the size if
the machine holds less distinct text, and reports the unique fraction; it writes
benchmarks/results/replay-category-<N>mib.json (machine, versions, parameters, load average at start
and end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
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
    return {"seconds": time.perf_counter() - started, "peak_mb": _own_peak_kb() / 1024, **extra}


def _own_peak_kb() -> int:
    """This process's peak resident KiB since it started its program. Not ``ru_maxrss``: Linux carries
    that over from the parent when a child is started with vfork and exec, as ``subprocess`` does."""
    import resource

    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(kind: str, text: Path, merges: int, tokenizer: Path) -> dict:
    """One run in its own process: the child's figures plus ``wall_seconds`` (process start to exit) and
    ``tree_peak_mb`` (the most resident memory of the process and its descendants together, sampled
    every 20 ms; the child's own ``peak_mb`` is exact for itself)."""
    import tempfile

    from _measure import run_measured

    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        run = run_measured([sys.executable, __file__, "--child", kind, str(text), str(merges), str(tokenizer)],
                           interval=0.02, stdout=stdout, stderr=stderr, text=True)
        stdout.seek(0)
        stderr.seek(0)
        if run.returncode:
            raise SystemExit(stderr.read())
        result = json.loads(stdout.read().strip().splitlines()[-1])
    return {**result, "wall_seconds": run.wall_seconds, "tree_peak_mb": run.tree_peak_kb / 1024}


def prefix(text: Path, size: int) -> Path:
    target = DATA / f"{text.stem}.prefix{size}.txt"
    if not target.exists():
        with open(text, "rb") as handle:  # the prefix only: the text may be a GiB
            data = handle.read(size)
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


def category_roots() -> list[Path]:
    """Folders of real text, in the order taken: those of :func:`build_text` first."""
    paths = sysconfig.get_paths()
    return [Path(paths["stdlib"]), Path("/usr/share/doc"), Path("/usr/include"), Path(paths["purelib"]),
            Path("/usr/lib"), Path("/usr/share")]


def build_category(mib: int) -> tuple[Path, dict]:
    """``mib`` MiB of real text of this machine as one file: distinct files (by sha256; suffixes as
    :func:`build_text`, valid UTF-8 only) root by root in sorted order, then, when the machine holds less,
    that distinct part again and again up to the size (cut at a line end). Returns the file and how it
    was made (bytes, unique bytes, unique fraction, files, roots)."""
    import hashlib

    target = DATA / f"category-{mib}mib.txt"
    about = target.with_suffix(".json")
    if target.exists() and about.exists():
        return target, json.loads(about.read_text())
    DATA.mkdir(parents=True, exist_ok=True)
    budget = mib << 20
    seen: set[bytes] = set()
    written = files = 0
    partial = target.with_suffix(".part")
    with open(partial, "wb") as out:
        for root in category_roots():
            if written >= budget:
                break
            for path in sorted(root.rglob("*")):
                if written >= budget:
                    break
                try:
                    if not path.is_file() or path.suffix not in {".py", ".txt", ".rst", ".md", ".h", ".c", ""}:
                        continue
                    data = path.read_bytes()
                    data.decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                digest = hashlib.sha256(data).digest()
                if digest in seen:
                    continue
                seen.add(digest)
                data = data[: max(0, budget - written - 2)].decode("utf-8", "ignore").encode("utf-8") + b"\n\n"
                out.write(data)
                written += len(data)
                files += 1
        unique = written
        if not unique:
            raise SystemExit(f"no text files in {', '.join(map(str, category_roots()))}")
        with open(partial, "rb") as again:
            while written < budget:  # the distinct text again, 1 MiB at a time, the last piece cut at a line end
                again.seek(0)
                done = 0
                while done < unique and written < budget:
                    chunk = again.read(min(1 << 20, unique - done))
                    if written + len(chunk) > budget:
                        chunk = chunk[: budget - written]
                        chunk = chunk[: chunk.rfind(b"\n") + 1]
                        out.write(chunk)
                        written = budget
                        break
                    out.write(chunk)
                    done += len(chunk)
                    written += len(chunk)
    size = partial.stat().st_size
    info = {"bytes": size, "unique_bytes": unique, "unique_fraction": unique / size, "distinct_files": files,
            "roots": [str(root) for root in category_roots()],
            "how": "distinct files (sha256) root by root in sorted order, each followed by a blank line; "
                   "then that distinct part repeated up to the size, the last copy cut at a line end"}
    partial.replace(target)
    about.write_text(json.dumps(info, indent=2) + "\n")
    return target, info


def _shown(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    return str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path)


def category_main(mib: int, merges: int, repeat: int, tokenizer: str, out: Path | None) -> dict:
    """One large category in one run: forensics words + replay of ``merges`` merges of a pretrained merge
    list, and HF `tokenizers` training ``merges`` merges on the same text; wall time and peak memory of
    each process tree, medians of ``repeat`` runs."""
    import numba
    import tokenizers

    from forensics import __version__, load_tokenizer
    from forensics._results import file_sha256, provenance, write_json

    load_start = os.getloadavg()
    text, made = build_category(mib)
    mb = text.stat().st_size / 1e6
    trained = DATA / f"hf-category-{mib}mib-{merges}.json"
    replayed = trained if tokenizer == "hf" else Path(tokenizer).resolve()
    merge_list = "the merges HF trains in this run" if tokenizer == "hf" else _shown(replayed)
    if tokenizer != "hf" and load_tokenizer(replayed).num_merges < merges:
        raise SystemExit(f"{tokenizer} has fewer than {merges} merges")
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; python "
               f"{platform.python_version()}, forensics {__version__}, tokenizers {tokenizers.__version__}, "
               f"numba {numba.__version__}")
    print(f"machine: {machine}")
    repeated = ", then repeated" if made["unique_bytes"] < made["bytes"] else ""
    print(f"text: {text.name}, {mb:.0f} MB ({made['unique_fraction']:.0%} distinct: {made['unique_bytes'] / 1e6:.0f} "
          f"MB of {made['distinct_files']:,} distinct files{repeated}); merges replayed: {merge_list}; "
          f"load average at start {load_start[0]:.2f}", flush=True)
    with open(text, "rb") as handle:  # the page cache holds the text for whichever runs first
        while handle.read(64 << 20):
            pass
    hf_runs: list[dict] = []
    our_runs: list[dict] = []
    if tokenizer == "hf":  # its merges are needed first
        hf_runs.append(measure("hf", text, merges, trained))
    measure("forensics", prefix(text, 1_000_000), min(merges, 300), replayed)  # numba's cache warm, not timed
    for _ in range(repeat):
        our_runs.append(measure("forensics", text, merges, replayed))
        if len(hf_runs) < repeat:
            hf_runs.append(measure("hf", text, merges, trained))
    load_end = os.getloadavg()

    def median(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    def peak(runs: list[dict]) -> float:
        return max(max(r["tree_peak_mb"], r["peak_mb"]) for r in runs)

    row = {"mb": mb, "mib": mib, "merges": merges, "runs": repeat,
           "forensics_seconds": median(our_runs, "wall_seconds"), "words_seconds": median(our_runs, "words_seconds"),
           "replay_seconds": median(our_runs, "replay_seconds"), "forensics_peak_mb": peak(our_runs),
           "hf_seconds": median(hf_runs, "wall_seconds"), "hf_peak_mb": peak(hf_runs),
           "unique_words": our_runs[0]["unique_words"], "deltas": our_runs[0]["deltas"],
           "hf_merges_trained": hf_runs[0]["merges_trained"]}
    row["ratio"] = row["hf_seconds"] / row["forensics_seconds"]
    runs_note = "one run each" if repeat == 1 else f"medians of {repeat} runs"
    print(f"\n{runs_note}, wall time of each process (imports included), peak memory of its process tree")
    print("| category | T | HF train s | forensics s (words + replay) | HF / forensics | peak MB HF / ours |")
    print("|---|---|---|---|---|---|")
    print(f"| {mb:.0f} MB ({made['unique_fraction']:.0%} distinct) | {merges:,} | {row['hf_seconds']:.1f} | "
          f"{row['forensics_seconds']:.1f} ({row['words_seconds']:.1f} + {row['replay_seconds']:.1f}) | "
          f"{row['ratio']:.2f}x | {row['hf_peak_mb']:.0f} / {row['forensics_peak_mb']:.0f} |")
    print(f"load average: start {load_start[0]:.2f}, end {load_end[0]:.2f}")
    result = {"machine": machine, "row": row, "text": {"file": text.name, **made},
              "merge_list": merge_list, "note": f"{runs_note}; other jobs may share the machine (load averages)",
              "load_average": {"start": list(load_start), "end": list(load_end)},
              "runs": {"forensics": our_runs, "hf": hf_runs},
              "provenance": provenance(command="benchmarks/bench_replay.py --category-mib",
                                       parameters={"category_mib": mib, "merges": merges, "repeat": repeat,
                                                   "tokenizer": merge_list, "workers": os.cpu_count()},
                                       inputs={text.name: file_sha256(text),
                                               replayed.name: file_sha256(replayed)})}
    out = out or HERE / "results" / f"replay-category-{mib}mib.json"
    write_json(out, result)
    print(f"wrote {out}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--merges", type=int, nargs="+", default=[3000])
    parser.add_argument("--repeat", type=int, help="runs per measurement (median; default 3, --category-mib 1)")
    parser.add_argument("--reference-bytes", type=int, default=100_000)
    parser.add_argument("--reference-merges", type=int, default=300)
    parser.add_argument("--child", nargs=4)
    parser.add_argument("--words", action="store_true", help="time word counting only (reference vs fast)")
    parser.add_argument("--words-mb", type=int, default=50)
    parser.add_argument("--category-mib", type=int, help="one category of this many MiB (forensics and HF, one run "
                        "each unless --repeat is given); the first --merges value is used")
    parser.add_argument("--category-tokenizer", default=str(HERE.parent / "fixtures/tokenizers/gpt2/vocab.bpe.gz"),
                        help="the merge list replayed in --category-mib ('hf': the one HF trains in the run)")
    parser.add_argument("--out", type=Path, help="--category-mib: the JSON file (default "
                        "benchmarks/results/replay-category-<N>mib.json)")
    args = parser.parse_args()
    if args.category_mib:
        category_main(args.category_mib, args.merges[0], args.repeat or 1, args.category_tokenizer, args.out)
        return
    args.repeat = args.repeat or 3
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
