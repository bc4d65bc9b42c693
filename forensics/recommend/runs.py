"""Learning from past training runs (RegMix-style): fit metric ~ mixture, then search the simplex.

Input: a table of small training runs, one row per run, with the mixture weights it was trained on and the
metrics it reached. The models of :mod:`~forensics.recommend.run_models` (the exponential mixing law ``explaw``,
``ridge`` on [w, log(w + eps)], LightGBM ``trees``) are fitted and the one with the best mean rank correlation on
region-shift folds of the runs is kept (:mod:`~forensics.recommend.validation`; K-fold with ``select="kfold"``, or
the user's own ``validate`` runs). On the 512 RegMix runs region choice keeps ridge (region 0.959, held-out 0.987)
where K-fold kept LightGBM, which ranks the runs near its own optimum at 0.03. ``explaw`` is monotone in t . w, so
on its own its optimum is a vertex of the feasible region: "as much of the best source as the caps allow".

The chosen model scores Dirichlet candidate mixtures drawn around the runs' mean mixture (or a given prior) and
capped; the recommendation is the mean of the top-k. Refitting on bootstrap resamples of the runs gives the
spread of the recommended weights and 90% intervals for every prediction, and says whether the next-best mixtures
can be told apart (:mod:`~forensics.recommend.intervals`); the recommendation's distance from the runs is checked
against how far out the model choice was tested (:mod:`~forensics.recommend.distance`). :func:`suggest_runs`
proposes the next batch of runs to make. The run table, the capped simplex, the recommendation and the suggestions
stay in one module: the last two share the sampling of the simplex, and each of the four is under 150 lines.

Leaves out: scaling across model sizes (fit on runs of one size; RegMix finds the ranking transfers) and
multi-objective fronts (combine metrics into one target with weights).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from forensics.errors import ForensicsError, input_error
from forensics.recommend._tables import (
    SUM_TOLERANCE,
    _listing,
    as_mapping,
    check_weights,
    join_tables,
    normalise,
    pick_weight_columns,
    read_table,
)
from forensics.recommend.run_models import (
    MODELS,
    RIDGE_EPS,
    RIDGE_PENALTY,
    TREES_MIN_RUNS,
    Candidate,
    ModelName,
    ModelScore,
    Predictor,
    candidates,
    cross_validate,
    fit_explaw,
    fit_ridge,
    fit_trees,
)
from forensics.recommend.distance import distance_from_runs, reach_warning, validate_reach, validated_reach
from forensics.recommend.intervals import bootstrap_runs, uncertainty_report
from forensics.recommend.validation import search_optimum, select_model

VALIDATION_POOL = 5000

__all__ = [  # the models are re-exported: `from forensics.recommend.runs import fit_trees` keeps working
    "MODELS", "RIDGE_EPS", "RIDGE_PENALTY", "TREES_MIN_RUNS", "Candidate", "ModelName", "ModelScore", "Predictor",
    "candidates", "cross_validate", "fit_explaw", "fit_ridge", "fit_trees",
    "RunTable", "load_runs", "read_mixtures", "apply_caps", "sample_mixtures", "sample_capped",
    "RunsRecommendation", "recommend_from_runs", "RunSuggestions", "suggest_runs",
]


# ----------------------------------------------------------------------------------------------- run tables
@dataclass
class RunTable:
    """Mixture weights (runs x sources, rows sum to 1) and the target metric per run; ``ids`` are the runs'
    keys (the join column, ``index`` in RegMix tables) when the table has them."""

    sources: list[str]
    weights: np.ndarray
    target: np.ndarray
    target_name: str
    path: str
    ids: list[str] | None = None


def load_runs(path: str | os.PathLike, *, target: str | Mapping[str, float],
              weights: str | Sequence[str] | None = None, metrics: str | os.PathLike | None = None,
              on: str = "index") -> RunTable:
    """Read a run table: weight columns (named, by prefix, or detected) and a target column or weighted sum.

    ``metrics`` is an optional second CSV joined on column ``on`` (RegMix keeps mixtures and losses apart).

    >>> runs = load_runs("train_mixture_1m.csv", metrics="train_pile_loss_1m.csv",
    ...                  target="metric/the_pile_pile_cc_val_loss")  # doctest: +SKIP
    """
    table = read_table(path)
    metric_columns: list[str] = []
    if metrics is not None:
        extra = read_table(metrics)
        if on not in table.columns or on not in extra.columns:
            raise input_error(metrics, f"both tables need the join column {on!r}", "set it with --on")
        metric_columns = [c for c in extra.columns if c != on]
        table = join_tables(table, extra, on=on)
    terms = {target: 1.0} if isinstance(target, str) else as_mapping(target, what="target terms")
    for name in terms:
        if name not in table.columns and metrics is None:
            raise input_error(path, f"no column {name!r}", f"columns are: {_listing(table.columns)}; if the "
                              "metrics are in another CSV, join it with --metrics")
        table.index(name)
    exclude = {*terms, *metric_columns, on}
    sources = pick_weight_columns(table, weights, exclude=sorted(exclude))
    clash = sorted(set(sources) & set(terms))
    if clash:
        raise input_error(path, f"columns {clash} are both weights and target")
    raw = table.values[:, [table.index(name) for name in sources]]
    mixture = check_weights(raw, sources, table.path)
    value = np.sum([weight * table.column(name) for name, weight in terms.items()], axis=0)
    target_name = target if isinstance(target, str) else " + ".join(f"{w:g}*{n}" for n, w in terms.items())
    if len(value) < 5:
        raise input_error(path, f"only {len(value)} runs; at least 5 are needed to fit and cross-validate")
    ids = [f"{key:g}" for key in table.column(on)] if on in table.columns else None
    return RunTable(sources, mixture, np.asarray(value, dtype=np.float64), target_name, table.path, ids)


def read_mixtures(path: str | os.PathLike, sources: Sequence[str]) -> np.ndarray:
    """Read mixtures (rows) over ``sources`` from a CSV that has those columns (others are ignored)."""
    table = read_table(path)
    missing = [name for name in sources if name not in table.columns]
    if missing:
        raise input_error(path, f"missing weight columns {missing[:5]}" + (" ..." if len(missing) > 5 else ""),
                          "the mixtures need the same weight columns as the runs")
    return check_weights(table.values[:, [table.index(n) for n in sources]], list(sources), table.path)


# ----------------------------------------------------------------------------------------------- the simplex
def apply_caps(mixtures: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Cap each weight and hand the excess to the uncapped sources in proportion to their weight.

    Zeros stay zero where possible (sparse mixtures stay sparse). Needs ``caps.sum() >= 1``.

    >>> apply_caps(np.array([[0.8, 0.2, 0.0]]), np.array([0.5, 1.0, 1.0])).round(3).tolist()
    [[0.5, 0.5, 0.0]]
    """
    w = np.array(mixtures, dtype=np.float64)
    for _ in range(w.shape[1] + 1):
        excess = np.clip(w - caps, 0.0, None).sum(axis=1)
        if excess.max(initial=0.0) <= 1e-12:
            break
        w = np.minimum(w, caps)
        free = w < caps - 1e-12
        room = np.where(free, w, 0.0)
        total = room.sum(axis=1, keepdims=True)
        # Rows whose uncapped sources are all zero share the excess uniformly among them.
        uniform = free / np.maximum(free.sum(axis=1, keepdims=True), 1)
        share = np.where(total > 0, room / np.where(total > 0, total, 1.0), uniform)
        w = w + excess[:, None] * share
    return np.minimum(w, caps)


