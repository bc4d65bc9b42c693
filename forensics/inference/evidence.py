"""How much an estimate rests on: evidence in the window, how well the mixture explains the merges, warnings.

* ``merges_with_evidence``: share of the window's merges whose pair occurs in some category sample (the
  others say nothing about the mixture).
* ``fit_early`` and ``fit``: the median, over the first 300 merges with evidence and over all of them, of
  the merged pair's mixed count divided by the strongest competitor's at that step. BPE training made
  every ratio >= 1 on the training text. Sampling noise lowers late ratios (their counts are small), but
  the first merges' counts are large, so a low ``fit_early`` means the category text is unlike the
  training text (other sources, other domains), that categories of the training data are missing, or
  that the merges were not learned by BPE on one mixture. In controlled trials at 0.5-2 MB per category
  (benchmarks/results/inference.md) ``fit_early`` was 0.46-0.92 (median 0.78, 43 trials) with count text
  from the training sources, and 0.39-0.82 (median 0.66, 15 trials) with count text from other sources or
  with two of ten training categories left out of the candidates: a weak signal inside that range, a
  strong one below it (real audits measure 0.00-0.33).
* ``thin_spread``: what the ``trimmed`` estimator removed (categories under ``min_share``, their total).
* ``similar_groups``: kept categories whose merged pairs occur at nearly the same rates (cosine similarity
  of their merged-pair counts over the window >= ``SIMILAR``), joined into groups: close relatives (pt and
  pt-PT, da and nb) and programming languages with the same syntax explain each other's merges, so the
  window says more about a group's total than about the split inside it (measured in
  ``benchmarks/results/inference.md``).

:func:`evidence_warnings` turns these and the sample sizes into plain sentences that name what to do; thresholds
come from the controlled benchmarks (``benchmarks/results/inference.md``).

>>> import numpy as np
>>> from forensics.inference.program import MixtureProgram
>>> program = MixtureProgram(names=["a", "b"], start=0, merged=np.array([[5.0, 0.0], [0.0, 1.0]]),
...     active=np.array([True, True]), segment_pair=np.array([7]), segment_first=np.array([0]),
...     segment_last=np.array([1]), segment_counts=np.array([[0.0, 3.0]]), pair_index=np.array([0]),
...     pairs=np.array([7]), total_pairs=np.array([100, 100]), total_bytes=np.array([300, 300]))
>>> fit_ratios(program, np.array([0.5, 0.5])).round(3).tolist()
[1.667, 0.333]
"""

from __future__ import annotations

import numpy as np

from forensics.inference.program import MixtureProgram

# measured in benchmarks/results/inference.md (controlled trials at 0.5-2 MB per category)
SMALL_SAMPLE_BYTES = 500_000
LOW_EVIDENCE = 0.9
LOW_FIT_EARLY = 0.8
LOWEST_CALIBRATED_FIT = 0.39   # the lowest fit_early of the controlled trials the intervals were calibrated on
EARLY_STEPS = 300
THIN_SPREAD = 0.05
SIMILAR = 0.95


def competitor_maximum(program: MixtureProgram, alpha: np.ndarray) -> np.ndarray:
    """Largest mixed count of any competing pair at every window step (0 where none competes).

    Range-maximum painting: each segment's value goes to the two halves of a sparse table that cover its
    steps, then the table is pushed down level by level; O(segments + steps log steps).
    """
    steps = program.num_steps
    values = program.segment_counts @ np.asarray(alpha, dtype=np.float64)
    first, last = program.segment_first, program.segment_last
    length = last - first + 1
    level = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
    top = int(level.max()) if len(level) else 0
    table = np.zeros((top + 1, steps))
    for k in range(top + 1):
        mask = level == k
        if mask.any():
            np.maximum.at(table[k], first[mask], values[mask])
            np.maximum.at(table[k], last[mask] - (1 << k) + 1, values[mask])
    for k in range(top, 0, -1):
        half = 1 << (k - 1)
        table[k - 1] = np.maximum(table[k - 1], table[k])
        table[k - 1, half:] = np.maximum(table[k - 1, half:], table[k, :steps - half])
    return table[0]


def fit_ratios(program: MixtureProgram, alpha: np.ndarray) -> np.ndarray:
    """Per step with evidence: merged pair's mixed count over the strongest competitor's (inf: none)."""
    merged = program.merged @ np.asarray(alpha, dtype=np.float64)
    rival = competitor_maximum(program, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rival > 0, merged / np.where(rival > 0, rival, 1.0), np.inf)
    return ratio[program.active]


