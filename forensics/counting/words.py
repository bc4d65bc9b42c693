"""Word counts: a category sample pre-tokenized with the tokenizer's own rules into unique words.

What it does: streams documents from any supported shard (txt, jsonl, gz, zst, parquet), cuts plain
text into blocks where no word can straddle a cut, pre-tokenizes batches of a few MB on all cores (at most
two batches per worker in flight) and counts unique words with 64-bit counts. Memory grows with the number
of unique words, not with the sample: a 1 GiB text category (source code and documentation, 271 million
words, 1.46 million unique) counted and replayed over GPT-2's first 30,000 merges in one process peaked at
696-769 MB in four runs (1,334-1,383 MB before the word table's hand-over, the symbol encoding, the initial
pair counts and the replay index were made leaner), 233 MB of it the interpreter, numba and the tokenizer:
330-370 bytes per unique word. The peak is in the replay (its index and per-step changes); counting's
own is about 660 MB (``benchmarks/bench_replay.py --category-mib 1024``).

What it leaves out: merging (see :mod:`forensics.counting.replay`).

>>> wc = count_words(["fixtures/text/udhr-sample.txt"], pretokenizer=PreTokenizer.preset("gpt2"))  # doctest: +SKIP
>>> wc.words[:3], wc.counts[:3]  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensics.bpe.pretokenize import PreTokenizer
from forensics.corpus.readers import Document, ReadStats, iter_documents

BATCH_CHARS = 4 << 20  # characters handed to a worker at a time
FAST_BATCH_CHARS = 2 << 20  # the fast scanner's batches: fewer merges, yet both threads busy to the end
TRIM_EVERY = 32  # fast batches between two calls of _release_freed_memory


@dataclass
class WordCounts:
    """Unique words of a sample with 64-bit counts, plus what reading saw.

    >>> WordCounts(words=["a", " b"], counts=np.array([2, 1])).total_words
    3
    """

    words: list[str]
    counts: np.ndarray
    bytes: int = 0
    documents: int = 0
    invalid_utf8_sequences: int = 0
    documents_with_invalid_utf8: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    source_hash: str = ""

    @property
    def total_words(self) -> int:
        return int(self.counts.sum()) if len(self.counts) else 0

    @property
    def unique_words(self) -> int:
        return len(self.words)

    def save(self, path: str | os.PathLike) -> None:
        """Write to ``.npz`` atomically (words as one UTF-8 blob plus offsets)."""
        from forensics._results import atomic_write_bytes

        encoded = [w.encode("utf-8", "surrogatepass") for w in self.words]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        import io
        import json

        buffer = io.BytesIO()
        meta = {"bytes": self.bytes, "documents": self.documents, "invalid_utf8_sequences": self.invalid_utf8_sequences,
                "documents_with_invalid_utf8": self.documents_with_invalid_utf8, "problems": self.problems[:100],
                "seconds": self.seconds, "source_hash": self.source_hash}
        np.savez(buffer, blob=np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets=offsets,
                 counts=self.counts.astype(np.int64), meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "WordCounts":
        import json

        with np.load(path) as data:
            blob = data["blob"].tobytes()
            offsets = data["offsets"]
            words = [blob[offsets[i]:offsets[i + 1]].decode("utf-8", "surrogatepass") for i in range(len(offsets) - 1)]
            meta = json.loads(data["meta"].tobytes())
            return cls(words=words, counts=data["counts"].copy(), **meta)


def _count_batch(texts: list[str], pretokenizer: PreTokenizer) -> Counter:
    counter: Counter = Counter()
    for text in texts:
        counter.update(pretokenizer.split(text))
    return counter


def _count_sized(texts: list[str], pretokenizer: PreTokenizer) -> tuple[Counter, int]:
    """A batch's counts and its characters (for progress), in a worker."""
    return _count_batch(texts, pretokenizer), sum(len(t) for t in texts)


