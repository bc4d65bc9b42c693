"""Documents to backend batches: packing, windows and merging, so that every pair is counted once.

What it does: :func:`pack_bytes` packs byte documents into a backend's buffers (each buffer starts
with the last byte of the previous one; document starts are boundaries), :func:`count_token_stream`
does the same for token-id documents, and :func:`count_byte_array` / :func:`count_token_array` cut a
flat array with document ``offsets`` into windows that overlap by one item. Token pair counts of the
batches are merged every few batches (sorted keys, uint64 counts).

What it leaves out: reading (``pair_inputs.py``), the kernels and devices (``pair_backends.py``,
``_pairs_numba.py``, ``_pairs_cupy.py``), and the result type (``pairs.PairCounts``).

>>> from forensics.counting.pair_backends import CpuBackend
>>> hist = pack_bytes([b"abab", b"ba"], CpuBackend(threads=1).byte_sink(3))  # 3-byte buffers
>>> int(hist[0x6162]), int(hist[0x6261]), int(hist.sum())
(2, 2, 4)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from forensics.corpus.readers import ReadStats
from forensics.counting.pair_inputs import MappedFile
from forensics.errors import ForensicsError

DEFAULT_BATCH_BYTES = 64 << 20
DEFAULT_BATCH_TOKENS = 16 << 20
_MERGE_EVERY = 16


def pack_bytes(documents: Iterable[bytes | Any], sink, *, stats: ReadStats | None = None) -> np.ndarray:
    """Pack documents into the sink's buffers, submit each full buffer, and return the histogram.

    A document is bytes, an object with ``readinto`` (a file), or a :class:`MappedFile` (counted
    where it lies). A new buffer starts with the last byte of the previous one, so pairs across buffer
    cuts are counted; every document start inside a buffer is passed as a boundary, so pairs across
    documents are not.
    """
    capacity = sink.capacity
    buf = sink.acquire()
    view = memoryview(buf)
    pos = 0
    starts: list[int] = []
    total = 0

    def flush() -> None:
        nonlocal buf, view, pos, starts
        sink.submit(pos, starts)
        last = buf[pos - 1]
        buf = sink.acquire()
        view = memoryview(buf)
        buf[0] = last
        pos, starts = 1, []

    for doc in documents:
        if isinstance(doc, MappedFile):  # a whole document, counted where it lies
            sink.count_document(doc.array)
            total += doc.array.size
            continue
        if pos:
            starts.append(pos)
        if hasattr(doc, "readinto"):
            while True:
                got = doc.readinto(view[pos:capacity])
                if not got:
                    break
                pos += got
                total += got
                if pos == capacity:
                    flush()
        else:
            data = memoryview(doc).cast("B")
            while len(data):
                take = min(len(data), capacity - pos)
                view[pos:pos + take] = data[:take]
                data = data[take:]
                pos += take
                total += take
                if pos == capacity:
                    flush()
    if pos > 1:
        sink.submit(pos, starts)
    if stats is not None:
        stats.bytes += total
    return sink.finish()


def count_token_stream(documents: Iterable[tuple[np.ndarray, bool]], backend, *,
                       batch_tokens: int = DEFAULT_BATCH_TOKENS) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Count token pairs of (ids, continues_previous) documents in batches; return keys, counts, tokens, docs.

    Each batch after the first starts with the last id of the previous one (a boundary when the next
    document does not continue it), exactly like byte buffers.

    >>> from forensics.counting.pair_backends import CpuBackend
    >>> docs = [(np.array([5, 6, 5], np.uint32), False), (np.array([6], np.uint32), True)]
    >>> keys, counts, tokens, n_docs = count_token_stream(docs, CpuBackend(threads=1), batch_tokens=2)
    >>> [(int(k) >> 32, int(k) & 0xFFFFFFFF, int(c)) for k, c in zip(keys, counts)], tokens, n_docs
    ([(5, 6, 2), (6, 5, 1)], 4, 1)
    """
    from forensics.counting._pairs_numba import merge_many

    parts: list[tuple[np.ndarray, np.ndarray]] = []
    pieces: list[np.ndarray] = []
    starts: list[int] = []
    size = tokens = docs = 0
    for ids, continues in documents:
        if not continues:
            docs += 1
            if size:
                starts.append(size)
        pieces.append(ids)
        size += len(ids)
        tokens += len(ids)
        if size >= batch_tokens:
            batch = np.concatenate(pieces)
            parts.append(backend.token_pairs(batch, np.asarray(starts, np.int64)))
            pieces, starts, size = [batch[-1:]], [], 1
            if len(parts) >= _MERGE_EVERY:
                parts = [merge_many(parts)]
    if size > 1:
        parts.append(backend.token_pairs(np.concatenate(pieces), np.asarray(starts, np.int64)))
    keys, counts = merge_many(parts)
    return keys, counts, tokens, docs


