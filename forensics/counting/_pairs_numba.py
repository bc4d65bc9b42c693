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
# Threads count into uint32 sub-histograms; one kernel call covers fewer pairs than overflow them.
_FLUSH_PAIRS = 1 << 31
# A thread's part is worth its 512 KiB of sub-histograms only above this size.
_MIN_PART_BYTES = 1 << 20
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
    """Add the pairs (buf[i], buf[i + 1]) for lo <= i < hi (needs hi < buf.size, hi - lo < 2**32) to out.

    Eight pairs come out of one little-endian 64-bit load: bits 8j..8j+15 hold byte j in the low half
    and byte j+1 in the high half, i.e. the pair with its bytes swapped, so the local uint32
    sub-histograms are indexed ``second << 8 | first`` and swapped back when added to ``out``. Two
    interleaved sub-histograms halve the store-to-load stalls on runs of one pair (spaces,
    indentation); four spill out of L2. Fresh local arrays (not caller-provided ones) measured ~10%
    faster: the compiler knows they alias nothing.
    """
    h0 = np.zeros(N_BINS, np.uint32)
    h1 = np.zeros(N_BINS, np.uint32)
    n_words = (hi - lo) // 8
    words = buf[lo:lo + n_words * 8].view(np.uint64)
    for k in range(n_words):
        x = words[k]
        h0[x & _LOW16] += 1
        h1[(x >> _U8) & _LOW16] += 1
        h0[(x >> _U16) & _LOW16] += 1
        h1[(x >> _U24) & _LOW16] += 1
        h0[(x >> _U32) & _LOW16] += 1
        h1[(x >> _U40) & _LOW16] += 1
        h0[(x >> _U48) & _LOW16] += 1
        h1[(x >> _U56) | (np.uint64(buf[lo + 8 * k + 8]) << _U8)] += 1
    for i in range(lo + n_words * 8, hi):
        h0[np.uint32(buf[i]) | (np.uint32(buf[i + 1]) << 8)] += 1
    for j in range(N_BINS):
        c = np.uint64(h0[j]) + np.uint64(h1[j])
        if c:
            out[((j & 0xFF) << 8) | (j >> 8)] += c


@njit(parallel=True, nogil=True, cache=True)
def _byte_pairs_parallel(buf, n_parts, out):
    """Add all adjacent pairs of ``buf`` (fewer than 2**32) to ``out``, one contiguous part per thread.

    Static parts, not many small dynamic ones: numba's dynamic scheduling (parallel_chunksize)
    made this loop 2.3x slower, even on one thread.
    """
    n_pairs = buf.size - 1
    if n_pairs <= 0:
        return
    per_part = (n_pairs + n_parts - 1) // n_parts
    partial = np.zeros((n_parts, N_BINS), np.uint64)
    for p in prange(n_parts):
        lo = p * per_part
        hi = min(n_pairs, lo + per_part)
        if lo < hi:
            _count_byte_range(buf, lo, hi, partial[p])
    for p in range(n_parts):
        out += partial[p]


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


