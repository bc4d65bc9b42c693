"""Target matching: the weights over available sources whose mixture comes closest to a target mixture.

The target is a mixture over categories (for example what ``forensics infer`` estimated for a reference tokenizer,
its result JSON, or a user's JSON). Each source has a composition over categories: a ``forensics scan`` output per
source (``scans``, :mod:`~forensics.recommend.sources`), a hand-written ``{source: {category: share}}``, or by
default every category its own source. With C the categories x sources composition matrix, we solve

    min || C v - target ||   subject to  sum(v) = 1,  v >= 0,  the caps

as a linear program for the L1 norm (HiGHS through scipy) or a quadratic program for L2 (SLSQP). Caps come from
``caps`` directly, or from the tokens ``available`` per source (a scan's size), a token ``budget`` and
``max_epochs``. Categories are the union of the target's and the sources': one no source holds cannot be matched
(a warning), one the target lacks counts as target 0 (its share shows as residual); both are listed.

Units: compositions and the target are byte shares (what ``infer`` and ``scan`` measure) while budgets count
tokens. With each source's bytes per token b_s (scans that counted tokens), v are byte weights and the token
weights are w_s = (v_s / b_s) / sum_r (v_r / b_r); a cap w_s <= c_s is the linear constraint
v_s / b_s <= c_s * sum_r (v_r / b_r), so the program stays linear. Without b, v = w.

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
from forensics.recommend.sources import ScanSource, read_scans, source_sizes

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
    unit: str = "tokens"
    byte_weights: dict[str, float] | None = None
    not_in_sources: list[str] = field(default_factory=list)
    not_in_target: list[str] = field(default_factory=list)
    sources: dict[str, dict] | None = None


def recommend_match(target: Mapping[str, float] | str | os.PathLike, *,
                    sources: Mapping[str, Mapping[str, float]] | str | os.PathLike | None = None,
                    scans: Mapping[str, str | os.PathLike | ScanSource] | None = None,
                    caps: Mapping[str, float] | None = None, available: Mapping[str, float] | None = None,
                    budget: float | None = None, max_epochs: float | None = None,
                    norm: Norm = "l1") -> MatchRecommendation:
    """Find source weights whose mixture is closest to ``target`` under per-source caps.

    ``scans`` ({source: scan output directory}) gives each source's composition and size (tokens, else bytes),
    in place of ``sources`` and ``available``; ``budget`` is then in the scans' unit.

    >>> r = recommend_match({"en": 0.5, "de": 0.3, "fr": 0.2}, caps={"en": 0.4})
    >>> round(r.weights["en"], 3), round(r.residual["en"], 3)
    (0.4, -0.1)
    """
    target_path = os.fspath(target) if isinstance(target, (str, os.PathLike)) else None
    # `forensics infer` writes its estimate as "shares" (by bytes).
    given = read_mapping(target_path, what="target mixture", keys=("shares", "mixture", "weights", "estimate")) \
        if target_path else target
    target = normalise(given, what="target mixture", path=target_path)  # type: ignore[arg-type]
    unit, per_token, notes, measured = "tokens", None, [], None
    if scans is not None:
        if sources is not None or available is not None:
            raise ForensicsError("give scans, or sources and available tokens, not both: a scan holds a source's "
                                 "composition and size")
        if max_epochs is not None and budget is None:
            raise ForensicsError("epoch caps need a budget (in the scans' unit)")
        measured = read_scans(scans)
        sizes = source_sizes(measured)
        unit, per_token, notes = sizes.unit, sizes.bytes_per_token, sizes.warnings
        composition = {name: scan.composition for name, scan in measured.items()}
        available = sizes.sizes
    else:
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
        if scans is None and (budget is None or max_epochs is None):
            raise ForensicsError("caps from available tokens need both a budget and max_epochs")
        if budget is not None and max_epochs is not None:
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

    ratio = np.array([per_token[name] for name in source_names]) if per_token else np.ones(len(source_names))
    solve = _solve_l1 if norm == "l1" else _solve_l2
    byte_weights = solve(matrix, goal, upper, ratio)
    weights = byte_weights / ratio
    weights = weights / weights.sum()
    achieved = matrix @ byte_weights
    residual = achieved - goal
    distance = float(np.abs(residual).sum() if norm == "l1" else np.sqrt((residual ** 2).sum()))
    warnings = list(notes)
    not_in_sources = [c for c, row in zip(categories, matrix) if row.max() == 0]
    not_in_target = [c for c in categories if c not in target]
    uncovered = [c for c in not_in_sources if goal[categories.index(c)] > 0]
    if uncovered:
        warnings.append(f"no source contains {', '.join(uncovered)}; their target share cannot be matched")
    extra = {c: float(achieved[categories.index(c)]) for c in not_in_target}
    if sum(extra.values()) > 0.01:
        listed = ", ".join(f"{c} {share:.1%}" for c, share in sorted(extra.items(), key=lambda kv: -kv[1]) if share)
        warnings.append(f"the target has no share of {listed} of the mixture (counted as residual); "
                        "a target over more categories (forensics infer --categories) would place them")
    tokens = epochs = None
    if budget is not None:
        tokens = {s: float(w * budget) for s, w in zip(source_names, weights)}
        if available is not None:
            epochs = {s: tokens[s] / available[s] if available.get(s) else float("inf") for s in available}
    info = None
    if measured is not None:
        info = {name: {"path": scan.path, "size": available[name] if available else None, "bytes": scan.bytes,
                       "tokens": scan.tokens, "documents": scan.documents, "unknown": scan.unknown,
                       "composition": scan.composition} for name, scan in measured.items()}
    return MatchRecommendation(
        weights={s: float(w) for s, w in zip(source_names, weights)},
        achieved={c: float(a) for c, a in zip(categories, achieved)},
        target={c: float(g) for c, g in zip(categories, goal)},
        residual={c: float(r) for c, r in zip(categories, residual)},
        distance=distance, norm=norm, caps=bounds, tokens=tokens, epochs=epochs, warnings=warnings,
        unit=unit if scans is not None else "tokens",
        byte_weights={s: float(v) for s, v in zip(source_names, byte_weights)} if per_token else None,
        not_in_sources=not_in_sources, not_in_target=not_in_target, sources=info)


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


def _cap_rows(upper: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The caps on token weights as constraints on byte weights v: rows A with A v <= 0, and bounds on v.

    With equal bytes per token the caps are plain bounds (v = w); otherwise one row per capped source:
    v_s / b_s - c_s * sum_r v_r / b_r <= 0.
    """
    m = len(upper)
    if np.allclose(ratio, ratio[0]):
        return np.zeros((0, m)), [(0.0, float(u)) for u in upper]
    capped = np.flatnonzero(upper < 1.0)
    rows = -upper[capped, None] / ratio[None, :]
    rows[np.arange(len(capped)), capped] += 1.0 / ratio[capped]
    return rows, [(0.0, 1.0)] * m


