"""Pair-counting throughput on the CPU against numpy baselines and the memory read bandwidth, same run.

Byte pairs: ``forensics.count_pairs`` over a 1 GB real-text file (built on demand in benchmarks/data/
from this machine's Python sources, /usr/share/doc and /usr/include, repeated to size; never committed),
against the numpy baseline ``np.fromfile`` + ``np.bincount`` on uint16 keys, and as a share of the
single-pass memory read bandwidth (numpy sum on one core; a numba reduction on all cores).

Token pairs: GPT-2 ids (tokenizer rebuilt from fixtures/tokenizers/gpt2) of real text, counted by the
numba/numpy sort + run-length path, against ``np.unique`` and an open-addressing numba hash table.

    .venv/bin/python benchmarks/bench_pairs.py               # full run (1 GB, a few minutes)
    .venv/bin/python benchmarks/bench_pairs.py --size-mb 200 --repeats 3
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
TEXT_SOURCES = [Path(sysconfig.get_paths()["stdlib"]), Path("/usr/share/doc"), Path("/usr/include")]
TEXT_SUFFIXES = {".py", ".txt", ".md", ".rst", ".h", ".hpp", ".c", ".html", ".gz", ""}


# --- real text and tokens --------------------------------------------------------------------------

def gather_text(limit_bytes: int) -> bytes:
    """Up to ``limit_bytes`` of real text from this machine, files in sorted order (gz decompressed)."""
    parts, total = [], 0
    for base in TEXT_SOURCES:
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if total >= limit_bytes:
                return b"".join(parts)
            if not path.is_file() or path.suffix not in TEXT_SUFFIXES or path.is_symlink():
                continue
            try:
                data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            except (OSError, EOFError, gzip.BadGzipFile):
                continue
            if b"\x00" in data[:4096]:  # binary
                continue
            parts.append(data)
            total += len(data)
    return b"".join(parts)


def corpus_file(size_bytes: int, *, directory: Path = DATA) -> Path:
    """A file of exactly ``size_bytes`` of real text (the gathered text repeated), built once."""
    path = directory / f"pairs-corpus-{size_bytes >> 20}mb.txt"
    if path.exists() and path.stat().st_size == size_bytes:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    text = gather_text(min(size_bytes, 400 << 20))
    if not text:
        raise SystemExit(f"no real text found under {', '.join(map(str, TEXT_SOURCES))}")
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        written = 0
        while written < size_bytes:
            piece = text[:size_bytes - written]
            handle.write(piece)
            written += len(piece)
    os.replace(tmp, path)
    return path


def gpt2_tokenizer():
    """GPT-2's byte-level BPE rebuilt as an HF tokenizer from the repository's fixtures."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    folder = ROOT / "fixtures" / "tokenizers" / "gpt2"
    vocab = json.loads(gzip.decompress((folder / "encoder.json.gz").read_bytes()))
    lines = gzip.decompress((folder / "vocab.bpe.gz").read_bytes()).decode("utf-8").splitlines()
    merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def token_ids(text: bytes, *, cache: Path | None = None) -> tuple[np.ndarray, float]:
    """GPT-2 ids of ``text`` (cached as .npy) and the tokenizer's MB/s (nan when read from cache)."""
    if cache is not None and cache.exists():
        return np.load(cache), float("nan")
    from forensics.counting.pairs import encode_texts

    tok = gpt2_tokenizer()
    strings = text.decode("utf-8", "replace")
    blocks = [strings[i:i + (1 << 16)] for i in range(0, len(strings), 1 << 16)]
    start = time.perf_counter()
    ids = np.concatenate(encode_texts(tok, blocks))
    rate = len(text) / (time.perf_counter() - start) / 1e6
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, ids)
    return ids, rate


# --- measurement helpers ---------------------------------------------------------------------------

def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def numba_read_bandwidth_fn():
    from numba import njit, prange

    @njit(parallel=True, cache=True)
    def parallel_sum(words):
        total = np.uint64(0)
        for i in prange(words.size):
            total += words[i]
        return total

    return parallel_sum


def machine() -> dict:
    import numba

    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:
        memory = "?"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory, "python": sys.version.split()[0],
            "numpy": np.__version__, "numba": numba.__version__, "numba_threads": numba.get_num_threads(),
            "platform": platform.platform()}


# --- the hash-table alternative (measured, not used) -----------------------------------------------

def hash_table_counts_fn():
    from numba import njit

    @njit(nogil=True, cache=True)
    def count(ids, bits):
        size = 1 << bits
        keys = np.zeros(size, np.uint64)
        counts = np.zeros(size, np.uint64)
        used = 0
        golden = np.uint64(0x9E3779B97F4A7C15)
        for i in range(ids.size - 1):
            key = (np.uint64(ids[i]) << np.uint64(32)) | np.uint64(ids[i + 1])
            slot = (key * golden) >> np.uint64(64 - bits)
            while True:
                if counts[slot] == 0:
                    keys[slot] = key
                    counts[slot] = 1
                    used += 1
                    break
                if keys[slot] == key:
                    counts[slot] += 1
                    break
                slot = (slot + np.uint64(1)) & np.uint64(size - 1)
            if 2 * used > size:  # grow by rehashing into a table twice the size
                bits += 1
                size = 1 << bits
                new_keys = np.zeros(size, np.uint64)
                new_counts = np.zeros(size, np.uint64)
                for j in range(keys.size):
                    if counts[j]:
                        s = (keys[j] * golden) >> np.uint64(64 - bits)
                        while new_counts[s]:
                            s = (s + np.uint64(1)) & np.uint64(size - 1)
                        new_keys[s] = keys[j]
                        new_counts[s] = counts[j]
                keys, counts = new_keys, new_counts
        return keys, counts

    def counts_sorted(ids):
        keys, counts = count(ids, 16)
        used = counts != 0
        order = np.argsort(keys[used])
        return keys[used][order], counts[used][order]

    return counts_sorted


