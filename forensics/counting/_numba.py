"""numba core of merge replay: apply merges to unique words, emitting per-step pair-count changes.

Words live in one flat int32 array of token ids and shrink in place. For every merge step an index
(linked lists in arrays, one list per merge step) names the words that may contain that step's pair;
only those words are touched. A list is walked once, at its step, so its nodes serve later pushes, and
node numbers are 32-bit where they fit: on a 1 GiB category (16.9 million symbols, GPT-2's first 30,000
merges) the index peaked at 12.2 million nodes of 8 bytes (before: a new node of 12 bytes for every push,
the arrays doubled when full). For a touched word, the pairs around the merge sites before and after
the merge are emitted as -count/+count, then summed per step (sort and reduce) so each step stores
only the pairs whose counts really changed. All counters are 64-bit.

The readable twin is :mod:`forensics.counting.reference`; tests check they agree at every step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SHIFT = np.int64(32)


@njit(cache=True)
def _grow(array, needed, factor=2):
    """The array, or a copy at least ``factor`` times as long when ``needed`` exceeds it (any dtype)."""
    if needed <= array.shape[0]:
        return array
    bigger = np.empty(max(needed, factor * array.shape[0]), dtype=array.dtype)
    bigger[:array.shape[0]] = array
    return bigger


@njit(cache=True)
def _push(head, node_word, node_next, nodes, free, step, word):
    """Put ``word`` on the list of words that may hold merge ``step``'s pair (once in a row), in a node from
    ``free`` (the nodes of the lists already walked) or else node ``nodes``, the first never used."""
    if head[step] >= 0 and node_word[head[step]] == word:
        return node_word, node_next, nodes, free
    if free >= 0:
        node = free
        free = node_next[free]
    else:
        if nodes == node_word.shape[0]:  # a quarter more, not twice: the index is the replay's largest array
            size = nodes + nodes // 4 + 16
            if node_next.itemsize == 4:
                if nodes >= 2 ** 31 - 1:
                    raise OverflowError("merge replay: more index nodes than 32-bit node numbers hold")
                size = min(size, 2 ** 31 - 1)
            node_word = _grow(node_word, size, 1)
            node_next = _grow(node_next, size, 1)
        node = nodes
        nodes += 1
    node_word[node] = word
    node_next[node] = head[step]
    head[step] = node
    return node_word, node_next, nodes, free


@njit(cache=True)
def _lookup(sorted_keys, sorted_steps, key):
    pos = np.searchsorted(sorted_keys, key)
    if pos < sorted_keys.shape[0] and sorted_keys[pos] == key:
        return sorted_steps[pos]
    return -1


@njit(cache=True)
def initial_pair_counts(symbols, starts, lengths, word_counts):
    """Every adjacent pair of every word summed with the word's count: sorted keys and their counts.

    An open-addressing table of the distinct pairs (few: at most 65,536 byte pairs), not one entry per
    position, so memory stays with the distinct pairs.
    """
    bits = 10
    keys = np.full(1 << bits, -1, dtype=np.int64)  # keys are never negative: ids are
    sums = np.zeros(1 << bits, dtype=np.int64)
    used = 0
    for w in range(lengths.shape[0]):
        s = starts[w]
        for i in range(lengths[w] - 1):
            key = (np.int64(symbols[s + i]) << SHIFT) | np.int64(symbols[s + i + 1])
            slot = _slot(keys, key, bits)
            if keys[slot] < 0:
                keys[slot] = key
                used += 1
            sums[slot] += word_counts[w]
            if 2 * used > keys.shape[0]:
                bits += 1
                keys, sums = _rehashed(keys, sums, bits)
    kept = np.flatnonzero(keys >= 0)
    order = np.argsort(keys[kept])
    return keys[kept][order], sums[kept][order]


@njit(cache=True)
def _slot(keys, key, bits):
    """The slot holding ``key``, or the empty slot where it goes (Fibonacci hashing, linear probing)."""
    mask = (1 << bits) - 1
    slot = np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits))
    while keys[slot] >= 0 and keys[slot] != key:
        slot = (slot + 1) & mask
    return slot


@njit(cache=True)
def _rehashed(keys, sums, bits):
    bigger_keys = np.full(1 << bits, -1, dtype=np.int64)
    bigger_sums = np.zeros(1 << bits, dtype=np.int64)
    for old in range(keys.shape[0]):
        if keys[old] >= 0:
            slot = _slot(bigger_keys, keys[old], bits)
            bigger_keys[slot] = keys[old]
            bigger_sums[slot] = sums[old]
    return bigger_keys, bigger_sums


@njit(cache=True)
def mark_code_points(codes, present):
    """Set ``present[c]`` for every code point ``c`` of ``codes``."""
    for i in range(codes.shape[0]):
        present[codes[i]] = True


@njit(cache=True)
def symbol_lengths(codes, chars, per_char, lengths, first):
    """``lengths[first + w]``: base symbols of word w, whose ``chars[w]`` code points follow in ``codes``."""
    pos = 0
    for w in range(chars.shape[0]):
        total = 0
        for i in range(pos, pos + chars[w]):
            total += per_char[codes[i]]
        lengths[first + w] = total
        pos += chars[w]


@njit(cache=True)
def fill_symbols(codes, per_char, char_start, char_ids, symbols, at):
    """Write the base symbol ids of ``codes`` (``per_char[c]`` ids from ``char_ids[char_start[c]]`` on) to
    ``symbols`` from ``at``; returns where the next ones go."""
    for i in range(codes.shape[0]):
        c = codes[i]
        for k in range(per_char[c]):
            symbols[at] = char_ids[char_start[c] + k]
            at += 1
    return at


@njit(cache=True)
def replay_kernel(symbols, starts, lengths, word_counts, merges, sorted_keys, sorted_steps):
    """Apply ``merges`` (T x 3: left, right, new) in order. ``symbols``/``lengths`` are modified.

    Returns (merged_count[T], delta_step, delta_key, delta_value).
    """
    capacity = max(16, symbols.shape[0])  # the index starts with a node per position at most
    # nodes <= positions + 2 per merge site <= 3 x symbols: 32-bit node numbers unless that overflows
    if 3 * capacity < 2 ** 31:
        return _replay(symbols, starts, lengths, word_counts, merges, sorted_keys, sorted_steps,
                       np.empty(capacity, dtype=np.int32))
    return _replay(symbols, starts, lengths, word_counts, merges, sorted_keys, sorted_steps,
                   np.empty(capacity, dtype=np.int64))


@njit(cache=True)
def _replay(symbols, starts, lengths, word_counts, merges, sorted_keys, sorted_steps, node_next):
    num_words = lengths.shape[0]
    num_steps = merges.shape[0]
    head = np.full(num_steps, -1, dtype=np.int64)
    node_word = np.empty(node_next.shape[0], dtype=np.int32)
    nodes = 0
    free = np.int64(-1)
    for w in range(num_words):
        s = starts[w]
        for i in range(lengths[w] - 1):
            key = (np.int64(symbols[s + i]) << SHIFT) | np.int64(symbols[s + i + 1])
            k = _lookup(sorted_keys, sorted_steps, key)
            if k >= 0:
                node_word, node_next, nodes, free = _push(head, node_word, node_next, nodes, free, k, w)

    stamp = np.full(num_words, -1, dtype=np.int32)
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
        tail = -1
        while node >= 0:
            w = node_word[node]
            tail = node
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
                        node_word, node_next, nodes, free = _push(head, node_word, node_next, nodes, free, k, w)
        if tail >= 0:  # step t's list is walked: its nodes serve later pushes
            node_next[tail] = free
            free = head[t]
            head[t] = -1
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
    delta_step = out_step[:out_n].copy()
    out_step = out_step[:0].copy()  # each buffer goes before the next is copied
    delta_key = out_key[:out_n].copy()
    out_key = out_key[:0].copy()
    return merged_count, delta_step, delta_key, out_value[:out_n].copy()
