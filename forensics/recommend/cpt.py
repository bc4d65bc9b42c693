"""Continual pre-training ratio: fit the D-CPT Law to a table of runs and recommend the domain ratio.

The D-CPT Law (Que et al. 2024, arXiv 2406.01375) predicts a validation loss of a continual
pre-training run from the model size ``N``, the training tokens ``D`` and a mixture ratio ``r``::

    L(N, D, r) = E + A / N**alpha + B * r**eta / D**beta + C / (r + epsilon)**gamma

One law is fitted to the domain loss with ``r`` the domain ratio, another to the general loss with
``r`` the general ratio ``1 - r_domain``. Fitting minimises the mean Huber loss of the residuals
``log(predicted) - log(observed)`` (log space makes every residual a relative error, so runs with
low and high losses weigh alike and one Huber ``delta`` suits any loss scale; this follows the
Chinchilla fits the paper builds on) with L-BFGS-B from the best points of a grid of starts, and
reports R^2 and Huber loss in-sample and by leave-one-out refits.

Three recommendations, each minimising the predicted domain loss while the predicted general loss
stays within ``max_general_increase`` of a baseline (the model's starting general loss when given,
else the predicted general loss at the smallest domain ratio of the runs, same N and D):
(a) ``tradeoff``: for a planned run (N, D); (b) ``limited_domain``: when only ``domain_tokens``
domain tokens exist, so a run at ratio r trains ``domain_tokens / r`` tokens; (c) ``budget``: for a
compute budget of ``6 * N * D`` FLOPs, choosing N among candidate model sizes and r at each.

Left out: the Cross-Domain D-CPT Law (the domain-specific learnable coefficient K), multiple domains
at once, learning-rate schedules and repeated (multi-epoch) domain data.

>>> runs = read_cpt_runs("runs.csv")  # doctest: +SKIP
>>> recommend_cpt_ratio(fit_dcpt_law(runs), model_size=1.8e9, tokens=10e9).tradeoff.domain_ratio  # doctest: +SKIP
0.566
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from forensics.errors import ForensicsError, input_error

DEFAULT_COLUMNS = {
    "model_size": "model_size",
    "tokens": "tokens",
    "domain_ratio": "domain_ratio",
    "general_loss": "general_loss",
    "domain_loss": "domain_loss",
}
PARAM_NAMES = ("E", "A", "alpha", "B", "beta", "eta", "C", "gamma", "epsilon")

# Bounds of the internal parameters (log coefficients; exponents; epsilon). N and D are divided by
# the geometric mean of the runs' values before fitting, so the log coefficients stay near 0.
_LOG_COEF_BOUNDS = (-30.0, 10.0)
_EXPONENT_BOUNDS = {"alpha": (0.0, 2.5), "beta": (0.0, 2.5), "gamma": (0.0, 2.5), "eta": (0.0, 3.0)}
_EPSILON_BOUNDS = (1e-6, 1.0)
_DROPPED_LOG_COEF = -60.0  # exp(-60) ~ 1e-26: a term fixed at "absent"
_START_GRID = {
    "alpha": (0.2, 0.5, 1.0),
    "beta": (0.2, 0.5, 1.0),
    "gamma": (0.1, 0.4, 1.0),
    "eta": (0.1, 0.5, 1.5),
    "epsilon": (0.01, 0.1),
}
_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_COUNT_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtT]?)\s*$")


def parse_count(text: str | float | int) -> float:
    """A number with an optional k/M/B/T suffix.

    >>> parse_count("1.8B"), parse_count("5e9"), parse_count(300)
    (1800000000.0, 5000000000.0, 300.0)
    """
    if isinstance(text, (int, float)):
        return float(text)
    match = _COUNT_RE.match(text)
    if not match:
        raise ValueError(f"not a number: {text!r} (examples: 1.8B, 500M, 2e10)")
    return float(match.group(1)) * _SUFFIXES.get(match.group(2).lower(), 1.0)


# ---------------------------------------------------------------------------------------------
# runs table


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
    arrays = {}
    for name, values in columns.items():
        array = np.asarray(values, dtype=np.float64).reshape(-1)
        arrays[name] = array
    lengths = {a.shape[0] for a in arrays.values()}
    if len(lengths) != 1:
        raise input_error(source, f"columns have different lengths {sorted(lengths)}")
    for name, array in arrays.items():
        _check_column(source, name, array)
    return CptRuns(**arrays, source=source)


def _check_column(source: str, key: str, array: np.ndarray, *, name: str | None = None,
                  numbers: Sequence[int] | None = None, word: str = "row") -> None:
    """Raise a one-line error at the first bad value of column ``key`` (shown as ``name``);
    ``numbers`` label the rows (default 1, 2, ...)."""
    name = name or key
    where = (lambda i: f"{word} {numbers[i] if numbers is not None else i + 1}")
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
    """Read and validate a CSV of runs; sizes may carry k/M/B/T suffixes ("1.8B").

    >>> runs = read_cpt_runs("runs.csv", ratio_column="r")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise input_error(path, "no such file", "pass the CSV of runs") from None
    except OSError as exc:
        raise input_error(path, f"cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise input_error(path, "not UTF-8 text", "save the table as a UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise input_error(path, "empty file", "expected a CSV with a header row")
    header = [cell.strip() for cell in header]
    wanted = {"model_size": model_size_column, "tokens": tokens_column, "domain_ratio": ratio_column,
              "general_loss": general_column, "domain_loss": domain_column}
    missing = [column for column in wanted.values() if column not in header]
    if missing:
        raise input_error(path, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}",
                          "name them with --model-size-column/--tokens-column/--ratio-column/"
                          "--general-column/--domain-column")
    index = {key: header.index(column) for key, column in wanted.items()}
    values: dict[str, list[float]] = {key: [] for key in wanted}
    line_numbers: list[int] = []
    for line_number, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        line_numbers.append(line_number)
        for key, column in wanted.items():
            position = index[key]
            cell = row[position].strip() if position < len(row) else ""
            try:
                values[key].append(parse_count(cell) if cell else math.nan)
            except ValueError:
                if cell.lower() in {"nan", "na", "n/a", "null", "none", "inf", "-inf"}:
                    values[key].append(math.nan)
                    continue
                raise input_error(path, f"line {line_number}: column '{column}' is {cell!r}, not a number",
                                  "fix the cell or drop the run") from None
    if not values["model_size"]:
        raise input_error(path, "no runs below the header", "add one row per training run")
    arrays = {key: np.asarray(vals, dtype=np.float64) for key, vals in values.items()}
    for key, array in arrays.items():
        _check_column(str(path), key, array, name=wanted[key], numbers=line_numbers, word="line")
    return CptRuns(**arrays, source=str(path))


