"""Numba kernels for pair counting on the CPU: byte-pair histograms and sparse token-pair counts.

What it does: counts every adjacent pair of a flat buffer (bytes or token ids) in parallel over chunks
(Python threads running GIL-free numba kernels or numpy sorts), each thread into its own partial
counts, then merges the partials. Document boundaries are handled by
the caller's ``starts`` (positions where a document begins): the pair that straddles each one is
counted once by the fast loop and subtracted afterwards, which keeps the inner loops branch-free.

What it leaves out: reading files, tokenization, devices (see ``pairs.py`` and ``_pairs_cupy.py``).
``pairs_reference.py`` is the readable version these kernels are tested against.

>>> byte_pair_histogram(np.frombuffer(b"abab", np.uint8))[(ord("a") << 8) | ord("b")]  # doctest: +SKIP
2
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from numba import njit

N_BINS = 1 << 16
# One task of a counting thread: small enough to balance threads, large enough that the 512 KiB of
# local sub-histograms (zeroed, then flushed) cost under 5% of it; below 2**32 pairs by far.
_CHUNK_BYTES = 4 << 20
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
    """``threads``, or the cores this process may use."""
    if threads:
        return max(1, threads)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _ChunkCounter:
    """Byte-pair counting of chunks on a pool of Python threads, each into its own partial histogram.

    The numba kernel releases the GIL, so the threads run in parallel. Chunks go to whichever thread
    is free: on a shared machine a thread slowed by other work does not hold the rest up (static
    numba ``prange`` parts did; numba's dynamic scheduling made the kernel 2.3x slower).
    """

    def __init__(self, threads: int | None) -> None:
        self.threads = _thread_count(threads)
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="byte-pairs")
        self._local = threading.local()
        self._partials: list[np.ndarray] = []
        self._lock = threading.Lock()

    def _partial(self) -> np.ndarray:
        hist = getattr(self._local, "hist", None)
        if hist is None:
            hist = self._local.hist = np.zeros(N_BINS, np.uint64)
            with self._lock:
                self._partials.append(hist)
        return hist

    def _count(self, buf: np.ndarray, lo: int, hi: int) -> None:
        _count_byte_range(buf, lo, hi, self._partial())

    def submit(self, buf: np.ndarray) -> list[Future]:
        """Start counting all adjacent pairs of ``buf``; returns the chunks' futures."""
        n_pairs = buf.size - 1
        return [self._pool.submit(self._count, buf, lo, min(n_pairs, lo + _CHUNK_BYTES))
                for lo in range(0, max(n_pairs, 0), _CHUNK_BYTES)]

    def total(self) -> np.ndarray:
        total = np.zeros(N_BINS, np.uint64)
        for hist in self._partials:
            total += hist
        return total

    def close(self) -> None:
        self._pool.shutdown()


def byte_pair_histogram(buf: np.ndarray, starts: np.ndarray | None = None, *,
                        out: np.ndarray | None = None, threads: int | None = None) -> np.ndarray:
    """Histogram (65,536 uint64 bins, key ``a << 8 | b``) of the adjacent byte pairs of ``buf``.

    ``starts`` are positions where a document begins; no pair straddles one.

    >>> int(byte_pair_histogram(np.frombuffer(b"aaa", np.uint8))[(97 << 8) | 97])
    2
    """
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    out = np.zeros(N_BINS, np.uint64) if out is None else out
    if buf.size < 2 * _CHUNK_BYTES or threads == 1:
        for lo in range(0, max(buf.size - 1, 0), _CHUNK_BYTES):
            _count_byte_range(buf, lo, min(buf.size - 1, lo + _CHUNK_BYTES), out)
    else:
        counter = _ChunkCounter(threads)
        try:
            for future in counter.submit(buf):
                future.result()
            out += counter.total()
        finally:
            counter.close()
    if starts is not None and len(starts):
        boundary = np.zeros(N_BINS, np.uint64)
        boundary_byte_pairs(buf, starts, boundary)
        out -= boundary
    return out


class CpuByteSink:
    """Counts packed byte buffers on worker threads while the caller fills the next buffer.

    The caller alternates ``acquire()`` (a free host buffer) and ``submit(n, starts)`` (count its
    first ``n`` bytes); ``finish()`` waits and returns the histogram. Boundary pairs are taken from the
    host buffer at submit time, so they never wait for the count.
    """

    name = "cpu"

    def __init__(self, capacity: int, *, threads: int | None = None, slots: int = 2,
                 buffers: list[np.ndarray] | None = None) -> None:
        self.capacity = capacity
        # Reused buffers skip the page faults of fresh memory (about 10% of a warm run).
        self._buffers = buffers or [np.empty(capacity, np.uint8) for _ in range(slots)]
        self._pending: list[list[Future]] = [[] for _ in self._buffers]
        self._next = 0
        self._counter = _ChunkCounter(threads)
        self._boundary = np.zeros(N_BINS, np.uint64)
        self._documents: list[list[Future]] = []

    def count_document(self, data: np.ndarray) -> None:
        """Count one whole document where it lies (e.g. a memory-mapped file), without a copy."""
        self._documents.append(self._counter.submit(data))

    def acquire(self) -> np.ndarray:
        slot = self._next % len(self._buffers)
        for future in self._pending[slot]:
            future.result()
        self._pending[slot] = []
        return self._buffers[slot]

    def submit(self, n: int, starts: list[int]) -> None:
        slot = self._next % len(self._buffers)
        buf = self._buffers[slot][:n]
        if starts:
            boundary_byte_pairs(buf, np.asarray(starts, np.int64), self._boundary)
        self._pending[slot] = self._counter.submit(buf)
        self._next += 1

    def finish(self) -> np.ndarray:
        try:
            for futures in self._pending + self._documents:
                for future in futures:
                    future.result()
            return self._counter.total() - self._boundary
        finally:
            self._counter.close()


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
    threads = _thread_count(threads)
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
