"""Prediction intervals for a run model, and whether two mixtures can be told apart.

Bootstrap over runs and models: each replicate resamples the runs with replacement and refits the chosen model
(for a rank ensemble, one member drawn at random, so the replicates spread over the members too). A replicate's
prediction for a mixture plus one of its out-of-bag residuals (measured minus predicted, for a run the replicate
did not fit) is one draw of what a run of that mixture would measure. The raw 90% interval puts the 5th..95th
percentile of all draws (their spread around their median) around the model's prediction.

Calibration on the K-fold folds of the model choice (never on held-out runs): each run's measured value against
its K-fold out-of-fold prediction, in units of the raw interval's half-width at that run on that side; when fewer
than 90% fall inside, every interval is widened by the 90th percentile of that ratio (the ``scale``, rounded up to
a run; it never narrows them). On the 512 RegMix runs (ridge, 20 refits) the raw intervals hold 89% of the K-fold
runs (scale 1.02) and 91% of the 256 held-out runs (median width 0.26 in loss; the held-out losses' sd is 0.32).
Refitted without a held-out region they hold 0.75 of the ``far`` runs, 0.99 / 0.79 of the high / low entropy
ones, 0.90 of the source-heavy ones and 0.34 of the runs nearest the optimum, where the model is biased
(measured - predicted +0.26 on average): resampling cannot see a bias, hence the warning of
:mod:`~forensics.recommend.distance` (benchmarks/results/recommend.md).

:func:`compare` says how often the replicates prefer one mixture over others (paired: the same refit scores
both); :func:`distinct_top` picks the next-best mixtures of the search at least 0.1 TV from the recommendation and
from each other; :func:`uncertainty_report` puts it together for ``recommend_from_runs``: "cannot be told apart"
when the recommendation's interval overlaps theirs.

Leaves out: intervals for the recommended weights themselves (``weights_interval`` in
:mod:`~forensics.recommend.runs` is the percentile spread of the replicates' optima).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from forensics.recommend.distance import Reach, nearest_distance, total_variation
from forensics.recommend.run_models import Candidate, Predictor

__all__ = ["LEVEL", "SEPARATION", "Replicates", "Calibration", "bootstrap_runs", "calibrate", "intervals",
           "compare", "distinct_top", "uncertainty_report"]

LEVEL = 0.9
SEPARATION = 0.1  # TV between the recommendation and an alternative, and between alternatives
_DRAWS = 4_000_000  # floats per block of draws (rows x out-of-bag residuals)


@dataclass
class Replicates:
    """Refits on resampled runs: each one's predictor, the member fitted, and its out-of-bag residuals
    (replicates x runs, measured minus predicted in the minimised objective; NaN where the run was drawn)."""

    predictors: list[Predictor]
    members: list[str]
    residuals: np.ndarray

    def __len__(self) -> int:
        return len(self.predictors)

    def predict(self, mixtures: np.ndarray) -> np.ndarray:
        """Every replicate's prediction (replicates x rows)."""
        return np.vstack([f(mixtures) for f in self.predictors])


def bootstrap_runs(weights: np.ndarray, objective: np.ndarray, chosen, *, replicates: int,
                   seed: int = 0) -> Replicates:
    """Refit ``chosen`` (a :class:`Candidate` or a rank ensemble, of which one member per replicate) on
    ``replicates`` resamples of the runs; resamples with a constant objective are skipped.

    >>> w = np.random.default_rng(0).dirichlet(np.ones(3), 40)
    >>> reps = bootstrap_runs(w, w @ [1.0, 2.0, 3.0], Candidate("ridge", {}), replicates=5)
    >>> len(reps), reps.residuals.shape, bool(np.isnan(reps.residuals).any())
    (5, (5, 40), True)
    """
    members: Sequence[Candidate] = getattr(chosen, "members", (chosen,))
    n = len(objective)
    predictors, labels, rows = [], [], []
    for b in range(replicates):
        rng = np.random.default_rng([seed, b])
        sample = rng.integers(0, n, n)
        if np.ptp(objective[sample]) == 0:
            continue
        member = members[int(rng.integers(len(members)))] if len(members) > 1 else members[0]
        fitted = member.fit(weights[sample], objective[sample], seed)
        out = np.setdiff1d(np.arange(n), sample)
        row = np.full(n, np.nan)
        row[out] = objective[out] - fitted(weights[out])
        predictors.append(fitted)
        labels.append(member.label)
        rows.append(row)
    return Replicates(predictors, labels, np.array(rows) if rows else np.empty((0, n)))