# ---------------------------------------------------------------------------------------------
# the law and its fit


@dataclass(frozen=True)
class DcptParams:
    """Parameters of ``L = E + A/N^alpha + B*r^eta/D^beta + C/(r+epsilon)^gamma`` (N, D in raw units)."""

    E: float
    A: float
    alpha: float
    B: float
    beta: float
    eta: float
    C: float
    gamma: float
    epsilon: float

    def loss(self, model_size, tokens, ratio) -> np.ndarray:
        """Predicted loss; ``ratio`` is the law's own r (domain or general ratio).

        >>> DcptParams(1, 0, 0, 0, 0, 0, 1, 1, 0).loss(1e9, 1e9, 0.5)
        array(3.)
        """
        n = np.asarray(model_size, dtype=np.float64)
        d = np.asarray(tokens, dtype=np.float64)
        r = np.asarray(ratio, dtype=np.float64)
        return (self.E + self.A * n ** -self.alpha + self.B * r ** self.eta * d ** -self.beta
                + self.C * (r + self.epsilon) ** -self.gamma)


@dataclass(frozen=True)
class DcptFit:
    """One fitted D-CPT law with its fit quality and the range of the runs it saw."""

    target: Literal["domain", "general"]
    ratio: Literal["domain", "general"]  # which ratio the law's r is
    params: DcptParams
    r2: float
    huber: float  # mean Huber loss of log residuals on the fitted runs
    rmse: float
    loo_r2: float | None
    loo_huber: float | None
    loo_rmse: float | None
    n_runs: int
    huber_delta: float
    fixed: list[str]  # parameters held fixed because the runs cannot identify them
    model_size_range: tuple[float, float]
    tokens_range: tuple[float, float]
    domain_ratio_range: tuple[float, float]
    warnings: list[str] = field(default_factory=list)

    def predict(self, model_size, tokens, domain_ratio) -> np.ndarray:
        """Predicted loss for a domain ratio (converted to the general ratio for the general law).

        >>> fit.predict(1.8e9, 10e9, [0.1, 0.5]).round(4)  # doctest: +SKIP
        array([2.0269, 1.7942])
        """
        r = np.asarray(domain_ratio, dtype=np.float64)
        return self.params.loss(model_size, tokens, 1.0 - r if self.ratio == "general" else r)


