"""The aggregate mixture estimate: category shares from a corpus' total byte-pair counts alone.

What it does: fits the corpus' byte-pair histogram as a mixture of the categories' byte-pair
distributions, either by non-negative least squares on the normalised histogram (the default: when
the category samples differ from the corpus' text, it errs less than EM in benchmarks/bench_scan.py)
or by EM (maximum likelihood of the counts under the mixture). The weights are shares of byte pairs, which
equal byte shares up to one pair per document. No per-document work is needed: pair counts merge by
addition across shards and machines.

What it leaves out: categories absent from the profiles (their bytes are spread over the closest
ones), and intervals.

>>> p = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
>>> estimate_mixture(np.array([50, 100, 50]), p).round(3).tolist()
[0.5, 0.5]
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Method = Literal["em", "nnls"]


def estimate_mixture(counts: np.ndarray, pair_probs: np.ndarray, *, method: Method = "nnls",
                     iterations: int = 2000, tolerance: float = 1e-10) -> np.ndarray:
    """Mixture weights (summing to 1) of the rows of ``pair_probs`` that best explain ``counts``.

    >>> estimate_mixture(np.array([3, 1]), np.array([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [0.75, 0.25]
    """
    counts = np.asarray(counts, np.float64)
    probs = np.asarray(pair_probs, np.float64)
    k = probs.shape[0]
    if counts.sum() <= 0:
        return np.zeros(k)
    if method == "nnls":
        from scipy.optimize import nnls

        weights, _ = nnls(probs.T, counts / counts.sum())
        total = weights.sum()
        return weights / total if total > 0 else np.full(k, 1.0 / k)
    if method != "em":
        raise ValueError(f"unknown method {method!r}; use em or nnls")
    seen = counts > 0
    c, p = counts[seen], probs[:, seen]
    weights = np.full(k, 1.0 / k)
    for _ in range(iterations):
        mix = weights @ p
        updated = weights * (p @ (c / mix)) / c.sum()
        if np.abs(updated - weights).max() < tolerance:
            weights = updated
            break
        weights = updated
    return weights / weights.sum()
