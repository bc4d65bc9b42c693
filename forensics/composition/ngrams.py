"""Hashed byte n-grams and word tokens: the features of document classification, in plain Python.

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


# --- hashed word tokens ------------------------------------------------------------------------------
#
# A second family of features, for what byte 3-grams see poorly: whole words and keywords, and the
# layout of code. Tokens, over the UTF-8 bytes of a document:
#   word         a maximal run of ASCII letters, digits, "_" and non-ASCII bytes (so any script's letters)
#   line start   a newline with the indentation after it: tabs (any), else 0..8+ spaces
#   (any other run of spaces, tabs, CR, VT, FF only separates tokens)
#   punctuation  any other run of bytes, cut into chunks of at most 3
# Each token contributes two buckets: its own (unigram) and that of it with the token before (bigram).

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
TOKEN_SALT = 0x51ED270B27A2F5C7
WORD_CHARS = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz") | frozenset(range(128, 256))
SPACE_CHARS = frozenset(b" \t\r\x0b\x0c")
MAX_INDENT = 8
PUNCT_CHUNK = 3


def fnv1a(data: bytes) -> int:
    """64-bit FNV-1a hash.

    >>> hex(fnv1a(b"a"))
    '0xaf63dc4c8601ec8c'
    """
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & MASK64
    return h


def token_keys(data: bytes) -> list[int]:
    """The 64-bit keys of a document's tokens, in order (see the definition above).

    >>> [hex(k) for k in token_keys(b"if x:\\n    y")] == [hex(fnv1a(t)) for t in (b"if", b"x", b":", b"\\n4", b"y")]
    True
    """
    keys, i, n = [], 0, len(data)
    while i < n:
        byte = data[i]
        j = i + 1
        if byte in WORD_CHARS:
            while j < n and data[j] in WORD_CHARS:
                j += 1
            keys.append(fnv1a(data[i:j]))
        elif byte == 0x0A:
            tab, spaces = False, 0
            while j < n and data[j] in (0x20, 0x09):
                tab |= data[j] == 0x09
                spaces += data[j] == 0x20
                j += 1
            keys.append(fnv1a(b"\n" + (b"T" if tab else bytes([0x30 + min(spaces, MAX_INDENT)]))))
        elif byte in SPACE_CHARS:  # spaces only separate tokens
            while j < n and data[j] in SPACE_CHARS:
                j += 1
        else:
            while j < n and j - i < PUNCT_CHUNK and data[j] not in WORD_CHARS and data[j] not in SPACE_CHARS \
                    and data[j] != 0x0A:
                j += 1
            keys.append(fnv1a(data[i:j]))
        i = j
    return keys


def token_bucket(key: int, previous: int | None, bits: int) -> int:
    """The bucket of a token (``previous`` None) or of a token after ``previous`` (a bigram).

    >>> 0 <= token_bucket(fnv1a(b"def"), None, 12) < 4096
    True
    """
    if previous is not None:
        key = (previous * FNV_PRIME + key + 1) & MASK64
    return (((key ^ TOKEN_SALT) * HASH_MULTIPLIER) & MASK64) >> (64 - bits)


def token_buckets(data: bytes, *, bits: int) -> list[int]:
    """Buckets of a document's tokens: per token its unigram, then its bigram with the token before.

    >>> len(token_buckets(b"a b", bits=8))  # a; b, a+b
    3
    """
    out, previous = [], None
    for key in token_keys(data):
        out.append(token_bucket(key, None, bits))
        if previous is not None:
            out.append(token_bucket(key, previous, bits))
        previous = key
    return out


def count_token_buckets_reference(documents: Sequence[bytes], *, bits: int) -> np.ndarray:
    """How often each token bucket occurs over all documents (int64, ``2**bits`` long).

    >>> int(count_token_buckets_reference([b"a b"], bits=8).sum())
    3
    """
    counts = np.zeros(1 << bits, np.int64)
    for doc in documents:
        for b in token_buckets(doc, bits=bits):
            counts[b] += 1
    return counts


def score_tokens_reference(documents: Sequence[bytes], table: np.ndarray) -> np.ndarray:
    """Per document and category, the sum of ``table[bucket]`` over its token buckets (int64).

    >>> score_tokens_reference([b"a b"], np.ones((256, 2), np.int16)).tolist()
    [[3, 3]]
    """
    bits = int(table.shape[0]).bit_length() - 1
    scores = np.zeros((len(documents), table.shape[1]), np.int64)
    for d, doc in enumerate(documents):
        for b in token_buckets(doc, bits=bits):
            scores[d] += table[b].astype(np.int64)
    return scores


# --- presence features for group refinement ---------------------------------------------------------
#
# Groups of categories that naive Bayes confuses (pt and pt-PT; the programming languages) get a
# multinomial logistic regression of their own (profiles.py). Its features are which token buckets and
# which byte 4-gram buckets occur in a document at all (presence, not counts): the few words that tell
# two close categories apart count once, however long the shared rest is.

PRESENCE_GRAM_ORDER = 4


def presence_features(data: bytes, *, bits: int) -> list[int]:
    """Sorted distinct features of a document: token buckets, then ``2**bits`` + byte 4-gram buckets.

    >>> presence_features(b"ab ab", bits=8) == sorted({token_bucket(fnv1a(b"ab"), None, 8),
    ...     token_bucket(fnv1a(b"ab"), fnv1a(b"ab"), 8)} | {256 + b for b in ngram_buckets(b"ab ab", bits=8,
    ...     min_order=4, max_order=4)})
    True
    """
    grams = ngram_buckets(data, bits=bits, min_order=PRESENCE_GRAM_ORDER, max_order=PRESENCE_GRAM_ORDER)
    return sorted(set(token_buckets(data, bits=bits)) | {(1 << bits) + b for b in grams})