@dataclass(frozen=True)
class CptLaws:
    """Both fitted laws for one table of runs."""

    domain: DcptFit
    general: DcptFit
    source: str
    n_runs: int
    model_sizes: list[float]  # the distinct model sizes of the runs
    warnings: list[str] = field(default_factory=list)


def _huber(residual: np.ndarray, delta: float) -> np.ndarray:
    absolute = np.abs(residual)
    return np.where(absolute <= delta, 0.5 * residual**2, delta * (absolute - 0.5 * delta))


class _Problem:
    """The fit in internal coordinates x = [e, a, alpha, b, beta, eta, c, gamma, epsilon].

    Terms: exp(e), exp(a - alpha ln n), exp(b + eta ln r - beta ln d), exp(c - gamma ln(r + epsilon)),
    with n = N / n_ref and d = D / d_ref.
    """

    def __init__(self, n, d, r, y, *, delta: float, n_ref: float, d_ref: float):
        self.ln_n = np.log(n / n_ref)
        self.ln_d = np.log(d / d_ref)
        self.r = r
        self.ln_r = np.log(r)
        self.ln_y = np.log(y)
        self.y = y
        self.delta = delta
        self.n_ref = n_ref
        self.d_ref = d_ref

    def subset(self, keep: np.ndarray) -> "_Problem":
        sub = object.__new__(_Problem)
        sub.__dict__.update(self.__dict__)
        for name in ("ln_n", "ln_d", "r", "ln_r", "ln_y", "y"):
            setattr(sub, name, getattr(self, name)[keep])
        return sub

    def terms(self, x: np.ndarray, ln_n=None, ln_d=None, r=None):
        ln_n = self.ln_n if ln_n is None else ln_n
        ln_d = self.ln_d if ln_d is None else ln_d
        r = self.r if r is None else r
        e, a, alpha, b, beta, eta, c, gamma, eps = x
        t0 = np.full(r.shape, math.exp(e))
        t1 = np.exp(a - alpha * ln_n)
        t2 = np.exp(b + eta * np.log(r) - beta * ln_d)
        t3 = np.exp(c - gamma * np.log(r + eps))
        return t0, t1, t2, t3

    def objective(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean Huber loss of log residuals divided by delta^2 (so it is O(1)), and its gradient."""
        t0, t1, t2, t3 = self.terms(x)
        prediction = t0 + t1 + t2 + t3
        residual = np.log(prediction) - self.ln_y
        scale = 1.0 / (self.delta**2 * residual.size)
        value = float(_huber(residual, self.delta).sum() * scale)
        weight = np.clip(residual, -self.delta, self.delta) / prediction * scale
        gamma, eps = x[7], x[8]
        log_r_eps = np.log(self.r + eps)
        grad = np.array([
            (weight * t0).sum(),
            (weight * t1).sum(),
            -(weight * t1 * self.ln_n).sum(),
            (weight * t2).sum(),
            -(weight * t2 * self.ln_d).sum(),
            (weight * t2 * self.ln_r).sum(),
            (weight * t3).sum(),
            -(weight * t3 * log_r_eps).sum(),
            -(weight * t3 * gamma / (self.r + eps)).sum(),
        ])
        return value, grad

    def to_params(self, x: np.ndarray, *, n_term: bool) -> DcptParams:
        e, a, alpha, b, beta, eta, c, gamma, eps = (float(v) for v in x)
        # A/n^alpha with n = N/n_ref is (A n_ref^alpha)/N^alpha in raw units; likewise B.
        return DcptParams(E=math.exp(e), A=math.exp(a + alpha * math.log(self.n_ref)) if n_term else 0.0,
                          alpha=alpha if n_term else 0.0, B=math.exp(b + beta * math.log(self.d_ref)),
                          beta=beta, eta=eta, C=math.exp(c), gamma=gamma, epsilon=eps)


def _bounds(y: np.ndarray, *, n_term: bool, d_term: bool) -> list[tuple[float, float]]:
    e_bounds = (math.log(1e-4), math.log(float(y.max())))
    return [
        e_bounds,
        _LOG_COEF_BOUNDS if n_term else (_DROPPED_LOG_COEF, _DROPPED_LOG_COEF),
        _EXPONENT_BOUNDS["alpha"] if n_term else (0.0, 0.0),
        _LOG_COEF_BOUNDS,
        _EXPONENT_BOUNDS["beta"] if d_term else (0.0, 0.0),
        _EXPONENT_BOUNDS["eta"],
        _LOG_COEF_BOUNDS,
        _EXPONENT_BOUNDS["gamma"],
        _EPSILON_BOUNDS,
    ]


def _grid_starts(problem: _Problem, bounds, *, n_term: bool, d_term: bool) -> list[np.ndarray]:
    """Grid over (alpha, beta, gamma, eta, epsilon); the linear coefficients E, A, B, C of each grid
    point come from non-negative least squares on relative errors. Sorted best first."""
    from itertools import product

    from scipy.optimize import nnls

    y = problem.y
    floor = 1e-6 * float(y.mean())
    alphas = _START_GRID["alpha"] if n_term else (0.0,)
    betas = _START_GRID["beta"] if d_term else (0.0,)
    scored = []
    for alpha, beta, gamma, eta, eps in product(alphas, betas, _START_GRID["gamma"], _START_GRID["eta"],
                                                _START_GRID["epsilon"]):
        columns = [np.ones_like(y), np.exp(eta * problem.ln_r - beta * problem.ln_d),
                   np.exp(-gamma * np.log(problem.r + eps))]
        if n_term:
            columns.append(np.exp(-alpha * problem.ln_n))
        design = np.stack(columns, axis=1) / y[:, None]
        coef, _ = nnls(design, np.ones_like(y))
        coef = np.maximum(coef, floor)
        e, b, c = (math.log(v) for v in coef[:3])
        a = math.log(coef[3]) if n_term else _DROPPED_LOG_COEF
        x = np.array([e, a, alpha, b, beta, eta, c, gamma, eps])
        x = np.clip(x, [lo for lo, _ in bounds], [hi for _, hi in bounds])
        scored.append((problem.objective(x)[0], x))
    scored.sort(key=lambda item: item[0])
    return [x for _, x in scored]


def _single_threaded_blas():
    """L-BFGS-B calls BLAS on 9-element vectors; OpenBLAS worker threads only add wake-up cost, which
    on a busy machine made each fit ~15x slower. Limit them when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _minimise(problem: _Problem, starts: Sequence[np.ndarray], bounds) -> list[tuple[float, np.ndarray]]:
    from scipy.optimize import minimize

    results = []
    with _single_threaded_blas():
        for x0 in starts:
            result = minimize(problem.objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": 3000, "ftol": 1e-12, "gtol": 1e-8})
            results.append((float(result.fun), np.asarray(result.x)))
    results.sort(key=lambda item: item[0])
    return results


def fit_law(model_size, tokens, ratio, loss, *, huber_delta: float = 1e-3, n_starts: int = 8,
            leave_one_out: bool = True, target: Literal["domain", "general"] = "domain",
            ratio_kind: Literal["domain", "general"] = "domain",
            domain_ratio=None) -> DcptFit:
    """Fit one D-CPT law to arrays (``ratio`` is the law's own r) and score it.

    >>> fit = fit_law(n, d, r, loss)  # doctest: +SKIP
    >>> round(fit.params.gamma, 3), round(fit.r2, 4)  # doctest: +SKIP
    (0.539, 0.9984)
    """
    n = np.asarray(model_size, dtype=np.float64)
    d = np.asarray(tokens, dtype=np.float64)
    r = np.asarray(ratio, dtype=np.float64)
    y = np.asarray(loss, dtype=np.float64)
    if huber_delta <= 0:
        raise ValueError("huber_delta must be positive")
    if n_starts < 1:
        raise ValueError("n_starts must be at least 1")
    n_term = np.unique(n).size >= 2
    d_term = np.unique(d).size >= 2
    fixed, warnings = [], []
    if not n_term:
        fixed += ["A", "alpha"]
        warnings.append(f"{target} law: all runs share one model size, so A and alpha are not identifiable: "
                        "A = 0 and E absorbs A/N^alpha; predictions for other model sizes are not supported")
    if not d_term:
        fixed.append("beta")
        warnings.append(f"{target} law: all runs share one token count, so beta is not identifiable: beta = 0 "
                        "and predictions for other token counts are not supported")
    n_free = 9 - len(fixed)
    if y.size < n_free + 1:
        raise ForensicsError(f"{target} law: {y.size} runs cannot fit {n_free} free parameters; "
                             f"give at least {n_free + 1} runs")
    if np.unique(r).size < 3:
        raise ForensicsError(f"{target} law: runs at {np.unique(r).size} distinct ratios cannot fit the "
                             "ratio terms; give runs at 3 or more ratios")
    problem = _Problem(n, d, r, y, delta=huber_delta, n_ref=float(np.exp(np.log(n).mean())),
                       d_ref=float(np.exp(np.log(d).mean())))
    bounds = _bounds(y, n_term=n_term, d_term=d_term)
    starts = _grid_starts(problem, bounds, n_term=n_term, d_term=d_term)[:n_starts]
    optima = _minimise(problem, starts, bounds)
    best = optima[0][1]

    prediction = sum(problem.terms(best))
    r2, huber, rmse = _scores(y, prediction, huber_delta)
    loo_r2 = loo_huber = loo_rmse = None
    if leave_one_out:
        # Each refit starts from the three best distinct optima of the full fit: a run left out moves
        # the optimum only a little, so a full grid per refit would cost much and change nothing.
        warm = _distinct(optima, 3)
        held_out = np.empty_like(y)
        for i in range(y.size):
            keep = np.ones(y.size, dtype=bool)
            keep[i] = False
            x_i = _minimise(problem.subset(keep), warm, bounds)[0][1]
            held_out[i] = sum(problem.terms(x_i, problem.ln_n[i:i + 1], problem.ln_d[i:i + 1],
                                            problem.r[i:i + 1]))[0]
        loo_r2, loo_huber, loo_rmse = _scores(y, held_out, huber_delta)
    for name, value, (lo, hi), in zip(("alpha", "beta", "eta", "gamma"), best[[2, 4, 5, 7]],
                                      [bounds[2], bounds[4], bounds[5], bounds[7]]):
        if hi > lo and (value >= hi - 1e-6):
            warnings.append(f"{target} law: {name} = {value:.3g} sits at its upper bound {hi}; the runs may "
                            "not constrain it")
    ratio_values = np.asarray(domain_ratio if domain_ratio is not None else
                              (r if ratio_kind == "domain" else 1.0 - r), dtype=np.float64)
    return DcptFit(target=target, ratio=ratio_kind, params=problem.to_params(best, n_term=n_term),
                   r2=r2, huber=huber, rmse=rmse, loo_r2=loo_r2, loo_huber=loo_huber, loo_rmse=loo_rmse,
                   n_runs=int(y.size), huber_delta=huber_delta, fixed=fixed,
                   model_size_range=(float(n.min()), float(n.max())),
                   tokens_range=(float(d.min()), float(d.max())),
                   domain_ratio_range=(float(ratio_values.min()), float(ratio_values.max())),
                   warnings=warnings)


def _distinct(optima: list[tuple[float, np.ndarray]], count: int) -> list[np.ndarray]:
    chosen: list[np.ndarray] = []
    for _, x in optima:
        if all(np.max(np.abs(x - other)) > 1e-4 for other in chosen):
            chosen.append(x)
        if len(chosen) == count:
            break
    return chosen


def _scores(y: np.ndarray, prediction: np.ndarray, delta: float) -> tuple[float, float, float]:
    residual = y - prediction
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else math.nan
    huber = float(_huber(np.log(prediction) - np.log(y), delta).mean())
    return r2, huber, float(np.sqrt((residual**2).mean()))


def fit_dcpt_law(runs: CptRuns | str | os.PathLike, *, huber_delta: float = 1e-3, n_starts: int = 8,
                 leave_one_out: bool = True, **columns: str) -> CptLaws:
    """Fit the domain law (r = domain ratio) and the general law (r = 1 - domain ratio) to runs.

    ``runs`` is a :class:`CptRuns` or a CSV path (``columns`` go to :func:`read_cpt_runs`).

    >>> laws = fit_dcpt_law("runs.csv")  # doctest: +SKIP
    >>> round(laws.domain.r2, 4), round(laws.general.loo_r2, 4)  # doctest: +SKIP
    (0.9984, 0.9983)
    """
    if not isinstance(runs, CptRuns):
        runs = read_cpt_runs(runs, **columns)
    elif columns:
        raise TypeError(f"column options {sorted(columns)} apply only when reading a CSV path")
    common = {"huber_delta": huber_delta, "n_starts": n_starts, "leave_one_out": leave_one_out,
              "domain_ratio": runs.domain_ratio}
    try:
        domain = fit_law(runs.model_size, runs.tokens, runs.domain_ratio, runs.domain_loss, target="domain",
                         ratio_kind="domain", **common)
        general = fit_law(runs.model_size, runs.tokens, 1.0 - runs.domain_ratio, runs.general_loss,
                          target="general", ratio_kind="general", **common)
    except ForensicsError as exc:
        raise input_error(runs.source, str(exc)) from None
    warnings = domain.warnings + [w for w in general.warnings if w.split(": ", 1)[1] not in
                                  {x.split(": ", 1)[1] for x in domain.warnings}]
    for fit in (domain, general):
        if fit.loo_r2 is not None and fit.loo_r2 < 0.8:
            warnings.append(f"{fit.target} law: leave-one-out R^2 is {fit.loo_r2:.3f}; its predictions are "
                            "unreliable, add runs")
    return CptLaws(domain=domain, general=general, source=runs.source, n_runs=len(runs),
                   model_sizes=np.unique(runs.model_size).tolist(), warnings=warnings)


# ---------------------------------------------------------------------------------------------
# recommendations


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

    >>> rec = recommend_cpt_ratio("runs.csv", model_size=1.8e9, tokens=10e9)  # doctest: +SKIP
    >>> rec.tradeoff.domain_ratio, rec.warnings  # doctest: +SKIP
    (0.566, [])
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


# ---------------------------------------------------------------------------------------------
# output


def cpt_report(rec: CptRecommendation, *, provenance: dict) -> dict:
    """The JSON result: the provenance block, then the recommendation as plain data.

    >>> cpt_report(rec, provenance=provenance(command="recommend cpt", parameters={}))  # doctest: +SKIP
    """
    import dataclasses

    return {"provenance": provenance, **dataclasses.asdict(rec)}


def cpt_csv_rows(rec: CptRecommendation, *, provenance: dict | None = None) -> list[tuple[str, str, str, str]]:
    """Long-format rows ``(section, name, domain_ratio, value)`` for the CSV output.

    >>> cpt_csv_rows(rec)[0]  # doctest: +SKIP
    ('law_domain', 'E', '', '1.2857066484734747')
    """
    import json

    rows: list[tuple[str, str, str, str]] = []
    if provenance is not None:
        for key, value in provenance.items():
            if key == "inputs":
                rows += [("provenance", f"input:{name}", "", digest) for name, digest in value.items()]
            else:
                text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
                rows.append(("provenance", key, "", text))
    for fit in (rec.laws.domain, rec.laws.general):
        section = f"law_{fit.target}"
        rows += [(section, name, "", repr(getattr(fit.params, name))) for name in PARAM_NAMES]
        rows.append((section, "ratio", "", fit.ratio))
        for name in ("r2", "huber", "rmse", "loo_r2", "loo_huber", "loo_rmse", "n_runs", "huber_delta"):
            value = getattr(fit, name)
            rows.append((section, name, "", "" if value is None else repr(value)))
    for choice in (rec.tradeoff, rec.limited_domain, rec.budget):
        if choice is None:
            continue
        for name in ("domain_ratio", "model_size", "tokens", "domain_tokens", "general_tokens", "domain_loss",
                     "general_loss", "general_baseline", "general_increase", "within_tolerance"):
            rows.append((choice.use, name, "", repr(getattr(choice, name))))
    for point in rec.curve:
        ratio = f"{point.domain_ratio:.6g}"
        rows += [("curve", name, ratio, repr(getattr(point, name)))
                 for name in ("domain_loss", "general_loss", "general_increase")]
    rows += [("warning", str(i), "", text) for i, text in enumerate(rec.warnings)]
    return rows


def write_cpt_csv(path: str | os.PathLike, rec: CptRecommendation, *, provenance: dict | None = None) -> None:
    """Write :func:`cpt_csv_rows` atomically with a header row.

    >>> write_cpt_csv("cpt.csv", rec, provenance=prov)  # doctest: +SKIP
    """
    from forensics._results import atomic_write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "name", "domain_ratio", "value"))
    writer.writerows(cpt_csv_rows(rec, provenance=provenance))
    atomic_write_text(path, buffer.getvalue())


