"""The mixture-inference linear program's data, built from per-category pair traces.

LP1_T (Hayase et al. 2024): variables alpha_i >= 0 summing to 1; a slack v_t >= 0 per merge step and a
slack v_p >= 0 per competing pair. For every step t and pair p != m(t):

    sum_i alpha_i c_{i,m(t)}^(t) + v_t + v_p >= sum_i alpha_i c_{i,p}^(t);   minimise sum v_t + sum v_p.

Counts are normalised per category by its total pair count at step 0 and scaled to counts per million
pairs (normalised counts near 1e-6 sit under solver tolerances otherwise).

A pair's counts are constant between its own count changes, so all its rows over such a *segment* of
steps share one left-hand side: this module turns the traces into segments (pair, first step, last step,
count vector), each standing for up to thousands of (step, pair) rows. Steps whose merged pair occurs in
no category's sample carry no information about the mixture and are left out (reported as unseen).

>>> from forensics.counting.categories import count_categories
>>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en")}
>>> counts = count_categories("fixtures/tokenizers/gpt2/vocab.bpe.gz", langs, merges=300, workers=1)
>>> program = build_program(list(counts.traces.values()), start=0, steps=300)
>>> program.segment_counts.shape
(12414, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forensics.counting.replay import PairTrace
from forensics.errors import ForensicsError

SCALE = 1e6  # counts per million pairs


@dataclass
class MixtureProgram:
    """Arrays that define LP1_T over a window of merge steps (steps are window-relative)."""

    names: list[str]
    start: int
    merged: np.ndarray           # (T, n) float64: scaled count of step t's merged pair per category
    active: np.ndarray           # (T,) bool: merged pair seen in some category
    segment_pair: np.ndarray     # (S,) int64 pair key
    segment_first: np.ndarray    # (S,) int64 first step (window-relative)
    segment_last: np.ndarray     # (S,) int64 last step (inclusive)
    segment_counts: np.ndarray   # (S, n) float64 scaled counts per category
    pair_index: np.ndarray       # (S,) int64 index into `pairs`
    pairs: np.ndarray            # distinct pair keys with segments
    total_pairs: np.ndarray      # (n,) int64 pairs at step 0 per category
    total_bytes: np.ndarray      # (n,) int64 bytes per category

    @property
    def num_steps(self) -> int:
        return int(self.merged.shape[0])

    @property
    def num_categories(self) -> int:
        return len(self.names)

    @property
    def bytes_per_pair(self) -> np.ndarray:
        return self.total_bytes / np.maximum(self.total_pairs, 1)


def pair_to_byte_shares(alpha: np.ndarray, bytes_per_pair: np.ndarray) -> np.ndarray:
    """Convert weights on normalised pair counts to shares of bytes.

    >>> pair_to_byte_shares(np.array([0.5, 0.5]), np.array([1.0, 3.0]))
    array([0.25, 0.75])
    """
    weighted = alpha * bytes_per_pair
    total = weighted.sum()
    return weighted / total if total > 0 else weighted


def build_program(traces: list[PairTrace], *, start: int = 0, steps: int | None = None,
                  names: list[str] | None = None) -> MixtureProgram:
    """Segments and merged-pair counts of every category over steps [start, start + steps).

    >>> from forensics.counting.categories import count_categories
    >>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en")}
    >>> counts = count_categories("fixtures/tokenizers/gpt2/vocab.bpe.gz", langs, merges=300, workers=1)
    >>> build_program(list(counts.traces.values()), steps=100).num_steps
    100
    """
    if len(traces) < 2:
        raise ForensicsError("mixture inference needs at least two categories")
    names = names or [t.name for t in traces]
    if len(set(names)) != len(names):
        raise ForensicsError(f"category names clash: {', '.join(sorted(n for n in names if names.count(n) > 1))}")
    available = min(t.num_steps for t in traces)
    reference = traces[0].merges[:available]
    for trace in traces[1:]:
        if not np.array_equal(trace.merges[:available], reference):
            raise ForensicsError(f"traces of '{traces[0].name}' and '{trace.name}' come from different merge lists")
    if start < 0 or start >= available:
        raise ForensicsError(f"--start {start} is outside the {available} merges that were counted")
    end = available if steps is None else min(available, start + steps)
    if end <= start:
        raise ForensicsError("the merge window is empty; check --start and --merges")
    n = len(traces)
    total_pairs = np.array([t.total_pairs for t in traces], dtype=np.int64)
    if (total_pairs == 0).any():
        empty = [t.name for t, p in zip(traces, total_pairs) if p == 0]
        raise ForensicsError(f"categories with no pairs (empty samples): {', '.join(empty)}")
    scale = SCALE / total_pairs.astype(np.float64)
    merged = np.stack([t.merged_count[start:end].astype(np.float64) * s for t, s in zip(traces, scale)], axis=1)
    active = merged.max(axis=1) > 0

    # events: (pair key, effective step, category, scaled change); a change at step t counts from t + 1
    keys, steps_, cats, values = [], [], [], []
    for i, trace in enumerate(traces):
        keys.append(trace.initial_keys)
        steps_.append(np.zeros(len(trace.initial_keys), dtype=np.int64))
        cats.append(np.full(len(trace.initial_keys), i, dtype=np.int64))
        values.append(trace.initial_counts.astype(np.float64) * scale[i])
        upto = np.searchsorted(trace.delta_step, end - 1, side="right")  # changes that matter before `end`
        keys.append(trace.delta_key[:upto])
        steps_.append(trace.delta_step[:upto].astype(np.int64) + 1)
        cats.append(np.full(upto, i, dtype=np.int64))
        values.append(trace.delta_value[:upto].astype(np.float64) * scale[i])
    key = np.concatenate(keys)
    eff = np.concatenate(steps_)
    cat = np.concatenate(cats)
    val = np.concatenate(values)
    order = np.lexsort((eff, key))
    key, eff, cat, val = key[order], eff[order], cat[order], val[order]
    new_segment = np.ones(len(key), dtype=bool)
    new_segment[1:] = (key[1:] != key[:-1]) | (eff[1:] != eff[:-1])
    seg_id = np.cumsum(new_segment) - 1
    num_segments = int(seg_id[-1]) + 1 if len(seg_id) else 0
    seg_key = key[new_segment]
    seg_eff = eff[new_segment]
    changes = np.zeros((num_segments, n), dtype=np.float64)
    np.add.at(changes, (seg_id, cat), val)
    # running count vector within each pair: cumulative sum minus the sum before the pair's first segment
    running = np.cumsum(changes, axis=0)
    first_of_pair = np.ones(num_segments, dtype=bool)
    first_of_pair[1:] = seg_key[1:] != seg_key[:-1]
    pair_start = np.maximum.accumulate(np.where(first_of_pair, np.arange(num_segments), 0))
    before = np.zeros((num_segments, n))
    has_before = pair_start > 0
    before[has_before] = running[pair_start[has_before] - 1]
    counts = running - before
    counts[np.abs(counts) < 1e-9 * SCALE / total_pairs.max()] = 0.0
    # segment ranges in absolute steps: [eff, next eff of the same pair - 1], clipped to the window
    last = np.full(num_segments, end - 1, dtype=np.int64)
    same_pair_next = ~first_of_pair[1:]
    last[:-1] = np.where(same_pair_next, seg_eff[1:] - 1, end - 1)
    first = np.maximum(seg_eff, start)
    last = np.minimum(last, end - 1)
    keep = (first <= last) & (counts.max(axis=1) > 0)
    seg_key, first, last, counts = seg_key[keep], first[keep], last[keep], counts[keep]

    # a pair is not its own competitor at the step where it is merged: cut that step out of its segment
    merge_keys = (reference[start:end, 0] << 32) | reference[start:end, 1]
    merge_step = np.arange(start, end, dtype=np.int64)
    order = np.argsort(merge_keys, kind="stable")
    sorted_merge_keys, sorted_merge_steps = merge_keys[order], merge_step[order]
    pos = np.searchsorted(sorted_merge_keys, seg_key)
    pos_clipped = np.minimum(pos, len(sorted_merge_keys) - 1)
    is_merge = (pos < len(sorted_merge_keys)) & (sorted_merge_keys[pos_clipped] == seg_key)
    t_merge = np.where(is_merge, sorted_merge_steps[pos_clipped], -1)
    inside = is_merge & (first <= t_merge) & (t_merge <= last)
    if inside.any():
        right_first = t_merge[inside] + 1
        right_last = last[inside]
        right_ok = right_first <= right_last
        extra_key = seg_key[inside][right_ok]
        extra_counts = counts[inside][right_ok]
        extra_first, extra_last = right_first[right_ok], right_last[right_ok]
        last = last.copy()
        last[inside] = t_merge[inside] - 1
        seg_key = np.concatenate([seg_key, extra_key])
        first = np.concatenate([first, extra_first])
        last = np.concatenate([last, extra_last])
        counts = np.concatenate([counts, extra_counts])
        keep = first <= last
        seg_key, first, last, counts = seg_key[keep], first[keep], last[keep], counts[keep]
    pairs, pair_index = np.unique(seg_key, return_inverse=True)
    return MixtureProgram(
        names=list(names), start=start, merged=merged, active=active, segment_pair=seg_key,
        segment_first=first - start, segment_last=last - start, segment_counts=counts,
        pair_index=pair_index.astype(np.int64), pairs=pairs, total_pairs=total_pairs,
        total_bytes=np.array([t.total_bytes for t in traces], dtype=np.int64),
    )


def restrict_program(program: MixtureProgram, keep: np.ndarray) -> MixtureProgram:
    """The same program over the categories where ``keep`` (bool, one per category) is true.

    Steps whose merged pair no kept category has become inactive; segments no kept category has vanish.
    """
    keep = np.asarray(keep, dtype=bool)
    if keep.sum() < 1:
        raise ForensicsError("no category left to restrict the program to")
    merged = program.merged[:, keep]
    counts = program.segment_counts[:, keep]
    seen = counts.max(axis=1) > 0
    pairs, pair_index = np.unique(program.segment_pair[seen], return_inverse=True)
    return MixtureProgram(
        names=[n for n, k in zip(program.names, keep) if k], start=program.start, merged=merged,
        active=merged.max(axis=1) > 0, segment_pair=program.segment_pair[seen],
        segment_first=program.segment_first[seen], segment_last=program.segment_last[seen],
        segment_counts=counts[seen], pair_index=pair_index.astype(np.int64), pairs=pairs,
        total_pairs=program.total_pairs[keep], total_bytes=program.total_bytes[keep])
