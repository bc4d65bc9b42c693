"""Slow, readable merge replay: the reference the numba engine is tested against.

At every step it recounts all pairs from scratch, so it is obviously right and far too slow for real
samples. Pair keys are ``left << 32 | right`` of token ids.

>>> words = [[1, 2, 1, 2]]; counts = [3]
>>> trace = replay_reference(words, counts, [(1, 2, 5)])
>>> trace["merged_count"], sorted(trace["deltas"][0].items())
([6], [(4294967298, -6), (8589934593, -3), (21474836485, 3)])
"""

from __future__ import annotations

from collections import Counter


def pair_key(left: int, right: int) -> int:
    """64-bit key of a pair of token ids.

    >>> pair_key(1, 2)
    4294967298
    """
    return (left << 32) | right


def count_all_pairs(words: list[list[int]], counts: list[int]) -> Counter:
    """Adjacent pairs of every word, weighted by the word's count.

    >>> count_all_pairs([[1, 1, 1]], [2])
    Counter({4294967297: 4})
    """
    pairs: Counter = Counter()
    for word, count in zip(words, counts):
        for left, right in zip(word, word[1:]):
            pairs[pair_key(left, right)] += count
    return pairs


def apply_merge(word: list[int], left: int, right: int, new: int) -> list[int]:
    """Replace non-overlapping (left, right) occurrences from left to right.

    >>> apply_merge([1, 1, 1], 1, 1, 9)
    [9, 1]
    """
    out: list[int] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == left and word[i + 1] == right:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def replay_reference(words: list[list[int]], counts: list[int], merges: list[tuple[int, int, int]]) -> dict:
    """Apply ``merges`` in order; record the merged pair's count and every pair-count change per step.

    Returns ``{"initial": Counter, "merged_count": [..], "deltas": [{pair: change}, ...]}``.
    """
    words = [list(w) for w in words]
    current = count_all_pairs(words, counts)
    initial = Counter(current)
    merged_count: list[int] = []
    deltas: list[dict[int, int]] = []
    for left, right, new in merges:
        merged_count.append(current.get(pair_key(left, right), 0))
        words = [apply_merge(w, left, right, new) for w in words]
        after = count_all_pairs(words, counts)
        change = {key: after.get(key, 0) - current.get(key, 0) for key in set(after) | set(current)}
        deltas.append({key: value for key, value in change.items() if value})
        current = after
    return {"initial": initial, "merged_count": merged_count, "deltas": deltas}
