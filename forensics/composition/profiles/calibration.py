"""Calibration: how likely a document's best category is right, from its score margin and length.

What it does: a logistic function of the top-two margin (log nats per 256 bytes), the log length
and their product (:func:`label_probability`), fitted on held-back training pieces
(:func:`_fit_calibration`; naive Bayes margins grow over-confident with length because overlapping
n-grams are not independent), and the per-category accuracy of short held-back pieces
(:func:`held_out_accuracy`).

What it leaves out: which text is held back (``build.py``) and the standard errors of the mixture
estimate (``pairs.calibrate_estimate_sd``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit

from forensics.composition.profiles.tables import margin_per_256, top_two

DEFAULT_CALIBRATION = (0.0, 1.0, 0.0, 0.0)



def _calibration_features(scores: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per document: 1, log(1 + top-two score margin in nats per 256 bytes), log length, their product."""
    top2 = top_two(scores).astype(np.float64) if scores.shape[1] > 1 else np.zeros((len(scores), 2))
    n = np.maximum(lengths, 1).astype(np.float64)
    margin = np.log1p(margin_per_256(top2[:, 1], top2[:, 0], n))
    log_n = np.log(n / 256.0)
    return np.stack([np.ones_like(n), margin, log_n, margin * log_n], axis=1)



def label_probability(scores: np.ndarray, lengths: np.ndarray, calibration: Sequence[float]) -> np.ndarray:
    """Calibrated probability that each document's best-scoring category is right.

    A logistic function of the margin between the two best scores (per 256 bytes), the length and
    their product, fitted on held-back documents: naive Bayes margins grow over-confident with length
    because overlapping n-grams are not independent.

    >>> label_probability(np.array([[64, 0]]), np.array([256]), [0.0, 1.0, 0.0, 0.0]).round(3).tolist()
    [0.667]
    """
    z = _calibration_features(scores, lengths) @ np.asarray(calibration, np.float64)
    return expit(z)



def _fit_calibration(scores: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> list[float]:
    """Logistic regression of "the best category is right" on the calibration features."""
    from scipy.optimize import minimize

    x = _calibration_features(scores, lengths)
    y = (scores.argmax(axis=1) == labels).astype(np.float64)
    if y.min() == y.max():
        return list(DEFAULT_CALIBRATION)

    def loss(w):
        z = x @ w
        # log(1 + e^z) - y z, and its gradient; a little L2 keeps separable data finite
        value = np.logaddexp(0.0, z) - y * z
        grad = x.T @ (expit(z) - y) / len(y) + 1e-4 * w
        return float(value.mean() + 0.5e-4 * w @ w), grad

    fit = minimize(loss, np.array(DEFAULT_CALIBRATION), jac=True, method="L-BFGS-B")
    return [float(v) for v in fit.x]



def held_out_accuracy(scores: np.ndarray, lengths: np.ndarray, labels: np.ndarray, names: list[str], *,
                      max_bytes: int = 1000, min_pieces: int = 20) -> dict[str, float]:
    """Per category, the share of its held-back pieces of under ``max_bytes`` bytes whose best category
    is right (under weights that never saw them): how reliable short documents of it are. Categories
    with fewer than ``min_pieces`` such pieces are left out (too few to say).

    >>> held_out_accuracy(np.array([[5, 1], [0, 3], [4, 2]]), np.array([300, 300, 300]), np.array([0, 0, 1]),
    ...                   ["a", "b"], min_pieces=1)
    {'a': 0.5, 'b': 0.0}
    """
    short = lengths < max_bytes
    right = scores.argmax(axis=1) == labels
    return {name: round(float(right[short & (labels == i)].mean()), 4)
            for i, name in enumerate(names) if (short & (labels == i)).sum() >= min_pieces}