def _count_reference(docs: Iterable[Document], pretokenizer: PreTokenizer, workers: int, progress) -> Counter:
    """Count with ``PreTokenizer.split`` on the local backend: batches go to ``workers`` processes as they
    free up (the backend keeps at most two per worker in flight); counts add up in any order."""
    import multiprocessing

    from forensics.backends import get_backend

    start = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"  # scripts without a guard
    runner = get_backend("local", workers=workers, start_method=start)
    total: Counter = Counter()
    for counter, size in runner.map_unordered(functools.partial(_count_sized, pretokenizer=pretokenizer),
                                              _batches(docs, BATCH_CHARS)):
        total.update(counter)
        if progress:
            progress(size)
    return total


def _fast_supported(pretokenizer: PreTokenizer) -> bool:
    from forensics.counting.fast_words import supported

    return supported(pretokenizer)


def _count_fast(docs: Iterable[Document], pretokenizer: PreTokenizer, workers: int,
                progress) -> tuple[list[str], np.ndarray]:
    """Count with the compiled scanner: threads scan batches (no GIL held), this thread merges them in order.
    Words come back sorted by code point, as ``sorted`` orders them."""
    from concurrent.futures import ThreadPoolExecutor

    from forensics.counting.fast_words import WordTable, scan

    table = WordTable()
    added = 0

    def add(scanned) -> None:
        nonlocal added
        table.add(scanned)
        added += 1
        if added % TRIM_EVERY == 0:
            _release_freed_memory()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        _in_order(pool, functools.partial(scan, pretokenizer=pretokenizer), _batches(docs, FAST_BATCH_CHARS),
                  workers=workers, add=add, progress=progress)
    _release_freed_memory()
    counted = table.take(order="code points")
    _release_freed_memory()
    return counted


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def _release_freed_memory() -> None:
    """Hand memory that glibc's allocator keeps after it is freed back to the system (elsewhere: nothing).

    glibc serves blocks of up to 32 MB from its heaps (one per thread that allocates, as the scanning
    threads do) and keeps them when freed: after a 1 GiB category had been counted (1.46 million unique
    words), 244 of the 678 MB resident were such blocks, and the replay would have started on top of them.
    Trimming every ``TRIM_EVERY`` batches as well lowered the counting's own peak from 765 to 656 MB.

    >>> _release_freed_memory()
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _in_order(pool, fn, batches: Iterable[list[str]], *, workers: int, add, progress) -> None:
    """``add(fn(batch))`` for every batch, in order, with at most ``2 * workers`` batches in flight (memory
    stays bounded whatever the input size); ``progress`` gets each batch's characters."""
    pending: list = []

    def take() -> None:
        future, size = pending.pop(0)
        add(future.result())
        if progress:
            progress(size)

    for batch in batches:
        pending.append((pool.submit(fn, batch), sum(len(t) for t in batch)))
        while len(pending) >= 2 * workers:
            take()
    while pending:
        take()


def _batches(docs: Iterable[Document], limit: int) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for doc in docs:
        batch.append(doc.text)
        size += len(doc.text)
        if size >= limit:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def inputs_hash(paths: Sequence[Path]) -> str:
    """sha256 over the sorted files' names, sizes and contents (cache keys, provenance).

    >>> inputs_hash([])[:8]
    'e3b0c442'
    """
    from forensics._results import file_sha256

    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + file_sha256(path).encode() + b"\n")
    return digest.hexdigest()