def plot_cpt_ratio(rec: CptRecommendation, path: str | os.PathLike) -> None:
    """PNG of the predicted domain and general loss along r at the planned N and D (needs ``plot``).

    >>> plot_cpt_ratio(rec, "cpt.png")  # doctest: +SKIP
    """
    from forensics._plots import figure as new_figure
    from forensics._plots import save_png

    ratios = np.linspace(0.01, 0.99, 197)
    domain = rec.laws.domain.predict(rec.model_size, rec.tokens, ratios)
    general = rec.laws.general.predict(rec.model_size, rec.tokens, ratios)
    figure = new_figure(figsize=(7, 4.2), purpose="plotting the D-CPT curve")
    axes = figure.subplots()
    axes.plot(ratios, domain, label="domain loss", color="tab:blue")
    axes.plot(ratios, general, label="general loss", color="tab:orange")
    lo, hi = rec.laws.domain.domain_ratio_range
    axes.axvspan(lo, hi, color="0.92", zorder=0, label="ratios of the runs")
    if rec.max_general_increase is not None and math.isfinite(rec.max_general_increase):
        limit = rec.tradeoff.general_baseline * (1.0 + rec.max_general_increase)
        axes.axhline(limit, color="tab:orange", linestyle=":",
                     label=f"general limit (+{rec.max_general_increase:.1%})")
    axes.axvline(rec.tradeoff.domain_ratio, color="black", linestyle="--",
                 label=f"recommended r = {rec.tradeoff.domain_ratio:g}")
    # The general loss explodes as the general ratio nears 0; scale the axis to the runs' ratios.
    inside = (ratios >= lo - 0.05) & (ratios <= hi + 0.05)
    shown = np.concatenate([domain[inside], general[inside]])
    margin = 0.05 * float(shown.max() - shown.min())
    axes.set_ylim(float(shown.min()) - margin, float(shown.max()) + margin)
    axes.set_xlabel("domain ratio r")
    axes.set_ylabel("predicted validation loss")
    axes.set_title(f"D-CPT Law at N = {rec.model_size:.3g}, D = {rec.tokens:.3g} tokens")
    axes.legend(fontsize=8)
    save_png(figure, path, bbox_inches="tight")