def similarity(program: MixtureProgram) -> np.ndarray:
    """(n, n) cosine similarity of the categories' merged-pair counts over the window's steps with evidence.

    >>> import numpy as np
    >>> from forensics.inference.program import MixtureProgram
    >>> program = MixtureProgram(names=["a", "b", "c"], start=0, active=np.ones(3, bool),
    ...     merged=np.array([[9.0, 8.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 5.0]]), segment_pair=np.zeros(0, int),
    ...     segment_first=np.zeros(0, int), segment_last=np.zeros(0, int), segment_counts=np.zeros((0, 3)),
    ...     pair_index=np.zeros(0, int), pairs=np.zeros(0, int), total_pairs=np.ones(3, int),
    ...     total_bytes=np.ones(3, int))
    >>> similarity(program).round(3).tolist()
    [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    merged = program.merged[program.active]
    norms = np.linalg.norm(merged, axis=0)
    unit = merged / np.where(norms > 0, norms, 1.0)
    return unit.T @ unit


def similar_groups(program: MixtureProgram, alpha: np.ndarray, *, threshold: float = SIMILAR,
                   sim: np.ndarray | None = None) -> list[list[int]]:
    """Groups (connected components, two or more) of the categories with weight in ``alpha`` whose pairwise
    :func:`similarity` (``sim``, when the caller has it) reaches ``threshold``; indices into
    ``program.names``, largest weight first."""
    alpha = np.asarray(alpha, dtype=np.float64)
    kept = [int(i) for i in np.argsort(-alpha) if alpha[i] > 0]
    close = (similarity(program) if sim is None else sim) >= threshold
    parent = {i: i for i in kept}

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a in kept:
        for b in kept:
            if a < b and close[a, b]:
                parent[root(b)] = root(a)
    groups: dict[int, list[int]] = {}
    for i in kept:
        groups.setdefault(root(i), []).append(i)
    return [members for members in groups.values() if len(members) > 1]


def evidence(program: MixtureProgram, alpha: np.ndarray) -> dict:
    """Evidence numbers for the diagnostics block (see the module docstring)."""
    ratio = fit_ratios(program, alpha)
    sim = similarity(program)
    groups = [{"categories": [program.names[i] for i in members],
               "similarity": float(min(sim[a, b] for a in members for b in members if a != b))}
              for members in similar_groups(program, alpha, sim=sim)]
    return {"merges_with_evidence": float(program.active.sum() / max(program.num_steps, 1)),
            "fit_early": float(np.median(ratio[:EARLY_STEPS])) if len(ratio) else 0.0,
            "fit": float(np.median(ratio)) if len(ratio) else 0.0,
            "smallest_sample_bytes": int(program.total_bytes.min()),
            "smallest_sample": program.names[int(np.argmin(program.total_bytes))],
            "similar_groups": groups}


def evidence_warnings(report: dict, *, thin_spread: float = 0.0, dropped: list[str] | None = None,
                      intervals: bool = False) -> list[str]:
    """Plain-language warnings for an estimate with ``report`` from :func:`evidence` (``intervals``: the
    estimate carries bootstrap intervals).

    >>> evidence_warnings({"merges_with_evidence": 0.6, "fit_early": 0.9, "smallest_sample_bytes": 10**7,
    ...           "smallest_sample": "de"})[0][:44]
    '40% of the merges in the window occur in no '
    """
    out = []
    if report["merges_with_evidence"] < LOW_EVIDENCE:
        out.append(f"{1 - report['merges_with_evidence']:.0%} of the merges in the window occur in no category "
                   f"sample and say nothing about the mixture; use more text per category "
                   f"(forensics categories build --mb-per-category 25) or an earlier window (--start/--merges)")
    if report["smallest_sample_bytes"] < SMALL_SAMPLE_BYTES:
        out.append(f"category samples are small (the smallest, {report['smallest_sample']}, has "
                   f"{report['smallest_sample_bytes'] / 1e6:.2f} MB): in controlled trials with ~90 KB per "
                   f"category LP1_T's shares erred by about 2 points and 25% of the mass landed on absent candidates "
                   f"(7% with 0.85 MB; 0.3% with the sparse estimator); build larger sets (forensics categories build --mb-per-category 5 or more)")
    if report["fit_early"] < LOW_FIT_EARLY:
        out.append(f"under the estimated mixture the first merges' pairs reach only {report['fit_early']:.2f} of "
                   f"their strongest competitor's count (median; 0.46-0.92 in controlled trials with count text "
                   f"from the training sources, 0.39-0.82 with text from other sources or training categories "
                   f"missing): the category text looks unlike the tokenizer's training text, categories are "
                   f"missing, or these merges were not learned by BPE on one mixture; treat the shares as a rough "
                   f"ordering, and add candidates and text from the kind of sources the tokenizer was trained on")
    if intervals and report["fit_early"] < LOWEST_CALIBRATED_FIT:
        out.append(f"the intervals are calibrated on controlled trials whose first merges fit at "
                   f"{LOWEST_CALIBRATED_FIT} or more (count text from other sources than the training text's); at "
                   f"{report['fit_early']:.2f} the text differs more than in any of them, so the intervals understate "
                   f"the uncertainty: read them as its lower bound")
    if thin_spread >= THIN_SPREAD and dropped:
        out.append(f"{thin_spread:.0%} of the untrimmed estimate was spread thinly over {len(dropped)} categories "
                   f"and was set to zero (each under --min-share, or removable at a cost under --drop-cost); such "
                   f"spread is how the LP fits text that differs from the training data")
    return out
