"""The runs table of ``recommend cpt``: one row per continual pre-training run, read and checked.

A run has a model size N, training tokens D, a domain ratio r (the domain share of the tokens, strictly
between 0 and 1) and two validation losses, general and domain. Sizes may carry k/M/B/T suffixes ("1.8B").
The CSV is read by :func:`forensics.recommend._tables.read_columns`; this module checks what the numbers mean
and names the file line of the first bad value.

Leaves out: fitting (:mod:`~forensics.recommend.cpt_law`) and runs without both losses (every run is used by
both laws, so a run with a missing loss is an error, not a partial row).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from forensics.errors import input_error
from forensics.recommend._tables import read_columns

DEFAULT_COLUMNS = {
    "model_size": "model_size",
    "tokens": "tokens",
    "domain_ratio": "domain_ratio",
    "general_loss": "general_loss",
    "domain_loss": "domain_loss",
}


@dataclass(frozen=True)
class CptRuns:
    """A validated table of continual pre-training runs (one row per run)."""

    model_size: np.ndarray
    tokens: np.ndarray
    domain_ratio: np.ndarray
    general_loss: np.ndarray
    domain_loss: np.ndarray
    source: str = "<memory>"

    def __len__(self) -> int:
        return int(self.model_size.shape[0])


def cpt_runs(*, model_size: Sequence[float], tokens: Sequence[float], domain_ratio: Sequence[float],
             general_loss: Sequence[float], domain_loss: Sequence[float],
             source: str = "<memory>") -> CptRuns:
    """Validate arrays of runs into :class:`CptRuns` (same checks as :func:`read_cpt_runs`).

    >>> len(cpt_runs(model_size=[1e9] * 3, tokens=[1e9] * 3, domain_ratio=[.1, .5, .9],
    ...              general_loss=[2.0, 2.1, 2.3], domain_loss=[1.5, 1.3, 1.2]))
    3
    """
    columns = {"model_size": model_size, "tokens": tokens, "domain_ratio": domain_ratio,
               "general_loss": general_loss, "domain_loss": domain_loss}
    arrays = {name: np.asarray(values, dtype=np.float64).reshape(-1) for name, values in columns.items()}
    lengths = {a.shape[0] for a in arrays.values()}
    if len(lengths) != 1:
        raise input_error(source, f"columns have different lengths {sorted(lengths)}")
    for name, array in arrays.items():
        _check_column(source, name, array)
    return CptRuns(**arrays, source=source)


def example_runs() -> CptRuns:
    """Nine runs of one model (N = 1e9, D = 1e10) at domain ratios 0.1 .. 0.9, for examples.

    The losses, rounded to 4 decimals, come from known laws: domain (E, A, alpha, B, beta, eta, C, gamma,
    epsilon) = (1.2, 80, 0.3, 60, 0.25, 0.6, 0.25, 0.5, 0.05) and general = (1.8, 120, 0.3, 20, 0.25, 0.3, 0.08,
    0.9, 0.02).

    >>> runs = example_runs()
    >>> len(runs), float(runs.domain_loss.min()), float(runs.general_loss.max())
    (9, 1.7942, 2.6104)
    """
    return cpt_runs(model_size=[1e9] * 9, tokens=[1e10] * 9, domain_ratio=np.arange(1, 10) / 10,
                    domain_loss=[2.0528, 1.9319, 1.8743, 1.8418, 1.8219, 1.8094, 1.8015, 1.7967, 1.7942],
                    general_loss=[2.1869, 2.1942, 2.2038, 2.2167, 2.2349, 2.2621, 2.3066, 2.391, 2.6104],
                    source="example")


def _check_column(source: str, key: str, array: np.ndarray, *, name: str | None = None,
                  numbers: Sequence[int] | None = None, word: str = "row") -> None:
    """Raise a one-line error at the first bad value of column ``key`` (shown as ``name``);
    ``numbers`` label the rows (default 1, 2, ...)."""
    name = name or key

    def where(i: int) -> str:
        return f"{word} {numbers[i] if numbers is not None else i + 1}"

    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise input_error(source, f"{where(bad[0])}: column '{name}' is empty or non-finite "
                          f"({array[bad[0]]}; {bad.size} such values)", "remove or fill the runs with missing values")
    if key == "domain_ratio":
        bad = np.flatnonzero((array <= 0.0) | (array >= 1.0))
        if bad.size:
            raise input_error(source, f"{where(bad[0])}: column '{name}' is {array[bad[0]]:g}, "
                              "outside (0, 1)", "give the domain share of training tokens as a fraction "
                              "strictly between 0 and 1 (drop pure-general and pure-domain runs)")
    else:
        bad = np.flatnonzero(array <= 0.0)
        if bad.size:
            raise input_error(source, f"{where(bad[0])}: column '{name}' is {array[bad[0]]:g}, "
                              "not positive", "model sizes, token counts and losses must be > 0")


def read_cpt_runs(path: str | os.PathLike, *, model_size_column: str = "model_size",
                  tokens_column: str = "tokens", ratio_column: str = "domain_ratio",
                  general_column: str = "general_loss", domain_column: str = "domain_loss") -> CptRuns:
    """Read and validate a CSV of runs; sizes may carry k/M/B/T suffixes ("1.8B"); other columns are ignored.

    >>> runs = read_cpt_runs("runs.csv", ratio_column="r")  # doctest: +SKIP
    """
    wanted = {"model_size": model_size_column, "tokens": tokens_column, "domain_ratio": ratio_column,
              "general_loss": general_column, "domain_loss": domain_column}
    table = read_columns(path, wanted, what="runs",
                         hint="name them with --model-size-column/--tokens-column/--ratio-column/"
                              "--general-column/--domain-column")
    for key, array in table.values.items():
        _check_column(table.path, key, array, name=wanted[key], numbers=table.lines, word="line")
    return CptRuns(**table.values, source=table.path)
