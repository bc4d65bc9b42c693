"""numba kernels for hashed byte n-grams and word tokens (see ``ngrams.py`` for the definition and the reference).

Documents are one uint8 array plus ``starts`` (document start offsets followed by the total length).
Single-threaded: a scan gets its parallelism from worker processes.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from forensics.composition.ngrams import (FNV_OFFSET, FNV_PRIME, HASH_MULTIPLIER, MAX_INDENT,
                                          PRESENCE_GRAM_ORDER, PUNCT_CHUNK, TOKEN_SALT)

_MULT = np.uint64(HASH_MULTIPLIER)
# int32 partial sums are flushed into the int64 scores this often (|weight| < 2**15, 4 orders/byte).
_FLUSH_BYTES = 4096


@nb.njit(cache=True, nogil=True)
def _bucket(gram, order, shift):
    key = np.uint64(gram) | (np.uint64(order) << np.uint64(40))
    return np.int64((key * _MULT) >> shift)


@nb.njit(cache=True, nogil=True)
def _gram_buckets(data, lo, start, stop, min_order, max_order, shift, out):
    """Buckets of the n-grams (orders ``min_order..max_order``) ending at positions ``start..stop-1``
    of a document that begins at ``lo``, by end position then order, into ``out``; returns how many."""
    n = 0
    for i in range(start, stop):
        gram = np.uint64(0)
        for order in range(1, max_order + 1):
            j = i - order + 1
            if j < lo:
                break
            gram |= np.uint64(data[j]) << np.uint64(8 * (order - 1))
            if order >= min_order:
                out[n] = _bucket(gram, order, shift)
                n += 1
    return n


@nb.njit(cache=True, nogil=True)
def _table_bits(table):
    """log2 of a table's number of rows."""
    bits = 0
    while (1 << bits) < table.shape[0]:
        bits += 1
    return bits


@nb.njit(cache=True, nogil=True)
def count_buckets(data, starts, bits, min_order, max_order):
    """Bucket occurrence counts (int64, ``2**bits``) over every document."""
    counts = np.zeros(1 << bits, np.int64)
    shift = np.uint64(64 - bits)
    buckets = np.zeros(_FLUSH_BYTES * max_order, np.int64)
    for d in range(starts.size - 1):
        lo, hi = starts[d], starts[d + 1]
        for block in range(lo, hi, _FLUSH_BYTES):
            n = _gram_buckets(data, lo, block, min(hi, block + _FLUSH_BYTES), min_order, max_order, shift, buckets)
            for k in range(n):
                counts[buckets[k]] += 1
    return counts


@nb.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _add_rows(table, buckets, start, stop, acc, scores, row):
    """scores[row] += the sum of table[buckets[k]] for k in start..stop, through the int32 ``acc``
    (at most ``_FLUSH_BYTES`` buckets per call, so that the int32 partial sums cannot overflow)."""
    n_cat = table.shape[1]
    acc[:] = 0
    for k in range(start, stop):
        b = buckets[k]
        # index the table directly (no row view): LLVM then vectorizes the adds
        for c in range(n_cat):
            acc[c] += table[b, c]
    for c in range(n_cat):
        scores[row, c] += acc[c]


@nb.njit(cache=True, nogil=True, fastmath=True)  # integer sums: exact in any order
def score_documents(data, starts, table, min_order, max_order, limit):
    """Per document and category, the int64 sum of ``table[bucket]`` (int16) over its n-grams.

    Only each document's first ``limit`` bytes are scored (all of it when ``limit <= 0``). Sums are
    exact integers, so they equal the reference's in any order. (Walking the n-grams inline instead
    of through ``_gram_buckets`` measured 1-6% faster: not worth a second copy of the walk.)
    """
    n_docs = starts.size - 1
    n_cat = table.shape[1]
    shift = np.uint64(64 - _table_bits(table))
    scores = np.zeros((n_docs, n_cat), np.int64)
    acc = np.zeros(n_cat, np.int32)
    buckets = np.zeros(_FLUSH_BYTES * max_order, np.int64)
    for d in range(n_docs):
        lo, hi = starts[d], starts[d + 1]
        if limit > 0:
            hi = min(hi, lo + limit)
        for block in range(lo, hi, _FLUSH_BYTES):
            n = _gram_buckets(data, lo, block, min(hi, block + _FLUSH_BYTES), min_order, max_order, shift, buckets)
            _add_rows(table, buckets, 0, n, acc, scores, d)
    return scores


