"""Choosing the domain ratio from fitted D-CPT laws: three uses, each a constrained minimum along r.

Every recommendation minimises the predicted domain loss while the predicted general loss stays within
``max_general_increase`` of a baseline (the model's starting general loss when given, else the predicted general
loss at the smallest domain ratio of the runs, same N and D): (a) ``tradeoff``, for a planned run (N, D);
(b) ``limited_domain``, when only ``domain_tokens`` domain tokens exist, so a run at ratio r trains
``domain_tokens / r`` tokens; (c) ``budget``, for a compute budget of ``6 * N * D`` FLOPs, choosing N among
candidate model sizes and r at each. Ratios are searched on a 0.001 grid; a table of predicted losses along r
comes with them, and warnings whenever a choice extrapolates beyond the runs.

Leaves out: several domains at once and error bars on the recommended ratio; fitting is
:mod:`~forensics.recommend.cpt_law`, output files :mod:`~forensics.recommend.cpt_output`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from forensics.errors import ForensicsError
from forensics.recommend.cpt_law import CptLaws, fit_dcpt_law
from forensics.recommend.cpt_table import CptRuns


@dataclass(frozen=True)
class RatioPoint:
    """Predicted losses at one domain ratio (one row of the table along r)."""

    domain_ratio: float
    domain_loss: float
    general_loss: float
    general_increase: float  # relative to the baseline: general_loss / baseline - 1


@dataclass(frozen=True)
class CptChoice:
    """One recommended run: the ratio, the planned sizes and the predicted losses."""

    use: Literal["tradeoff", "limited_domain", "budget"]
    domain_ratio: float
    model_size: float
    tokens: float
    domain_tokens: float
    general_tokens: float
    domain_loss: float
    general_loss: float
    general_baseline: float
    general_increase: float
    within_tolerance: bool


@dataclass(frozen=True)
class CptRecommendation:
    """Fitted laws, the three recommendations, the table along r and any warnings."""

    laws: CptLaws
    model_size: float
    tokens: float
    max_general_increase: float | None
    general_baseline: float | None  # given by the user; None = predicted at the smallest run ratio
    baseline_rule: str
    tradeoff: CptChoice
    limited_domain: CptChoice | None
    budget: CptChoice | None
    budget_candidates: list[CptChoice]
    curve: list[RatioPoint]
    warnings: list[str]


_RATIO_GRID = np.round(np.arange(1, 1000) / 1000.0, 3)  # 0.001 .. 0.999: recommendations are to 0.001


def _range_warnings(laws: CptLaws, what: str, model_size: float, tokens: float) -> list[str]:
    warnings = []
    lo, hi = laws.domain.model_size_range
    if not lo <= model_size <= hi:
        warnings.append(f"{what}: model size {model_size:.3g} is outside the runs' range [{lo:.3g}, {hi:.3g}]; "
                        "the law is extrapolated")
    lo, hi = laws.domain.tokens_range
    if not lo <= tokens <= hi:
        warnings.append(f"{what}: {tokens:.3g} training tokens is outside the runs' range [{lo:.3g}, {hi:.3g}]; "
                        "the law is extrapolated")
    return warnings


def _choose(laws: CptLaws, *, use, model_size: float, tokens_of, ratios: np.ndarray,
            max_increase: float | None, baseline: float | None) -> CptChoice:
    """Minimise the domain loss over ``ratios`` subject to the general tolerance (``tokens_of(r)``
    gives the training tokens of a run at ratio r). If no ratio meets the tolerance, take the one
    with the smallest general increase."""
    tokens = tokens_of(ratios)
    domain = laws.domain.predict(model_size, tokens, ratios)
    general = laws.general.predict(model_size, tokens, ratios)
    reference = (np.full_like(general, baseline) if baseline is not None else
                 laws.general.predict(model_size, tokens, laws.domain.domain_ratio_range[0]))
    increase = general / reference - 1.0
    ok = np.ones(ratios.shape, dtype=bool) if max_increase is None else increase <= max_increase + 1e-12
    index = int(np.argmin(np.where(ok, domain, np.inf))) if ok.any() else int(np.argmin(increase))
    r = float(ratios[index])
    d = float(tokens[index])
    return CptChoice(use=use, domain_ratio=r, model_size=float(model_size), tokens=d, domain_tokens=r * d,
                     general_tokens=(1.0 - r) * d, domain_loss=float(domain[index]),
                     general_loss=float(general[index]), general_baseline=float(reference[index]),
                     general_increase=float(increase[index]), within_tolerance=bool(ok[index]))


def recommend_cpt_ratio(laws: CptLaws | CptRuns | str | os.PathLike, *, model_size: float | None = None,
                        tokens: float | None = None, max_general_increase: float | None = 0.03,
                        general_baseline: float | None = None, domain_tokens: float | None = None,
                        compute_budget: float | None = None,
                        candidate_model_sizes: Sequence[float] | None = None,
                        curve_step: float = 0.05, **fit_options) -> CptRecommendation:
    """Recommend the domain ratio for a planned run, limited domain data and a compute budget.

    Every use minimises the predicted domain loss subject to ``general_loss <= (1 +
    max_general_increase) * baseline`` (``None`` drops the constraint); the baseline is
    ``general_baseline`` when given (the model's general loss before continual pre-training), else the
    predicted general loss of a run with the same N and D at the smallest domain ratio of the runs.
    ``model_size`` and ``tokens`` default to the largest in the runs. ``domain_tokens`` adds use (b),
    ``compute_budget`` (FLOPs, ``6 N D``) adds use (c) over ``candidate_model_sizes`` (default: the
    runs' model sizes). Ratios are searched on a 0.001 grid in (0, 1).

    >>> from forensics.recommend.cpt_table import example_runs
    >>> rec = recommend_cpt_ratio(example_runs(), n_starts=1, leave_one_out=False)
    >>> round(rec.tradeoff.domain_ratio, 2), rec.tradeoff.general_increase <= 0.03, rec.tradeoff.within_tolerance
    (0.57, True, True)
    """
    if not isinstance(laws, CptLaws):
        laws = fit_dcpt_law(laws, **fit_options)
    elif fit_options:
        raise TypeError(f"fit options {sorted(fit_options)} apply only when fitting from runs")
    if max_general_increase is not None and max_general_increase < 0:
        raise ForensicsError(f"max_general_increase is {max_general_increase}; give a fraction >= 0 (0.03 = 3%)")
    if general_baseline is not None and general_baseline <= 0:
        raise ForensicsError(f"general_baseline is {general_baseline}; give the model's general loss (> 0)")
    if not 0 < curve_step < 1:
        raise ForensicsError(f"curve_step is {curve_step}; give a step in (0, 1)")
    for name, value in (("model_size", model_size), ("tokens", tokens), ("domain_tokens", domain_tokens),
                        ("compute_budget", compute_budget)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ForensicsError(f"{name} is {value}; give a positive number")
    model_size = float(model_size) if model_size is not None else laws.domain.model_size_range[1]
    tokens = float(tokens) if tokens is not None else laws.domain.tokens_range[1]
    warnings = list(laws.warnings)
    warnings += _range_warnings(laws, "planned run", model_size, tokens)
    r_lo, r_hi = laws.domain.domain_ratio_range
    baseline_rule = ("given by the user (the model's general loss before continual pre-training)"
                     if general_baseline is not None else
                     f"predicted general loss at the same N and D with the smallest run domain ratio {r_lo:g}")
    common = {"ratios": _RATIO_GRID, "max_increase": max_general_increase, "baseline": general_baseline}

    tradeoff = _choose(laws, use="tradeoff", model_size=model_size,
                       tokens_of=lambda r: np.full(r.shape, tokens), **common)
    choices = [tradeoff]
    limited = None
    if domain_tokens is not None:
        limited = _choose(laws, use="limited_domain", model_size=model_size,
                          tokens_of=lambda r: domain_tokens / r, **common)
        choices.append(limited)
        warnings += _range_warnings(laws, f"limited domain data (ratio {limited.domain_ratio:g})",
                                    model_size, limited.tokens)
    budget = None
    candidates: list[CptChoice] = []
    if compute_budget is not None:
        sizes = sorted(set(float(v) for v in (candidate_model_sizes or laws.model_sizes)))
        for size in sizes:
            planned = compute_budget / (6.0 * size)
            candidates.append(_choose(laws, use="budget", model_size=size,
                                      tokens_of=lambda r, planned=planned: np.full(r.shape, planned), **common))
        feasible = [c for c in candidates if c.within_tolerance] or candidates
        budget = min(feasible, key=lambda c: c.domain_loss)
        choices.append(budget)
        warnings += _range_warnings(laws, f"compute budget (model size {budget.model_size:.3g})",
                                    budget.model_size, budget.tokens)
    for choice in choices:
        if not r_lo <= choice.domain_ratio <= r_hi:
            warnings.append(f"{choice.use}: recommended domain ratio {choice.domain_ratio:g} is outside the runs' "
                            f"ratios [{r_lo:g}, {r_hi:g}]; the law is extrapolated in r")
        if not choice.within_tolerance:
            warnings.append(f"{choice.use}: no ratio keeps the general loss within {max_general_increase:.1%} of "
                            f"the baseline; showing the ratio with the smallest increase")
    curve = _curve(laws, model_size, tokens, curve_step, general_baseline,
                   extra=[c.domain_ratio for c in (tradeoff,)])
    return CptRecommendation(laws=laws, model_size=model_size, tokens=tokens,
                             max_general_increase=max_general_increase, general_baseline=general_baseline,
                             baseline_rule=baseline_rule, tradeoff=tradeoff, limited_domain=limited,
                             budget=budget, budget_candidates=candidates, curve=curve,
                             warnings=list(dict.fromkeys(warnings)))


def _curve(laws: CptLaws, model_size: float, tokens: float, step: float, baseline: float | None,
           *, extra: Sequence[float]) -> list[RatioPoint]:
    ratios = np.arange(step, 1.0 - 1e-9, step)
    ratios = np.unique(np.round(np.concatenate([ratios, np.asarray(extra, dtype=np.float64)]), 6))
    ratios = ratios[(ratios > 0) & (ratios < 1)]
    domain = laws.domain.predict(model_size, tokens, ratios)
    general = laws.general.predict(model_size, tokens, ratios)
    reference = baseline if baseline is not None else float(
        laws.general.predict(model_size, tokens, laws.domain.domain_ratio_range[0]))
    return [RatioPoint(domain_ratio=float(r), domain_loss=float(dl), general_loss=float(gl),
                       general_increase=float(gl / reference - 1.0))
            for r, dl, gl in zip(ratios, domain, general)]
