"""Per-document classification: the most likely category, its calibrated probability, or ``unknown``.

What it does: scores each document's hashed byte n-grams and word tokens against every category of a
:class:`~forensics.composition.profiles.Profiles` (naive Bayes, numba), turns the scores into
calibrated probabilities, and labels a document ``unknown`` when its best probability is below the
threshold, or (on request) when its bytes are unlike every category's (novel: :func:`novel_mask`). A
document longer than ``max_bytes`` is scored on ``WINDOWS`` windows spread evenly over it,
``max_bytes`` in all (its whole length still counts in every share): a long licence or comment
header, or a page's navigation, does not decide the label. The scores of a document streamed in
pieces add up (plain text files: the windows spread over their first block).

What it leaves out: reading shards (``forensics.corpus.readers``) and aggregation (``scan.py``).

>>> from forensics.composition.profiles import build_profiles
>>> from forensics.corpus.categories import load_categories
>>> profiles = build_profiles(load_categories("languages", categories=["de", "en"]), group_refinement=False)
>>> labels = classify_texts(["Der Hund schläft im Garten und träumt von Knochen."] * 2, profiles)
>>> labels[0].label
'de'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forensics.composition.profiles import (Profiles, label_probability, load_profiles, pack_texts,
                                           score_with_tables, scored_lengths)

UNKNOWN = "unknown"
DEFAULT_THRESHOLD = 0.5
DEFAULT_MAX_BYTES = 16384
# Windows scored in a document longer than max_bytes (first at its start, last at its end). Measured on
# real files (benchmarks/results/scan.md): sqlite3.h (616 KB) was labelled `en` by its first 16 KB.
WINDOWS = 4


@dataclass
class Label:
    """One document's label, its calibrated probability and the runner-up."""

    label: str
    probability: float
    best: str
    second: str
    novel: bool = False  # unlike every category (``unknown`` whatever its probability)


def score_array(data: np.ndarray, starts: np.ndarray, profiles: Profiles, *,
                max_bytes: int | None = DEFAULT_MAX_BYTES, byte_scores: bool = False) -> Any:
    """Raw int64 scores (documents x categories) and the number of bytes scored per document
    (and, with ``byte_scores``, the byte n-grams' scores alone and the background's, which
    :func:`novel_mask` reads).

    >>> from forensics.composition.profiles import build_profiles
    >>> from forensics.corpus.categories import load_categories
    >>> profiles = build_profiles(load_categories("languages", categories=["de", "en"]), group_refinement=False)
    >>> score_array(*pack_texts(["hello"]), profiles)[1].tolist()
    [5]
    """
    limit = 0 if max_bytes is None else int(max_bytes)
    if max_bytes is not None and limit <= 0:
        raise ValueError("max_bytes must be positive (or None for whole documents)")
    starts = np.asarray(starts, np.int64)
    if limit:
        data, starts = spread_windows(data, starts, limit)
    scores = score_with_tables(data, starts, profiles.table, profiles.token_table, profiles.min_order,
                               profiles.max_order, limit, profiles.group_models, keep_byte_scores=byte_scores,
                               background=profiles.background)
    if byte_scores:
        return scores[0], scored_lengths(starts, limit), scores[1]
    return scores, scored_lengths(starts, limit)


def novel_mask(scores: np.ndarray, lengths: np.ndarray, byte_scores: np.ndarray, profiles: Profiles) -> np.ndarray:
    """Documents unlike every category (:func:`~forensics.composition.profiles.novel_documents`),
    from ``score_array(..., byte_scores=True)``.

    >>> from forensics.composition.profiles import build_profiles
    >>> from forensics.corpus.categories import load_categories
    >>> profiles = build_profiles(load_categories("languages", categories=["de", "en"]), group_refinement=False)
    >>> novel_mask(*score_array(*pack_texts(["..."]), profiles, byte_scores=True), profiles)
    array([False])
    """
    if not len(scores):
        return np.zeros(0, bool)
    return profiles.novel(byte_scores, scores.argmax(axis=1), lengths)


