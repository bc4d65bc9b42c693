"""Validation where the predictions land: region-shift folds over a run table, and the model choice they make.

K-fold holds out runs like the training runs, so it cannot see a model that ranks well in the middle of the runs
and badly at their edge, where a recommendation lands. Each region-shift fold trains on the rest of the runs and
tests on one held-out region:

- ``far``: the runs farthest (L1) from the runs' mean mixture (top ``fraction``);
- ``high_entropy`` / ``low_entropy``: the top / bottom ``fraction`` by mixture entropy;
- ``source_max``: runs holding more of a source than every remaining run (its top ``source_fraction``), one
  fold per source (or per ``source_groups`` groups of sources, round robin), averaged;
- ``near_optimum``: fit on all runs, take the model's own optimum, hold out its nearest ``fraction`` of runs.

:func:`select_model` scores every candidate by Spearman on each fold kind, averages the kinds into the region
score, and keeps the best; when the best configurations of several model families are within ``margin``, a
:class:`RankEnsemble` of them (mean of rank-normalised predictions) is scored too and kept if it is best.
On the 512 RegMix runs this costs about 9 fits per candidate (explaw 2.7 s and LightGBM 1 s each, ridge 10 ms).

Leaves out: the simplex search and reading run tables (:mod:`~forensics.recommend.runs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from forensics.recommend.run_models import Candidate, ModelScore, Predictor, _spearman, kfold_splits, out_of_fold

__all__ = ["FOLD_KINDS", "Fold", "RankEnsemble", "rank_average", "region_folds", "nearest_fold",
           "search_optimum", "select_model", "Selection"]

FoldKind = Literal["far", "high_entropy", "low_entropy", "source_max", "near_optimum"]
FOLD_KINDS: tuple[str, ...] = ("far", "high_entropy", "low_entropy", "source_max", "near_optimum")
MIN_FOLD = 3  # fewer held-out runs make the Spearman meaningless
MIN_TRAIN = 5


@dataclass(frozen=True)
class Fold:
    """Held-out run indices ``test`` and the runs ``train`` fitted on (the rest)."""

    kind: str
    name: str
    train: np.ndarray
    test: np.ndarray

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "n_train": int(len(self.train)), "n_test": int(len(self.test))}


def _fold(kind: str, name: str, held: np.ndarray) -> Fold | None:
    test = np.flatnonzero(held)
    train = np.flatnonzero(~held)
    if len(test) < MIN_FOLD or len(train) < MIN_TRAIN:
        return None
    return Fold(kind, name, train, test)


def _top(values: np.ndarray, count: int) -> np.ndarray:
    """Mask of the ``count`` largest values (ties broken by row order, so the fold is deterministic)."""
    held = np.zeros(len(values), dtype=bool)
    held[np.argsort(-values, kind="stable")[:count]] = True
    return held


def entropy(weights: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each mixture; ``entropy(np.eye(2))`` -> [0, 0]."""
    w = np.clip(weights, 0.0, None)
    return -np.sum(np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0), axis=1)


def region_folds(weights: np.ndarray, *, fraction: float = 0.2, source_fraction: float = 0.1,
                 source_groups: int | None = None) -> list[Fold]:
    """The model-independent region-shift folds (``far``, the entropy folds, ``source_max``).

    >>> w = np.random.default_rng(0).dirichlet(np.ones(4), 50)
    >>> [(f.name, len(f.test)) for f in region_folds(w)][:3]
    [('far', 10), ('high_entropy', 10), ('low_entropy', 10)]
    """
    n, m = weights.shape
    count = max(MIN_FOLD, int(np.ceil(fraction * n)))
    distance = np.abs(weights - weights.mean(axis=0)).sum(axis=1)
    h = entropy(weights)
    folds = [_fold("far", "far", _top(distance, count)), _fold("high_entropy", "high_entropy", _top(h, count)),
             _fold("low_entropy", "low_entropy", _top(-h, count))]
    groups = m if source_groups is None else max(1, min(source_groups, m))
    for g in range(groups):
        held = np.zeros(n, dtype=bool)
        for j in range(g, m, groups):
            # Strictly above the quantile: every remaining run has less of source j than every held-out one.
            threshold = np.quantile(weights[:, j], 1.0 - source_fraction)
            held |= (weights[:, j] > threshold) & (weights[:, j] > 0)
        folds.append(_fold("source_max", f"source_max[{g + 1}/{groups}]", held))
    return [f for f in folds if f is not None]


