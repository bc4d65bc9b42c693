"""Naive Bayes tables: packed text in, quantized log-probability tables and score margins out.

What it does: packs texts into one byte array with offsets (what every numba kernel reads), cuts
texts into pieces at line ends, smooths counts (categories x buckets) into distributions and
quantizes their logs to int16 tables at ``SCALE`` units per nat (one C-order row per bucket: the
classifier reads all categories of a bucket at once), including the background column (the
categories' mean n-gram probability) that the novelty check compares against, and reads scores
back: the top two per document and their margin in nats per 256 scored bytes, which the token gate,
the group gate and the calibration use.

What it leaves out: counting the buckets (``_ngrams_numba``, ``ngrams.py``), scoring documents
against the tables (``scoring.py``) and everything that fits on top of the scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SCALE = 64.0  # int16 table units per nat


def pack_texts(texts: Sequence[str | bytes]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of all texts in one uint8 array, and the start offsets (plus the total).

    >>> pack_texts(["ab", "c"])[1].tolist()
    [0, 2, 3]
    """
    encoded = [t if isinstance(t, bytes) else t.encode("utf-8", "surrogatepass") for t in texts]
    starts = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=starts[1:])
    return np.frombuffer(b"".join(encoded), np.uint8), starts



def split_pieces(text: str, *, min_bytes: int) -> list[str]:
    """Cut a text at line ends into pieces of at least ``min_bytes`` UTF-8 bytes (a short tail is dropped).

    >>> split_pieces("aa\\nbb\\ncc", min_bytes=4)
    ['aa\\nbb']
    """
    pieces, current, size = [], [], 0
    for line in text.split("\n"):
        current.append(line)
        size += len(line.encode("utf-8", "surrogatepass")) + 1
        if size > min_bytes:
            pieces.append("\n".join(current))
            current, size = [], 0
    return pieces



def smoothed(counts: np.ndarray, alpha: float) -> np.ndarray:
    """The rows of ``counts`` as add-``alpha`` smoothed distributions (float64).

    >>> smoothed(np.array([[3, 0]]), 1.0).tolist()
    [[0.8, 0.2]]
    """
    totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
    return (counts + alpha) / (totals + alpha * counts.shape[1])



def _quantized(logp: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """Log-probabilities as int16 table units (``SCALE`` per nat, times ``weight``)."""
    return np.clip(np.round(logp * SCALE * weight), -32767, 0).astype(np.int16)



def _log_prob_table(counts: np.ndarray, alpha: float, weight: float = 1.0) -> np.ndarray:
    # C order: the classifier reads one row (all categories of a bucket) per n-gram
    return np.ascontiguousarray(_quantized(np.log(smoothed(counts, alpha)).T, weight))



def background_column(counts: np.ndarray, alpha: float) -> np.ndarray:
    """The log of each bucket's mean smoothed probability over the categories (``counts``:
    categories x buckets), quantized as :func:`_log_prob_table` does, as a (buckets, 1) column.

    >>> background_column(np.array([[3, 0], [0, 3]]), 1.0)[:, 0].tolist() == [round(np.log(0.5) * SCALE)] * 2
    True
    """
    return np.ascontiguousarray(_quantized(np.log(smoothed(counts, alpha).mean(axis=0))[:, None]))



def top_two(scores: np.ndarray) -> np.ndarray:
    """Per row, the second-best and the best score, in that order (a partition, not a full sort).

    >>> top_two(np.array([[3, 9, 5, 1]])).tolist()
    [[5, 9]]
    """
    return np.partition(scores, scores.shape[1] - 2, axis=1)[:, -2:]



def top_two_indices(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's best and second-best column (the first of equals first).

    >>> [a.tolist() for a in top_two_indices(np.array([[1, 5, 3], [4, 4, 0]]))]
    [[1, 0], [2, 1]]
    """
    rows = np.arange(len(scores))
    first = scores.argmax(axis=1)
    kept = scores[rows, first]
    scores[rows, first] = np.iinfo(np.int64).min  # the runner-up is the best of the rest
    second = scores.argmax(axis=1)
    scores[rows, first] = kept
    return first, second



def scored_lengths(starts: np.ndarray, limit: int) -> np.ndarray:
    """Bytes scored per document: its length, at most ``limit`` (no cap when ``limit <= 0``)."""
    return np.diff(starts) if limit <= 0 else np.minimum(np.diff(starts), limit)



def margin_per_256(best: np.ndarray, second: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The gap between the best and the second score, in nats per 256 scored bytes: what the token
    gate, the group gate and the calibration read.

    >>> margin_per_256(np.array([640]), np.array([0]), np.array([512])).tolist()
    [5.0]
    """
    return (best - second) / SCALE / np.maximum(lengths, 1) * 256.0

