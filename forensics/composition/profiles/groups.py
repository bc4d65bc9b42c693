"""Group models: multinomial logistic regressions that pick among categories naive Bayes confuses.

What it does: finds the groups of categories whose short held-back pieces naive Bayes mixes up
(:func:`confused_groups`), fits a multinomial logistic regression on hashed presence features per
group (:func:`fit_group_model`, L-BFGS on 200- and 400-byte pieces) and, at scan time, lets a
group's model overturn naive Bayes' first label when a document's top two are both in the group and
the margin is under ``GROUP_GATE`` (:meth:`GroupModels.refine`; measured to keep the accuracy of
asking everywhere, within 0.01 points, at about 1.2x the speed: benchmarks/results/scan.md).

What it leaves out: the naive Bayes scores themselves (``tables.py``, ``scoring.py``), the
presence-feature kernels (``_ngrams_numba``) and which text the build fits the models on
(``build.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from forensics.composition.profiles.tables import (SCALE, margin_per_256, pack_texts, scored_lengths, split_pieces,
                                                   top_two_indices)

# Group refinement: categories that naive Bayes confuses on held-back pieces (pairs confused both ways together
# on at least GROUP_MIN_CONFUSION of their pieces, joined into groups of at most MAX_GROUP_SIZE; the worst
# MAX_GROUPS) get a multinomial logistic regression on presence features (ngrams.presence_features), which
# picks among the group when a document's top two are both in it.
MAX_GROUPS = 8
MAX_GROUP_SIZE = 16
GROUP_MIN_CONFUSION = 0.005
GROUP_MODEL_BITS = 17
GROUP_MODEL_L2 = 1e-4
GROUP_MODEL_TEXT = 3_000_000  # bytes of kept training text per category used to fit a group model, at most
GROUP_NB_WEIGHT = 0.01  # naive Bayes' log-probabilities (nats) added to a group model's logits
# Top-two margin (nats per 256 bytes) above which the group models are not asked: measured to keep the
# accuracy of asking them everywhere (within 0.01 points) at about 1.2x the speed (benchmarks/results/scan.md)
GROUP_GATE = 200.0
REFIT_ITERATIONS = 30  # L-BFGS iterations of the refit on all the training text, from the first fit


@dataclass
class GroupModels:
    """Multinomial logistic regressions over groups of easily confused categories.

    ``members[g]`` are group ``g``'s category indices; ``weights[g]`` its weights (``2 << bits``
    presence features x members) and ``bias[g]`` its intercepts.
    """

    members: list[np.ndarray]
    weights: list[np.ndarray]  # float32
    bias: list[np.ndarray]
    bits: int

    def refine(self, scores: np.ndarray, data: np.ndarray, starts: np.ndarray, limit: int) -> np.ndarray:
        """Where a document's top two categories are both in one modelled group and naive Bayes'
        margin is under ``GROUP_GATE``, the group's model (its logits plus ``GROUP_NB_WEIGHT`` times
        naive Bayes' log-probabilities, a tie-breaker) picks among the group, and the pick swaps scores
        with naive Bayes' first: the label follows the model, the margin (which the calibration reads)
        stays naive Bayes' own. Changes ``scores`` in place.
        """
        from forensics.composition import _ngrams_numba as kernels

        if not len(scores) or scores.shape[1] < 2 or not self.members:
            return scores
        first, second = top_two_indices(scores)
        rows = np.arange(len(scores))
        margin = margin_per_256(scores[rows, first], scores[rows, second], scored_lengths(starts, limit))
        for members, weights, bias in zip(self.members, self.weights, self.bias):
            inside = np.zeros(scores.shape[1], bool)
            inside[members] = True
            docs = np.flatnonzero(inside[first] & inside[second] & (margin < GROUP_GATE))
            if not docs.size:
                continue
            logits = kernels.presence_scores(data, starts, docs, weights, self.bits, limit) + bias
            logits += GROUP_NB_WEIGHT / SCALE * scores[docs][:, members]
            pick = members[logits.argmax(axis=1)]
            moved = pick != first[docs]
            docs, pick, top = docs[moved], pick[moved], first[docs][moved]
            scores[docs, top], scores[docs, pick] = scores[docs, pick], scores[docs, top]
        return scores



def confused_groups(scores: np.ndarray, lengths: np.ndarray, labels: np.ndarray, sets: Sequence[str] | None = None,
                    *, max_bytes: int = 1000) -> list[list[int]]:
    """Groups of categories whose short held-back pieces naive Bayes mixes up.

    Pairs confused (both directions together) on at least ``GROUP_MIN_CONFUSION`` of the two
    categories' pieces join, worst first, into groups of at most ``MAX_GROUP_SIZE`` categories of
    one set (``sets[c]`` names category ``c``'s set); a pair across two sets stays a group of two.
    The ``MAX_GROUPS`` groups with the worst pairs are returned, members sorted.

    >>> confused_groups(np.array([[5, 1, 0], [1, 5, 0], [0, 3, 0], [4, 0, 0], [0, 0, 1]]),
    ...                 np.array([300] * 5), np.array([0, 0, 1, 1, 2]))
    [[0, 1]]
    """
    short = lengths < max_bytes
    best = scores.argmax(axis=1)
    pieces = np.bincount(labels[short], minlength=scores.shape[1])
    wrong = short & (best != labels)
    counts: dict[tuple[int, int], int] = {}
    for truth, guess in zip(labels[wrong], best[wrong]):
        key = (int(min(truth, guess)), int(max(truth, guess)))
        counts[key] = counts.get(key, 0) + 1
    rates = {key: n / max(1, pieces[key[0]] + pieces[key[1]]) for key, n in counts.items()}
    sets = [""] * scores.shape[1] if sets is None else list(sets)
    group_of: dict[int, list[int]] = {}
    order: list[list[int]] = []  # groups in the order of their worst pair
    for a, b in sorted(rates, key=lambda k: (-rates[k], k)):
        if rates[(a, b)] < GROUP_MIN_CONFUSION:
            break
        if sets[a] != sets[b]:
            order.append([a, b])
            continue
        ga, gb = group_of.get(a, [a]), group_of.get(b, [b])
        if ga is gb or len(ga) + len(gb) > MAX_GROUP_SIZE:
            continue
        merged = ga + gb
        for member in merged:
            group_of[member] = merged
        at = min((i for i, g in enumerate(order) if g is ga or g is gb), default=len(order))
        order = [g for g in order[:at] if g is not ga and g is not gb] + [merged] + [
            g for g in order[at:] if g is not ga and g is not gb]
    return [sorted(g) for g in order[:MAX_GROUPS]]



def _first_bytes(texts: list[str], limit: int) -> list[str]:
    """The leading texts that together reach ``limit`` characters (all of them when shorter)."""
    out, size = [], 0
    for text in texts:
        if size >= limit:
            break
        out.append(text)
        size += len(text)
    return out



def fit_group_model(samples: Sequence[Sequence[str]], *, bits: int | None = None, l2: float = GROUP_MODEL_L2,
                    start: tuple[np.ndarray, np.ndarray] | None = None,
                    max_iterations: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Weights (``2 << bits`` presence features x classes, float32) and intercepts of a multinomial
    logistic regression telling the samples apart, fitted on their 200- and 400-byte pieces (L-BFGS,
    L2 penalty ``l2``; from ``start`` when given). The caller bounds the samples (``GROUP_MODEL_TEXT``).
    """
    from scipy import sparse
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    from forensics.composition import _ngrams_numba as kernels

    bits = GROUP_MODEL_BITS if bits is None else bits
    pieces, target = [], []
    for label, texts in enumerate(samples):
        for text in texts:
            for k, size in enumerate((200, 400)):
                cut = split_pieces(text, min_bytes=size)[k::2]
                pieces.extend(cut)
                target.extend([label] * len(cut))
    data, starts = pack_texts(pieces)
    indptr, indices = kernels.presence_matrix(data, starts, bits)
    x = sparse.csr_matrix((np.ones(indices.size), indices, indptr), shape=(len(pieces), 2 << bits))
    x_t = x.T.tocsr()
    y = np.array(target)
    rows = np.arange(len(y))
    n_features, n_classes = x.shape[1], len(samples)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = w[:-n_classes].reshape(n_features, n_classes), w[-n_classes:]
        z = x @ weights + bias
        norm = logsumexp(z, axis=1, keepdims=True)
        gap = np.exp(z - norm)
        gap[rows, y] -= 1.0
        gap /= len(y)
        value = float(np.mean(norm[:, 0] - z[rows, y]) + 0.5 * l2 * np.vdot(weights, weights))
        return value, np.concatenate([(x_t @ gap + l2 * weights).ravel(), gap.sum(axis=0)])

    initial = (np.zeros(n_features * n_classes + n_classes) if start is None
               else np.concatenate([start[0].astype(np.float64).ravel(), start[1]]))
    fit = minimize(loss, initial, jac=True, method="L-BFGS-B", options={"maxiter": max_iterations})
    # float16 precision: profiles store the weights as float16 (half the size; they sum over ~100 features)
    weights = fit.x[:-n_classes].reshape(n_features, n_classes).astype(np.float16).astype(np.float32)
    return weights, fit.x[-n_classes:]

