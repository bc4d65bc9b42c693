"""Novelty: documents unlike every category (junk, a script or a language the profiles lack).

What it does: per category, the median and a length-dependent spread (``a + b / length``) of its
own held-back pieces' byte score per byte (:func:`fit_novelty`); a document is novel when it lies
``NOVELTY_SD`` standard deviations below that (:func:`novelty_z`) or when its category explains it
``NOVELTY_RATIO`` nats per byte worse than the background column does (:func:`background_ratio`;
0.02% of the large sets' held-back pieces fall under that cut). Off by default in scans.

What it leaves out: the byte scores and the background column themselves (``scoring.py``,
``tables.py``); what a scan does with novel documents (``classify.py``).
"""

from __future__ import annotations

import numpy as np

from forensics.composition.profiles.tables import SCALE

NOVELTY_MIN_BYTES = 200  # shorter documents are never called novel: their scores are too noisy
# The novelty check (off by default; benchmarks/results/scan.md): a document is novel when its byte score
# lies NOVELTY_SD standard deviations below its category's own held-back texts, or when its category
# explains it NOVELTY_RATIO nats per byte worse than the categories' mean n-gram probabilities do. The
# ratio's cut: 0.02% of the large sets' held-back pieces fall under it.
NOVELTY_SD = 10.0
NOVELTY_RATIO = 0.8


def byte_score_per_byte(byte_scores: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each document's byte n-gram score under category ``labels[i]``, in nats per scored byte.

    >>> byte_score_per_byte(np.array([[-640, -1280]]), np.array([1]), np.array([10])).tolist()
    [-2.0]
    """
    rows = np.arange(len(labels))
    return byte_scores[rows, labels] / (np.maximum(lengths, 1) * SCALE)



def fit_novelty(per_byte: np.ndarray, lengths: np.ndarray, labels: np.ndarray, n_categories: int,
                *, min_pieces: int = 20) -> list[list[float] | None]:
    """Per category ``[median, a, b]`` of its own held-back pieces' byte score per byte (under their
    own category): the median, and a variance ``a + b / length`` fitted to the squared deviations,
    clipped at 3 sd of the fit and refitted (the odd piece of another language does not widen it).
    ``a`` is how much whole texts of a category differ, ``b / length`` the noise of a short piece.
    None for a category with fewer than ``min_pieces`` pieces.

    >>> rng = np.random.default_rng(0); n = rng.integers(200, 4000, 2000)
    >>> [round(x, 2) for x in fit_novelty(-3 + rng.normal(0, np.sqrt(0.01 + 50 / n)), n, np.zeros(2000, int), 1)[0]]
    [-3.01, 0.01, 48.78]
    """
    out: list[list[float] | None] = []
    for c in range(n_categories):
        mine = labels == c
        if mine.sum() < min_pieces:
            out.append(None)
            continue
        squared = (per_byte[mine] - np.median(per_byte[mine])) ** 2
        design = np.column_stack([np.ones(mine.sum()), 1.0 / np.maximum(lengths[mine], 1)])
        limit = np.full(mine.sum(), np.quantile(squared, 0.95))
        for _ in range(4):  # clip at 3 sd of the current fit, refit
            (a, b), *_ = np.linalg.lstsq(design, np.minimum(squared, limit), rcond=None)
            a, b = max(a, 1e-4), max(b, 1.0)
            limit = 9 * (a + b * design[:, 1])
        out.append([float(np.median(per_byte[mine])), float(a), float(b)])
    return out



def novelty_z(model: list[list[float] | None], byte_scores: np.ndarray, labels: np.ndarray,
              lengths: np.ndarray) -> np.ndarray:
    """How far below its category's own texts each document's byte score per byte lies, in standard
    deviations of :func:`fit_novelty`'s ``model`` for its length (0 for documents under
    ``NOVELTY_MIN_BYTES`` scored bytes and for categories without a model).

    >>> scores = np.array([[-1600 * 4 * SCALE]])  # -4 nats per byte over 1,600 bytes
    >>> novelty_z([[-3.0, 0.01, 50.0]], scores, np.array([0]), np.array([1600])).round(1).tolist()
    [-4.9]
    """
    table = np.array([m if m is not None else [0.0, np.inf, 0.0] for m in model], np.float64)
    lengths = np.asarray(lengths, np.float64)
    centre, spread, noise = table[np.asarray(labels)].T
    z = (byte_score_per_byte(byte_scores, labels, lengths) - centre) / np.sqrt(spread + noise / np.maximum(lengths, 1))
    return np.where(lengths >= NOVELTY_MIN_BYTES, z, 0.0)



def background_ratio(byte_scores: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per document, nats per scored byte by which category ``labels[i]`` explains its byte n-grams
    better than the background does (each n-gram's mean probability over the categories: the last
    column of ``byte_scores``). Negative: no one category explains the text as well as a patchwork
    of all of them, as with a language the profiles lack, whose n-grams are spread over its
    relatives. 0 for documents under ``NOVELTY_MIN_BYTES`` scored bytes.

    >>> background_ratio(np.array([[-640 * 300, -320 * 300]]), np.array([0]), np.array([300])).tolist()
    [-5.0]
    """
    lengths = np.asarray(lengths, np.float64)
    ratio = byte_score_per_byte(byte_scores, labels, lengths) - byte_scores[:, -1] / (np.maximum(lengths, 1) * SCALE)
    return np.where(lengths >= NOVELTY_MIN_BYTES, ratio, 0.0)



def novel_documents(model: list[list[float] | None], byte_scores: np.ndarray, labels: np.ndarray,
                    lengths: np.ndarray) -> np.ndarray:
    """Documents unlike every category: their byte n-grams score more than ``NOVELTY_SD`` standard
    deviations below their category's own held-back texts (:func:`novelty_z`: junk, a script no
    category uses), or their category explains them more than ``NOVELTY_RATIO`` nats per byte worse
    than the background does (:func:`background_ratio`: a language the profiles lack).
    ``byte_scores``: the categories' byte scores with the background's as the last column."""
    return ((novelty_z(model, byte_scores, labels, lengths) < -NOVELTY_SD)
            | (background_ratio(byte_scores, labels, lengths) < -NOVELTY_RATIO))

