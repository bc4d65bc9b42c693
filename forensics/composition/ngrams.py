"""Hashed byte n-grams: the features of document classification, in plain Python.

What it does: defines which feature every byte position contributes (the n-grams of orders
``min_order..max_order`` that end there, each hashed into one of ``2**bits`` buckets) and, from that definition, a readable reference
for the two operations the fast numba kernels in ``_ngrams_numba.py`` perform: counting buckets over
training text, and scoring documents against a table of per-bucket weights. Tests check that the
kernels agree with these functions exactly.

What it leaves out: how weights are estimated (``profiles.py``) and turned into labels
(``classify.py``). N-grams never span two documents.

>>> ngram_buckets(b"ab", bits=8, max_order=2) == [bucket(0x61, 1, 8), bucket(0x62, 1, 8), bucket(0x6162, 2, 8)]
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Multiplicative hashing (Knuth): the top ``bits`` bits of key * odd constant, modulo 2**64.
HASH_MULTIPLIER = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


def bucket(gram: int, order: int, bits: int) -> int:
    """The bucket of an n-gram given as its bytes packed big-endian into an int.

    >>> 0 <= bucket(0x616263, 3, 16) < 2 ** 16
    True
    """
    key = gram | (order << 40)
    return ((key * HASH_MULTIPLIER) & MASK64) >> (64 - bits)


def ngram_buckets(data: bytes, *, bits: int, max_order: int, min_order: int = 1) -> list[int]:
    """Buckets of every n-gram of one document, by end position, then order.

    >>> len(ngram_buckets(b"abc", bits=8, max_order=2))  # a, b, ab, c, bc
    5
    >>> len(ngram_buckets(b"abc", bits=8, min_order=2, max_order=2))  # ab, bc
    2
    """
    out = []
    for i in range(len(data)):
        gram = 0
        for order in range(1, max_order + 1):
            if i - order + 1 < 0:
                break
            gram |= data[i - order + 1] << (8 * (order - 1))
            if order >= min_order:
                out.append(bucket(gram, order, bits))
    return out


def count_buckets_reference(documents: Sequence[bytes], *, bits: int, max_order: int,
                            min_order: int = 1) -> np.ndarray:
    """How often each bucket occurs over all documents (int64, ``2**bits`` long).

    >>> int(count_buckets_reference([b"aa"], bits=8, max_order=1).sum())
    2
    """
    counts = np.zeros(1 << bits, np.int64)
    for doc in documents:
        for b in ngram_buckets(doc, bits=bits, max_order=max_order, min_order=min_order):
            counts[b] += 1
    return counts


def score_documents_reference(documents: Sequence[bytes], table: np.ndarray, *, max_order: int,
                              min_order: int = 1) -> np.ndarray:
    """Per document and category, the sum of ``table[bucket]`` over its n-grams (int64).

    ``table`` has shape ``(2**bits, categories)`` and integer weights.

    >>> score_documents_reference([b"a"], np.ones((256, 2), np.int16), max_order=1).tolist()
    [[1, 1]]
    """
    bits = int(table.shape[0]).bit_length() - 1
    scores = np.zeros((len(documents), table.shape[1]), np.int64)
    for d, doc in enumerate(documents):
        for b in ngram_buckets(doc, bits=bits, max_order=max_order, min_order=min_order):
            scores[d] += table[b].astype(np.int64)
    return scores