def sample_mixtures(prior: np.ndarray, count: int, *, rng: np.random.Generator,
                    concentration: tuple[float, float] = (0.1, 10.0)) -> np.ndarray:
    """Dirichlet mixtures around ``prior``: alpha = prior * m * s, s log-uniform in ``concentration``.

    Small s gives sparse, far-flung mixtures; large s gives mixtures close to the prior.
    """
    m = len(prior)
    scales = np.exp(rng.uniform(np.log(concentration[0]), np.log(concentration[1]), count))
    alpha = np.maximum(prior[None, :] * m * scales[:, None], 1e-3)
    gammas = rng.standard_gamma(alpha)
    totals = gammas.sum(axis=1, keepdims=True)
    bad = ~(totals[:, 0] > 0)
    gammas[bad] = prior
    totals[bad] = prior.sum()
    return gammas / totals


def sample_capped(prior: np.ndarray, count: int, caps: np.ndarray, *, rng: np.random.Generator,
                  concentration: tuple[float, float] = (0.1, 10.0)) -> np.ndarray:
    """``count`` Dirichlet mixtures around ``prior`` within ``caps``.

    Draws over the caps are rejected (a truncated Dirichlet keeps its spread); only when few draws fit, the
    rest are capped with :func:`apply_caps`.
    """
    prior = apply_caps(prior[None, :], caps)[0]
    kept: list[np.ndarray] = []
    have = 0
    for _ in range(5):
        draws = sample_mixtures(prior, count, rng=rng, concentration=concentration)
        fits = draws[(draws <= caps + 1e-12).all(axis=1)]
        kept.append(fits)
        have += len(fits)
        if have >= count:
            break
    if have < count:
        kept.append(apply_caps(sample_mixtures(prior, count - have, rng=rng, concentration=concentration), caps))
    return np.vstack(kept)[:count]


