"""The aggregate mixture estimate: category shares from a corpus' total byte-pair counts alone.

What it does: fits the corpus' byte-pair histogram as a mixture of the categories' byte-pair
distributions, either by weighted non-negative least squares on the normalised histogram (the
default) or by EM (maximum likelihood of the counts under the mixture). The weights of the least
squares fit are one per pair, ``1 / sd``, where ``sd`` is how much the pair's frequency varies
between parts of one category's sample (see ``Profiles.pair_weights``): pairs that belong to one
file's identifiers or one page's topic count little, pairs every text of a category shares count
much. Given each category's main directions of variation between its source units (``components``:
the share of docstrings or POD in code, say), the fit is generalised least squares that expects a
corpus' category text to differ from the profile along them. When the category samples differ from
the corpus' text, the weighted fit errs about half as much as unweighted least squares, and less
than EM; the directions take a further 6-21% off (benchmarks/results/scan.md). The weights are shares of byte pairs, which
equal byte shares up to one pair per document. No per-document work is needed: pair counts merge by
addition across shards and machines.

With ``covariance=True`` the NNLS fit also returns the covariance of its weights (see
``Profiles.estimate`` for the calibrated standard errors a scan reports).

What it leaves out: categories absent from the profiles (their bytes are spread over the closest
ones), and intervals for EM.

>>> p = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
>>> estimate_mixture(np.array([50, 100, 50]), p).round(3).tolist()
[0.5, 0.5]
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

Method = Literal["em", "nnls"]
DIRECTION_SCALE = 128.0  # variance of the category directions in the fit (simulated on the large sets: 32-512 all gain)


def estimate_mixture(counts: np.ndarray, pair_probs: np.ndarray, *, method: Method = "nnls",
                     bin_weights: np.ndarray | None = None, components: np.ndarray | None = None,
                     component_scale: float = DIRECTION_SCALE, covariance: bool = False, iterations: int = 2000,
                     tolerance: float = 1e-10) -> Any:
    """Mixture weights (summing to 1) of the rows of ``pair_probs`` that best explain ``counts``.

    ``bin_weights`` (one per bin; NNLS only) weight each bin's squared residual by its square.
    ``components`` (categories x r x bins; NNLS only) are directions in which each category's
    distribution may differ from its row (``Profiles.pair_components``): the fit is generalised
    least squares whose residual covariance adds ``component_scale * w_c^2 * D_c^T D_c`` for each
    category's weight ``w_c``, refitted a few times as the weights settle.

    With ``covariance`` (NNLS only) it returns ``(weights, covariance)``: the covariance of the
    generalised least squares fit under its own residual model, ``(P C^-1 P^T)^-1``, carried through
    the normalisation of the weights to sum 1. Its scale is only as good as that model (too wide by several times on
    the benchmark corpora); ``Profiles.estimate`` rescales it by a factor fitted on held-back text.

    >>> estimate_mixture(np.array([3, 1]), np.array([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [0.75, 0.25]
    """
    counts = np.asarray(counts, np.float64)
    probs = np.asarray(pair_probs, np.float64)
    k = probs.shape[0]
    if counts.sum() <= 0:  # nothing counted: no weights, and nothing known about them
        return (np.zeros(k), np.zeros((k, k))) if covariance else np.zeros(k)
    if method == "nnls":
        frequencies = counts / counts.sum()
        squared = np.ones(probs.shape[1]) if bin_weights is None else np.asarray(bin_weights, np.float64) ** 2
        gram, moment = (probs * squared) @ probs.T, (probs * squared) @ frequencies
        weights = _nnls_normal(gram, moment)
        information = gram
        if components is not None:
            weights, information = _low_rank_gls(gram, moment, frequencies, probs, squared, components,
                                                 component_scale, weights)
        return (weights, _normalised_covariance(information, weights)) if covariance else weights
    if method != "em":
        raise ValueError(f"unknown method {method!r}; use em or nnls")
    if covariance:
        raise ValueError("a covariance is only computed for method nnls")
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


def _nnls_normal(gram: np.ndarray, moment: np.ndarray) -> np.ndarray:
    """argmin w^T G w - 2 w^T m over w >= 0, normalised to sum 1.

    Working on the Cholesky factor of the Gram matrix keeps the problem k x k however many bins
    there are (scipy's nnls on the full 65,536 x k matrix can stop at its iteration limit).
    """
    from scipy.optimize import nnls

    k = gram.shape[0]
    gram = gram.copy()
    gram[np.diag_indices(k)] += 1e-12 * np.trace(gram) / k
    factor = np.linalg.cholesky(gram)
    solution, _ = nnls(factor.T, np.linalg.solve(factor, moment), maxiter=100 * k)
    total = solution.sum()
    return solution / total if total > 0 else np.full(k, 1.0 / k)


def _normalised_covariance(information: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The covariance of the normalised weights ``w / sum(w)`` when the fit's own have covariance
    ``information^-1`` (delta method: ``J S J^T`` with ``J = I - w 1^T``; a ridge of 1e-12 of the
    trace keeps near-collinear rows invertible). Rows sum to 0, as the weights sum to 1.

    >>> _normalised_covariance(np.eye(2), np.array([0.5, 0.5])).round(6).tolist()
    [[0.5, -0.5], [-0.5, 0.5]]
    """
    k = information.shape[0]
    inverse = np.linalg.inv(information + 1e-12 * np.trace(information) / k * np.eye(k))
    jacobian = np.eye(k) - np.outer(weights, np.ones(k))
    return jacobian @ inverse @ jacobian.T


def _low_rank_gls(gram: np.ndarray, moment: np.ndarray, frequencies: np.ndarray, probs: np.ndarray,
                  squared: np.ndarray, components: np.ndarray, scale: float, weights: np.ndarray,
                  rounds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Generalised least squares under covariance ``diag(1 / squared) + U^T U`` with
    ``U = sqrt(scale) w_c D_c`` stacked over categories, by the Woodbury identity (an r k x r k
    system replaces a bins x bins one), starting from the weighted fit's normal equations
    ``gram``, ``moment``. The products with the directions are formed once, on the bins some
    direction touches; each round only rescales them by the current weights. Returns the weights
    and the information matrix ``P C^-1 P^T`` at them."""
    k, rank = components.shape[:2]
    flat = np.asarray(components).reshape(k * rank, -1)
    touched = np.flatnonzero(np.any(flat != 0, axis=0))
    if touched.size == 0:
        return weights, gram
    directions = flat[:, touched].astype(np.float64)
    weighted = directions * squared[touched]
    direction_gram = weighted @ directions.T
    direction_probs = weighted @ probs[:, touched].T
    direction_moment = weighted @ frequencies[touched]

    def normal_equations(current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        stretch = np.repeat(np.sqrt(scale) * current, rank)
        inner = np.eye(k * rank) + stretch[:, None] * direction_gram * stretch[None, :]
        cross = stretch[:, None] * direction_probs
        solved = np.linalg.solve(inner, np.column_stack([cross, stretch * direction_moment]))
        return gram - cross.T @ solved[:, :k], moment - cross.T @ solved[:, k]

    for _ in range(rounds):
        weights = _nnls_normal(*normal_equations(weights))
    return weights, normal_equations(weights)[0]
