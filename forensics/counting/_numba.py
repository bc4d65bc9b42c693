"""numba core of merge replay: apply merges to unique words, emitting per-step pair-count changes.

Words live in one flat int32 array of token ids and shrink in place. For every merge step an index
(linked lists in arrays, one list per merge step) names the words that may contain that step's pair;
only those words are touched. For a touched word, the pairs around the merge sites before and after
the merge are emitted as -count/+count, then summed per step (sort and reduce) so each step stores
only the pairs whose counts really changed. All counters are 64-bit.

The readable twin is :mod:`forensics.counting.reference`; tests check they agree at every step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SHIFT = np.int64(32)


@njit(cache=True)
def _grow(array, needed):
    """The array, or a copy at least twice as long when ``needed`` exceeds it (any dtype)."""
    if needed <= array.shape[0]:
        return array
    bigger = np.empty(max(needed, 2 * array.shape[0]), dtype=array.dtype)
    bigger[:array.shape[0]] = array
    return bigger


@njit(cache=True)
def _push(head, node_word, node_next, nodes, step, word):
    """Put ``word`` on the list of words that may hold merge ``step``'s pair (once in a row)."""
    if head[step] >= 0 and node_word[head[step]] == word:
        return node_word, node_next, nodes
    node_word = _grow(node_word, nodes + 1)
    node_next = _grow(node_next, nodes + 1)
    node_word[nodes] = word
    node_next[nodes] = head[step]
    head[step] = nodes
    return node_word, node_next, nodes + 1


@njit(cache=True)
def _lookup(sorted_keys, sorted_steps, key):
    pos = np.searchsorted(sorted_keys, key)
    if pos < sorted_keys.shape[0] and sorted_keys[pos] == key:
        return sorted_steps[pos]
    return -1


@njit(cache=True)
def initial_pair_keys(symbols, starts, lengths):
    """Pair key of every adjacent position of every word, and the word it belongs to."""
    total = 0
    for w in range(lengths.shape[0]):
        if lengths[w] > 1:
            total += lengths[w] - 1
    keys = np.empty(total, dtype=np.int64)
    owners = np.empty(total, dtype=np.int64)
    n = 0
    for w in range(lengths.shape[0]):
        s = starts[w]
        for i in range(lengths[w] - 1):
            keys[n] = (np.int64(symbols[s + i]) << SHIFT) | np.int64(symbols[s + i + 1])
            owners[n] = w
            n += 1
    return keys, owners


@njit(cache=True)
def replay_kernel(symbols, starts, lengths, word_counts, merges, sorted_keys, sorted_steps):
    """Apply ``merges`` (T x 3: left, right, new) in order. ``symbols``/``lengths`` are modified.

    Returns (merged_count[T], delta_step, delta_key, delta_value).
    """
    num_words = lengths.shape[0]
    num_steps = merges.shape[0]
    head = np.full(num_steps, -1, dtype=np.int64)
    node_word = np.empty(max(16, symbols.shape[0]), dtype=np.int32)
    node_next = np.empty(max(16, symbols.shape[0]), dtype=np.int64)
    nodes = 0
    for w in range(num_words):
        s = starts[w]
        for i in range(lengths[w] - 1):
            key = (np.int64(symbols[s + i]) << SHIFT) | np.int64(symbols[s + i + 1])
            k = _lookup(sorted_keys, sorted_steps, key)
            if k >= 0:
                node_word, node_next, nodes = _push(head, node_word, node_next, nodes, k, w)

    stamp = np.full(num_words, -1, dtype=np.int64)
    merged_count = np.zeros(num_steps, dtype=np.int64)
    out_step = np.empty(1024, dtype=np.int32)
    out_key = np.empty(1024, dtype=np.int64)
    out_value = np.empty(1024, dtype=np.int64)
    out_n = 0
    buf_key = np.empty(1024, dtype=np.int64)
    buf_value = np.empty(1024, dtype=np.int64)

    for t in range(num_steps):
        a = merges[t, 0]
        b = merges[t, 1]
        c = merges[t, 2]
        nb = 0
        node = head[t]
        while node >= 0:
            w = node_word[node]
            node = node_next[node]
            if stamp[w] == t:
                continue
            stamp[w] = t
            s = starts[w]
            length = lengths[w]
            count = word_counts[w]
            occurrences = 0
            first = -1
            last = -1
            for i in range(length - 1):
                if symbols[s + i] == a and symbols[s + i + 1] == b:
                    occurrences += 1
                    if first < 0:
                        first = i
                    last = i
            if occurrences == 0:
                continue
            merged_count[t] += occurrences * count
            lo = first - 1 if first > 0 else 0
            hi = last + 2 if last + 2 < length else length - 1
            buf_key = _grow(buf_key, nb + 2 * (hi - lo) + 2)
            buf_value = _grow(buf_value, nb + 2 * (hi - lo) + 2)
            for i in range(lo, hi):
                buf_key[nb] = (np.int64(symbols[s + i]) << SHIFT) | np.int64(symbols[s + i + 1])
                buf_value[nb] = -count
                nb += 1
            j = 0
            i = 0
            while i < length:
                if i + 1 < length and symbols[s + i] == a and symbols[s + i + 1] == b:
                    symbols[s + j] = c
                    i += 2
                else:
                    symbols[s + j] = symbols[s + i]
                    i += 1
                j += 1
            removed = length - j
            lengths[w] = j
            new_hi = hi - removed
            for i in range(lo, new_hi):
                left = symbols[s + i]
                right = symbols[s + i + 1]
                key = (np.int64(left) << SHIFT) | np.int64(right)
                buf_key[nb] = key
                buf_value[nb] = count
                nb += 1
                if left == c or right == c:
                    k = _lookup(sorted_keys, sorted_steps, key)
                    if k > t:
                        node_word, node_next, nodes = _push(head, node_word, node_next, nodes, k, w)
        if nb == 0:
            continue
        order = np.argsort(buf_key[:nb])
        out_step = _grow(out_step, out_n + nb)
        out_key = _grow(out_key, out_n + nb)
        out_value = _grow(out_value, out_n + nb)
        current_key = buf_key[order[0]]
        total = np.int64(0)
        for r in range(nb):
            key = buf_key[order[r]]
            if key != current_key:
                if total != 0:
                    out_step[out_n] = t
                    out_key[out_n] = current_key
                    out_value[out_n] = total
                    out_n += 1
                current_key = key
                total = 0
            total += buf_value[order[r]]
        if total != 0:
            out_step[out_n] = t
            out_key[out_n] = current_key
            out_value[out_n] = total
            out_n += 1
    return merged_count, out_step[:out_n].copy(), out_key[:out_n].copy(), out_value[:out_n].copy()