def _solve_l1(matrix: np.ndarray, goal: np.ndarray, upper: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """min sum |C v - t| as an LP over [v, e+, e-] with C v - e+ + e- = t, sum(v) = 1 and the caps."""
    from scipy.optimize import linprog

    k, m = matrix.shape
    cost = np.r_[np.zeros(m), np.ones(2 * k)]
    a_eq = np.block([[matrix, -np.eye(k), np.eye(k)], [np.ones((1, m)), np.zeros((1, 2 * k))]])
    b_eq = np.r_[goal, 1.0]
    rows, bounds = _cap_rows(upper, ratio)
    a_ub = np.hstack([rows, np.zeros((len(rows), 2 * k))]) if len(rows) else None
    result = linprog(cost, A_ub=a_ub, b_ub=np.zeros(len(rows)) if len(rows) else None, A_eq=a_eq, b_eq=b_eq,
                     bounds=bounds + [(0.0, None)] * (2 * k), method="highs")
    if result.status != 0:
        raise ForensicsError(f"the matching LP failed: {result.message}")
    return np.clip(result.x[:m], 0.0, [high for _, high in bounds])


def _solve_l2(matrix: np.ndarray, goal: np.ndarray, upper: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """min ||C v - t||^2 under sum(v) = 1 and the caps (SLSQP from the capped uniform point)."""
    from scipy.optimize import minimize

    m = matrix.shape[1]
    start = np.minimum(np.full(m, 1.0 / m), upper) * ratio
    start = start / start.sum() if start.sum() > 0 else start
    rows, bounds = _cap_rows(upper, ratio)
    constraints = [{"type": "eq", "fun": lambda v: v.sum() - 1.0, "jac": lambda v: np.ones(m)}]
    if len(rows):
        constraints.append({"type": "ineq", "fun": lambda v: -(rows @ v), "jac": lambda v: -rows})
    result = minimize(lambda v: float(((matrix @ v - goal) ** 2).sum()), start,
                      jac=lambda v: 2 * matrix.T @ (matrix @ v - goal), method="SLSQP",
                      bounds=bounds, constraints=constraints, options={"ftol": 1e-12, "maxiter": 500})
    if not result.success:
        raise ForensicsError(f"the matching QP failed: {result.message}")
    return np.clip(result.x, 0.0, [high for _, high in bounds])
