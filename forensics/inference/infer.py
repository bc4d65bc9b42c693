"""End-to-end mixture inference: tokenizer + category samples -> estimated training-data shares.

Steps: load the tokenizer; count words and replay merges on each category's sample (cached, parallel);
build LP1_T over a window of merges; solve it with the chosen estimator (:mod:`.estimators`: ``trimmed``
by default, ``lp`` for the paper's program alone); convert the pair-mass weights alpha to byte shares
(alpha_i times category i's bytes per pair, renormalised); optionally bootstrap the category samples
(resampling chunks of documents) for calibrated per-category intervals; report the token-classification
baseline, solver diagnostics, the evidence behind the estimate and warnings (:mod:`.evidence`).

>>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en")}
>>> estimate = infer_mixture("fixtures/tokenizers/gpt2/vocab.bpe.gz", langs, merges=300, workers=1)
>>> max(estimate.shares, key=estimate.shares.get)
'en'
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from forensics.bpe.model import Tokenizer
from forensics.errors import ForensicsError
from forensics.inference.baselines import token_classification
from forensics.inference.estimators import (
    DEFAULT_DROP_COST,
    DEFAULT_DROP_SHARE,
    DEFAULT_METHOD,
    DEFAULT_MIN_SHARE,
    check_options,
    estimate,
)
from forensics.inference.evidence import LOW_FIT_EARLY, evidence, evidence_warnings
from forensics.inference.program import build_program, pair_to_byte_shares
from forensics.inference.solve import SolveOptions


@dataclass
class MixtureEstimate:
    """What `forensics infer` reports (JSON keys follow the field names)."""

    shares: dict[str, float]                 # by bytes
    pair_shares: dict[str, float]            # alpha: by pair mass
    intervals: dict[str, list[float]] | None
    baselines: dict[str, dict[str, float]]
    diagnostics: dict
    categories: list[dict]
    parameters: dict
    inputs: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)   # when the estimate rests on too little evidence
    groups: dict[str, dict] = field(default_factory=dict)  # the user's named groups (:mod:`.groups`): totals

    def to_dict(self) -> dict:
        return asdict(self)


def infer_mixture(tokenizer: Tokenizer | str | os.PathLike, categories="languages", *, merges: int | None = 3000,
                  start: int = 0, split: str = "all", method: str = DEFAULT_METHOD,
                  min_share: float = DEFAULT_MIN_SHARE, drop_share: float = DEFAULT_DROP_SHARE,
                  drop_cost: float = DEFAULT_DROP_COST, solver: str = "highs", bootstrap: int = 0,
                  confidence: float = 0.9, seed: int = 0, groups: Mapping[str, Sequence[str]] | None = None,
                  workers: int | None = None,
                  backend: str | None = None, address: str | None = None, cache: bool = True,
                  options: SolveOptions | None = None, progress: bool = False) -> MixtureEstimate:
    """Estimate the byte shares of ``categories`` in ``tokenizer``'s training data.

    ``categories`` is a set name, a directory, a mapping ``{name: [files]}`` or a list of those (combined).
    ``merges`` limits the window to that many merges after ``start`` (None: all). ``method`` picks the
    estimator (:data:`forensics.inference.estimators.METHODS`). ``bootstrap`` > 0 resamples each
    category's documents that many times for ``confidence`` intervals. ``groups`` names totals to report
    (``{"non-English": ["@language", "-en"]}``; members as in :mod:`forensics.inference.groups`), with
    intervals from the same resamples. ``backend`` (``local`` or ``ray``,
    ``address``: a Ray cluster) is where the categories are counted.

    >>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en")}
    >>> estimate = infer_mixture("fixtures/tokenizers/gpt2/vocab.bpe.gz", langs, merges=300, workers=1)
    >>> round(estimate.shares["en"], 2), round(estimate.baselines["token_classification"]["en"], 2)
    (0.89, 0.73)
    """
    from forensics.bpe.inspect import _as_tokenizer
    from forensics.counting.categories import count_categories

    started = time.perf_counter()
    tok = _as_tokenizer(tokenizer)
    if start < 0 or start >= tok.num_merges:
        raise ForensicsError(f"{tok.source}: --start {start} is outside its {tok.num_merges} merges")
    if merges is not None and merges <= 0:
        raise ForensicsError("--merges must be positive (0 on the command line means all merges)")
    check_options(method=method, min_share=min_share, drop_share=drop_share, drop_cost=drop_cost)
    if not 0 < confidence < 1:
        raise ForensicsError(f"--confidence must lie strictly between 0 and 1, not {confidence}")
    if bootstrap < 0:
        raise ForensicsError(f"--bootstrap must be 0 (no intervals) or a positive number of resamples, "
                             f"not {bootstrap}")
    from forensics.inference.groups import category_kinds, resolve_groups

    kinds = category_kinds(categories, split=split) if groups else {}
    named = resolve_groups(groups, kinds)   # before counting: a mistyped member fails at once
    total_steps = None if merges is None else start + merges
    counts = count_categories(tok, categories, split=split, merges=total_steps, workers=workers, cache=cache,
                              progress=progress, backend=backend, address=address)
    names = [row.name for row in counts.rows]
    traces = [counts.traces[name] for name in names]
    counted = time.perf_counter()
    program = build_program(traces, start=start, steps=merges, names=names)
    options = options or SolveOptions(solver=solver)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="LP rounds", unit="round", leave=False, disable=None)

        def report(round_number, objective, violated, rows):
            bar.update(1)
            bar.set_postfix_str(f"objective {objective:.6g}, {violated} segments violated, {rows:,} rows")
    solve_started = time.perf_counter()
    try:
        result = estimate(program, method=method, min_share=min_share, drop_share=drop_share, drop_cost=drop_cost,
                          options=options, progress=report if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    estimating_seconds = time.perf_counter() - solve_started
    solution = result.solution
    byte_shares = pair_to_byte_shares(result.alpha, program.bytes_per_pair)
    found = evidence(program, result.alpha)
    thin = 0.0
    if result.untrimmed is not None and result.dropped:
        untrimmed = pair_to_byte_shares(result.untrimmed, program.bytes_per_pair)
        thin = float(sum(untrimmed[names.index(n)] for n in result.dropped))
    warned = evidence_warnings(found, thin_spread=thin, dropped=result.dropped, intervals=bootstrap > 0)
    intervals = percentile = replicates = None
    tc = token_classification(program)
    totals: dict[str, dict] = {name: {"categories": members} for name, members in named.items()}
    index = {name: i for i, name in enumerate(names)}
    every_group = [*found["similar_groups"], *totals.values()]
    columns = [[index[name] for name in group["categories"]] for group in every_group]
    for group, cols in zip(every_group, columns):
        group["share"] = float(byte_shares[cols].sum())
        if "similarity" not in group:   # a named group: its other totals too
            group.update(pair_share=float(result.alpha[cols].sum()), token_classification=float(tc[cols].sum()),
                         interval=None, bootstrap_percentile_interval=None)
    if bootstrap > 0:
        samples = _bootstrap(tok, categories, names, split=split, steps=total_steps, start=start, merges=merges,
                             replicates=bootstrap, seed=seed, options=options, method=method, min_share=min_share,
                             drop_share=drop_share, drop_cost=drop_cost)
        percentile = dict(zip(names, percentile_intervals(samples, confidence)))
        replicates = samples.round(9).tolist()   # any group's interval can be made afterwards (sum_interval)
        intervals = calibrated_intervals(dict(zip(names, map(float, byte_shares))), percentile, confidence,
                                         fit_early=found["fit_early"])
        for group, cols in zip(every_group, columns):
            group["interval"], raw = sum_interval(samples, cols, group["share"], confidence,
                                                  fit_early=found["fit_early"])
            if "bootstrap_percentile_interval" in group:
                group["bootstrap_percentile_interval"] = raw
    diagnostics = {
        "status": solution.status, "objective": solution.objective, "merges_in_window": program.num_steps,
        "merges_used": solution.steps_used, "merges_unseen_in_any_sample": solution.steps_unseen,
        "segments": solution.segments, "step_pair_rows_represented": solution.represented_rows,
        "rounds": solution.rounds, "rows_generated": solution.rows_added, "rows_pruned": solution.rows_pruned,
        "rows_final": solution.final_rows, "tree_rows": solution.tree_rows, "pair_columns": solution.pair_columns,
        "max_violation": solution.max_violation, "solver": options.solver, **found,
        "bootstrap_percentile_intervals": percentile, "bootstrap_shares": replicates,
        "dropped_categories": result.dropped,
        "thin_spread_removed": thin, "lp_solves": len(result.rounds), "removal_tries": result.tries,
        "all_solves": result.work,
        "solver_seconds": round(solution.solve_seconds, 3), "scan_seconds": round(solution.scan_seconds, 3),
        "estimating_seconds": round(estimating_seconds, 3),
        "counting_seconds": round(counted - started, 3), "total_seconds": round(time.perf_counter() - started, 3),
    }
    rows = [asdict(row) for row in counts.rows]
    for row in rows:
        row.pop("trace_path", None)
    return MixtureEstimate(
        shares=dict(zip(names, map(float, byte_shares))), pair_shares=dict(zip(names, map(float, result.alpha))),
        intervals=intervals, baselines={"token_classification": dict(zip(names, map(float, tc)))},
        diagnostics=diagnostics, categories=rows, warnings=warned, groups=totals,
        parameters={"merges": merges, "start": start, "split": split, "method": method,
                    "min_share": min_share if method in ("trimmed", "sparse") else None,
                    "drop_share": drop_share if method == "sparse" else None,
                    "drop_cost": drop_cost if method == "sparse" else None, "solver": options.solver,
                    "bootstrap": bootstrap, "confidence": confidence, "seed": seed,
                    "groups": {name: list(members) for name, members in (groups or {}).items()} or None,
                    "tolerance": options.tolerance, "max_rows_per_round": options.max_rows_per_round,
                    "block": options.block, "tokenizer_sha256": tok.sha256},
        inputs={"tokenizer": tok.sha256, **counts.inputs},
    )


# Bootstrap intervals over the count documents alone held the truth 44% of the time at 90% in controlled
# trials (size setting, benchmarks/results/inference/size-languages.json): the tokenizer's own training
# sample and the difference between training and count documents add error the resampling cannot see.
# Reported intervals are therefore estimate +- (INTERVAL_SCALE x the bootstrap half-width + INTERVAL_FLOOR),
# fitted to hold 90% there, and scaled by the normal quantile for other confidence levels. When the
# first-merge fit says the category text is unlike the training text (fit_early under LOW_FIT_EARLY), the
# error is mostly that difference, which no resampling of the count text sees: a shift term is added,
# SHIFT_WIDENING x sqrt(max(s, SHIFT_MIN_SHARE) (1 - s)) for a share s (of a category or of a group), because
# under shift the error grows with the share, and a group's total errs by several of its members' errors
# (stop 24's constant 2 points held 77% per category and 48% for groups in held-out shift trials). The
# constants were chosen at stop 26 on the held-out shift trials of stop 24 (coverage-shift-sparse.json:
# per category 83%, groups 84%) and checked on 6 new ones (coverage-shift-818.json: 87% and 84%);
# benchmarks/calibrate_intervals.py measures any form, and benchmarks/results/inference.md has every setting's.
INTERVAL_SCALE = 1.5
INTERVAL_FLOOR = 0.005
SHIFT_WIDENING = 0.15
SHIFT_MIN_SHARE: float | None = 0.02


def calibrated_intervals(shares: dict[str, float], percentile: dict[str, list[float]],
                         confidence: float, *, fit_early: float | None = None,
                         shift_widening: float = SHIFT_WIDENING,
                         shift_min_share: float | None = SHIFT_MIN_SHARE) -> dict[str, list[float]]:
    """Widen bootstrap percentile intervals around the estimate (see INTERVAL_SCALE above).

    ``shift_widening`` and ``shift_min_share`` are the shift term's constants (keywords so that
    benchmarks/calibrate_intervals.py can measure others); ``shift_min_share`` None makes the term a constant.

    >>> calibrated_intervals({"a": 0.5, "b": 0.5}, {"a": [0.49, 0.51], "b": [0.5, 0.5]}, 0.9)
    {'a': [0.48, 0.52], 'b': [0.495, 0.505]}
    >>> calibrated_intervals({"a": 0.5}, {"a": [0.49, 0.51]}, 0.9, fit_early=0.6)  # text unlike the training text
    {'a': [0.405, 0.595]}
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2) / NormalDist().inv_cdf(0.95)
    shifted = fit_early is not None and fit_early < LOW_FIT_EARLY
    out = {}
    for name, share in shares.items():
        low, high = percentile[name]
        shift = 0.0
        if shifted:
            shift = (shift_widening if shift_min_share is None
                     else shift_widening * math.sqrt(max(share, shift_min_share) * max(0.0, 1.0 - share)))
        half = INTERVAL_SCALE * (high - low) / 2 + (INTERVAL_FLOOR + shift) * z
        out[name] = [round(max(0.0, share - half), 12), round(min(1.0, share + half), 12)]
    return out


