"""Estimators of the mixture weights from one :class:`~.program.MixtureProgram`.

``lp``: LP1_T of Hayase et al. (2024) exactly; every unit of violation costs the same, so the first
merges, whose counts are 100-10,000x larger than later ones, decide the answer almost alone.

``trimmed``: LP1_T, refitted without the categories whose share falls under ``min_share``.

``sparse``: ``trimmed``, then a backward elimination: smallest first, a category under ``drop_share``
is removed (its weight fixed at zero, every step kept) when the objective grows by less than
``drop_cost`` of itself without it, until no small category can go. A category the data needs costs
more than that to remove; the thin spread LP1_T puts on absent candidates to fit noise costs less.

``weighted``: the same constraints, with each slack priced by how noisy the counts behind it are, so
the objective adds violations in standard deviations instead of counts. A category's scaled count ``x``
of a pair (per million pairs of its sample of ``N`` pairs) has variance ``s x + (shift x)^2`` with
``s = 1e6 / N``: a Poisson term for the sample's size, plus a relative term for the difference between
the sample's text and the training text (other documents, other sources). The mixed count's variance
is the ``alpha``-squared-weighted sum, floored at one raw count. Slack ``v_t`` costs ``1 / sd`` of step
t's mixed merged count, ``v_p`` costs ``1 / sd`` of pair p's largest mixed count in the window. Since
the costs depend on alpha, the program is solved ``rounds`` times, starting from uniform weights.

``shift = 0`` is pure sampling noise; a large ``shift`` prices violations relative to the counts.
Which one estimates best is measured in ``benchmarks/controlled.py`` (``benchmarks/results/inference.md``).

>>> import numpy as np
>>> from forensics.inference.program import MixtureProgram
>>> program = MixtureProgram(names=["a", "b"], start=0, merged=np.array([[400.0, 100.0]]), active=np.array([True]),
...     segment_pair=np.array([1]), segment_first=np.array([0]), segment_last=np.array([0]),
...     segment_counts=np.array([[100.0, 400.0]]), pair_index=np.array([0]), pairs=np.array([1]),
...     total_pairs=np.array([10_000, 10_000]), total_bytes=np.array([30_000, 30_000]))
>>> step_costs, pair_costs = noise_costs(program, np.array([0.5, 0.5]), shift=0.0)
>>> round(float(step_costs[0]), 4), round(float(pair_costs[0]), 4)
(0.0089, 0.0089)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forensics.errors import ForensicsError
from forensics.inference.program import SCALE, MixtureProgram, pair_to_byte_shares, restrict_program
from forensics.inference.solve import LPSolution, ProgramSolver, SolveOptions, solve_program

METHODS = ("lp", "trimmed", "sparse", "weighted")
DEFAULT_METHOD = "sparse"
DEFAULT_SHIFT = 0.1
DEFAULT_MIN_SHARE = 0.005
MAX_TRIM_ROUNDS = 5
DEFAULT_DROP_SHARE = 0.03      # sparse: categories under this share are candidates for removal
DEFAULT_DROP_COST = 0.02       # sparse: removed when the objective grows by less than this fraction


@dataclass
class Estimate:
    """Weights on normalised pair counts (alpha), the last solve, and what each round gave."""

    alpha: np.ndarray                 # one weight per category of the program (0 for dropped ones)
    solution: LPSolution              # the last solve (over the kept categories for ``trimmed``)
    method: str
    shift: float | None
    rounds: list[np.ndarray]
    dropped: list[str] = field(default_factory=list)   # ``trimmed``, ``sparse``: categories set to zero, in order
    tries: int = 0                                     # ``sparse``: removals tried (warm re-solves)
    work: dict = field(default_factory=dict)           # every solve together: solves, rounds, seconds

    @property
    def untrimmed(self) -> np.ndarray | None:
        """``trimmed``: LP1_T's weights before any category was dropped (the first round)."""
        return self.rounds[0] if self.method in ("trimmed", "sparse") else None


