"""How far a mixture lies from the training runs, and how far out the model choice was tested.

Distances are total variation (TV): half the L1 distance between two mixtures, 0 for the same mixture and 1 for
mixtures with no source in common. A mixture's distance from the runs is its TV to the nearest run and to the
runs' centre (their mean mixture).

The rule behind the warning (:func:`validated_reach`): every run held out by the folds that chose the model lies
some TV from the runs its fold was fitted on (from the nearest of them and from their centre). The choice was
tested out to the 90th percentile of those distances, each fold kind weighted equally (the 17 ``source_max``
folds of the RegMix runs do not outvote ``far``); with ``--validate`` runs, their distances from the training
runs; with K-fold selection, the K-fold held-out runs'. A mixture farther than that from its nearest run, or from
the runs' centre, lies beyond what the choice was tested on. On the 512 RegMix runs the region-shift folds reach
0.46 from the nearest run and 0.86 from the centre; the recommendation lies 0.23 and 0.50 away (no warning). Held-out
runs farther than 0.45 from every training run fell inside their 90% interval 54% of the time, against 77-92% nearer
(benchmarks/results/recommend.md).

Leaves out: distances in the model's own features (the search works on mixtures, and TV reads the same for
every model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["REACH_QUANTILE", "Reach", "RunDistance", "total_variation", "nearest_distance", "validated_reach",
           "validate_reach", "distance_from_runs", "reach_warning"]

REACH_QUANTILE = 0.9
NEAREST_SHOWN = 5
_CHUNK = 2048  # rows per block of the pairwise distances (rows x runs x sources floats)


def total_variation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TV distance between every row of ``a`` and every row of ``b`` (a matrix, rows of ``a`` x rows of ``b``).

    >>> total_variation(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0], [0.5, 0.5]])).tolist()
    [[1.0, 0.5]]
    """
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return np.vstack([np.abs(a[i:i + _CHUNK, None, :] - b[None, :, :]).sum(axis=2) / 2
                      for i in range(0, len(a), _CHUNK)]) if len(a) else np.empty((0, len(b)))


def nearest_distance(points: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """TV from each row of ``points`` to its nearest row of ``runs``."""
    return total_variation(points, runs).min(axis=1)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][min(int(np.searchsorted(cumulative, q - 1e-12)), len(values) - 1)])


@dataclass
class Reach:
    """How far from the runs they were fitted on the held-out runs of a validation lay (TV, ``quantile``)."""

    by: str
    nearest_run: float
    centre: float
    held_out_runs: int
    quantile: float = REACH_QUANTILE


def validated_reach(weights: np.ndarray, folds: Sequence, *, by: str,
                    quantile: float = REACH_QUANTILE) -> Reach | None:
    """The ``quantile`` of the held-out runs' TV from their fold's nearest training run and training centre.

    ``folds`` have ``kind``, ``train`` and ``test`` (:class:`~forensics.recommend.validation.Fold`); each kind
    weighs the same in total. None without folds.

    >>> from forensics.recommend.validation import region_folds
    >>> w = np.random.default_rng(0).dirichlet(np.ones(4), 60)
    >>> reach = validated_reach(w, region_folds(w), by="region")
    >>> 0 < reach.nearest_run < reach.centre < 1
    True
    """
    nearest, centre, kinds = [], [], []
    for fold in folds:
        held, train = weights[fold.test], weights[fold.train]
        nearest.append(nearest_distance(held, train))
        centre.append(total_variation(held, train.mean(axis=0))[:, 0])
        kinds += [fold.kind] * len(fold.test)
    if not kinds:
        return None
    per_kind = {kind: kinds.count(kind) for kind in set(kinds)}
    weight = np.array([1.0 / per_kind[kind] for kind in kinds])
    return Reach(by, _weighted_quantile(np.concatenate(nearest), weight, quantile),
                 _weighted_quantile(np.concatenate(centre), weight, quantile), len(kinds), quantile)


def validate_reach(weights: np.ndarray, validate: np.ndarray, *, quantile: float = REACH_QUANTILE) -> Reach:
    """The reach of ``--validate`` runs: their TV from the training runs (all of them) and their centre."""
    ones = np.ones(len(validate))
    return Reach("validate", _weighted_quantile(nearest_distance(validate, weights), ones, quantile),
                 _weighted_quantile(total_variation(validate, weights.mean(axis=0))[:, 0], ones, quantile),
                 len(validate), quantile)


@dataclass
class RunDistance:
    """A mixture's TV from the runs: to the nearest run, to the runs' centre, the nearest runs (``row`` is
    1-based, ``run`` the run's key when the table has one), and the reach of the validation that chose the model.
    ``beyond`` is true when the mixture lies farther out than that reach."""

    nearest_run: float
    centre: float
    nearest_runs: list[dict]
    validated: Reach | None
    beyond: bool
    measure: str = "total variation (half the L1 distance between mixtures)"
    beyond_by: list[str] = field(default_factory=list)


def distance_from_runs(point: np.ndarray, weights: np.ndarray, *, ids: Sequence[str] | None = None,
                       reach: Reach | None = None, shown: int = NEAREST_SHOWN) -> RunDistance:
    """How far ``point`` lies from the runs, and whether beyond ``reach``.

    >>> d = distance_from_runs(np.array([0.5, 0.5]), np.array([[1.0, 0.0], [0.6, 0.4], [0.2, 0.8]]))
    >>> round(d.nearest_run, 3), d.nearest_runs[0]["row"], round(d.centre, 3)
    (0.1, 2, 0.1)
    """
    to_runs = total_variation(point, weights)[0]
    order = np.argsort(to_runs, kind="stable")[:shown]
    nearest_runs = [{"row": int(i) + 1, "run": ids[i] if ids is not None else None, "distance": float(to_runs[i])}
                    for i in order]
    centre = float(total_variation(point, weights.mean(axis=0))[0, 0])
    nearest = float(to_runs.min())
    beyond_by = []
    if reach is not None:
        if nearest > reach.nearest_run:
            beyond_by.append("nearest_run")
        if centre > reach.centre:
            beyond_by.append("centre")
    return RunDistance(nearest, centre, nearest_runs, reach, bool(beyond_by), beyond_by=beyond_by)


def reach_warning(distance: RunDistance, what: str = "the recommended mixture") -> str | None:
    """The warning when ``distance`` lies beyond what the model choice was tested on, else None."""
    reach = distance.validated
    if reach is None or not distance.beyond:
        return None
    by = {"region": "region-shift", "kfold": "K-fold", "validate": "--validate"}.get(reach.by, reach.by)
    parts = []
    if "nearest_run" in distance.beyond_by:
        parts.append(f"{distance.nearest_run:.3f} from the nearest run (tested out to {reach.nearest_run:.3f})")
    if "centre" in distance.beyond_by:
        parts.append(f"{distance.centre:.3f} from the runs' centre (tested out to {reach.centre:.3f})")
    return (f"{what} lies {' and '.join(parts)}, TV: farther than {reach.quantile:.0%} of the {by} held-out runs "
            "lay from the runs they were predicted from, so the model choice (and the interval) was not tested "
            "that far out; make runs near it and pass them with --validate")