def sum_interval(samples: np.ndarray, columns: list[int], share: float, confidence: float, *,
                 fit_early: float | None = None, **shift: float | None) -> tuple[list[float], list[float]]:
    """Calibrated and raw intervals of the total of ``columns`` (a group) from bootstrap ``samples``
    (``shift``: calibrated_intervals' shift_widening / shift_min_share).

    >>> sum_interval(np.array([[0.1, 0.2, 0.7], [0.2, 0.2, 0.6]]), [0, 1], 0.35, 0.9)
    ([0.2775, 0.4225], [0.305, 0.395])
    """
    raw = percentile_intervals(np.asarray(samples)[:, columns].sum(axis=1, keepdims=True), confidence)[0]
    return calibrated_intervals({"sum": share}, {"sum": raw}, confidence, fit_early=fit_early, **shift)["sum"], raw  # type: ignore[arg-type]


def percentile_intervals(samples: np.ndarray, confidence: float) -> list[list[float]]:
    """Central ``confidence`` percentile interval of every column of ``samples`` (replicates x categories).

    >>> percentile_intervals(np.array([[0.1, 0.9], [0.3, 0.7], [0.2, 0.8]]), 0.5)
    [[0.15, 0.25], [0.75, 0.85]]
    """
    low, high = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    return [[round(float(np.quantile(column, low)), 12), round(float(np.quantile(column, high)), 12)]
            for column in np.asarray(samples, dtype=np.float64).T]