def _caps_vector(caps: Mapping[str, float] | None, sources: Sequence[str]) -> np.ndarray:
    caps = as_mapping(caps, what="caps") if caps else {}
    unknown = sorted(set(caps) - set(sources))
    if unknown:
        raise ForensicsError(f"caps name unknown sources {unknown}; sources are {', '.join(sources)}")
    vector = np.array([min(1.0, caps.get(name, 1.0)) for name in sources])
    if vector.sum() < 1 - 1e-9:
        raise ForensicsError(f"the caps sum to {vector.sum():.4g} < 1: no mixture fits them; raise them")
    return vector


# ----------------------------------------------------------------------------------------------- recommend
@dataclass
class RunsRecommendation:
    """The recommended mixture, the model behind it, its cross-validation, the bootstrap spread and intervals.

    ``cv`` lists every candidate by K-fold Spearman (best first); ``ranking`` lists them in the order ``select``
    chose (the chosen model first, with its region-shift scores per fold kind); ``folds`` describes the folds.
    ``distance``: how far (TV) the recommendation lies from the runs and how far out the choice was tested
    (:mod:`~forensics.recommend.distance`). ``predicted_interval`` and ``prediction_intervals`` (one per
    ``predict`` row) are 90% intervals for what a run would measure (:mod:`~forensics.recommend.intervals`,
    described in ``interval``); ``alternatives`` are the next-best distinct mixtures and the best run with theirs,
    and ``comparison`` says when the recommendation cannot be told apart from them.
    """

    target: str
    maximize: bool
    sources: list[str]
    weights: dict[str, float]
    predicted: float
    predicted_spread: float
    weights_spread: dict[str, float]
    weights_interval: dict[str, list[float]]
    model: str
    model_parameters: dict
    model_coefficients: dict
    cv: list[ModelScore]
    n_runs: int
    best_run: dict
    caps: dict[str, float]
    predictions: list[float] | None = None
    warnings: list[str] = field(default_factory=list)
    select: str = "kfold"
    ranking: list[ModelScore] = field(default_factory=list)
    folds: list[dict] = field(default_factory=list)
    distance: dict = field(default_factory=dict)
    predicted_interval: list[float] | None = None
    prediction_intervals: list[list[float]] | None = None
    prediction_distances: list[float] | None = None
    interval: dict = field(default_factory=dict)
    alternatives: list[dict] = field(default_factory=list)
    comparison: str | None = None


