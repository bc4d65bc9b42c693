"""LP solvers for the row-generation loop: HiGHS driven incrementally (default), or any PuLP solver.

Both expose the same small interface over numbered columns and rows: add columns, add rows
(``lower <= a.x``), delete rows, solve, read primal values, row activities and duals. HiGHS keeps its
basis between rounds (warm-started dual simplex), which is what makes row generation fast; a PuLP
solver rebuilds the model every round and is meant for cross-checks and for users who prefer CBC or a
commercial solver PuLP finds installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

import numpy as np

from forensics.errors import ForensicsError

INF = float("inf")


@contextlib.contextmanager
def quiet_stdout():
    """Silence writes to file descriptor 1 (HiGHS prints a banner even when asked to be quiet)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@dataclass
class LPState:
    x: np.ndarray            # column values
    activity: np.ndarray     # row activities
    dual: np.ndarray         # row duals
    status: str
    iterations: int
    objective: float = float("nan")   # the solver's objective value (stopped at objective_bound: a lower bound)


class HighsBackend:
    """HiGHS through highspy, kept alive between rounds (warm starts)."""

    name = "highs"

    def __init__(self, *, threads: int = 1, time_limit: float | None = None, method: str = "dual"):
        import highspy

        self._hs = highspy
        with quiet_stdout():
            self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("log_to_console", False)
        self.h.setOptionValue("threads", threads)
        if method == "dual":
            self.h.setOptionValue("simplex_strategy", 1)
        elif method == "ipm":
            self.h.setOptionValue("solver", "ipm")
        if time_limit:
            self.h.setOptionValue("time_limit", float(time_limit))
        self.num_cols = 0
        self.num_rows = 0
        self._objective_bound = INF

    def add_columns(self, costs: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        count = len(costs)
        first = self.num_cols
        lower = np.where(np.isinf(lower), -self._hs.kHighsInf, lower)
        upper = np.where(np.isinf(upper), self._hs.kHighsInf, upper)
        self.h.addVars(count, lower.astype(np.float64), upper.astype(np.float64))
        index = np.arange(first, first + count, dtype=np.int32)
        self.h.changeColsCost(count, index, np.asarray(costs, dtype=np.float64))
        self.num_cols += count
        return index.astype(np.int64)

    def add_rows(self, starts: np.ndarray, indices: np.ndarray, values: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray) -> None:
        count = len(lower)
        if not count:
            return
        upper = np.where(np.isinf(upper), self._hs.kHighsInf, upper)
        lower = np.where(np.isinf(lower), -self._hs.kHighsInf, lower)
        self.h.addRows(count, lower.astype(np.float64), upper.astype(np.float64), len(indices),
                       starts.astype(np.int32), indices.astype(np.int32), values.astype(np.float64))
        self.num_rows += count

    def delete_rows(self, rows: np.ndarray) -> None:
        if len(rows):
            self.h.deleteRows(len(rows), np.sort(rows).astype(np.int32))
            self.num_rows -= len(rows)

    def set_upper(self, cols: np.ndarray, upper: np.ndarray) -> None:
        """New upper bounds for ``cols`` (lower bounds 0); the basis is kept for a warm re-solve."""
        cols = np.asarray(cols, dtype=np.int32)
        self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.asarray(upper, dtype=np.float64))

    def solve(self, *, objective_bound: float | None = None) -> LPState:
        """Solve from the current basis; ``objective_bound``: the dual simplex stops
        once its objective, a lower bound on the optimum, exceeds it (status "Bound on objective reached")."""
        bound = INF if objective_bound is None else float(objective_bound)
        if bound != self._objective_bound:
            self.h.setOptionValue("objective_bound", bound)
            self._objective_bound = bound
        self.h.run()
        status = self.h.modelStatusToString(self.h.getModelStatus())
        solution = self.h.getSolution()
        info = self.h.getInfo()
        return LPState(np.array(solution.col_value), np.array(solution.row_value), np.array(solution.row_dual),
                       status, int(info.simplex_iteration_count), float(info.objective_function_value))


