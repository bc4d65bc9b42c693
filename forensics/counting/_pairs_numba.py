"""Numba kernels for pair counting on the CPU: byte-pair histograms and sparse token-pair counts.

What it does: counts every adjacent pair of a flat buffer (bytes or token ids) in parallel over chunks,
each thread into its own partial counts, then merges the partials. Document boundaries are handled by
the caller's ``starts`` (positions where a document begins): the pair that straddles each one is
counted once by the fast loop and subtracted afterwards, which keeps the inner loops branch-free.

What it leaves out: reading files, tokenization, devices (see ``pairs.py`` and ``_pairs_cupy.py``).
``pairs_reference.py`` is the readable version these kernels are tested against.

>>> byte_pair_histogram(np.frombuffer(b"abab", np.uint8))[(ord("a") << 8) | ord("b")]  # doctest: +SKIP
2
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numba
import numpy as np
from numba import njit, prange

N_BINS = 1 << 16
# A thread counts into uint32 sub-histograms and flushes them to uint64 before they can overflow.
_FLUSH_PAIRS = 1 << 30
_U8 = np.uint64(8)
_U16 = np.uint64(16)
_U24 = np.uint64(24)
_U32 = np.uint64(32)
_U40 = np.uint64(40)
_U48 = np.uint64(48)
_U56 = np.uint64(56)
_LOW16 = np.uint64(0xFFFF)


# --- byte pairs ------------------------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _count_byte_range(buf, lo, hi, out):
    """Add the pairs (buf[i], buf[i + 1]) for lo <= i < hi to ``out`` (needs hi < buf.size).

    Eight pairs come out of one little-endian 64-bit load: bits 8j..8j+15 hold byte j in the low half
    and byte j+1 in the high half, i.e. the pair with its bytes swapped; the index is swapped back when
    the sub-histograms are flushed. Two interleaved sub-histograms halve the store-to-load stalls on
    runs of the same pair (spaces, indentation).
    """
    h0 = np.zeros(N_BINS, np.uint32)
    h1 = np.zeros(N_BINS, np.uint32)
    start = lo
    while start < hi:
        stop = min(hi, start + _FLUSH_PAIRS)
        n_words = (stop - start) // 8
        words = buf[start:start + n_words * 8].view(np.uint64)
        for k in range(n_words):
            x = words[k]
            h0[x & _LOW16] += 1
            h1[(x >> _U8) & _LOW16] += 1
            h0[(x >> _U16) & _LOW16] += 1
            h1[(x >> _U24) & _LOW16] += 1
            h0[(x >> _U32) & _LOW16] += 1
            h1[(x >> _U40) & _LOW16] += 1
            h0[(x >> _U48) & _LOW16] += 1
            h1[(x >> _U56) | (np.uint64(buf[start + 8 * k + 8]) << _U8)] += 1
        for i in range(start + n_words * 8, stop):
            h0[np.uint32(buf[i]) | (np.uint32(buf[i + 1]) << 8)] += 1
        for j in range(N_BINS):
            c = h0[j] + np.uint64(h1[j])
            if c:
                out[((j & 0xFF) << 8) | (j >> 8)] += c
                h0[j] = 0
                h1[j] = 0
        start = stop


@njit(parallel=True, nogil=True, cache=True)
def _byte_pairs_parallel(buf, n_chunks, out):
    n_pairs = buf.size - 1
    if n_pairs <= 0:
        return
    chunk = (n_pairs + n_chunks - 1) // n_chunks
    partial = np.zeros((n_chunks, N_BINS), np.uint64)
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n_pairs, lo + chunk)
        if lo < hi:
            _count_byte_range(buf, lo, hi, partial[c])
    for j in prange(N_BINS):
        s = np.uint64(0)
        for c in range(n_chunks):
            s += partial[c, j]
        out[j] += s


def boundary_byte_pairs(buf: np.ndarray, starts: np.ndarray, out: np.ndarray) -> None:
    """Add to ``out`` the pairs that straddle a document start (each distinct start once).

    >>> h = np.zeros(65536, np.uint64); boundary_byte_pairs(np.frombuffer(b"ab", np.uint8), np.array([1]), h)
    >>> int(h[(97 << 8) | 98])
    1
    """
    starts = np.unique(np.asarray(starts, dtype=np.int64))
    starts = starts[(starts > 0) & (starts < buf.size)]
    if starts.size:
        keys = (buf[starts - 1].astype(np.int64) << 8) | buf[starts]
        out += np.bincount(keys, minlength=N_BINS).astype(np.uint64)


def _limited(threads: int, fn, *args):
    """Run a parallel kernel on at most ``threads`` threads (numba's limit is per calling thread)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        return fn(*args)
    finally:
        numba.set_num_threads(previous)


def _chunks_for(n: int, threads: int) -> int:
    # A chunk much smaller than the 512 KiB of partial counts it needs is not worth a thread.
    return max(1, min(threads * 2, n // (1 << 20)))


def byte_pair_histogram(buf: np.ndarray, starts: np.ndarray | None = None, *,
                        out: np.ndarray | None = None, threads: int | None = None) -> np.ndarray:
    """Histogram (65,536 uint64 bins, key ``a << 8 | b``) of the adjacent byte pairs of ``buf``.

    ``starts`` are positions where a document begins; no pair straddles one.

    >>> int(byte_pair_histogram(np.frombuffer(b"aaa", np.uint8))[(97 << 8) | 97])
    2
    """
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    out = np.zeros(N_BINS, np.uint64) if out is None else out
    threads = threads or numba.get_num_threads()
    if buf.size > 1:
        _limited(threads, _byte_pairs_parallel, buf, _chunks_for(buf.size, threads), out)
    if starts is not None and len(starts):
        boundary = np.zeros(N_BINS, np.uint64)
        boundary_byte_pairs(buf, starts, boundary)
        out -= boundary
    return out


class CpuByteSink:
    """Counts packed byte buffers on a worker thread while the caller fills the next buffer.

    The caller alternates ``acquire()`` (a free host buffer) and ``submit(n, starts)`` (count its
    first ``n`` bytes); ``finish()`` waits and returns the histogram. Boundary pairs are taken from the
    host buffer at submit time, so they never wait for the count.
    """

    name = "cpu"

    def __init__(self, capacity: int, *, threads: int | None = None, slots: int = 2,
                 buffers: list[np.ndarray] | None = None) -> None:
        self.capacity = capacity
        self.threads = threads or numba.get_num_threads()
        # Reused buffers skip the page faults of fresh memory (about 10% of a warm run).
        self._buffers = buffers or [np.empty(capacity, np.uint8) for _ in range(slots)]
        self._pending: list[Future | None] = [None] * slots
        self._next = 0
        self._hist = np.zeros(N_BINS, np.uint64)
        self._boundary = np.zeros(N_BINS, np.uint64)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="byte-pairs")

    def acquire(self) -> np.ndarray:
        slot = self._next % len(self._buffers)
        if self._pending[slot] is not None:
            self._pending[slot].result()
            self._pending[slot] = None
        return self._buffers[slot]

    def submit(self, n: int, starts: list[int]) -> None:
        slot = self._next % len(self._buffers)
        buf = self._buffers[slot][:n]
        if starts:
            boundary_byte_pairs(buf, np.asarray(starts, np.int64), self._boundary)
        chunks = _chunks_for(n, self.threads)
        self._pending[slot] = self._executor.submit(_limited, self.threads, _byte_pairs_parallel, buf, chunks,
                                                    self._hist)
        self._next += 1

    def finish(self) -> np.ndarray:
        for future in self._pending:
            if future is not None:
                future.result()
        self._executor.shutdown()
        return self._hist - self._boundary


# --- token pairs -----------------------------------------------------------------------------------

@njit(parallel=True, nogil=True, cache=True)
def token_pair_keys(ids):
    """64-bit keys ``a << 32 | b`` of every adjacent pair of ``ids`` (uint32).

    >>> int(token_pair_keys(np.array([1, 2], np.uint32))[0])  # doctest: +SKIP
    4294967298
    """
    n = max(ids.size - 1, 0)
    keys = np.empty(n, np.uint64)
    for i in prange(n):
        keys[i] = (np.uint64(ids[i]) << _U32) | np.uint64(ids[i + 1])
    return keys


@njit(nogil=True, cache=True)
def run_lengths(sorted_keys):
    """Distinct keys of a sorted array and how often each occurs.

    >>> run_lengths(np.array([3, 3, 5], np.uint64))  # doctest: +SKIP
    (array([3, 5], dtype=uint64), array([2, 1], dtype=uint64))
    """
    n = sorted_keys.size
    keys = np.empty(n, np.uint64)
    counts = np.empty(n, np.uint64)
    m = 0
    i = 0
    while i < n:
        j = i + 1
        k = sorted_keys[i]
        while j < n and sorted_keys[j] == k:
            j += 1
        keys[m] = k
        counts[m] = j - i
        m += 1
        i = j
    return keys[:m].copy(), counts[:m].copy()


@njit(nogil=True, cache=True)
def merge_counts(k1, c1, k2, c2):
    """Merge two sorted (keys, counts) lists, adding the counts of equal keys.

    >>> merge_counts(np.array([1], np.uint64), np.array([2], np.uint64),
    ...              np.array([1, 4], np.uint64), np.array([1, 1], np.uint64))  # doctest: +SKIP
    (array([1, 4], dtype=uint64), array([3, 1], dtype=uint64))
    """
    keys = np.empty(k1.size + k2.size, np.uint64)
    counts = np.empty(k1.size + k2.size, np.uint64)
    i = 0
    j = 0
    m = 0
    while i < k1.size and j < k2.size:
        if k1[i] < k2[j]:
            keys[m] = k1[i]
            counts[m] = c1[i]
            i += 1
        elif k2[j] < k1[i]:
            keys[m] = k2[j]
            counts[m] = c2[j]
            j += 1
        else:
            keys[m] = k1[i]
            counts[m] = c1[i] + c2[j]
            i += 1
            j += 1
        m += 1
    while i < k1.size:
        keys[m] = k1[i]
        counts[m] = c1[i]
        i += 1
        m += 1
    while j < k2.size:
        keys[m] = k2[j]
        counts[m] = c2[j]
        j += 1
        m += 1
    return keys[:m].copy(), counts[:m].copy()


@njit(nogil=True, cache=True)
def subtract_counts(keys, counts, sub_keys, sub_counts):
    """``counts - sub_counts`` for sorted key lists (every sub key present), dropping zeros."""
    out_k = np.empty(keys.size, np.uint64)
    out_c = np.empty(keys.size, np.uint64)
    j = 0
    m = 0
    for i in range(keys.size):
        c = counts[i]
        while j < sub_keys.size and sub_keys[j] < keys[i]:
            j += 1
        if j < sub_keys.size and sub_keys[j] == keys[i]:
            c -= sub_counts[j]
        if c:
            out_k[m] = keys[i]
            out_c[m] = c
            m += 1
    return out_k[:m].copy(), out_c[:m].copy()


def merge_many(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge any number of sorted (keys, counts) lists pairwise, smallest first in a balanced tree.

    >>> merge_many([])[0].size
    0
    """
    if not parts:
        return np.empty(0, np.uint64), np.empty(0, np.uint64)
    while len(parts) > 1:
        merged = [merge_counts(*parts[i], *parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    return parts[0]


def _sort_and_count(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys.sort()  # numpy's (vectorised) sort releases the GIL
    return run_lengths(keys)


def token_pair_counts(ids: np.ndarray, starts: np.ndarray | None = None, *,
                      threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct pair keys (``a << 32 | b``) and their uint64 counts over ``ids`` (uint32).

    Sort + run-length beat an open-addressing numba hash table ~4x on real token streams (the
    table's random probes miss the cache; see benchmarks/results/pairs.md). ``starts`` are document
    starts, as for bytes.

    >>> token_pair_counts(np.array([7, 8, 7, 8], np.uint32))  # doctest: +SKIP
    (array([30064771080, 34359738375], dtype=uint64), array([2, 1], dtype=uint64))
    """
    ids = np.ascontiguousarray(ids, dtype=np.uint32)
    if ids.size < 2:
        return np.empty(0, np.uint64), np.empty(0, np.uint64)
    threads = threads or numba.get_num_threads()
    keys = _limited(threads, token_pair_keys, ids)
    n_parts = max(1, min(threads, keys.size // (1 << 18)))
    if n_parts == 1:
        result = _sort_and_count(keys)
    else:
        bounds = np.linspace(0, keys.size, n_parts + 1).astype(np.int64)
        with ThreadPoolExecutor(max_workers=n_parts) as pool:
            parts = list(pool.map(_sort_and_count, [keys[a:b] for a, b in zip(bounds[:-1], bounds[1:])]))
        result = merge_many(parts)
    if starts is not None and len(starts):
        starts = np.unique(np.asarray(starts, dtype=np.int64))
        starts = starts[(starts > 0) & (starts < ids.size)]
        if starts.size:
            cut = (ids[starts - 1].astype(np.uint64) << _U32) | ids[starts].astype(np.uint64)
            cut.sort()
            result = subtract_counts(*result, *run_lengths(cut))
    return result
