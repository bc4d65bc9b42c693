"""The D-CPT Law and its fit: ``L(N, D, r) = E + A / N**alpha + B * r**eta / D**beta + C / (r + epsilon)**gamma``.

The law (Que et al. 2024, arXiv 2406.01375) predicts a validation loss of a continual pre-training run from the
model size N, the training tokens D and a mixture ratio r. :func:`fit_dcpt_law` fits one law to the domain loss
(r = domain ratio) and one to the general loss (r = 1 - domain ratio). A fit minimises the mean Huber loss of the
residuals ``log(predicted) - log(observed)`` (log space makes every residual a relative error, so one Huber
``delta`` suits any loss scale; this follows the Chinchilla fits the paper builds on) with L-BFGS-B from the best
points of a grid of starts, and reports R^2, RMSE and Huber loss in-sample and by leave-one-out refits. When all
runs share one N (or one D), the terms in N (or the exponent of D) cannot be identified and are held fixed.

Leaves out: the Cross-Domain D-CPT Law (the domain-specific learnable coefficient K), learning-rate schedules
and repeated (multi-epoch) domain data; choosing a ratio from the laws is :mod:`~forensics.recommend.cpt_recommend`.
scipy is imported only when fitting.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np

from forensics.errors import ForensicsError, input_error
from forensics.recommend.cpt_table import CptRuns, read_cpt_runs

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

        >>> DcptParams(1, 0, 0, 0, 0, 0, 1, 1, 0).loss(1e9, 1e9, [0.5, 1.0])
        array([3., 2.])
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

        >>> from forensics.recommend.cpt_table import example_runs
        >>> fit = fit_dcpt_law(example_runs(), n_starts=1, leave_one_out=False).domain
        >>> fit.predict(1e9, 1e10, [0.1, 0.5]).round(3)  # the runs there lost 2.0528 and 1.8219
        array([2.053, 1.822])
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

    >>> from forensics.recommend.cpt_table import example_runs
    >>> runs = example_runs()
    >>> fit = fit_law(runs.model_size, runs.tokens, runs.domain_ratio, runs.domain_loss, n_starts=1,
    ...               leave_one_out=False)
    >>> round(fit.r2, 4), fit.fixed, fit.loo_r2
    (1.0, ['A', 'alpha', 'beta'], None)
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

    >>> from forensics.recommend.cpt_table import example_runs
    >>> laws = fit_dcpt_law(example_runs(), n_starts=1)
    >>> laws.n_runs, round(laws.domain.r2, 4), laws.general.loo_r2 > 0.99
    (9, 1.0, True)
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