def recommend_from_runs(runs: RunTable | str | os.PathLike, *, target: str | Mapping[str, float] | None = None,
                        weights: str | Sequence[str] | None = None, metrics: str | os.PathLike | None = None,
                        on: str = "index", maximize: bool = False,
                        models: Sequence[ModelName] | Literal["auto"] = "auto", folds: int = 5,
                        caps: Mapping[str, float] | None = None, prior: Mapping[str, float] | None = None,
                        candidates_count: int = 50_000, top_k: int = 100, bootstrap: int = 20,
                        predict: str | os.PathLike | np.ndarray | None = None, extrapolate: bool = False,
                        select: Literal["region", "kfold"] = "region",
                        validate: RunTable | str | os.PathLike | None = None,
                        validate_metrics: str | os.PathLike | None = None, seed: int = 0) -> RunsRecommendation:
    """Fit the candidate models to the runs, keep the best on region-shift folds, and search the capped simplex.

    ``select="region"`` (default) chooses by the mean Spearman over region-shift folds
    (:mod:`~forensics.recommend.validation`), possibly a rank ensemble; ``select="kfold"`` by K-fold Spearman
    only. ``validate`` (runs not trained on, e.g. made near a previous recommendation) overrides both: the model
    that ranks them best is kept. Unless ``extrapolate``, no source gets more weight than the most any run gave
    it: the models are only trusted where there are runs. ``bootstrap`` refits on resampled runs (seeded by
    ``seed``) give the spread of the weights and the 90% intervals of the predictions (none below 2).

    >>> w = np.random.default_rng(0).dirichlet(np.ones(3), 30)  # 30 runs; the loss falls with "code"
    >>> runs = RunTable(["web", "code", "books"], w, 2 + np.exp(w @ [1.0, -1.0, 0.5]), "loss", "<memory>")
    >>> rec = recommend_from_runs(runs, candidates_count=2000, bootstrap=0)
    >>> rec.model, round(rec.cv[0].cv_spearman, 3), max(rec.weights, key=rec.weights.get)
    ('explaw', 1.0, 'code')

    From files, as RegMix keeps them: ``recommend_from_runs("mix.csv", metrics="loss.csv", target="loss")``.
    """
    if not isinstance(runs, RunTable):
        if target is None:
            raise ForensicsError("name the target metric column (target=...)")
        runs = load_runs(runs, target=target, weights=weights, metrics=metrics, on=on)
    if folds < 2:
        raise ForensicsError(f"folds must be at least 2 (got {folds})")
    if select not in ("region", "kfold"):
        raise ForensicsError(f"unknown select {select!r}; choose region or kfold")
    if candidates_count < 1 or top_k < 1 or bootstrap < 0:
        raise ForensicsError(f"--candidates and --top-k must be at least 1 and --bootstrap at least 0 "
                             f"(got {candidates_count}, {top_k}, {bootstrap})")
    sign = -1.0 if maximize else 1.0
    objective = sign * runs.target  # always minimised below
    mixture = runs.weights
    n, m = mixture.shape

    cap_vector = _caps_vector(caps, runs.sources)
    search_caps = cap_vector if extrapolate else np.minimum(cap_vector, mixture.max(axis=0))
    if search_caps.sum() < 1 - 1e-9:
        raise ForensicsError(f"under the caps no mixture stays within the weights the runs covered (the caps sum "
                             f"to {search_caps.sum():.3g}); allow extrapolation (--extrapolate) or add runs")
    rng = np.random.default_rng(seed)
    if prior is not None:
        prior_map = normalise(prior, what="prior")
        unknown = sorted(set(prior_map) - set(runs.sources))
        if unknown:
            raise ForensicsError(f"the prior names unknown sources {unknown}; sources are {', '.join(runs.sources)}")
        prior_vector = np.array([prior_map.get(name, 0.0) for name in runs.sources])
    else:
        prior_vector = mixture.mean(axis=0)
    pool = np.vstack([sample_capped(prior_vector, candidates_count, search_caps, rng=rng),
                      apply_caps(mixture, search_caps)])
    top_k = max(1, min(top_k, len(pool)))
    check = None
    if validate is not None:
        if not isinstance(validate, RunTable):
            validate = load_runs(validate, target=runs.target_name if target is None else target, weights=weights,
                                 metrics=validate_metrics, on=on)
        missing = [s for s in runs.sources if s not in validate.sources]
        if missing:
            raise ForensicsError(f"the validation runs lack the weight columns {missing[:5]}")
        check = (validate.weights[:, [validate.sources.index(s) for s in runs.sources]], sign * validate.target)
    # The region folds search each model's optimum on a subsample of the pool (LightGBM predicts ~10k rows/s).
    probe = pool[np.linspace(0, len(pool) - 1, min(len(pool), VALIDATION_POOL)).astype(int)]
    selection = select_model(mixture, objective, candidates(models, n), select=select, folds=folds, pool=probe,
                             top_k=top_k, seed=seed, validate=check)
    chosen, model, best_score = selection.chosen, selection.model, selection.scores[0]

    scored = model(pool)
    recommended = pool[np.argpartition(scored, top_k - 1)[:top_k]].mean(axis=0)
    reps = bootstrap_runs(mixture, objective, chosen, replicates=bootstrap, seed=seed)
    boot = np.array([search_optimum(f, pool, top_k) for f in reps.predictors]) if len(reps) else recommended[None, :]
    boot_values = reps.predict(recommended[None, :])[:, 0] if len(reps) else np.zeros(0)
    predicted = float(model(recommended[None, :])[0])
    best_row = int(np.argmin(objective))

    given = None
    if predict is not None:
        given = predict if isinstance(predict, np.ndarray) else read_mixtures(predict, runs.sources)
        if isinstance(predict, np.ndarray):
            given = check_weights(given, runs.sources, None)

    reach = (validate_reach(mixture, check[0]) if check is not None
             else validated_reach(mixture, selection.held_out, by=select))
    distance = distance_from_runs(recommended, mixture, ids=runs.ids, reach=reach)
    warnings = _coverage_warnings(recommended, mixture, runs.sources)
    reach_message = reach_warning(distance)
    if reach_message:
        warnings.append(reach_message)
    uncertainty = uncertainty_report(reps, oof=selection.oof, weights=mixture, objective=objective, sign=sign,
                                     model=model, pool=pool, scored=scored, recommended=recommended,
                                     predicted=predicted, best_row=best_row, given=given, sources=runs.sources,
                                     ids=runs.ids, reach=reach)
    warnings += uncertainty.pop("warnings")
    if best_score.cv_spearman < 0.5:
        warnings.append(f"the best model ranks held-out runs poorly (K-fold Spearman {best_score.cv_spearman:.2f});"
                        " treat the recommendation as a guess and add runs (forensics suggest-runs)")
    if best_score.region_spearman is not None and best_score.region_spearman < best_score.cv_spearman - 0.1:
        warnings.append(f"the chosen model ranks runs in held-out regions much worse than runs like its training "
                        f"runs (region-shift Spearman {best_score.region_spearman:.2f} vs K-fold "
                        f"{best_score.cv_spearman:.2f}); make runs near the recommendation and pass them "
                        "with --validate")
    return RunsRecommendation(
        target=runs.target_name, maximize=maximize, sources=list(runs.sources),
        weights=dict(zip(runs.sources, recommended.tolist())),
        predicted=sign * predicted,
        predicted_spread=float(np.std(boot_values)) if len(boot_values) else 0.0,
        weights_spread=dict(zip(runs.sources, boot.std(axis=0).tolist())),
        weights_interval={s: np.percentile(boot[:, j], [5, 95]).tolist() for j, s in enumerate(runs.sources)},
        model=chosen.model, model_parameters=dict(chosen.parameters),
        model_coefficients=getattr(model, "coefficients", {}),
        cv=sorted(selection.scores, key=lambda s: (-s.cv_spearman, s.cv_rmse)), n_runs=n,
        best_run={"row": best_row + 1, "run": runs.ids[best_row] if runs.ids is not None else None,
                  "value": float(runs.target[best_row]),
                  "predicted": float(sign * model(mixture[best_row:best_row + 1])[0]),
                  "weights": dict(zip(runs.sources, mixture[best_row].tolist()))},
        caps=dict(zip(runs.sources, cap_vector.tolist())), warnings=warnings,
        select="validate" if check is not None else select, ranking=selection.scores, folds=selection.folds,
        distance=asdict(distance), **uncertainty)


