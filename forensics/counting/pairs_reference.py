"""Readable pure-Python pair counting: the definition the fast kernels are tested against.

What it does: counts adjacent pairs inside each document, of UTF-8 bytes or of token ids, one pair at
a time. A pair never spans two documents; a document of fewer than two items has no pairs.

What it leaves out: speed (use :func:`forensics.count_pairs`), files, tokenization.

>>> int(byte_pairs_reference([b"abab", b"ba"])[(ord("b") << 8) | ord("a")])
2
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np


def byte_pairs_reference(documents: Iterable[bytes | str]) -> np.ndarray:
    """65,536-bin uint64 histogram of adjacent byte pairs, key ``first << 8 | second``.

    Strings are counted as their UTF-8 bytes (lone surrogates kept with ``surrogatepass``).

    >>> int(byte_pairs_reference(["aaa"])[(97 << 8) | 97])
    2
    """
    hist = np.zeros(1 << 16, np.uint64)
    for doc in documents:
        data = doc.encode("utf-8", "surrogatepass") if isinstance(doc, str) else bytes(doc)
        for first, second in zip(data, data[1:]):
            hist[(first << 8) | second] += 1
    return hist


def token_pairs_reference(documents: Iterable[Sequence[int]]) -> Counter:
    """Counts of adjacent token-id pairs ``(a, b)``.

    >>> token_pairs_reference([[1, 2, 1, 2], [2, 1]])
    Counter({(1, 2): 2, (2, 1): 2})
    """
    counts: Counter = Counter()
    for doc in documents:
        ids = [int(i) for i in doc]
        counts.update(zip(ids, ids[1:]))
    return counts


def pairs_to_arrays(counts: Counter) -> tuple[np.ndarray, np.ndarray]:
    """Sorted uint64 keys ``a << 32 | b`` and uint64 counts, the layout of the fast paths.

    >>> pairs_to_arrays(Counter({(0, 1): 3}))
    (array([1], dtype=uint64), array([3], dtype=uint64))
    """
    items = sorted(((a << 32) | b, c) for (a, b), c in counts.items())
    keys = np.array([k for k, _ in items], dtype=np.uint64)
    values = np.array([c for _, c in items], dtype=np.uint64)
    return keys, values
