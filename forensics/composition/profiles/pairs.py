"""Pair statistics: what the byte-pair mixture estimate reads beside each category's distribution.

What it does: byte-pair histograms per source unit (file, page) of a category's sample
(:func:`unit_pair_histograms`), how much pair frequencies vary between parts of a sample
(:func:`pair_fold_variance`, pooled over categories) and the weights that follow from it
(:func:`_pair_weights`, with a floor chosen on mixtures of held-back text:
:func:`choose_pair_weight_floor`), the directions in which a category's distribution varies most
between its units (:func:`pair_components`), and the scale that makes the estimate's standard
errors cover its held-back errors (:func:`calibrate_estimate_sd`).

What it leaves out: the estimate itself (``mixture.py``), the smoothed distributions' storage
(``model.py``) and how the build splits the sample into kept and held-back units (``build.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from forensics.composition.profiles.tables import pack_texts, smoothed

PAIR_ALPHA = 0.01  # add-alpha smoothing of byte-pair distributions (small: a sample may be only 20 KB)
PAIR_FOLDS = 8  # parts of each category's sample (by source unit) whose spread weights the pairs
# Candidate floors (fractions of the mean variance added to every pair's; None: unweighted). The build
# picks the one whose estimate errs least on mixtures of held-back training text: with large samples
# a small floor halves the error, with 20-100 KB samples the spread is too noisy and a large one wins.
PAIR_WEIGHT_FLOORS: tuple[float | None, ...] = (1e-2, 1e-1, 0.3, 1.0, 3.0, 10.0, None)
PAIR_COMPONENTS = 8  # directions in which a category's byte-pair distribution varies most between its source units
# Corpus sizes (byte pairs) at which the estimate's standard errors are calibrated on held-back text;
# the scale needed falls with size (counting noise) and is flat above about 10 MB
ESTIMATE_SD_SIZES = (1e4, 1e5, 1e6, 1e7)


def unit_names(documents: list[Any]) -> list[str]:
    """The sorted source units (files, pages) of documents with text: the row order of
    :func:`unit_pair_histograms`."""
    return sorted({_unit_of(d) for d in documents if d.text})



def _unit_of(document: Any) -> str:
    return (document.id or document.source).split("#", 1)[0]



def unit_pair_histograms(documents: list[Any]) -> Any:
    """Byte-pair counts of each source unit (files, pages) of a category's sample: a sparse
    units x 65,536 matrix, rows in sorted unit order, pairs inside documents only (as
    :func:`forensics.counting.pairs.count_pairs` counts them; one 2-D histogram instead of a kernel
    call per unit, which took 4x as long on the large sets).

    >>> from types import SimpleNamespace as Doc
    >>> h = unit_pair_histograms([Doc(id="a#1", source="", text="ab"), Doc(id="a#2", source="", text="ab")])
    >>> h.shape, int(h[0, ord("a") << 8 | ord("b")]), int(h.sum())
    ((1, 65536), 2, 2)
    """
    import scipy.sparse as sparse

    documents = [d for d in documents if d.text]
    units = unit_names(documents)
    unit_index = {u: i for i, u in enumerate(units)}
    data, starts = pack_texts([d.text for d in documents])
    inside = np.ones(max(data.size - 1, 0), bool)
    inside[starts[1:-1] - 1] = False
    units_of_bytes = np.repeat([unit_index[_unit_of(d)] for d in documents], np.diff(starts))
    codes = data[:-1].astype(np.int64) << 8 | data[1:]
    hists = sparse.csr_matrix((np.ones(int(inside.sum())), (units_of_bytes[:-1][inside], codes[inside])),
                              shape=(len(units), 1 << 16))
    hists.sum_duplicates()
    return hists



def pair_fold_variance(unit_hists: Any) -> np.ndarray | None:
    """How much each byte pair's frequency varies across ``PAIR_FOLDS`` parts of a category's sample.

    Parts are whole source units (rows of :func:`unit_pair_histograms`) dealt round-robin in sorted
    order; None when the sample has fewer than two units.
    """
    if unit_hists.shape[0] < 2:
        return None
    frequencies = []
    for fold in range(min(PAIR_FOLDS, unit_hists.shape[0])):
        hist = np.asarray(unit_hists[fold::PAIR_FOLDS].sum(axis=0)).ravel()
        if hist.sum():
            frequencies.append(hist / hist.sum())
    if len(frequencies) < 2:
        return None
    return np.var(frequencies, axis=0, ddof=1)



def pooled_spread(variances: list[np.ndarray]) -> np.ndarray:
    """The mean over categories of :func:`pair_fold_variance` (zeros without any).

    >>> pooled_spread([np.array([0.0, 1.0]), np.array([0.0, 3.0])]).tolist()
    [0.0, 2.0]
    """
    return np.mean(variances, axis=0) if variances else np.zeros(1 << 16)



def pair_components(hists: Any, *, rank: int = PAIR_COMPONENTS) -> tuple[np.ndarray, np.ndarray]:
    """The ``rank`` directions in which a category's byte-pair distribution varies most between its
    source units (rows of :func:`unit_pair_histograms`), weighted by size: the top eigenvectors of
    the covariance of the sample's pair frequencies, scaled by the square root of their eigenvalues.

    Returns rows scaled to a largest absolute value of 1 (float16) and their scales (float32); rows
    past the number of units are zero. Docstrings in one project and not the next, or one page's
    topic, show up as such a direction; the mixture estimate discounts them.

    >>> from types import SimpleNamespace as Doc
    >>> docs = [Doc(id="a", source="", text="abab"), Doc(id="b", source="", text="cdcd")]
    >>> rows, norms = pair_components(unit_pair_histograms(docs), rank=2)
    >>> rows.shape, bool(norms[0] > 0), float(norms[1])
    ((2, 65536), True, 0.0)
    """
    import scipy.linalg

    sizes = np.asarray(hists.sum(axis=1)).ravel()
    total = sizes.sum()
    out, norms = np.zeros((rank, 1 << 16), np.float16), np.zeros(rank, np.float32)
    n = hists.shape[0]
    if total <= 0 or n < 2:
        return out, norms
    mean = np.asarray(hists.sum(axis=0)).ravel() / total
    # Gram matrix of the rows (h_u - n_u p) / N without forming them densely
    projected = hists @ mean
    gram = ((hists @ hists.T).toarray() - np.outer(projected, sizes) - np.outer(sizes, projected)
            + (mean @ mean) * np.outer(sizes, sizes)) / total ** 2
    values, vectors = scipy.linalg.eigh(gram, subset_by_index=[max(n - rank, 0), n - 1])
    top = np.argsort(values)[::-1]
    vectors = vectors[:, top] * (np.clip(values[top], 0, None) > 1e-30)
    directions = (np.asarray((hists.T @ vectors).T) - np.outer(vectors.T @ sizes, mean)) / total
    for i, row in enumerate(directions):
        peak = np.abs(row).max()
        if peak > 0:
            out[i], norms[i] = (row / peak).astype(np.float16), peak
    return out, norms



def _pair_weights(pair_probs: np.ndarray, spread: np.ndarray, total_pairs: float,
                  floor: float | None) -> np.ndarray:
    if floor is None:
        return np.ones(pair_probs.shape[1])
    variance = spread + pair_probs.mean(axis=0) / max(float(total_pairs), 1.0)
    return 1.0 / np.sqrt(variance + floor * variance.mean())



def choose_pair_weight_floor(kept_pairs: list[np.ndarray], held_pairs: list[np.ndarray | None],
                             spread: np.ndarray, *, mixtures: int = 8,
                             total_pairs: float = 1e7) -> tuple[float | None, dict[str, float]]:
    """The floor of ``PAIR_WEIGHT_FLOORS`` whose mixture estimate errs least on held-back text.

    Profiles of the kept training text are fitted to Dirichlet(1) mixtures (seed 0) of the
    categories' held-back text; returns the best floor and the mean byte-share L1 of each.
    Unweighted (None) when fewer than two categories have held-back text.
    """
    from forensics.composition.mixture import estimate_mixture

    prepared = _held_mixtures(kept_pairs, held_pairs, mixtures)
    if prepared is None:
        return None, {}
    probs, held, usable, truths = prepared
    errors: dict[str, float] = {}
    for floor in PAIR_WEIGHT_FLOORS:
        weights = _pair_weights(probs, spread, total_pairs, floor)
        errors[str(floor)] = float(np.mean([
            np.abs(estimate_mixture(truth[usable] @ held * total_pairs, probs, bin_weights=weights) - truth).sum()
            for truth in truths]))
    best = min(PAIR_WEIGHT_FLOORS, key=lambda f: errors[str(f)])
    return best, errors



def _held_mixtures(kept_pairs: list[np.ndarray], held_pairs: list[np.ndarray | None], mixtures: int,
                   ) -> tuple[np.ndarray, np.ndarray, list[int], list[np.ndarray]] | None:
    """Profiles of the kept training text, the held-back frequencies of the categories that have
    held-back text, their indices, and ``mixtures`` Dirichlet(1) truths over them (seed 0); None
    when fewer than two categories have held-back text."""
    usable = [i for i, h in enumerate(held_pairs) if h is not None and h.sum() > 0]
    if len(usable) < 2:
        return None
    probs = smoothed(np.array(kept_pairs), PAIR_ALPHA)
    held = np.array([held_pairs[i] / held_pairs[i].sum() for i in usable])
    rng = np.random.default_rng(0)
    truths = []
    for _ in range(mixtures):
        truth = np.zeros(len(held_pairs))
        truth[usable] = rng.dirichlet(np.ones(len(usable)))
        truths.append(truth)
    return probs, held, usable, truths



def calibrate_estimate_sd(kept_pairs: list[np.ndarray], held_pairs: list[np.ndarray | None], spread: np.ndarray,
                          floor: float | None, kept_components: np.ndarray | None, *, mixtures: int = 8,
                          sizes: Sequence[float] = ESTIMATE_SD_SIZES,
                          ) -> tuple[list[list[float]] | None, dict[str, Any]]:
    """How much to scale the mixture estimate's model standard errors so that they describe its
    errors on held-back text, by corpus size.

    Profiles of the kept training text (with the kept units' directions) are fitted to Dirichlet(1)
    mixtures of the held-back text, sampled as ``size`` pairs; at each size the scale is the 90th
    percentile of ``|error / model sd|`` over categories and mixtures, divided by 1.645, so that
    ``estimate +- 1.645 sd`` covers 90% of the held-back errors. Returns ``[[size, scale], ...]``
    (None with fewer than two categories of held-back text) and the coverage it measured.
    """
    from forensics.composition.mixture import estimate_mixture

    prepared = _held_mixtures(kept_pairs, held_pairs, mixtures)
    if prepared is None:
        return None, {}
    probs, held, usable, truths = prepared
    rng = np.random.default_rng(1)
    scales, validation = [], {}
    for size in sizes:
        weights = _pair_weights(probs, spread, size, floor)
        ratios, errors = [], []
        for truth in truths:
            mixed = truth[usable] @ held
            counts = rng.multinomial(int(size), mixed / mixed.sum()).astype(np.float64)
            fitted, covariance = estimate_mixture(counts, probs, bin_weights=weights, components=kept_components,
                                                  covariance=True)
            sd = np.sqrt(np.clip(np.diag(covariance), 1e-30, None))
            ratios.append(np.abs(fitted - truth)[usable] / sd[usable])
            errors.append(np.abs(fitted - truth).sum())
        scale = float(np.quantile(np.concatenate(ratios), 0.9) / 1.645)
        scales.append([float(size), scale])
        validation[f"{size:g}"] = {"scale": scale, "l1": float(np.mean(errors)),
                                   "median_abs_z": float(np.median(np.concatenate(ratios)) / scale)}
    return scales, validation