def _coverage_warnings(point: np.ndarray, runs: np.ndarray, sources: Sequence[str]) -> list[str]:
    """Warn when the recommendation lies outside the weights the runs covered."""
    warnings = []
    low, high = runs.min(axis=0), runs.max(axis=0)
    outside = [f"{s} ({point[j]:.3f} vs {low[j]:.3f}..{high[j]:.3f})" for j, s in enumerate(sources)
               if point[j] > high[j] + SUM_TOLERANCE or point[j] < low[j] - SUM_TOLERANCE]
    if outside:
        warnings.append("the optimum lies outside the range the runs covered for " + ", ".join(outside[:6])
                        + "; the model extrapolates there, so make runs near it (forensics suggest-runs)")
    return warnings


# ----------------------------------------------------------------------------------------------- suggest runs
@dataclass
class RunSuggestions:
    """Mixtures for the next batch of runs (rows over ``sources``, each summing to 1 exactly)."""

    sources: list[str]
    mixtures: list[list[float]]
    prior: dict[str, float]
    caps: dict[str, float]
    min_distance: float
    parameters: dict

    def rows(self) -> list[list[object]]:
        return [[i + 1, *row] for i, row in enumerate(self.mixtures)]


def suggest_runs(prior: Mapping[str, float] | Sequence[str], *, n: int = 32, caps: Mapping[str, float] | None = None,
                 existing: np.ndarray | None = None, min_distance: float = 0.05,
                 concentration: tuple[float, float] = (0.1, 10.0), decimals: int = 3,
                 seed: int = 0) -> RunSuggestions:
    """Propose ``n`` diverse mixtures around ``prior`` (a mapping, or source names for a uniform prior).

    Candidates are Dirichlet draws at concentrations spread over ``concentration``, capped, rounded to
    ``decimals``; a candidate is kept when it is at least ``min_distance`` (L1) from every kept mixture and every
    ``existing`` run.

    >>> s = suggest_runs({"web": 0.6, "code": 0.3, "books": 0.1}, n=4, seed=0)
    >>> len(s.mixtures), all(abs(sum(row) - 1) < 1e-9 for row in s.mixtures)
    (4, True)
    """
    if n < 1:
        raise ForensicsError(f"n must be at least 1 (got {n})")
    if isinstance(prior, Mapping):
        prior_map = normalise(prior, what="prior")
    else:
        names = list(prior)
        if len(names) < 2 or len(set(names)) != len(names):
            raise ForensicsError(f"need at least two distinct sources (got {names})")
        prior_map = {name: 1.0 / len(names) for name in names}
    sources = list(prior_map)
    if len(sources) < 2:
        raise ForensicsError("a mixture needs at least two sources")
    prior_vector = np.array([prior_map[s] for s in sources])
    cap_vector = _caps_vector(caps, sources)
    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    seen = [] if existing is None else list(np.asarray(existing, dtype=np.float64))
    for _round in range(50):
        pool = sample_capped(prior_vector, max(64, 8 * n), cap_vector, rng=rng, concentration=concentration)
        for row in pool:
            row = _round_to_simplex(row, decimals, cap_vector)
            if all(np.abs(row - other).sum() >= min_distance for other in seen):
                kept.append(row)
                seen.append(row)
                if len(kept) == n:
                    break
        if len(kept) == n:
            break
    if len(kept) < n:
        raise ForensicsError(f"found only {len(kept)} mixtures at least {min_distance:g} apart under the caps; "
                             "lower --min-distance or --n, or loosen the caps")
    return RunSuggestions(sources, [row.tolist() for row in kept], prior_map, dict(zip(sources, cap_vector.tolist())),
                          min_distance, {"n": n, "concentration": list(concentration), "decimals": decimals,
                                         "seed": seed})


def _round_to_simplex(row: np.ndarray, decimals: int, caps: np.ndarray) -> np.ndarray:
    """Round to ``decimals`` and put the rounding remainder on the largest weight with room under its cap."""
    step = 10.0 ** -decimals
    rounded = np.round(row / step) * step
    remainder = 1.0 - rounded.sum()
    room = np.where(rounded + remainder <= caps + 1e-12, rounded, -1.0)
    rounded[int(np.argmax(room))] += remainder
    return np.round(rounded, decimals + 2)