def nearest_fold(weights: np.ndarray, point: np.ndarray, count: int) -> Fold | None:
    """Hold out the ``count`` runs nearest (L1) to ``point``."""
    distance = np.abs(weights - point).sum(axis=1)
    return _fold("near_optimum", "near_optimum", _top(-distance, min(count, len(weights) - MIN_TRAIN)))


def search_optimum(predictor: Predictor, pool: np.ndarray, top_k: int) -> np.ndarray:
    """Mean of the ``top_k`` pool mixtures with the lowest prediction (the search of ``recommend_from_runs``)."""
    k = max(1, min(top_k, len(pool)))
    return pool[np.argpartition(predictor(pool), k - 1)[:k]].mean(axis=0)


def rank_average(predictions: Sequence[np.ndarray]) -> np.ndarray:
    """Order by the mean of rank-normalised predictions; values are the members' mean, sorted into that order.

    The result ranks like the rank ensemble and stays in the metric's units (one row: the members' mean).

    >>> rank_average([np.array([1.0, 2.0, 3.0]), np.array([30.0, 10.0, 20.0])]).tolist()
    [11.5, 6.0, 15.5]
    """
    stacked = np.vstack(predictions)
    n = stacked.shape[1]
    if n == 1:
        return stacked.mean(axis=0)
    ranks = np.argsort(np.argsort(stacked, axis=1, kind="stable"), axis=1, kind="stable") / (n - 1)
    order = np.argsort(ranks.mean(axis=0), kind="stable")
    result = np.empty(n)
    result[order] = np.sort(stacked.mean(axis=0))
    return result


@dataclass(frozen=True)
class RankEnsemble:
    """Several candidates fitted on the same runs, combined by :func:`rank_average`."""

    members: tuple[Candidate, ...]
    model: str = "ensemble"

    @property
    def parameters(self) -> dict:
        return {"members": [c.label for c in self.members]}

    @property
    def label(self) -> str:
        return "ensemble(" + " + ".join(c.label for c in self.members) + ")"

    def fit(self, weights: np.ndarray, target: np.ndarray, seed: int) -> Predictor:
        return _combine([c.fit(weights, target, seed) for c in self.members], self.members)


def _combine(fitted: Sequence[Predictor], members: Sequence[Candidate]) -> Predictor:
    def predict(mixtures: np.ndarray) -> np.ndarray:
        return rank_average([f(mixtures) for f in fitted])

    predict.coefficients = {c.label: getattr(f, "coefficients", {})  # type: ignore[attr-defined]
                            for c, f in zip(members, fitted)}
    return predict


@dataclass
class Selection:
    """The chosen candidate, its fit on all runs, every score (chosen first) and the folds used.

    ``held_out`` are the folds the choice was scored on, as the chosen model saw them (the region-shift folds
    with its own ``near_optimum`` fold, or the K-fold folds); ``oof`` its K-fold out-of-fold predictions.
    """

    chosen: Candidate | RankEnsemble
    model: Predictor
    scores: list[ModelScore]
    folds: list[dict]
    held_out: list[Fold] = field(default_factory=list)
    oof: np.ndarray | None = None


def _region_summary(per_fold: dict[str, list[float]]) -> tuple[dict[str, float], float]:
    by_kind = {kind: float(np.mean(values)) for kind, values in per_fold.items() if values}
    return by_kind, float(np.mean(list(by_kind.values()))) if by_kind else float("nan")