def _quantiles(reps: Replicates, mixtures: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the (1-level)/2, 0.5 and (1+level)/2 quantiles of replicate prediction + out-of-bag residual."""
    predicted = reps.predict(mixtures)
    which, run = np.nonzero(~np.isnan(reps.residuals))
    residuals = reps.residuals[which, run]
    if not len(residuals):  # every run drawn in every replicate: the spread of the fits alone
        which, residuals = np.arange(len(reps)), np.zeros(len(reps))
    tail = (1 - level) / 2
    chunk = max(1, _DRAWS // len(residuals))
    parts = [np.quantile(predicted[which, i:i + chunk].T + residuals[None, :], [tail, 0.5, 1 - tail], axis=1)
             for i in range(0, len(mixtures), chunk)]
    low, mid, high = np.hstack(parts) if parts else np.empty((3, 0))
    return low, mid, high


@dataclass
class Calibration:
    """The widening of the raw intervals found on the K-fold folds: ``scale`` (>= 1), the share of runs inside
    their raw interval (``raw_coverage``) and inside the scaled one (``coverage``)."""

    level: float
    scale: float
    raw_coverage: float
    coverage: float
    runs: int
    method: str = "K-fold out-of-fold predictions of the training runs"


def calibrate(reps: Replicates, weights: np.ndarray, objective: np.ndarray, out_of_fold: np.ndarray, *,
              level: float = LEVEL) -> Calibration:
    """The scale that makes ``level`` of the runs' measured values fall inside intervals around their K-fold
    predictions (the raw interval's half-widths at each run, times the scale; at least 1)."""
    low, mid, high = _quantiles(reps, weights, level)
    below = objective < out_of_fold
    need = np.where(below, (out_of_fold - objective) / np.maximum(mid - low, 1e-12),
                    (objective - out_of_fold) / np.maximum(high - mid, 1e-12))
    scale = max(1.0, float(np.quantile(need, level, method="higher")))
    return Calibration(level, scale, float(np.mean(need <= 1.0)), float(np.mean(need <= scale)), len(objective))


def intervals(reps: Replicates, mixtures: np.ndarray, centre: np.ndarray, *, scale: float = 1.0,
              level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds around ``centre`` (the model's predictions for ``mixtures``), in objective units.

    >>> w = np.random.default_rng(0).dirichlet(np.ones(3), 60)
    >>> y = w @ [1.0, 2.0, 3.0] + np.random.default_rng(1).normal(0, 0.05, 60)
    >>> reps = bootstrap_runs(w, y, Candidate("ridge", {"eps": 0.01, "penalty": 0.001}), replicates=20)
    >>> low, high = intervals(reps, np.eye(3)[:1], np.array([1.0]))
    >>> bool(low[0] < 1.0 < high[0]), round(float(high[0] - low[0]), 2)  # noise alone: 2 x 1.645 x 0.05 = 0.16
    (True, 0.22)
    """
    low, mid, high = _quantiles(reps, mixtures, level)
    return centre - scale * (mid - low), centre + scale * (high - mid)


def compare(reps: Replicates, first: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each row of ``others``: the share of replicates that predict a lower objective for ``first``."""
    predicted = reps.predict(np.vstack([first[None, :], others]))
    return (predicted[:, :1] < predicted[:, 1:]).mean(axis=0)


def distinct_top(pool: np.ndarray, scored: np.ndarray, recommended: np.ndarray, *, count: int = 3,
                 separation: float = SEPARATION, scan: int = 5000) -> np.ndarray:
    """The best-scored rows of ``pool`` (lowest ``scored``) at least ``separation`` TV from ``recommended`` and
    from each other, best first (up to ``count``, among the ``scan`` best rows).

    >>> pool = np.array([[0.5, 0.5], [0.55, 0.45], [0.8, 0.2], [1.0, 0.0]])
    >>> distinct_top(pool, np.array([0.0, 0.1, 0.2, 0.3]), np.array([0.5, 0.5]), count=2).tolist()
    [[0.8, 0.2], [1.0, 0.0]]
    """
    order = np.argsort(scored, kind="stable")[:scan]
    candidates = pool[order]
    far = total_variation(candidates, recommended)[:, 0] >= separation
    kept: list[np.ndarray] = []
    for i in np.flatnonzero(far):
        if all(total_variation(candidates[i], other)[0, 0] >= separation for other in kept):
            kept.append(candidates[i])
            if len(kept) == count:
                break
    return np.array(kept).reshape(len(kept), pool.shape[1])


def uncertainty_report(reps: Replicates, *, oof: np.ndarray | None, weights: np.ndarray, objective: np.ndarray,
                       sign: float, model: Predictor, pool: np.ndarray, scored: np.ndarray, recommended: np.ndarray,
                       predicted: float, best_row: int, given: np.ndarray | None, sources: Sequence[str],
                       ids: Sequence[str] | None, reach: Reach | None) -> dict:
    """The intervals and comparisons of a recommendation from runs, as fields of ``RunsRecommendation``.

    For the recommended mixture (``predicted``, in objective units), the ``given`` mixtures (with their TV to the
    nearest run, and a warning for those beyond ``reach``) and the next-best distinct mixtures of the search and
    the best run (``alternatives``, with the statement ``comparison`` when their intervals overlap the
    recommendation's). ``sign`` turns objective units back into the target's (-1 when maximising); ``oof`` are the
    chosen model's K-fold predictions (no calibration, and no intervals, without them or without 2 replicates).
    """
    mixture = weights
    warnings: list[str] = []
    out: dict = {"predictions": None, "prediction_intervals": None, "prediction_distances": None,
                 "predicted_interval": None, "alternatives": [], "comparison": None}
    calibration = None
    if len(reps) >= 2 and oof is not None:
        calibration = calibrate(reps, mixture, objective, oof, level=LEVEL)

    def bounds(rows: np.ndarray, centre: np.ndarray) -> list[list[float]] | None:
        if calibration is None:
            return None
        low, high = intervals(reps, rows, centre, scale=calibration.scale, level=LEVEL)
        return [sorted([float(sign * lo), float(sign * hi)]) for lo, hi in zip(low, high)]

    out["interval"] = {"level": LEVEL, "replicates": len(reps), "members": sorted(set(reps.members)),
                       "calibration": asdict(calibration) if calibration is not None else None,
                       "method": "bootstrap over runs (and ensemble members), plus out-of-bag residuals"}
    if calibration is None:
        out["interval"]["note"] = "no intervals: they need at least 2 bootstrap replicates (--bootstrap)"
    own = bounds(recommended[None, :], np.array([predicted]))
    out["predicted_interval"] = own[0] if own else None
    if given is not None:
        raw = model(given)
        out["predictions"] = (sign * raw).tolist()
        out["prediction_intervals"] = bounds(given, raw)
        far = nearest_distance(given, mixture)
        out["prediction_distances"] = far.tolist()
        if reach is not None and (beyond := int((far > reach.nearest_run).sum())):
            warnings.append(f"{beyond} of {len(given)} --predict mixtures lie farther from the nearest run than the "
                            f"model choice was tested ({reach.nearest_run:.3f} TV); their predictions and intervals "
                            "are extrapolations")

    others = distinct_top(pool, scored, recommended)
    labels = [f"next best {i + 1}" for i in range(len(others))]
    if total_variation(mixture[best_row], recommended)[0, 0] >= SEPARATION:
        others = np.vstack([others, mixture[best_row][None, :]])
        key = f", run {ids[best_row]}" if ids is not None and ids[best_row] != str(best_row + 1) else ""
        labels.append(f"best run (row {best_row + 1}{key})")
    if len(others):
        centres = np.array([model(row[None, :])[0] for row in others])
        spans = bounds(others, centres)
        better = compare(reps, recommended, others) if len(reps) else None
        for i, row in enumerate(others):
            out["alternatives"].append({
                "label": labels[i], "weights": dict(zip(sources, row.tolist())), "predicted": float(sign * centres[i]),
                "interval": spans[i] if spans else None,
                "distance": float(total_variation(row, recommended)[0, 0]),
                "recommended_better": float(better[i]) if better is not None else None})
        if own and spans:
            overlapping = [a for a in out["alternatives"]
                           if a["interval"][0] <= own[0][1] and own[0][0] <= a["interval"][1]]
            if overlapping:
                shares = sorted(a["recommended_better"] for a in overlapping)
                span = f"{shares[0]:.0%}" + (f"..{shares[-1]:.0%}" if shares[-1] != shares[0] else "")
                out["comparison"] = (
                    f"cannot be told apart: the {LEVEL:.0%} interval of the recommendation overlaps those of "
                    f"{len(overlapping)} of the {len(others)} other mixtures compared (each at least {SEPARATION:g} "
                    f"TV away), so one run of each would not tell which is better; refits on resampled runs prefer "
                    f"the recommendation in {span} of cases")
    out["warnings"] = warnings
    return out