def count_words(inputs: Sequence[str | os.PathLike] | str | os.PathLike, *,
                pretokenizer: PreTokenizer, text_key: str = "text", workers: int | None = None,
                progress=None, fast: bool = True) -> WordCounts:
    """Pre-tokenize every document of ``inputs`` and count unique words.

    ``workers`` processes pre-tokenize in parallel (default: all cores); ``progress`` is called with
    the number of characters done after each batch. ``fast`` uses the compiled scanner of
    :mod:`forensics.counting.fast_words` (threads, same counts) where it reproduces ``pretokenizer``
    exactly; other rules, and ``fast=False``, run the reference (``PreTokenizer.split`` in processes).

    >>> count_words(["sample.txt"], pretokenizer=PreTokenizer.preset("cl100k")).unique_words  # doctest: +SKIP
    """
    from forensics.corpus.readers import expand_inputs

    started = time.perf_counter()
    paths = expand_inputs(inputs)
    stats = ReadStats()
    docs = iter_documents(paths, text_key=text_key, stats=stats, whole_text_files=False)
    workers = workers or os.cpu_count() or 1
    # words sorted by code point: deterministic whatever the batches and workers
    if fast and _fast_supported(pretokenizer):
        words, counts = _count_fast(docs, pretokenizer, workers, progress)
    else:
        total = _count_reference(docs, pretokenizer, workers, progress)
        words = sorted(total)
        counts = np.fromiter(map(total.__getitem__, words), dtype=np.int64, count=len(words))
        del total
    return WordCounts(words=words, counts=counts, bytes=stats.bytes, documents=stats.documents,
                      invalid_utf8_sequences=stats.invalid_utf8_sequences,
                      documents_with_invalid_utf8=stats.documents_with_invalid_utf8, problems=stats.problems,
                      seconds=time.perf_counter() - started, source_hash=inputs_hash(paths))


@dataclass
class ChunkedWordCounts:
    """Word counts per chunk of consecutive documents (for the document bootstrap).

    ``chunk_counts`` is a (chunks x words) sparse matrix; its column sums are the sample's counts.
    """

    words: list[str]
    chunk_counts: Any  # scipy.sparse.csr_matrix of int64
    bytes_per_chunk: np.ndarray
    documents: int

    def resample(self, weights: np.ndarray) -> WordCounts:
        """Word counts of a resample that takes chunk j ``weights[j]`` times.

        >>> chunked.resample(np.ones(chunked.chunk_counts.shape[0], dtype=np.int64))  # doctest: +SKIP
        """
        counts = np.asarray(self.chunk_counts.T @ weights.astype(np.int64)).ravel().astype(np.int64)
        keep = counts > 0
        return WordCounts(words=[w for w, k in zip(self.words, keep) if k], counts=counts[keep],
                          bytes=int(self.bytes_per_chunk @ weights), documents=self.documents)


def count_words_by_chunk(inputs: Sequence[str | os.PathLike] | str | os.PathLike, *, pretokenizer: PreTokenizer,
                         chunks: int = 50, text_key: str = "text") -> ChunkedWordCounts:
    """Word counts for ``chunks`` groups of consecutive documents (text files count as streamed blocks).

    Two streaming passes (one counts the documents, one counts their words), so the text is never held
    whole.

    >>> count_words_by_chunk(["a.jsonl"], pretokenizer=PreTokenizer.preset("gpt2"), chunks=10)  # doctest: +SKIP
    """
    from scipy.sparse import csr_matrix

    from forensics.corpus.readers import expand_inputs

    paths = expand_inputs(inputs)

    def documents() -> Iterator[Document]:
        return iter_documents(paths, text_key=text_key, whole_text_files=False, block_bytes=64 << 10)

    total = sum(1 for _ in documents())
    chunks = max(1, min(chunks, total))
    bounds = np.linspace(0, total, chunks + 1).astype(int)
    index: dict[str, int] = {}
    rows, cols, vals = [], [], []
    sizes = np.zeros(chunks, dtype=np.int64)
    counter: Counter = Counter()
    chunk = 0

    def close() -> None:
        nonlocal counter, chunk
        for word, count in counter.items():
            rows.append(chunk)
            cols.append(index.setdefault(word, len(index)))
            vals.append(count)
        counter, chunk = Counter(), chunk + 1

    for position, doc in enumerate(documents()):
        while position >= bounds[chunk + 1]:
            close()
        counter.update(pretokenizer.split(doc.text))
        sizes[chunk] += len(doc.text.encode("utf-8", "surrogatepass"))
    while chunk < chunks:
        close()
    words = list(index)
    matrix = csr_matrix((np.array(vals, dtype=np.int64), (rows, cols)), shape=(chunks, len(words)))
    return ChunkedWordCounts(words=words, chunk_counts=matrix, bytes_per_chunk=sizes, documents=total)