class PulpBackend:
    """Any PuLP solver (CBC, HiGHS through PuLP, commercial ones); the model is rebuilt each round."""

    def __init__(self, solver: str, *, time_limit: float | None = None):
        import pulp

        available = pulp.listSolvers(onlyAvailable=True)
        if solver not in available:
            raise ForensicsError(f"solver '{solver}' is not available to PuLP here; available: "
                                 f"{', '.join(['highs'] + available)}")
        self.name = solver
        self._pulp = pulp
        options = {"msg": False}
        if time_limit:
            options["timeLimit"] = time_limit
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.solver = pulp.getSolver(solver, **options)
        self.costs: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.rows: list[tuple[np.ndarray, np.ndarray, float, float]] = []

    @property
    def num_rows(self) -> int:
        return len(self.rows)

    def add_columns(self, costs, lower, upper) -> np.ndarray:
        first = len(self.costs)
        self.costs += list(map(float, costs))
        self.lower += list(map(float, lower))
        self.upper += list(map(float, upper))
        return np.arange(first, len(self.costs), dtype=np.int64)

    def add_rows(self, starts, indices, values, lower, upper) -> None:
        ends = list(starts[1:]) + [len(indices)]
        for r, (s, e) in enumerate(zip(starts, ends)):
            self.rows.append((np.asarray(indices[s:e]), np.asarray(values[s:e]), float(lower[r]), float(upper[r])))

    def delete_rows(self, rows) -> None:
        drop = set(int(r) for r in rows)
        self.rows = [row for i, row in enumerate(self.rows) if i not in drop]

    def set_upper(self, cols, upper) -> None:
        for col, value in zip(cols, upper):
            self.lower[int(col)] = 0.0
            self.upper[int(col)] = float(value)

    def solve(self, *, objective_bound: float | None = None) -> LPState:
        """Solve the rebuilt model (``objective_bound`` is not passed on: the caller checks the optimum)."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return self._solve()

    def _solve(self) -> LPState:
        pulp = self._pulp
        problem = pulp.LpProblem("lp1", pulp.LpMinimize)
        variables = [pulp.LpVariable(f"x{i}", lowBound=None if np.isinf(lo) else lo,
                                     upBound=None if np.isinf(up) else up)
                     for i, (lo, up) in enumerate(zip(self.lower, self.upper))]
        problem += pulp.lpSum(c * v for c, v in zip(self.costs, variables) if c)
        constraints = []
        for r, (idx, vals, lo, up) in enumerate(self.rows):
            expr = pulp.lpSum(float(v) * variables[int(i)] for i, v in zip(idx, vals))
            if lo == up:
                constraint = expr == lo
            elif np.isinf(up):
                constraint = expr >= lo
            else:
                constraint = expr <= up
            name = f"r{r}"
            problem += constraint, name
            constraints.append(name)
        with quiet_stdout():
            problem.solve(self.solver)
        status = pulp.LpStatus[problem.status]
        x = np.array([v.value() or 0.0 for v in variables])
        activity = np.array([sum(float(v) * x[int(i)] for i, v in zip(idx, vals)) for idx, vals, _, _ in self.rows])
        dual = np.array([problem.constraints[name].pi or 0.0 for name in constraints])
        return LPState(x, activity, dual, "Optimal" if status == "Optimal" else status, 0)


def make_solver(solver: str = "highs", *, time_limit: float | None = None, threads: int = 1):
    """A solver by name: 'highs' (default), or any name from ``pulp.listSolvers(onlyAvailable=True)``.

    >>> make_solver("highs").name
    'highs'
    """
    if solver.lower() in ("highs", "highs-dual"):
        return HighsBackend(time_limit=time_limit, threads=threads)
    if solver.lower() == "highs-ipm":
        return HighsBackend(time_limit=time_limit, threads=threads, method="ipm")
    aliases = {"cbc": "PULP_CBC_CMD", "pulp-highs": "HiGHS"}
    return PulpBackend(aliases.get(solver.lower(), solver), time_limit=time_limit)