def _work(solutions: list[LPSolution]) -> dict:
    """What all the solves of an estimate took together (``solution`` describes only the last)."""
    return {"solves": len(solutions), "rounds": sum(s.rounds for s in solutions),
            "solver_seconds": round(sum(s.solve_seconds for s in solutions), 3),
            "scan_seconds": round(sum(s.scan_seconds for s in solutions), 3)}


def check_options(*, method: str, min_share: float, drop_share: float = DEFAULT_DROP_SHARE,
                  drop_cost: float = DEFAULT_DROP_COST) -> None:
    """Refuse an unknown method or shares and costs out of range (callers check before counting)."""
    if method not in METHODS:
        raise ForensicsError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if not 0 <= min_share < 1:
        raise ForensicsError(f"--min-share must lie in [0, 1), not {min_share}")
    if not 0 <= drop_share < 1:
        raise ForensicsError(f"--drop-share must lie in [0, 1), not {drop_share}")
    if not 0 <= drop_cost < 1:
        raise ForensicsError(f"--drop-cost must lie in [0, 1), not {drop_cost}")


def noise_costs(program: MixtureProgram, alpha: np.ndarray, *, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Slack prices ``1 / sd`` for every window step and every program pair (see module docstring)."""
    unit = SCALE / program.total_pairs.astype(np.float64)           # one raw count, scaled, per category
    a2 = np.asarray(alpha, dtype=np.float64) ** 2
    floor = float(a2 @ unit ** 2)

    def sd(counts: np.ndarray) -> np.ndarray:
        variance = counts @ (a2 * unit) + shift ** 2 * (counts ** 2 @ a2)
        return np.sqrt(np.maximum(variance, floor))

    step_costs = 1.0 / sd(program.merged)
    segment_sd = sd(program.segment_counts)
    pair_sd = np.zeros(len(program.pairs))
    np.maximum.at(pair_sd, program.pair_index, segment_sd)
    pair_costs = 1.0 / np.maximum(pair_sd, np.sqrt(floor))
    return step_costs, pair_costs


def estimate(program: MixtureProgram, *, method: str = "lp", shift: float = DEFAULT_SHIFT, rounds: int = 2,
             min_share: float = DEFAULT_MIN_SHARE, drop_share: float = DEFAULT_DROP_SHARE,
             drop_cost: float = DEFAULT_DROP_COST, options: SolveOptions | None = None, progress=None) -> Estimate:
    """Solve ``program`` with ``method`` (see the module docstring).

    ``trimmed``: LP1_T, then every category whose byte share is under ``min_share`` is set to zero and
    LP1_T is solved again over the rest, until no kept share is under it (at most 5 rounds). The program
    stays exact LP1_T over the kept categories; what it removes is the thin spread the LP puts on absent
    categories to fit sampling noise (measured in ``benchmarks/results/inference.md``).
    """
    check_options(method=method, min_share=min_share, drop_share=drop_share, drop_cost=drop_cost)
    if method == "lp":
        solution = solve_program(program, options, progress=progress)
        return Estimate(alpha=solution.alpha, solution=solution, method=method, shift=None, rounds=[solution.alpha],
                        work=_work([solution]))
    if method == "trimmed":
        return _trimmed(program, min_share=min_share, options=options, progress=progress)
    if method == "sparse":
        return _sparse(program, min_share=min_share, drop_share=drop_share, drop_cost=drop_cost,
                       options=options, progress=progress)
    if shift < 0 or not np.isfinite(shift):
        raise ForensicsError(f"--shift must be a finite number >= 0, not {shift}")
    if rounds < 1:
        raise ForensicsError("the weighted estimator needs at least one round")
    alpha = np.full(program.num_categories, 1.0 / program.num_categories)
    history = []
    solution = None
    solutions = []
    for _ in range(rounds):
        step_costs, pair_costs = noise_costs(program, alpha, shift=shift)
        scale = float(np.median(step_costs[program.active]))     # keep the objective near LP1_T's magnitude
        solution = solve_program(program, options, progress=progress, step_costs=step_costs / scale,
                                 pair_costs=pair_costs / scale)
        alpha = solution.alpha
        history.append(alpha)
        solutions.append(solution)
    assert solution is not None
    return Estimate(alpha=alpha, solution=solution, method=method, shift=shift, rounds=history,
                    work=_work(solutions))


def _trimmed(program: MixtureProgram, *, min_share: float, options, progress) -> Estimate:
    keep = np.ones(program.num_categories, dtype=bool)
    dropped: list[str] = []
    history = []
    solutions = []
    for _ in range(MAX_TRIM_ROUNDS + 1):
        sub = program if keep.all() else restrict_program(program, keep)
        solution = solve_program(sub, options, progress=progress)
        solutions.append(solution)
        alpha = np.zeros(program.num_categories)
        alpha[keep] = solution.alpha
        history.append(alpha)
        shares = pair_to_byte_shares(solution.alpha, sub.bytes_per_pair)
        small = np.flatnonzero(keep)[shares < min_share]
        if not len(small) or len(small) == keep.sum() or len(history) > MAX_TRIM_ROUNDS:
            break
        small = small[np.argsort(shares[shares < min_share])]
        keep[small] = False
        dropped += [program.names[i] for i in small]
    return Estimate(alpha=alpha, solution=solution, method="trimmed", shift=None, rounds=history,
                    dropped=dropped, work=_work(solutions))




def _sparse(program: MixtureProgram, *, min_share: float, drop_share: float, drop_cost: float, options,
            progress) -> Estimate:
    """LP1_T; zero the categories under ``min_share``; then, smallest first, zero each category under
    ``drop_share`` whose removal raises the objective by less than ``drop_cost`` (relative), until none can go;
    each category is tried at most once.

    Removal fixes a weight at zero with every step kept (``allowed``), so a category that alone has some
    merged pairs keeps paying for those steps when it is removed and stays. Every try is a warm re-solve
    of one :class:`~.solve.ProgramSolver`, told to stop as soon as a lower bound on its optimum passes the
    acceptance bound (``stop_above``): a refusal rarely needs the re-solve to finish, and the decisions
    are those of solving every try to the end."""
    solver = ProgramSolver(program, options)
    history = []
    solution = solver.solve(progress=progress)
    history.append(solution.alpha)
    solutions = [solution]
    shares = pair_to_byte_shares(solution.alpha, program.bytes_per_pair)
    allowed = shares >= min_share
    if not allowed.any():
        allowed[int(np.argmax(shares))] = True
    dropped = [program.names[i] for i in np.argsort(shares) if not allowed[i]]
    if not allowed.all():
        solution = solver.solve(allowed, progress=progress)
        history.append(solution.alpha)
        solutions.append(solution)
    tries = 0
    refused: set[int] = set()       # each category is tried once: a refused one stays (linear, not quadratic)
    while allowed.sum() > 1:
        shares = pair_to_byte_shares(solution.alpha, program.bytes_per_pair)
        candidates = [int(i) for i in np.argsort(shares) if allowed[i] and shares[i] < drop_share
                      and int(i) not in refused]
        for i in candidates:
            trial = allowed.copy()
            trial[i] = False
            bound = solution.objective * (1 + drop_cost)
            attempt = solver.solve(trial, progress=progress, stop_above=bound)   # a refusal stops early
            solutions.append(attempt)
            tries += 1
            if attempt.status != "above bound" and attempt.objective <= bound:
                allowed, solution = trial, attempt
                dropped.append(program.names[i])
                history.append(solution.alpha)
                break
            refused.add(i)
        else:
            break
    return Estimate(alpha=solution.alpha, solution=solution, method="sparse", shift=None, rounds=history,
                    dropped=dropped, tries=tries, work=_work(solutions))