# --- benchmarks ------------------------------------------------------------------------------------

def bench_bytes(size_bytes: int, repeats: int) -> list[dict]:
    from forensics.counting._pairs_numba import byte_pair_histogram
    from forensics.counting.pairs import CpuBackend, count_pairs

    path = corpus_file(size_bytes)
    rows = []
    backend = CpuBackend()
    one_thread = CpuBackend(threads=1)
    data = np.fromfile(path, np.uint8)  # also warms the page cache for every contender
    words = data[: data.size // 8 * 8].view(np.uint64)
    parallel_sum = numba_read_bandwidth_fn()
    parallel_sum(words[:1024])

    def numpy_baseline():
        a = np.fromfile(path, np.uint8)
        return np.bincount((a[:-1].astype(np.uint16) << 8) | a[1:], minlength=65536)

    timings = {
        "numpy fromfile + bincount (baseline)": median_time(numpy_baseline, repeats),
        "count_pairs(file), all cores": median_time(lambda: count_pairs([path], backend=backend), repeats),
        "count_pairs(file), 1 thread": median_time(
            lambda: count_pairs([path], backend=one_thread), repeats),
        "kernel on in-memory array, all cores": median_time(lambda: byte_pair_histogram(data), repeats),
        "kernel on in-memory array, 1 thread": median_time(lambda: byte_pair_histogram(data, threads=1),
                                                           repeats),
        "np.fromfile alone (read from page cache)": median_time(lambda: np.fromfile(path, np.uint8), repeats),
        "memory read: numpy sum (1 core)": median_time(lambda: words.sum(), repeats),
        "memory read: numba sum (all cores)": median_time(lambda: parallel_sum(words), repeats),
    }
    want = numpy_baseline().astype(np.uint64)
    assert np.array_equal(count_pairs([path], backend=backend).histogram(), want), "counts differ"
    baseline = timings["numpy fromfile + bincount (baseline)"]
    read_1 = timings["memory read: numpy sum (1 core)"]
    read_all = timings["memory read: numba sum (all cores)"]
    for name, seconds in timings.items():
        rows.append({"benchmark": f"bytes: {name}", "seconds": seconds,
                     "GB/s": size_bytes / seconds / 1e9, "x numpy": baseline / seconds,
                     "share of 1-core read": read_1 / seconds, "share of all-core read": read_all / seconds})
    return rows


def bench_tokens(text_bytes: int, repeats: int, tile: int) -> list[dict]:
    import numba

    from forensics.counting._pairs_numba import token_pair_counts

    cache = DATA / f"pairs-gpt2-ids-{text_bytes >> 20}mb.npy"
    ids, tokenizer_rate = token_ids(gather_text(text_bytes)[:text_bytes], cache=cache)
    ids = np.tile(ids, tile)  # more pairs for stable timings; the distinct pairs stay those of real text
    n_pairs = ids.size - 1
    hash_counts = hash_table_counts_fn()
    hash_counts(ids[:1000])
    token_pair_counts(ids[:1000])
    threads = numba.get_num_threads()

    def numpy_unique():
        keys = (ids[:-1].astype(np.uint64) << np.uint64(32)) | ids[1:]
        return np.unique(keys, return_counts=True)

    timings = {
        "numpy keys + np.unique (baseline)": (median_time(numpy_unique, repeats), 1),
        "sort + run-length, 1 thread": (median_time(lambda: token_pair_counts(ids, threads=1), repeats), 1),
        f"sort + run-length, {threads} threads": (median_time(lambda: token_pair_counts(ids), repeats), threads),
        "numba hash table, 1 thread": (median_time(lambda: hash_counts(ids), repeats), 1),
    }
    keys, counts = token_pair_counts(ids)
    hk, hc = hash_counts(ids)
    uk, uc = numpy_unique()
    assert np.array_equal(keys, hk) and np.array_equal(counts, hc) and np.array_equal(keys, uk)
    rows = []
    baseline = timings["numpy keys + np.unique (baseline)"][0]
    for name, (seconds, cores) in timings.items():
        rows.append({"benchmark": f"tokens: {name}", "seconds": seconds, "Mpairs/s": n_pairs / seconds / 1e6,
                     "Mpairs/s per core": n_pairs / seconds / 1e6 / cores, "x numpy": baseline / seconds})
    rows.append({"benchmark": "tokens: corpus", "pairs": n_pairs, "distinct pairs": int(keys.size),
                 "tile": tile, "GPT-2 tokenizer MB/s (encode_batch)": tokenizer_rate})
    return rows


def markdown(rows: list[dict]) -> str:
    columns = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="byte-pair corpus size (MiB)")
    parser.add_argument("--token-text-mb", type=int, default=16, help="text tokenized for token pairs (MiB)")
    parser.add_argument("--tile", type=int, default=4, help="repeat the token ids this many times")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-bytes", action="store_true")
    parser.add_argument("--skip-tokens", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = []
    if not args.skip_bytes:
        rows += bench_bytes(args.size_mb << 20, args.repeats)
    if not args.skip_tokens:
        rows += bench_tokens(args.token_text_mb << 20, args.repeats, args.tile)
    info = machine()
    print("machine:", ", ".join(f"{k}={v}" for k, v in info.items()))
    print(f"median of {args.repeats} runs, page cache warm\n")
    print(markdown(rows))
    if args.out:
        args.out.write_text(json.dumps({"machine": info, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