def select_model(weights: np.ndarray, objective: np.ndarray, candidates: Sequence[Candidate], *,
                 select: Literal["region", "kfold"] = "region", folds: int = 5, pool: np.ndarray | None = None,
                 top_k: int = 100, fraction: float = 0.2, margin: float = 0.01, seed: int = 0,
                 validate: tuple[np.ndarray, np.ndarray] | None = None) -> Selection:
    """Score ``candidates`` (lower ``objective`` is better) by K-fold and, unless ``select="kfold"``, by region.

    With ``validate`` (mixtures, objective of the user's own runs) each candidate fitted on all runs is also
    scored on them, and that score decides. ``pool`` holds the mixtures searched for each model's optimum.
    """
    n = len(objective)
    oof = [out_of_fold(weights, objective, c, folds=folds, seed=seed) for c in candidates]
    scores = [ModelScore(c.model, dict(c.parameters), _spearman(p, objective),
                         float(np.sqrt(np.mean((p - objective) ** 2)))) for c, p in zip(candidates, oof)]
    fitted: list[Predictor | None] = [None] * len(candidates)
    described: list[dict] = []
    near_folds: list[Fold | None] = [None] * len(candidates)
    shared: list[Fold] = []

    def full_fit(i: int) -> Predictor:
        if fitted[i] is None:
            fitted[i] = candidates[i].fit(weights, objective, seed)
        return fitted[i]

    if select == "region":
        if pool is None:
            pool = weights
        shared = region_folds(weights, fraction=fraction)
        described = [f.describe() for f in shared] + [{"kind": "near_optimum", "name": "near_optimum",
                                                       "n_test": int(np.ceil(fraction * n)), "per_model": True}]
        fold_predictions: list[list[np.ndarray]] = []
        near_count = max(MIN_FOLD, int(np.ceil(fraction * n)))
        for i, (candidate, score) in enumerate(zip(candidates, scores)):
            per_fold: dict[str, list[float]] = {kind: [] for kind in FOLD_KINDS}
            predictions = []
            for fold in shared:
                predicted = candidate.fit(weights[fold.train], objective[fold.train], seed)(weights[fold.test])
                predictions.append(predicted)
                per_fold[fold.kind].append(_spearman(predicted, objective[fold.test]))
            fold_predictions.append(predictions)
            near = near_folds[i] = nearest_fold(weights, search_optimum(full_fit(i), pool, top_k), near_count)
            if near is not None:
                predicted = candidate.fit(weights[near.train], objective[near.train], seed)(weights[near.test])
                per_fold["near_optimum"].append(_spearman(predicted, objective[near.test]))
            score.region, score.region_spearman = _region_summary(per_fold)
        ensemble = _ensemble(candidates, scores, margin)
        if ensemble is not None:
            members = [candidates.index(c) for c in ensemble.members]
            per_fold = {kind: [] for kind in FOLD_KINDS}
            for f, fold in enumerate(shared):
                predicted = rank_average([fold_predictions[i][f] for i in members])
                per_fold[fold.kind].append(_spearman(predicted, objective[fold.test]))
            combined = _combine([full_fit(i) for i in members], ensemble.members)
            near = nearest_fold(weights, search_optimum(combined, pool, top_k), near_count)
            if near is not None:
                predicted = ensemble.fit(weights[near.train], objective[near.train], seed)(weights[near.test])
                per_fold["near_optimum"].append(_spearman(predicted, objective[near.test]))
            mixed = rank_average([oof[i] for i in members])
            oof.append(mixed)
            near_folds.append(near)
            mean_raw = np.mean([oof[i] for i in members], axis=0)
            score = ModelScore(ensemble.model, ensemble.parameters, _spearman(mixed, objective),
                               float(np.sqrt(np.mean((mean_raw - objective) ** 2))))
            score.region, score.region_spearman = _region_summary(per_fold)
            candidates = [*candidates, ensemble]  # type: ignore[list-item]
            scores.append(score)
            fitted.append(combined)

    if validate is not None:
        given, measured = validate
        for i, score in enumerate(scores):
            score.validate_spearman = _spearman(full_fit(i)(given), measured)

    def key(i: int) -> tuple:
        s = scores[i]
        if validate is not None:
            return (-s.validate_spearman, -(s.region_spearman or 0.0), -s.cv_spearman, s.cv_rmse)
        if select == "region":
            return (-s.region_spearman, -s.cv_spearman, s.cv_rmse)
        return (-s.cv_spearman, s.cv_rmse)

    order = sorted(range(len(scores)), key=key)
    best = order[0]
    if select == "region":
        own = near_folds[best]
        held_out = shared + ([own] if own is not None else [])
    else:
        held_out = [Fold("kfold", f"kfold[{k + 1}/{folds}]", train, test)
                    for k, (train, test) in enumerate(kfold_splits(n, folds, seed))]
    return Selection(candidates[best], full_fit(best), [scores[i] for i in order], described, held_out, oof[best])


def _ensemble(candidates: Sequence[Candidate], scores: Sequence[ModelScore], margin: float) -> RankEnsemble | None:
    """The best configuration of each model family whose region score is within ``margin`` of the best."""
    best: dict[str, int] = {}
    for i, score in enumerate(scores):
        family = score.model
        if family not in best or score.region_spearman > scores[best[family]].region_spearman:
            best[family] = i
    top = max(scores[i].region_spearman for i in best.values())
    members = [i for i in sorted(best.values()) if scores[i].region_spearman >= top - margin]
    return RankEnsemble(tuple(candidates[i] for i in members)) if len(members) > 1 else None
