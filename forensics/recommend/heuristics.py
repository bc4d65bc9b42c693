"""Mixture weights from measured sizes alone: proportional, temperature sampling and UniMax.

Given the tokens available per category (from a ``forensics scan`` result or a table), or per source (``scans``:
one ``forensics scan`` output per source, :mod:`~forensics.recommend.sources`), and a token budget, each heuristic
returns weights, the tokens each gets and how many epochs of it that means (with scans, also the category mixture
by bytes the weights give; sizes are in bytes when the scans counted no tokens):

- ``proportional``: p_i = q_i, the share of the available tokens.
- ``temperature``: p_i proportional to q_i ** alpha (mT5 and XLM-R use alpha = 0.3); small categories are
  up-sampled and may be repeated many times.
- ``unimax`` (Chung et al. 2023): as uniform as possible over categories, with no category repeated more than
  ``max_epochs`` times; the budget left by small categories is shared uniformly by the larger ones.

Leaves out: quality or downstream signals (see :mod:`forensics.recommend.runs` for learning from runs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from forensics.errors import ForensicsError
from forensics.recommend._tables import as_mapping, read_mapping
from forensics.recommend.sources import ScanSource, byte_mixture, read_scans, source_sizes

Method = Literal["proportional", "temperature", "unimax"]
METHODS: tuple[str, ...] = ("proportional", "temperature", "unimax")


@dataclass
class HeuristicRecommendation:
    """Weights per category, the tokens each gets within the budget, and the epochs that means."""

    method: str
    weights: dict[str, float]
    tokens: dict[str, float]
    epochs: dict[str, float]
    available: dict[str, float]
    budget: float
    parameters: dict[str, float | None]
    warnings: list[str] = field(default_factory=list)
    unit: str = "tokens"
    mixture: dict[str, float] | None = None


def recommend_heuristic(sizes: Mapping[str, float] | str | os.PathLike | None = None, *,
                        scans: Mapping[str, str | os.PathLike | ScanSource] | None = None,
                        method: Method = "unimax", budget: float | None = None, alpha: float = 0.3,
                        max_epochs: float | None = 4.0) -> HeuristicRecommendation:
    """Recommend weights from the tokens available per category (``sizes``) or per source (``scans``).

    ``budget`` defaults to all available tokens (one pass over everything). ``max_epochs`` caps UniMax and, for the
    other methods, only produces a warning when a category would be repeated more often.

    >>> r = recommend_heuristic({"en": 900, "sw": 100}, method="temperature", alpha=0.3)
    >>> round(r.weights["sw"], 3)
    0.341
    """
    path, measured, unit, per_token, notes = None, None, "tokens", None, []
    if (sizes is None) == (scans is None):
        raise ForensicsError("give the sizes per category or the scans of the sources (one of them)")
    if scans is not None:
        measured = read_scans(scans)
        measured_sizes = source_sizes(measured)
        unit, per_token, notes = measured_sizes.unit, measured_sizes.bytes_per_token, measured_sizes.warnings
        sizes = measured_sizes.sizes
    elif isinstance(sizes, (str, os.PathLike)):
        path = os.fspath(sizes)
        sizes = read_mapping(path, what="token counts per category")
    available = as_mapping(sizes, what="token counts per category", path=path)  # type: ignore[arg-type]
    empty = [name for name, size in available.items() if size == 0]
    if empty:
        raise ForensicsError(f"{path or 'sizes'}: categories with no tokens: {empty}; drop them first")
    if method not in METHODS:
        raise ForensicsError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    total = sum(available.values())
    budget = float(total if budget is None else budget)
    if budget <= 0:
        raise ForensicsError(f"budget must be positive (got {budget:g})")
    if not 0 < alpha <= 1 and method == "temperature":
        raise ForensicsError(f"alpha must be in (0, 1] (got {alpha:g}); 1 is proportional")
    if max_epochs is not None and max_epochs <= 0:
        raise ForensicsError(f"max_epochs must be positive (got {max_epochs:g})")

    warnings: list[str] = list(notes)
    short = 0.0
    if method == "proportional":
        weights = {name: size / total for name, size in available.items()}
    elif method == "temperature":
        scaled = {name: (size / total) ** alpha for name, size in available.items()}
        norm = sum(scaled.values())
        weights = {name: value / norm for name, value in scaled.items()}
    else:
        if max_epochs is None:
            raise ForensicsError("unimax needs max_epochs")
        weights, short = _unimax(available, budget=budget, max_epochs=max_epochs)
        if short > 0:
            warnings.append(f"the budget exceeds what {max_epochs:g} epochs of every category give; "
                            f"{short:.4g} tokens are left unallocated and weights are scaled to the rest")
    used = budget - short if method == "unimax" else budget
    tokens = {name: weights[name] * used for name in available}
    epochs = {name: tokens[name] / available[name] for name in available}
    if max_epochs is not None and method != "unimax":
        over = [name for name in available if epochs[name] > max_epochs * (1 + 1e-9)]
        if over:
            warnings.append(f"{len(over)} categories would be repeated more than {max_epochs:g} epochs: "
                            + ", ".join(f"{n} ({epochs[n]:.3g})" for n in over[:8]))
    mixture = byte_mixture(weights, measured, per_token) if measured is not None else None
    return HeuristicRecommendation(method, weights, tokens, epochs, available, budget,
                                   {"alpha": alpha if method == "temperature" else None,
                                    "max_epochs": max_epochs}, warnings, unit, mixture)


def _unimax(available: Mapping[str, float], *, budget: float, max_epochs: float) -> tuple[dict[str, float], float]:
    """UniMax allocation (Chung et al. 2023, Algorithm 1); returns weights and the budget left unallocated.

    >>> _unimax({"a": 10, "b": 1000}, budget=100, max_epochs=2)
    ({'a': 0.2, 'b': 0.8}, 0.0)
    """
    remaining = budget
    allocation: dict[str, float] = {}
    order = sorted(available, key=lambda name: (available[name], name))
    for i, name in enumerate(order):
        share = remaining / (len(order) - i)
        allocation[name] = min(share, max_epochs * available[name])
        remaining -= allocation[name]
    allocated = sum(allocation.values())
    short = max(0.0, remaining)
    return {name: allocation[name] / allocated for name in available}, short