# --- word tokens (definition and reference: ngrams.py) ----------------------------------------------

_FNV_OFFSET = np.uint64(FNV_OFFSET)
_FNV_PRIME = np.uint64(FNV_PRIME)
_TOKEN_SALT = np.uint64(TOKEN_SALT)


@nb.njit(cache=True, nogil=True, inline="always")
def _is_word(byte):
    return byte >= 128 or (48 <= byte <= 57) or (65 <= byte <= 90) or (97 <= byte <= 122) or byte == 95


@nb.njit(cache=True, nogil=True, inline="always")
def _is_space(byte):
    return byte == 32 or byte == 9 or byte == 13 or byte == 11 or byte == 12


@nb.njit(cache=True, nogil=True)
def _fnv(data, lo, hi):
    h = _FNV_OFFSET
    for i in range(lo, hi):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return h


@nb.njit(cache=True, nogil=True)
def _fnv_byte(h, byte):
    return (h ^ np.uint64(byte)) * _FNV_PRIME


@nb.njit(cache=True, nogil=True)
def _next_token(data, i, hi):
    """(found, key, end) of the token at ``i`` or after the spaces there (the document ends at ``hi``);
    ``found`` is False when only spaces are left."""
    while i < hi and _is_space(data[i]):
        i += 1
    if i >= hi:
        return False, np.uint64(0), hi
    byte = data[i]
    j = i + 1
    if _is_word(byte):
        while j < hi and _is_word(data[j]):
            j += 1
        return True, _fnv(data, i, j), j
    if byte == 10:
        tab = False
        spaces = 0
        while j < hi and (data[j] == 32 or data[j] == 9):
            if data[j] == 9:
                tab = True
            else:
                spaces += 1
            j += 1
        code = 84 if tab else 48 + min(spaces, MAX_INDENT)  # "T" or "0".."8"
        return True, _fnv_byte(_fnv_byte(_FNV_OFFSET, 10), code), j
    while j < hi and j - i < PUNCT_CHUNK and not _is_word(data[j]) and not _is_space(data[j]) and data[j] != 10:
        j += 1
    return True, _fnv(data, i, j), j


@nb.njit(cache=True, nogil=True, inline="always")
def _token_bucket(key, shift):
    return np.int64(((key ^ _TOKEN_SALT) * _MULT) >> shift)


@nb.njit(cache=True, nogil=True, inline="always")
def _pair_key(previous, key):
    return previous * _FNV_PRIME + key + np.uint64(1)


@nb.njit(cache=True, nogil=True)
def _token_buckets(data, lo, hi, shift, out):
    """The token buckets of data[lo:hi] (per token its unigram, then its bigram with the token before)
    into ``out`` (at least ``2 * (hi - lo)`` long); returns how many."""
    n = 0
    i = lo
    previous = np.uint64(0)
    first = True
    while i < hi:
        found, key, i = _next_token(data, i, hi)
        if not found:
            break
        out[n] = _token_bucket(key, shift)
        n += 1
        if not first:
            out[n] = _token_bucket(_pair_key(previous, key), shift)
            n += 1
        previous = key
        first = False
    return n


@nb.njit(cache=True, nogil=True)
def _longest(starts, docs, limit):
    longest = 0
    for row in range(docs.size):
        longest = max(longest, starts[docs[row] + 1] - starts[docs[row]])
    return min(longest, limit) if limit > 0 else longest


@nb.njit(cache=True, nogil=True)
def count_token_buckets(data, starts, bits):
    """Token unigram and bigram bucket counts (int64, ``2**bits``) over every document."""
    counts = np.zeros(1 << bits, np.int64)
    shift = np.uint64(64 - bits)
    buckets = np.zeros(2 * (_longest(starts, np.arange(starts.size - 1), 0) + 1), np.int64)
    for d in range(starts.size - 1):
        n = _token_buckets(data, starts[d], starts[d + 1], shift, buckets)
        for k in range(n):
            counts[buckets[k]] += 1
    return counts


