"""numba kernels for hashed byte n-grams (see ``ngrams.py`` for the definition and the reference).

Documents are one uint8 array plus ``starts`` (document start offsets followed by the total length).
Single-threaded: a scan gets its parallelism from worker processes.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from forensics.composition.ngrams import HASH_MULTIPLIER

_MULT = np.uint64(HASH_MULTIPLIER)
# int32 partial sums are flushed into the int64 scores this often (|weight| < 2**15, 4 orders/byte).
_FLUSH_BYTES = 4096


@nb.njit(cache=True, nogil=True)
def _bucket(gram, order, shift):
    key = np.uint64(gram) | (np.uint64(order) << np.uint64(40))
    return np.int64((key * _MULT) >> shift)


@nb.njit(cache=True, nogil=True)
def count_buckets(data, starts, bits, min_order, max_order):
    """Bucket occurrence counts (int64, ``2**bits``) over every document."""
    counts = np.zeros(1 << bits, np.int64)
    shift = np.uint64(64 - bits)
    for d in range(starts.size - 1):
        lo, hi = starts[d], starts[d + 1]
        for i in range(lo, hi):
            gram = np.uint64(0)
            for order in range(1, max_order + 1):
                j = i - order + 1
                if j < lo:
                    break
                gram |= np.uint64(data[j]) << np.uint64(8 * (order - 1))
                if order >= min_order:
                    counts[_bucket(gram, order, shift)] += 1
    return counts


@nb.njit(cache=True, nogil=True, fastmath=True)  # integer sums: exact in any order
def score_documents(data, starts, table, min_order, max_order, limit):
    """Per document and category, the int64 sum of ``table[bucket]`` (int16) over its n-grams.

    Only each document's first ``limit`` bytes are scored (all of it when ``limit <= 0``). Sums are
    exact integers, so they equal the reference's in any order.
    """
    n_docs = starts.size - 1
    n_cat = table.shape[1]
    bits = 0
    while (1 << bits) < table.shape[0]:
        bits += 1
    shift = np.uint64(64 - bits)
    scores = np.zeros((n_docs, n_cat), np.int64)
    acc = np.zeros(n_cat, np.int32)
    for d in range(n_docs):
        lo, hi = starts[d], starts[d + 1]
        if limit > 0:
            hi = min(hi, lo + limit)
        for block in range(lo, hi, _FLUSH_BYTES):
            acc[:] = 0
            for i in range(block, min(hi, block + _FLUSH_BYTES)):
                gram = np.uint64(0)
                for order in range(1, max_order + 1):
                    j = i - order + 1
                    if j < lo:
                        break
                    gram |= np.uint64(data[j]) << np.uint64(8 * (order - 1))
                    if order >= min_order:
                        # index the table directly (no row view): LLVM then vectorizes the adds, 2x faster
                        b = _bucket(gram, order, shift)
                        for c in range(n_cat):
                            acc[c] += table[b, c]
            for c in range(n_cat):
                scores[d, c] += acc[c]
    return scores
