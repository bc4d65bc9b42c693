"""Solve LP1_T exactly by lazy row and column generation over range rows.

The full program has one row per (step, competing pair): billions at T = 30,000. We never write them.
For a pair whose counts are constant over steps [a, b] (a segment, see :mod:`.program`), all its rows say
``v_p >= A_p(alpha) - min over t in [a, b] of (M_t(alpha) + v_t)``. A free variable ``u_k`` per node of a
segment tree over the steps (leaves are blocks of ``block`` steps) is held below ``M_t + v_t`` by *tree
rows*, written up front; then one *range row* ``v_p + u_k >= A_p(alpha)`` per canonical node stands for
every (step, pair) row in its range. Minimisation pushes each ``u_k`` up to the true minimum, so the
program is exactly LP1_T.

Each round: solve; compute ``W_t = M_t(alpha) + v_t`` from alpha and v (never from the solver's u, which
may sit anywhere below the minimum); find every segment whose mixed count exceeds ``v_p + min W`` over
its steps (a sparse table answers range minima in O(1)); add, for the most violated segments (at most
``max_rows_per_round``), the row of their most violated tree node (or single step at block edges), with
a ``v_p`` column when the pair has none; every few rounds drop rows with large slack and zero dual.
Stop when no (step, pair) row is violated: the answer is optimal for the full LP1_T.

>>> from forensics.counting.categories import count_categories
>>> from forensics.inference.program import build_program
>>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en")}
>>> counts = count_categories("fixtures/tokenizers/gpt2/vocab.bpe.gz", langs, merges=300, workers=1)
>>> solution = solve_program(build_program(list(counts.traces.values())))
>>> solution.status, solution.alpha.round(3)
('optimal', array([0.11, 0.89]))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from forensics.errors import ForensicsError
from forensics.inference.lp_solvers import INF, make_solver
from forensics.inference.program import MixtureProgram


@dataclass
class SolveOptions:
    """Knobs of the row-generation loop (defaults measured in ../shared/notes/lp-scaling.md)."""

    solver: str = "highs"
    tolerance: float = 1e-6          # relative to the competing pair's count (counts per million pairs)
    max_rows_per_round: int = 2000
    block: int = 8
    prune_every: int = 5
    prune_slack: float = 1.0
    max_rounds: int = 10_000
    time_limit: float | None = None


@dataclass
class LPSolution:
    alpha: np.ndarray
    objective: float
    status: str
    rounds: int
    rows_added: int
    rows_pruned: int
    final_rows: int
    tree_rows: int
    pair_columns: int
    steps_used: int
    steps_unseen: int
    segments: int
    represented_rows: int
    solve_seconds: float
    scan_seconds: float
    seconds: float
    max_violation: float
    history: list[dict] = field(default_factory=list)


class RangeMin:
    """Sparse table: minimum of ``values[a..b]`` in O(1) per query, vectorised.

    >>> RangeMin(np.array([3., 1., 2.])).query(np.array([0, 2]), np.array([2, 2]))
    array([1., 2.])
    """

    def __init__(self, values: np.ndarray):
        self.levels = [values]
        width = 1
        while 2 * width <= len(values):
            previous = self.levels[-1]
            self.levels.append(np.minimum(previous[:-width], previous[width:]))
            width *= 2

    def query(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        length = last - first + 1
        level = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
        out = np.empty(len(first))
        for k in np.unique(level):
            mask = level == k
            table = self.levels[k]
            out[mask] = np.minimum(table[first[mask]], table[last[mask] - (1 << k) + 1])
        return out


class _Tree:
    """Segment tree over blocks of steps; node k covers blocks [lo[k], hi[k]]."""

    def __init__(self, num_steps: int, block: int):
        self.block = block
        self.num_blocks = (num_steps + block - 1) // block
        size = 1
        while size < self.num_blocks:
            size *= 2
        self.size = size
        lo = np.zeros(2 * size, dtype=np.int64)
        hi = np.zeros(2 * size, dtype=np.int64)
        lo[size:] = np.arange(size)
        hi[size:] = np.arange(size)
        for k in range(size - 1, 0, -1):
            lo[k], hi[k] = lo[2 * k], hi[2 * k + 1]
        self.lo, self.hi = lo, hi
        self.exists = lo < self.num_blocks  # only nodes that touch real steps
        self.exists[0] = False
        self.num_steps = num_steps

    def step_range(self, node: int) -> tuple[int, int]:
        first = int(self.lo[node]) * self.block
        last = min((int(self.hi[node]) + 1) * self.block, self.num_steps) - 1
        return first, last

    def canonical(self, first_block: int, last_block: int) -> list[int]:
        """Nodes exactly covering blocks [first_block, last_block]."""
        nodes = []
        lo, hi = first_block + self.size, last_block + self.size + 1
        while lo < hi:
            if lo & 1:
                nodes.append(lo)
                lo += 1
            if hi & 1:
                hi -= 1
                nodes.append(hi)
            lo //= 2
            hi //= 2
        return nodes


def solve_program(program: MixtureProgram, options: SolveOptions | None = None, *, progress=None,
                  step_costs: np.ndarray | None = None, pair_costs: np.ndarray | None = None,
                  allowed: np.ndarray | None = None) -> LPSolution:
    """Solve LP1_T for ``program`` to optimality (see the module docstring).

    ``step_costs`` (one per window step) and ``pair_costs`` (one per entry of ``program.pairs``) price
    the slacks v_t and v_p; None prices every slack at 1, which is LP1_T exactly. The weighted
    estimators (:mod:`.estimators`) price a unit of violation by how noisy the counts behind it are.
    ``allowed`` (bool, one per category) fixes the weights of the others at zero while every step and
    pair stays in the program, so objectives with and without a category compare like with like.

    >>> from forensics.counting.categories import count_categories
    >>> from forensics.inference.program import build_program
    >>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en")}
    >>> counts = count_categories("fixtures/tokenizers/gpt2/vocab.bpe.gz", langs, merges=300, workers=1)
    >>> program = build_program(list(counts.traces.values()), steps=100)
    >>> round(solve_program(program, SolveOptions(solver="cbc")).objective)
    76198
    """
    solver = ProgramSolver(program, options, step_costs=step_costs, pair_costs=pair_costs)
    return solver.solve(allowed, progress=progress)


class ProgramSolver:
    """One LP1_T kept alive between solves: :meth:`solve` with another ``allowed`` set starts from the rows
    and the basis the previous solves left (every generated row is a row of the full program, so keeping
    them never changes the optimum). The ``sparse`` estimator tries removing categories one at a time this
    way, each try costing a warm re-solve instead of a new program.
    """

    def __init__(self, program: MixtureProgram, options: SolveOptions | None = None, *,
                 step_costs: np.ndarray | None = None, pair_costs: np.ndarray | None = None):
        self.program = program
        self.options = options = options or SolveOptions()
        n = program.num_categories
        num_steps = program.num_steps
        merged = program.merged
        active = program.active
        if not active.any():
            raise ForensicsError("no merge in the window occurs in any category sample; "
                                 "check the categories match the tokenizer or widen --merges")
        step_costs = np.ones(num_steps) if step_costs is None else np.asarray(step_costs, dtype=np.float64)
        pair_costs = np.ones(len(program.pairs)) if pair_costs is None else np.asarray(pair_costs, dtype=np.float64)
        if step_costs.shape != (num_steps,) or pair_costs.shape != (len(program.pairs),):
            raise ValueError("step_costs needs one cost per window step and pair_costs one per program pair")
        if not (np.isfinite(step_costs).all() and np.isfinite(pair_costs).all()
                and (step_costs > 0).all() and (pair_costs > 0).all()):
            raise ValueError("slack costs must be positive and finite")
        self.step_costs, self.pair_costs = step_costs, pair_costs
        self.lp = lp = make_solver(options.solver, time_limit=options.time_limit)
        # columns: alpha, v_t (active steps), u_k (tree nodes), v_p (lazily)
        self.col_alpha = col_alpha = lp.add_columns(np.zeros(n), np.zeros(n), np.ones(n))
        active_steps = np.flatnonzero(active)
        self.col_vt = col_vt = np.full(num_steps, -1, dtype=np.int64)
        col_vt[active_steps] = lp.add_columns(step_costs[active_steps], np.zeros(len(active_steps)),
                                              np.full(len(active_steps), INF))
        self.tree = tree = _Tree(num_steps, options.block)
        nodes = np.flatnonzero(tree.exists)
        self.col_u = col_u = np.full(2 * tree.size, -1, dtype=np.int64)
        col_u[nodes] = lp.add_columns(np.zeros(len(nodes)), np.full(len(nodes), -INF), np.full(len(nodes), INF))
        self.col_vp = np.full(len(program.pairs), -1, dtype=np.int64)

        rows = _RowBuilder()
        rows.add(list(col_alpha), [1.0] * n, 1.0, 1.0)                       # simplex
        for node in nodes:
            if node >= tree.size:                                            # leaf block: u <= M_t + v_t
                first, last = tree.step_range(node)
                for t in range(first, last + 1):
                    if active[t]:
                        rows.add([col_u[node], col_vt[t], *col_alpha], [1.0, -1.0, *(-merged[t])], -INF, 0.0)
            else:
                for child in (2 * node, 2 * node + 1):
                    if tree.exists[child]:
                        rows.add([col_u[node], col_u[child]], [1.0, -1.0], -INF, 0.0)
        self.tree_rows = rows.count - 1
        rows.flush(lp)
        self.fixed_rows = lp.num_rows
        self.generated: list[tuple[int, int]] = []   # (segment, piece) of each generated row, in row order
        self.generated_set: set[tuple[int, int]] = set()
        self.rows_added = self.rows_pruned = 0
        self.rounds_done = 0
        self.allowed = np.ones(n, dtype=bool)

    def solve(self, allowed: np.ndarray | None = None, *, progress=None, stop_above: float | None = None
              ) -> LPSolution:
        """Optimal LP1_T with the weights of categories outside ``allowed`` fixed at zero (None: all allowed).

        ``stop_above``: give up as soon as the optimum is known to exceed it, with status ``"above bound"``
        and ``objective`` the lower bound that proved it. Every round's program holds a subset of the full
        program's rows, so its optimum is a lower bound on the full optimum; HiGHS also stops its dual
        simplex once the dual objective (a lower bound on that round's optimum) passes the bound. The
        ``sparse`` estimator refuses a removal this way without solving it to the end.
        """
        program, options, lp, tree = self.program, self.options, self.lp, self.tree
        n = program.num_categories
        allowed = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
        if allowed.shape != (n,) or not allowed.any():
            raise ValueError("allowed needs one flag per category and at least one true")
        if not np.array_equal(allowed, self.allowed):
            lp.set_upper(self.col_alpha, allowed.astype(np.float64))
            self.allowed = allowed.copy()
        started = time.perf_counter()
        merged, active = program.merged, program.active
        col_alpha, col_vt, col_u, col_vp = self.col_alpha, self.col_vt, self.col_u, self.col_vp
        step_costs, pair_costs = self.step_costs, self.pair_costs
        fixed_rows = self.fixed_rows
        counts = program.segment_counts
        seg_first, seg_last, seg_pair = program.segment_first, program.segment_last, program.pair_index
        solve_seconds = scan_seconds = 0.0
        history: list[dict] = []
        state = None
        max_violation = INF
        for round_number in range(1, options.max_rounds + 1):
            t0 = time.perf_counter()
            state = lp.solve(objective_bound=stop_above)
            solve_seconds += time.perf_counter() - t0
            if state.status == "Bound on objective reached":      # HiGHS stopped at objective_bound
                history.append({"round": round_number, "objective": state.objective, "violated_segments": -1,
                                "rows": lp.num_rows, "iterations": state.iterations})
                return self._solution(state, "above bound", state.objective, INF, history, started, solve_seconds,
                                      scan_seconds)
            if state.status not in ("Optimal", "Time limit reached"):
                raise ForensicsError(f"the linear program could not be solved ({state.status}); "
                                     f"try another --solver or fewer --merges")
            t0 = time.perf_counter()
            alpha = np.clip(state.x[col_alpha], 0, None)
            v_t = np.where(col_vt >= 0, state.x[np.maximum(col_vt, 0)], 0.0)
            weights = merged @ alpha + v_t
            weights[~active] = INF
            v_p = np.where(col_vp >= 0, state.x[np.maximum(col_vp, 0)], 0.0)
            minimum = RangeMin(weights).query(seg_first, seg_last)
            mixed = counts @ alpha
            violation = mixed - v_p[seg_pair] - minimum
            violated = np.flatnonzero(violation > options.tolerance * np.maximum(1.0, mixed))
            max_violation = float((violation / np.maximum(1.0, mixed)).max()) if len(violation) else 0.0
            scan_seconds += time.perf_counter() - t0
            objective = float(step_costs @ v_t + pair_costs @ v_p)
            history.append({"round": round_number, "objective": objective, "violated_segments": int(len(violated)),
                            "rows": lp.num_rows, "iterations": state.iterations})
            if progress:
                progress(round_number, objective, len(violated), lp.num_rows)
            if not len(violated) or state.status == "Time limit reached":
                break
            if stop_above is not None and objective > stop_above:
                return self._solution(state, "above bound", objective, INF, history, started, solve_seconds,
                                      scan_seconds)
            if len(violated) > options.max_rows_per_round:
                top = np.argpartition(-violation[violated], options.max_rows_per_round)[:options.max_rows_per_round]
                violated = violated[top]
            new_rows = _RowBuilder()
            for s in violated[np.argsort(-violation[violated])]:
                piece = _worst_piece(int(seg_first[s]), int(seg_last[s]), tree, weights)
                if (s, piece) in self.generated_set:
                    continue
                pair = seg_pair[s]
                if col_vp[pair] < 0:
                    col_vp[pair] = lp.add_columns(pair_costs[pair:pair + 1], np.zeros(1), np.full(1, INF))[0]
                if piece >= 0:      # tree node
                    new_rows.add([col_vp[pair], col_u[piece], *col_alpha], [1.0, 1.0, *(-counts[s])], 0.0, INF)
                else:               # single step t = -piece - 1
                    t = -piece - 1
                    new_rows.add([col_vp[pair], col_vt[t], *col_alpha], [1.0, 1.0, *(merged[t] - counts[s])], 0.0,
                                 INF)
                self.generated.append((int(s), piece))
                self.generated_set.add((int(s), piece))
            if not new_rows.count:
                break  # every violated piece already has its row: the solver's own tolerance is the limit
            self.rows_added += new_rows.count
            new_rows.flush(lp)
            self.rounds_done += 1
            if options.prune_every and self.rounds_done % options.prune_every == 0 and self.generated:
                generated = self.generated
                slack = state.activity[fixed_rows:fixed_rows + len(generated) - new_rows.count]
                duals = state.dual[fixed_rows:fixed_rows + len(slack)]
                drop = np.flatnonzero((slack > options.prune_slack) & (np.abs(duals) < 1e-12))
                if len(drop):
                    lp.delete_rows(drop + fixed_rows)
                    dropped = set(drop.tolist())
                    for position in sorted(dropped, reverse=True):
                        self.generated_set.discard(generated[position])
                    self.generated = [g for i, g in enumerate(generated) if i not in dropped]
                    self.rows_pruned += len(drop)
        assert state is not None
        v_t = np.where(col_vt >= 0, state.x[np.maximum(col_vt, 0)], 0.0)
        v_p = np.where(col_vp >= 0, state.x[np.maximum(col_vp, 0)], 0.0)
        status = "optimal" if max_violation <= options.tolerance else (
            "time limit" if state.status == "Time limit reached" else "round limit")
        return self._solution(state, status, float(step_costs @ v_t + pair_costs @ v_p), max(max_violation, 0.0),
                              history, started, solve_seconds, scan_seconds)

    def _solution(self, state, status: str, objective: float, max_violation: float, history: list[dict],
                  started: float, solve_seconds: float, scan_seconds: float) -> LPSolution:
        """The :class:`LPSolution` of a finished (or, with status ``"above bound"``, abandoned) solve."""
        program, lp = self.program, self.lp
        alpha = np.clip(state.x[self.col_alpha], 0, None)
        alpha = alpha / alpha.sum() if alpha.sum() > 0 else alpha
        return LPSolution(
            alpha=alpha, objective=objective, status=status, rounds=len(history), rows_added=self.rows_added,
            rows_pruned=self.rows_pruned, final_rows=lp.num_rows - self.fixed_rows, tree_rows=self.tree_rows,
            pair_columns=int((self.col_vp >= 0).sum()), steps_used=int(program.active.sum()),
            steps_unseen=int((~program.active).sum()), segments=len(program.segment_first),
            represented_rows=int((program.segment_last - program.segment_first + 1).sum()),
            solve_seconds=solve_seconds, scan_seconds=scan_seconds, seconds=time.perf_counter() - started,
            max_violation=max_violation, history=history,
        )


def _worst_piece(first: int, last: int, tree: _Tree, weights: np.ndarray) -> int:
    """Most violated piece of steps [first, last]: a tree node (>= 0) or a single step t as -(t + 1)."""
    block = tree.block
    first_block = -(-first // block)
    last_block = (last + 1) // block - 1
    best_value, best_piece = INF, None
    if first_block <= last_block:
        edge_steps = list(range(first, first_block * block)) + list(range((last_block + 1) * block, last + 1))
        for node in tree.canonical(first_block, last_block):
            lo, hi = tree.step_range(node)
            value = float(weights[lo:hi + 1].min())
            if value < best_value:
                best_value, best_piece = value, node
    else:
        edge_steps = list(range(first, last + 1))
    for t in edge_steps:
        if weights[t] < best_value:
            best_value, best_piece = float(weights[t]), -(t + 1)
    assert best_piece is not None
    return best_piece


class _RowBuilder:
    """Accumulates rows in CSR form before one addRows call."""

    def __init__(self):
        self.starts: list[int] = []
        self.indices: list[int] = []
        self.values: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    @property
    def count(self) -> int:
        return len(self.lower)

    def add(self, indices, values, lower: float, upper: float) -> None:
        self.starts.append(len(self.indices))
        self.indices.extend(int(i) for i in indices)
        self.values.extend(float(v) for v in values)
        self.lower.append(lower)
        self.upper.append(upper)

    def flush(self, lp) -> None:
        lp.add_rows(np.array(self.starts, dtype=np.int64), np.array(self.indices, dtype=np.int64),
                    np.array(self.values, dtype=np.float64), np.array(self.lower), np.array(self.upper))