@nb.njit(cache=True, nogil=True, fastmath=True)  # integer sums: exact in any order
def score_tokens(data, starts, table, limit, docs):
    """For the documents ``docs`` (indices), per category the int64 sum of ``table[bucket]`` over their
    token buckets; one row per entry of ``docs``.

    Only tokens within each document's first ``limit`` bytes count (all when ``limit <= 0``).
    """
    n_cat = table.shape[1]
    shift = np.uint64(64 - _table_bits(table))
    scores = np.zeros((docs.size, n_cat), np.int64)
    acc = np.zeros(n_cat, np.int32)
    buckets = np.zeros(2 * (_longest(starts, docs, limit) + 1), np.int64)
    for row in range(docs.size):
        lo, hi = starts[docs[row]], starts[docs[row] + 1]
        if limit > 0:
            hi = min(hi, lo + limit)
        n = _token_buckets(data, lo, hi, shift, buckets)
        for block in range(0, n, _FLUSH_BYTES):
            _add_rows(table, buckets, block, min(n, block + _FLUSH_BYTES), acc, scores, row)
    return scores


# --- presence features (definition and reference: ngrams.presence_features) --------------------------

@nb.njit(cache=True, nogil=True)
def _presence(data, lo, hi, bits, seen, out):
    """Distinct presence features of data[lo:hi] into ``out`` (unsorted, at least ``3 * (hi - lo)``
    long); returns how many. ``seen`` (uint8, ``2 << bits``) must be all 0 and is left so.

    Without branches (each bucket is written, and kept when it was not seen): measured 1.2x faster
    than testing first, as repeated words make that branch unpredictable."""
    shift = np.uint64(64 - bits)
    found = _token_buckets(data, lo, hi, shift, out)
    n = 0
    for k in range(found):
        b = out[k]
        out[n] = b
        n += 1 - seen[b]
        seen[b] = 1
    offset = 1 << bits
    grams = _gram_buckets(data, lo, lo, hi, PRESENCE_GRAM_ORDER, PRESENCE_GRAM_ORDER, shift, out[n:])
    for k in range(n, n + grams):
        b = offset + out[k]
        out[n] = b
        n += 1 - seen[b]
        seen[b] = 1
    for k in range(n):
        seen[out[k]] = 0
    return n


@nb.njit(cache=True, nogil=True)
def presence_matrix(data, starts, bits):
    """CSR structure (indptr, indices; indices sorted per row) of every document's presence features."""
    n_docs = starts.size - 1
    seen = np.zeros(2 << bits, np.uint8)
    scratch = np.zeros(3 * (data.size + 1), np.int64)
    indptr = np.zeros(n_docs + 1, np.int64)
    total = 0
    for d in range(n_docs):
        n = _presence(data, starts[d], starts[d + 1], bits, seen, scratch[total:])
        scratch[total:total + n].sort()
        total += n
        indptr[d + 1] = total
    return indptr, scratch[:total].copy()


@nb.njit(cache=True, nogil=True)
def presence_scores(data, starts, docs, weights, bits, limit):
    """For the documents ``docs``: the sum of the rows of ``weights`` (``2 << bits`` x classes) over
    their distinct presence features (within the first ``limit`` bytes; all when ``limit <= 0``)."""
    seen = np.zeros(2 << bits, np.uint8)
    n_classes = weights.shape[1]
    out = np.zeros((docs.size, n_classes), np.float64)
    scratch = np.zeros(3 * (_longest(starts, docs, limit) + 1), np.int64)
    for row in range(docs.size):
        d = docs[row]
        lo, hi = starts[d], starts[d + 1]
        if limit > 0:
            hi = min(hi, lo + limit)
        n = _presence(data, lo, hi, bits, seen, scratch)
        for k in range(n):
            f = scratch[k]
            for c in range(n_classes):
                out[row, c] += weights[f, c]
    return out
