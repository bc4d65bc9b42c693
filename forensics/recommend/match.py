"""Target matching: the weights over available sources whose mixture comes closest to a target mixture.

The target is a mixture over categories (for example what ``forensics infer`` estimated for a reference tokenizer,
or a user's JSON). Each source has a composition over the same categories (a ``forensics scan`` result per source);
by default every category is its own source. With C the categories x sources composition matrix, we solve

    min || C w - target ||   subject to  sum(w) = 1,  0 <= w_s <= cap_s

as a linear program for the L1 norm (HiGHS through scipy) or a quadratic program for L2 (SLSQP). Caps come from
``caps`` directly, or from the tokens ``available`` per source, a token ``budget`` and ``max_epochs``.

Leaves out: uncertainty of the target itself (pass a bootstrap of targets and compare the results).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from forensics.errors import ForensicsError
from forensics.recommend._tables import as_mapping, epoch_caps, normalise, read_mapping

Norm = Literal["l1", "l2"]


@dataclass
class MatchRecommendation:
    """Source weights, the category mixture they give, and the residual against the target per category."""

    weights: dict[str, float]
    achieved: dict[str, float]
    target: dict[str, float]
    residual: dict[str, float]
    distance: float
    norm: str
    caps: dict[str, float]
    tokens: dict[str, float] | None = None
    epochs: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)


def recommend_match(target: Mapping[str, float] | str | os.PathLike, *,
                    sources: Mapping[str, Mapping[str, float]] | str | os.PathLike | None = None,
                    caps: Mapping[str, float] | None = None, available: Mapping[str, float] | None = None,
                    budget: float | None = None, max_epochs: float | None = None,
                    norm: Norm = "l1") -> MatchRecommendation:
    """Find source weights whose mixture is closest to ``target`` under per-source caps.

    >>> r = recommend_match({"en": 0.5, "de": 0.3, "fr": 0.2}, caps={"en": 0.4})
    >>> round(r.weights["en"], 3), round(r.residual["en"], 3)
    (0.4, -0.1)
    """
    target_path = os.fspath(target) if isinstance(target, (str, os.PathLike)) else None
    # `forensics infer` writes its estimate as "shares" (by bytes).
    given = read_mapping(target_path, what="target mixture", keys=("shares", "mixture", "weights", "estimate")) \
        if target_path else target
    target = normalise(given, what="target mixture", path=target_path)  # type: ignore[arg-type]
    composition = _read_sources(sources, target)
    source_names = list(composition)
    categories = list(dict.fromkeys([*target, *(c for comp in composition.values() for c in comp)]))
    matrix = np.array([[composition[s].get(c, 0.0) for s in source_names] for c in categories])
    goal = np.array([target.get(c, 0.0) for c in categories])

    bounds = {name: 1.0 for name in source_names}
    if available is not None:
        available = as_mapping(available, what="available tokens")
        unknown = sorted(set(available) - set(source_names))
        if unknown:
            raise ForensicsError(f"available tokens name unknown sources {unknown}; sources are {source_names}")
        if budget is None or max_epochs is None:
            raise ForensicsError("caps from available tokens need both a budget and max_epochs")
        for name, cap in epoch_caps(available, budget=budget, max_epochs=max_epochs).items():
            bounds[name] = min(bounds[name], cap)
    for name, cap in (as_mapping(caps, what="caps") if caps else {}).items():
        if name not in bounds:
            raise ForensicsError(f"cap given for unknown source {name!r}; sources are {source_names}")
        bounds[name] = min(bounds[name], cap)
    upper = np.array([bounds[name] for name in source_names])
    if upper.sum() < 1 - 1e-9:
        raise ForensicsError(f"the caps sum to {upper.sum():.4g} < 1: no mixture fits them; raise the caps, the "
                             "available tokens or max_epochs, or lower the budget")

    weights = _solve_l1(matrix, goal, upper) if norm == "l1" else _solve_l2(matrix, goal, upper)
    achieved = matrix @ weights
    residual = achieved - goal
    distance = float(np.abs(residual).sum() if norm == "l1" else np.sqrt((residual ** 2).sum()))
    warnings = []
    uncovered = [c for c, row in zip(categories, matrix) if goal[categories.index(c)] > 0 and row.max() == 0]
    if uncovered:
        warnings.append(f"no source contains {', '.join(uncovered)}; their target share cannot be matched")
    tokens = epochs = None
    if budget is not None:
        tokens = {s: float(w * budget) for s, w in zip(source_names, weights)}
        if available is not None:
            epochs = {s: tokens[s] / available[s] if available.get(s) else float("inf") for s in available}
    return MatchRecommendation(
        weights={s: float(w) for s, w in zip(source_names, weights)},
        achieved={c: float(a) for c, a in zip(categories, achieved)},
        target={c: float(g) for c, g in zip(categories, goal)},
        residual={c: float(r) for c, r in zip(categories, residual)},
        distance=distance, norm=norm, caps=bounds, tokens=tokens, epochs=epochs, warnings=warnings)


def _read_sources(sources, target: Mapping[str, float]) -> dict[str, dict[str, float]]:
    if sources is None:
        return {name: {name: 1.0} for name in target}
    path = None
    if isinstance(sources, (str, os.PathLike)):
        from forensics._results import read_json

        path = os.fspath(sources)
        sources = read_json(path, what="sources file", hint="expected {source: {category: share}}")
        if isinstance(sources, dict) and isinstance(sources.get("sources"), dict):
            sources = sources["sources"]
    if not isinstance(sources, Mapping) or not sources:
        raise ForensicsError(f"{path or 'sources'}: expected {{source: {{category: share}}}}")
    return {str(name): normalise(comp, what=f"composition of source {name!r}", path=path)
            for name, comp in sources.items()}


def _solve_l1(matrix: np.ndarray, goal: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """min sum |C w - t| as an LP over [w, e+, e-] with C w - e+ + e- = t and sum(w) = 1."""
    from scipy.optimize import linprog

    k, m = matrix.shape
    cost = np.r_[np.zeros(m), np.ones(2 * k)]
    a_eq = np.block([[matrix, -np.eye(k), np.eye(k)], [np.ones((1, m)), np.zeros((1, 2 * k))]])
    b_eq = np.r_[goal, 1.0]
    bounds = [(0.0, u) for u in upper] + [(0.0, None)] * (2 * k)
    result = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if result.status != 0:
        raise ForensicsError(f"the matching LP failed: {result.message}")
    return np.clip(result.x[:m], 0.0, upper)


def _solve_l2(matrix: np.ndarray, goal: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """min ||C w - t||^2 under sum(w) = 1 and the caps (SLSQP from the capped uniform point)."""
    from scipy.optimize import minimize

    m = matrix.shape[1]
    start = np.minimum(np.full(m, 1.0 / m), upper)
    start = start / start.sum() if start.sum() > 0 else start
    result = minimize(lambda w: float(((matrix @ w - goal) ** 2).sum()), start,
                      jac=lambda w: 2 * matrix.T @ (matrix @ w - goal), method="SLSQP",
                      bounds=[(0.0, u) for u in upper],
                      constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(m)}],
                      options={"ftol": 1e-12, "maxiter": 500})
    if not result.success:
        raise ForensicsError(f"the matching QP failed: {result.message}")
    return np.clip(result.x, 0.0, upper)