def count_byte_array(data: np.ndarray, starts: np.ndarray | None, backend, batch_bytes: int) -> np.ndarray:
    """The byte pair histogram of a uint8 array with document ``starts``: whole, or window by window."""
    if hasattr(backend, "byte_histogram"):
        return backend.byte_histogram(data, starts)
    sink = backend.byte_sink(batch_bytes)
    for window, inside in windows(data, starts, sink.capacity - 1):
        if window.size < 2:
            continue
        buf = sink.acquire()
        buf[:window.size] = window
        sink.submit(window.size, list(inside))
    return sink.finish()


def count_token_array(ids: np.ndarray, starts: np.ndarray | None, backend,
                      batch_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Token pair keys and counts of a uint32 array with document ``starts``, window by window."""
    from forensics.counting._pairs_numba import merge_many

    return merge_many([backend.token_pairs(window, inside)
                       for window, inside in windows(ids, starts, batch_tokens)])


def windows(data: np.ndarray, starts: np.ndarray | None, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Windows of at most ``size + 1`` items overlapping by one, with the document starts inside each.

    Window ``[lo, hi)`` owns the pairs starting at ``lo .. hi - 2``, so every pair is in exactly one.

    >>> [(w.tolist(), s.tolist()) for w, s in windows(np.arange(5), np.array([0, 3]), 2)]
    [([0, 1, 2], []), ([2, 3, 4], [1])]
    """
    starts = np.empty(0, np.int64) if starts is None else starts
    lo = 0
    while True:
        hi = min(data.size, lo + size + 1)
        yield data[lo:hi], starts[(starts > lo) & (starts < hi)] - lo
        if hi >= data.size:
            return
        lo = hi - 1


def document_count(starts: np.ndarray | None, n: int) -> int:
    """How many documents ``n`` items with these starts hold (repeated starts and a final ``n`` add none).

    >>> document_count(np.array([0, 2, 2, 5]), 5), document_count(None, 5), document_count(None, 0)
    (2, 1, 0)
    """
    if n == 0:
        return 0
    if starts is None:
        return 1
    return int(np.unique(np.append(starts[starts < n], 0)).size)


def check_offsets(offsets: np.ndarray | Sequence[int] | None, n: int) -> np.ndarray | None:
    """``offsets`` as int64 document starts in ``[0, n]``, non-decreasing; None stays None.

    >>> check_offsets([0, 2, 5], 5)
    array([0, 2, 5])
    """
    if offsets is None:
        return None
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or (offsets.size and (offsets.min() < 0 or offsets.max() > n)):
        raise ForensicsError(f"offsets must be document start positions between 0 and {n}")
    if offsets.size > 1 and np.any(np.diff(offsets) < 0):
        raise ForensicsError("offsets must be non-decreasing document start positions")
    return offsets


def as_token_ids(token_ids) -> np.ndarray:
    """Token ids as a 1-D uint32 array; an error for other dtypes or ids outside ``[0, 2**32)``.

    >>> as_token_ids(np.array([3, 70_000])).dtype
    dtype('uint32')
    """
    ids = np.asarray(token_ids)
    if ids.dtype.kind not in "iu" or ids.ndim != 1:
        raise ForensicsError("token_ids must be a 1-D integer array (with offsets) or a list of id lists")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= 1 << 32):
        raise ForensicsError("token ids must be in [0, 2**32) to form 64-bit pair keys")
    return ids.astype(np.uint32, copy=False)