def _bootstrap(tok: Tokenizer, categories, names: list[str], *, split: str, steps: int | None, start: int,
               merges: int | None, replicates: int, seed: int, options: SolveOptions, method: str = "lp",
               min_share: float = DEFAULT_MIN_SHARE, drop_share: float = DEFAULT_DROP_SHARE,
               drop_cost: float = DEFAULT_DROP_COST) -> np.ndarray:
    """Byte shares (replicates x categories, in ``names`` order) over document-chunk resamples of every category."""
    from forensics.counting.categories import _category_files
    from forensics.counting.replay import replay_merges
    from forensics.counting.words import count_words_by_chunk

    files = _category_files(categories, split=split)
    rules = tok.training_pretokenizer
    chunked = {name: count_words_by_chunk(files[name], pretokenizer=rules, chunks=50) for name in names}
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(replicates):
        traces = []
        for name in names:
            chunks = chunked[name].chunk_counts.shape[0]
            weights = rng.multinomial(chunks, np.full(chunks, 1.0 / chunks))
            traces.append(replay_merges(chunked[name].resample(weights), tok, merges=steps, name=name))
        program = build_program(traces, start=start, steps=merges, names=names)
        alpha = estimate(program, method=method, min_share=min_share, drop_share=drop_share, drop_cost=drop_cost,
                         options=options).alpha
        samples.append(pair_to_byte_shares(alpha, program.bytes_per_pair))
    return np.array(samples)