def spread_windows(data: np.ndarray, starts: np.ndarray, max_bytes: int, *, windows: int = WINDOWS,
                   min_window: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The documents with each one longer than ``max_bytes`` replaced by ``windows`` windows of
    ``max_bytes // windows`` bytes spread evenly over it, first at its start and last at its end
    (all unchanged, so that a prefix is scored, when windows would be under ``min_window`` bytes).

    >>> d, s = spread_windows(np.frombuffer(b"abcdefghijklmnopqrst" + b"xy", np.uint8), np.array([0, 20, 22]), 8,
    ...                       windows=2, min_window=1)
    >>> bytes(d), s.tolist()
    (b'abcdqrstxy', [0, 8, 10])
    """
    lengths = np.diff(starts)
    long = np.flatnonzero(lengths > max_bytes)
    if not long.size or max_bytes // windows < min_window:
        return data, starts
    width = max_bytes // windows
    pieces, previous = [], 0
    new_lengths = lengths.copy()
    for d in long:
        lo, size = int(starts[d]), int(lengths[d])
        pieces.append(data[previous:lo])
        pieces.extend(data[lo + (size - width) * k // max(1, windows - 1):][:width] for k in range(windows))
        previous = int(starts[d + 1])
        new_lengths[d] = width * windows
    pieces.append(data[previous:])
    new_starts = np.zeros_like(starts)
    np.cumsum(new_lengths, out=new_starts[1:])
    return np.concatenate(pieces), new_starts


def decide(scores: np.ndarray, lengths: np.ndarray, profiles: Profiles, *,
           threshold: float = DEFAULT_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Best category index per document (-1 when its calibrated probability is below ``threshold``)
    and that probability.

    >>> from forensics.composition.profiles import build_profiles
    >>> from forensics.corpus.categories import load_categories
    >>> profiles = build_profiles(load_categories("languages", categories=["de", "en"]), group_refinement=False)
    >>> decide(*score_array(*pack_texts(["The dog sleeps in the garden.", "..."]), profiles), profiles)[0]
    array([ 1, -1])
    """
    best = scores.argmax(axis=1) if scores.size else np.zeros(len(scores), np.int64)
    prob = label_probability(scores, lengths, profiles.calibration) if len(scores) else np.zeros(0)
    return np.where(prob >= threshold, best, -1), prob


def classify_texts(texts: Sequence[str | bytes], profiles: Profiles | str | None = None, *,
                   threshold: float = DEFAULT_THRESHOLD, max_bytes: int | None = DEFAULT_MAX_BYTES,
                   novelty: bool = False) -> list[Label]:
    """Label each text (``unknown`` below ``threshold``, and with ``novelty`` also when it is unlike
    every category: see :func:`novel_mask`) with profiles (default: languages + code).

    >>> from forensics.composition.profiles import build_profiles
    >>> from forensics.corpus.categories import load_categories
    >>> profiles = build_profiles(load_categories("code", categories=["python", "rust"]), group_refinement=False)
    >>> [label.label for label in classify_texts(["def f(x):\\n    return x + 1\\n" * 8], profiles)]
    ['python']
    """
    profiles = load_profiles() if profiles is None else load_profiles(profiles)
    if not texts:
        return []
    scored = score_array(*pack_texts(texts), profiles, max_bytes=max_bytes, byte_scores=novelty)
    scores, lengths = scored[:2]
    labels, top = decide(scores, lengths, profiles, threshold=threshold)
    novel = novel_mask(scores, lengths, scored[2], profiles) if novelty else np.zeros(len(texts), bool)
    labels[novel] = -1
    order = np.argsort(-scores, axis=1)[:, :2]
    out = []
    for i in range(len(texts)):
        name = profiles.names[labels[i]] if labels[i] >= 0 else UNKNOWN
        out.append(Label(name, float(top[i]), profiles.names[order[i, 0]], profiles.names[order[i, -1]],
                         bool(novel[i])))
    return out
