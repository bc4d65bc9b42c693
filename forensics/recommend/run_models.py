"""Models of a metric as a function of the mixture, and the K-fold cross-validation that picks one.

Each ``fit_*`` takes mixture weights (runs x sources) and a metric per run and returns a predictor for new
mixtures, carrying its coefficients:

- ``explaw``: the exponential mixing law L = c + k * exp(t . w) (Ye et al. 2024), fitted with a robust
  (soft-L1) loss from several starts; few parameters, so it suits few runs.
- ``ridge``: ridge regression on [w, log(w + eps)]; eps and the penalty are part of the candidate grid.
- ``trees``: gradient-boosted trees (LightGBM, the optional extra ``trees``), for many runs, as in RegMix.

:func:`candidates` lists the configurations and :func:`cross_validate` scores one by the Spearman correlation of
its pooled out-of-fold predictions. Leaves out: reading run tables and searching the simplex
(:mod:`~forensics.recommend.runs`). scipy and LightGBM are imported only when a model is fitted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from forensics.errors import ForensicsError, require

ModelName = Literal["explaw", "ridge", "trees"]
MODELS: tuple[str, ...] = ("explaw", "ridge", "trees")
RIDGE_EPS: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
RIDGE_PENALTY: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
TREES_MIN_RUNS = 100  # below this, LightGBM's leaves hold too few runs to beat the smooth models

Predictor = Callable[[np.ndarray], np.ndarray]


def _ridge_features(weights: np.ndarray, eps: float) -> np.ndarray:
    return np.hstack([weights, np.log(weights + eps)])


def fit_ridge(weights: np.ndarray, target: np.ndarray, *, eps: float = 1e-2, penalty: float = 1e-1) -> Predictor:
    """Ridge regression on standardised [w, log(w + eps)]; ``penalty`` is per run (lambda = penalty * n).

    >>> predict = fit_ridge(np.eye(3)[[0, 1, 2, 0]], np.array([1.0, 2.0, 3.0, 1.0]))
    >>> predict(np.eye(3)).round(2).tolist()  # shrunk a little towards the mean
    [1.02, 2.0, 2.96]
    """
    features = _ridge_features(weights, eps)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    z = (features - mean) / scale
    offset = target.mean()
    gram = z.T @ z + penalty * len(z) * np.eye(z.shape[1])
    coef = np.linalg.solve(gram, z.T @ (target - offset))

    def predict(mixtures: np.ndarray) -> np.ndarray:
        return ((_ridge_features(mixtures, eps) - mean) / scale) @ coef + offset

    predict.coefficients = {"offset": float(offset), "coef": coef.tolist()}  # type: ignore[attr-defined]
    return predict


def fit_explaw(weights: np.ndarray, target: np.ndarray, *, starts: int = 6, seed: int = 0) -> Predictor:
    """Fit L = c + k * exp(t . w) with a soft-L1 loss, keeping the best of several starts.

    Starts linearise the law: for a guess of c, log(L - c) = log k + t . w is a least-squares problem.

    >>> w = np.random.default_rng(0).dirichlet(np.ones(3), 20)
    >>> predict = fit_explaw(w, 2 + np.exp(w @ [1.0, -1.0, 0.5]))
    >>> predict(np.eye(3)).round(3).tolist()  # 2 + e, 2 + 1/e, 2 + e**0.5
    [4.718, 2.368, 3.649]
    """
    from scipy.optimize import least_squares

    n, m = weights.shape
    spread = float(target.max() - target.min()) or 1.0
    scale = max(float(np.median(np.abs(target - np.median(target)))), 1e-6 * spread)
    design = np.hstack([np.ones((n, 1)), weights])
    rng = np.random.default_rng(seed)
    best = None
    for i in range(starts):
        c0 = target.min() - spread * (0.05, 0.3, 1.0, 3.0)[i % 4]
        coef, *_ = np.linalg.lstsq(design, np.log(target - c0), rcond=None)
        x0 = np.r_[c0, coef]
        if i >= 4:
            x0[2:] += rng.normal(0.0, 0.5, m)

        def residuals(x):
            return x[0] + np.exp(np.clip(x[1] + weights @ x[2:], -50, 50)) - target

        fit = least_squares(residuals, x0, loss="soft_l1", f_scale=scale, max_nfev=200 * (m + 2))
        if best is None or fit.cost < best.cost:
            best = fit
    params = best.x

    def predict(mixtures: np.ndarray) -> np.ndarray:
        return params[0] + np.exp(np.clip(params[1] + mixtures @ params[2:], -50, 50))

    # k = exp(log_k) can overflow when c drifts far below the data; log_k is what the fit determines.
    predict.coefficients = {"c": float(params[0]), "log_k": float(params[1]),  # type: ignore[attr-defined]
                            "t": params[2:].tolist()}
    return predict


def fit_trees(weights: np.ndarray, target: np.ndarray, *, seed: int = 0, iterations: int = 1000,
              learning_rate: float = 0.01) -> Predictor:
    """Gradient-boosted trees (LightGBM, RegMix's settings; no early stopping). Needs the extra ``trees``."""
    lightgbm = require("lightgbm", extra="trees", purpose="the 'trees' run model")
    params = {"objective": "regression", "learning_rate": learning_rate, "seed": seed, "deterministic": True,
              "force_col_wise": True, "num_threads": 1, "verbose": -1}
    model = lightgbm.train(params, lightgbm.Dataset(weights, label=target), num_boost_round=iterations)

    def predict(mixtures: np.ndarray) -> np.ndarray:
        return model.predict(mixtures)

    predict.coefficients = {}  # type: ignore[attr-defined]
    return predict


@dataclass(frozen=True)
class Candidate:
    """One model configuration that K-fold cross-validation can choose."""

    model: str
    parameters: dict

    def fit(self, weights: np.ndarray, target: np.ndarray, seed: int) -> Predictor:
        if self.model == "ridge":
            return fit_ridge(weights, target, **self.parameters)
        if self.model == "explaw":
            return fit_explaw(weights, target, seed=seed, **self.parameters)
        return fit_trees(weights, target, seed=seed, **self.parameters)

    @property
    def label(self) -> str:
        inner = ", ".join(f"{k}={v:g}" for k, v in self.parameters.items())
        return f"{self.model}({inner})" if inner else self.model


def _have_lightgbm() -> bool:
    import importlib

    try:
        importlib.import_module("lightgbm")
    except ImportError:  # absent, or installed without its native library
        return False
    return True


def candidates(models: Sequence[str] | Literal["auto"], n_runs: int) -> list[Candidate]:
    """The configurations to cross-validate; ``auto`` adds trees only when installed and runs are many."""
    if models == "auto":
        chosen = ["explaw", "ridge"]
        if n_runs >= TREES_MIN_RUNS and _have_lightgbm():
            chosen.append("trees")
    else:
        chosen = list(models)
        unknown = [m for m in chosen if m not in MODELS]
        if unknown or not chosen:
            raise ForensicsError(f"unknown models {unknown or chosen}; choose from {', '.join(MODELS)}")
    result = []
    for model in chosen:
        if model == "ridge":
            result += [Candidate("ridge", {"eps": e, "penalty": p}) for e in RIDGE_EPS for p in RIDGE_PENALTY]
        elif model == "explaw":
            result.append(Candidate("explaw", {}))
        else:
            result.append(Candidate("trees", {}))
    return result


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return -1.0
    return float(spearmanr(a, b)[0])


@dataclass
class ModelScore:
    """Cross-validated rank correlation and RMSE of one candidate (pooled out-of-fold predictions).

    ``region`` holds the Spearman on each region-shift fold kind and ``region_spearman`` their mean
    (:mod:`~forensics.recommend.validation`); both stay empty when the model is chosen by K-fold only.
    """

    model: str
    parameters: dict
    cv_spearman: float
    cv_rmse: float
    region: dict[str, float] = field(default_factory=dict)
    region_spearman: float | None = None
    validate_spearman: float | None = None


def kfold_splits(n: int, folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) run indices of K-fold cross-validation: a seeded permutation cut in ``folds`` parts.

    >>> [len(test) for _, test in kfold_splits(11, 3)]
    [4, 4, 3]
    """
    order = np.random.default_rng(seed).permutation(n)
    return [(np.setdiff1d(order, test), test) for test in np.array_split(order, min(folds, n))]


def out_of_fold(runs_weights: np.ndarray, target: np.ndarray, candidate: Candidate, *, folds: int = 5,
                seed: int = 0) -> np.ndarray:
    """The K-fold prediction for every run, made by a fit that never saw it."""
    predicted = np.empty(len(target))
    for train, test in kfold_splits(len(target), folds, seed):
        predicted[test] = candidate.fit(runs_weights[train], target[train], seed)(runs_weights[test])
    return predicted


def cross_validate(runs_weights: np.ndarray, target: np.ndarray, candidate: Candidate, *, folds: int = 5,
                   seed: int = 0) -> ModelScore:
    """K-fold out-of-fold predictions for every run; their Spearman correlation with the target."""
    predicted = out_of_fold(runs_weights, target, candidate, folds=folds, seed=seed)
    rmse = float(np.sqrt(np.mean((predicted - target) ** 2)))
    return ModelScore(candidate.model, dict(candidate.parameters), _spearman(predicted, target), rmse)