def _thread_count(threads: int | None) -> int:
    return max(1, min(threads or numba.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


def _limited(threads: int, fn, *args):
    """Run a parallel kernel on at most ``threads`` threads (numba's limit is per calling thread)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(_thread_count(threads))
    try:
        return fn(*args)
    finally:
        numba.set_num_threads(previous)


def _count_all(buf: np.ndarray, out: np.ndarray, threads: int | None) -> None:
    """All adjacent pairs of ``buf`` into ``out``, in calls of under 2**31 pairs (uint32 safety)."""
    threads = _thread_count(threads)
    lo = 0
    while lo < buf.size - 1:
        hi = min(buf.size, lo + _FLUSH_PAIRS + 1)
        parts = max(1, min(threads, (hi - lo) // _MIN_PART_BYTES))
        _limited(threads, _byte_pairs_parallel, buf[lo:hi], parts, out)
        lo = hi - 1


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
    _count_all(buf, out, threads)
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
        self._pending[slot] = self._executor.submit(_count_all, buf, self._hist, self.threads)
        self._next += 1

    def finish(self) -> np.ndarray:
        for future in self._pending:
            if future is not None:
                future.result()
        self._executor.shutdown()
        return self._hist - self._boundary


# --- token pairs -----------------------------------------------------------------------------------

def token_pair_keys(ids: np.ndarray) -> np.ndarray:
    """64-bit keys ``a << 32 | b`` of every adjacent pair of ``ids`` (uint32).

    numpy, not numba: this is one streaming pass, which numpy vectorises and numba (with its
    bounds-wrapping index arithmetic) measured 3x slower.

    >>> int(token_pair_keys(np.array([1, 2], np.uint32))[0])
    4294967298
    """
    return (ids[:-1].astype(np.uint64) << _U32) | ids[1:]


def _narrow_pair_keys(ids: np.ndarray) -> np.ndarray:
    """32-bit keys ``a << 16 | b`` for ids below 2**16: half the bytes to sort, twice the SIMD lanes."""
    return (ids[:-1] << np.uint32(16)) | ids[1:]


@njit(nogil=True, cache=True)
def run_lengths(sorted_keys):
    """Distinct keys of a sorted array (as uint64) and how often each occurs.

    Two passes (count the runs, then fill) so the output is allocated at its final, much smaller
    size: fresh memory for n keys would cost more page faults than the second pass.

    >>> run_lengths(np.array([3, 3, 5], np.uint64))  # doctest: +SKIP
    (array([3, 5], dtype=uint64), array([2, 1], dtype=uint64))
    """
    n = sorted_keys.size
    m = 1 if n else 0
    for i in range(1, n):
        m += sorted_keys[i] != sorted_keys[i - 1]
    keys = np.empty(m, np.uint64)
    counts = np.empty(m, np.uint64)
    if n == 0:
        return keys, counts
    r = 0
    run_start = 0
    for i in range(1, n):
        if sorted_keys[i] != sorted_keys[i - 1]:
            keys[r] = sorted_keys[i - 1]
            counts[r] = i - run_start
            r += 1
            run_start = i
    keys[r] = sorted_keys[n - 1]
    counts[r] = n - run_start
    return keys, counts


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

    Sort + run-length beat an open-addressing numba hash table ~3x on real token streams (the
    table's random probes miss the cache; see benchmarks/results/pairs.md); ids below 2**16 are
    sorted as 32-bit keys. ``starts`` are document starts, as for bytes.

    >>> token_pair_counts(np.array([7, 8, 7, 8], np.uint32))  # doctest: +SKIP
    (array([30064771080, 34359738375], dtype=uint64), array([2, 1], dtype=uint64))
    """
    ids = np.ascontiguousarray(ids, dtype=np.uint32)
    if ids.size < 2:
        return np.empty(0, np.uint64), np.empty(0, np.uint64)
    threads = threads or numba.get_num_threads()
    narrow = int(ids.max()) < 1 << 16  # most vocabularies (GPT-2, Llama 2, Mistral) fit in 16 bits
    keys = _narrow_pair_keys(ids) if narrow else token_pair_keys(ids)
    n_parts = max(1, min(threads, keys.size // (1 << 18)))
    if n_parts == 1:
        result = _sort_and_count(keys)
    else:
        bounds = np.linspace(0, keys.size, n_parts + 1).astype(np.int64)
        with ThreadPoolExecutor(max_workers=n_parts) as pool:
            parts = list(pool.map(_sort_and_count, [keys[a:b] for a, b in zip(bounds[:-1], bounds[1:])]))
        result = merge_many(parts)
    if narrow:  # a << 16 | b  ->  a << 32 | b keeps the order
        packed = result[0]
        result = (((packed >> _U16) << _U32) | (packed & _LOW16), result[1])
    if starts is not None and len(starts):
        starts = np.unique(np.asarray(starts, dtype=np.int64))
        starts = starts[(starts > 0) & (starts < ids.size)]
        if starts.size:
            cut = (ids[starts - 1].astype(np.uint64) << _U32) | ids[starts].astype(np.uint64)
            cut.sort()
            result = subtract_counts(*result, *run_lengths(cut))
    return result
