"""Fast word counting: the published split patterns as compiled scanners, words counted in one pass.

What it does: for the exact regex patterns of the presets (gpt2/r50k/p50k, claude, cl100k, llama3,
o200k, tekken, whitespace) a numba scanner walks the text's code points with the patterns' own
leftmost-first alternation and backtracking written out, and counts each word in an exact hash table
(words are compared code point by code point, so hash collisions cannot merge words). Character classes
(``\\s``, ``\\p{L}``, ``\\p{N}``, ``\\p{Lu}``..., case folds) are read from the ``regex`` module itself, so
both paths share one Unicode version. :func:`forensics.counting.words.count_words` uses it by default.
:meth:`WordTable.take` hands the words over in insertion order or sorted as Python sorts strings (numba
sorts them three code points at a time), making no Python object per word but the word itself.

What it leaves out: every other rule. :func:`supported` is false, and the reference
(:meth:`PreTokenizer.split`) runs, for normalisers, text operations (replace/prepend/squeeze),
``add_prefix_space``, digit splitting, metaspace (SentencePiece-style), split behaviours other than
``isolated``, inverted splits, several steps, and any pattern that is not one of the presets' patterns.

>>> counts = count_texts(["it's 12345 ok"], PreTokenizer.preset("cl100k"))
>>> sorted(counts.items())
[(' ', 1), (' ok', 1), ("'s", 1), ('123', 1), ('45', 1), ('it', 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numba as nb
import numpy as np

from forensics.bpe.pretokenize import (CL100K_PATTERN, GPT2_PATTERN, LLAMA3_PATTERN, O200K_PATTERN, R50K_PATTERN,
                                       TEKKEN_PATTERN, PreTokenizer, Split)

WHITESPACE_PATTERN = r"""\s+(?!\S)|\s+|\S+"""
# pattern -> scanner mode (see _match_end)
MODES = {R50K_PATTERN: 0, GPT2_PATTERN: 0, CL100K_PATTERN: 1, LLAMA3_PATTERN: 2, O200K_PATTERN: 3,
         TEKKEN_PATTERN: 4, WHITESPACE_PATTERN: 5}

_WS, _L, _N, _U, _W = 1, 2, 4, 8, 16  # \s, \p{L}, \p{N}, [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], [\p{Ll}\p{Lm}\p{Lo}\p{M}]
_FOLD_LETTERS = "stmdrevl"  # contraction letters; _FOLD codes are 1 + index


def supported(pretokenizer: PreTokenizer) -> bool:
    """Whether the fast scanner reproduces ``pretokenizer`` exactly (else use the reference).

    >>> supported(PreTokenizer.preset("o200k")), supported(PreTokenizer.preset("metaspace"))
    (True, False)
    """
    return _mode(pretokenizer) is not None


def _mode(pretokenizer: PreTokenizer) -> int | None:
    p = pretokenizer
    if p.normalizer or p.text_ops or p.add_prefix_space or len(p.steps) != 1:
        return None
    kind, arg = p.steps[0]
    if kind != "split" or not isinstance(arg, Split) or arg.behavior != "isolated" or arg.invert:
        return None
    return MODES.get(arg.pattern)


@lru_cache(maxsize=1)
def class_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per-code-point class bits and contraction-letter folds, computed with ``regex`` (its Unicode data).

    >>> classes, folds = class_tables(); bool(classes[ord("a")] & 2), int(folds[ord("S")])
    (True, 1)
    """
    import regex

    everything = "".join(map(chr, range(0x110000)))
    classes = np.zeros(0x110000, dtype=np.uint8)
    for bit, pattern in ((_WS, r"\s+"), (_L, r"\p{L}+"), (_N, r"\p{N}+"), (_U, r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"),
                         (_W, r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]+")):
        for match in regex.finditer(pattern, everything):
            classes[match.start():match.end()] |= bit
    folds = np.zeros(0x110000, dtype=np.uint8)
    for code, letter in enumerate(_FOLD_LETTERS, start=1):
        for match in regex.finditer(f"(?i:{letter})", everything):
            if match.end() - match.start() != 1 or folds[match.start()]:
                raise AssertionError(f"unexpected case fold of {letter!r} at U+{match.start():04X}")
            folds[match.start()] = code
    return classes, folds


class WordTable:
    """Running word counts across batches: :func:`scan` batches (in any thread), :meth:`add` them in order.

    >>> table = WordTable(); table.add(scan(["a b a"], PreTokenizer.preset("gpt2"))); table.take()
    (['a', ' b', ' a'], array([1, 1, 1]))
    """

    def __init__(self) -> None:
        self._empty()

    def _empty(self) -> None:
        self._arena = np.zeros(1 << 16, np.uint32)  # the unique words' code points, back to back
        self._arena_used = 0
        self._table = np.zeros((1 << 12, 4), np.int64)  # (arena start + 1, length, hash, count) per slot
        self._used = 0

    def add(self, scanned: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
        codes, starts, ends, counts = scanned
        self._arena, self._arena_used, self._table, self._used = _merge(
            self._arena, self._arena_used, self._table, self._used, codes, starts, ends, counts)

    def take(self, *, order: Literal["inserted", "code points"] = "inserted") -> tuple[list[str], np.ndarray]:
        """The unique words and their int64 counts, in insertion order or sorted as Python sorts strings;
        the table is left empty (its memory goes back before the word strings are made).

        >>> table = WordTable(); table.add(scan(["b a b"], PreTokenizer.preset("whitespace")))
        >>> table.take(order="code points")
        ([' ', 'a', 'b'], array([2, 1, 2]))
        """
        starts, lengths, counts = _rows(self._table)
        arena = self._arena[:self._arena_used]
        self._empty()
        if order == "inserted":
            permutation = np.argsort(starts)  # the arena is in insertion order
        else:
            permutation = _code_point_order(arena, starts, lengths)
        starts, lengths, counts = starts[permutation], lengths[permutation], counts[permutation]
        del permutation
        text = str(arena.data, "utf-32-le", "surrogatepass")
        del arena
        words: list[str] = []
        block = 1 << 16  # a block of words at a time: no Python ints for every word at once
        for a in range(0, len(starts), block):
            first = starts[a:a + block]
            words.extend(map(text.__getitem__, map(slice, first.tolist(), (first + lengths[a:a + block]).tolist())))
        return words, counts


def scan(texts: Sequence[str], pretokenizer: PreTokenizer) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One batch's code points and unique word spans with counts (each text split on its own; no GIL held
    while scanning). Only for rules :func:`supported` accepts.

    >>> scan(["ab ab"], PreTokenizer.preset("gpt2"))[3].tolist()
    [1, 1]
    """
    mode = _mode(pretokenizer)
    if mode is None:
        raise ValueError(f"the fast scanner does not reproduce {pretokenizer.describe()}; use PreTokenizer.split")
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=bounds[1:])
    classes, folds = class_tables()
    starts, ends, counts = _scan_count(codes, bounds, classes, folds, mode)
    order = np.argsort(starts, kind="stable")  # first occurrence order: deterministic insertion order
    return codes, starts[order], ends[order], counts[order]


def count_texts(texts: Sequence[str], pretokenizer: PreTokenizer) -> dict[str, int]:
    """Word counts of ``texts`` (each text split on its own), identical to counting ``pretokenizer.split``.

    Falls back to the reference for rules :func:`supported` rejects.

    >>> count_texts(["a a"], PreTokenizer.preset("gpt2"))
    {'a': 1, ' a': 1}
    """
    if _mode(pretokenizer) is None:
        from collections import Counter

        counter: Counter = Counter()
        for text in texts:
            counter.update(pretokenizer.split(text))
        return dict(counter)
    table = WordTable()
    table.add(scan(texts, pretokenizer))
    words, counts = table.take()
    return dict(zip(words, counts.tolist()))


# ----- the numba core --------------------------------------------------------------------------------
@nb.njit(cache=True, nogil=True)
def _run(codes, i, n, classes, mask):
    while i < n and classes[codes[i]] & mask:
        i += 1
    return i

@nb.njit(cache=True, nogil=True)
def _run_other(codes, i, n, classes):  # [^\s\p{L}\p{N}]+
    while i < n and not classes[codes[i]] & 7:
        i += 1
    return i

@nb.njit(cache=True, nogil=True)
def _contraction(codes, i, n, folds, fold_case):
    # '(?:[sdmt]|ll|ve|re) at i, case-insensitive when fold_case; -1 if none
    if codes[i] != 39 or i + 1 >= n:
        return -1
    if fold_case:
        a = folds[codes[i + 1]]
        b = folds[codes[i + 2]] if i + 2 < n else 0
    else:
        c = codes[i + 1]
        a = 1 if c == 115 else 2 if c == 116 else 3 if c == 109 else 4 if c == 100 else \
            5 if c == 114 else 6 if c == 101 else 7 if c == 118 else 8 if c == 108 else 0
        c = codes[i + 2] if i + 2 < n else 0
        b = 6 if c == 101 else 8 if c == 108 else 0
    if 1 <= a <= 4:
        return i + 2
    if (a == 5 and b == 6) or (a == 7 and b == 6) or (a == 8 and b == 8):
        return i + 3
    return -1

@nb.njit(cache=True, nogil=True)
def _body_lower(codes, p, n, classes):
    # [\p{Lu}...\p{M}]*[\p{Ll}...\p{M}]+ from p with the star backtracking; -1 if none
    u = _run(codes, p, n, classes, 8)
    k = u
    while k >= p:
        if k < n and classes[codes[k]] & 16:
            return _run(codes, k, n, classes, 16)
        k -= 1
    return -1

@nb.njit(cache=True, nogil=True)
def _ws_end(codes, i, n, classes, mode):
    j = _run(codes, i, n, classes, 1)
    if mode == 1 and j == n:  # \s++$
        return n
    if mode in (1, 2, 3, 4):  # \s*[\r\n]+ : up to the last line break of the run
        k = j - 1
        while k >= i:
            if codes[k] == 10 or codes[k] == 13:
                return k + 1
            k -= 1
    if j == n:  # \s+(?!\S) at the end
        return n
    if j - i >= 2:  # \s+(?!\S): leave the last space to the next word
        return j - 1
    return i + 1

@nb.njit(cache=True, nogil=True)
def _punctuation_end(codes, i, n, classes, nxt, slash):
    # ` ?[^\s\p{L}\p{N}]+[\r\n]*` (cl100k, llama3) or `...[\r\n/]*` (o200k, tekken, slash) from i; -1 if none
    p = -1
    if codes[i] == 32 and i + 1 < n and not nxt & 7:
        p = i + 1
    elif not classes[codes[i]] & 7:
        p = i
    if p < 0:
        return -1
    j = _run_other(codes, p, n, classes)
    while j < n and (codes[j] == 10 or codes[j] == 13 or (slash and codes[j] == 47)):
        j += 1
    return j

@nb.njit(cache=True, nogil=True)
def _match_end(codes, i, n, classes, folds, mode):
    c = codes[i]
    k = classes[c]
    if mode == 5:
        if k & 1:
            return _ws_end(codes, i, n, classes, mode)
        j = i
        while j < n and not classes[codes[j]] & 1:
            j += 1
        return j
    nxt = classes[codes[i + 1]] if i + 1 < n else 0
    if mode == 0:  # gpt2 / r50k / claude
        e = _contraction(codes, i, n, folds, False)
        if e >= 0:
            return e
        p = i
        if c == 32 and i + 1 < n and not nxt & 1:
            p = i + 1
            k = nxt
        if k & 2:
            return _run(codes, p, n, classes, 2)
        if k & 4:
            return _run(codes, p, n, classes, 4)
        if not k & 1:
            return _run_other(codes, p, n, classes)
        return _ws_end(codes, i, n, classes, mode)
    if mode == 1 or mode == 2:  # cl100k / llama3
        e = _contraction(codes, i, n, folds, True)
        if e >= 0:
            return e
        if k & 2:
            return _run(codes, i, n, classes, 2)
        if c != 10 and c != 13 and not k & 4 and nxt & 2:
            return _run(codes, i + 1, n, classes, 2)
        if k & 4:
            j = _run(codes, i, n, classes, 4)
            return min(j, i + 3)
        e = _punctuation_end(codes, i, n, classes, nxt, False)
        return e if e >= 0 else _ws_end(codes, i, n, classes, mode)
    # o200k (3) / tekken (4)
    prefix = c != 10 and c != 13 and not k & 6
    e = -1
    if prefix and i + 1 < n:
        e = _body_lower(codes, i + 1, n, classes)
    if e < 0:
        e = _body_lower(codes, i, n, classes)
    if e < 0:
        if prefix and i + 1 < n and nxt & 8:
            e = _run(codes, _run(codes, i + 1, n, classes, 8), n, classes, 16)
        elif k & 8:
            e = _run(codes, _run(codes, i, n, classes, 8), n, classes, 16)
    if e >= 0:
        if mode == 3 and e < n:
            f = _contraction(codes, e, n, folds, True)
            if f >= 0:
                return f
        return e
    if k & 4:
        j = _run(codes, i, n, classes, 4)
        return min(j, i + (3 if mode == 3 else 1))
    e = _punctuation_end(codes, i, n, classes, nxt, True)
    return e if e >= 0 else _ws_end(codes, i, n, classes, mode)

@nb.njit(cache=True, nogil=True)
def _same(codes, a, b, length):
    for t in range(length):
        if codes[a + t] != codes[b + t]:
            return False
    return True

@nb.njit(cache=True, nogil=True)
def _hash(codes, start, end):
    # FNV-1a over the code points, folded to a non-negative int64
    h = np.uint64(14695981039346656037)
    for t in range(start, end):
        h = (h ^ np.uint64(codes[t])) * np.uint64(1099511628211)
    h ^= h >> np.uint64(31)
    return np.int64(h >> np.uint64(1))

@nb.njit(cache=True, nogil=True)
def _scan_count(codes, bounds, classes, folds, mode):
    # open addressing, one row per slot (first start + 1, length, hash, count): one cache line per probe
    capacity = 1 << 16
    table = np.zeros((capacity, 4), np.int64)
    used = 0
    for d in range(len(bounds) - 1):
        i = bounds[d]
        n = bounds[d + 1]
        while i < n:
            e = _match_end(codes, i, n, classes, folds, mode)
            key = _hash(codes, i, e)
            mask = capacity - 1
            s = key & mask
            length = e - i
            while True:
                if table[s, 0] == 0:
                    table[s, 0] = i + 1
                    table[s, 1] = length
                    table[s, 2] = key
                    table[s, 3] = 1
                    used += 1
                    break
                if table[s, 2] == key and table[s, 1] == length and _same(codes, table[s, 0] - 1, i, length):
                    table[s, 3] += 1
                    break
                s = (s + 1) & mask
            if 2 * used > capacity:  # grow and reinsert
                table = _grown(table)
                capacity = table.shape[0]
                mask = capacity - 1
            i = e
    keep = table[:, 0] > 0
    kept = table[keep]
    return kept[:, 0] - 1, kept[:, 0] - 1 + kept[:, 1], kept[:, 3]


@nb.njit(cache=True, nogil=True)
def _grown(table):
    # the hash table (slot: start + 1, length, key, count) at twice the size, every entry reinserted
    capacity = 2 * table.shape[0]
    mask = capacity - 1
    grown = np.zeros((capacity, 4), np.int64)
    for old in range(table.shape[0]):
        if table[old, 0]:
            t = table[old, 2] & mask
            while grown[t, 0]:
                t = (t + 1) & mask
            grown[t, :] = table[old, :]
    return grown


@nb.njit(cache=True, nogil=True)
def _merge(arena, arena_used, table, used, codes, starts, ends, counts):
    # add one batch's unique words (spans of codes) to the running table; words live in the arena
    capacity = table.shape[0]
    for w in range(len(starts)):
        i = starts[w]
        length = ends[w] - i
        key = _hash(codes, i, i + length)
        mask = capacity - 1
        s = key & mask
        while True:
            if table[s, 0] == 0:
                if arena_used + length > len(arena):
                    grown_arena = np.zeros(max(2 * len(arena), arena_used + length), np.uint32)
                    grown_arena[:arena_used] = arena[:arena_used]
                    arena = grown_arena
                arena[arena_used:arena_used + length] = codes[i:i + length]
                table[s, 0] = arena_used + 1
                table[s, 1] = length
                table[s, 2] = key
                table[s, 3] = counts[w]
                arena_used += length
                used += 1
                break
            if table[s, 2] == key and table[s, 1] == length:
                a = table[s, 0] - 1
                equal = True
                for t in range(length):
                    if arena[a + t] != codes[i + t]:
                        equal = False
                        break
                if equal:
                    table[s, 3] += counts[w]
                    break
            s = (s + 1) & mask
        if 2 * used > capacity:
            table = _grown(table)
            capacity = table.shape[0]
    return arena, arena_used, table, used


@nb.njit(cache=True)
def _rows(table):
    # (arena start, length, count) of every word in the table, in slot order
    n = 0
    for s in range(table.shape[0]):
        if table[s, 0]:
            n += 1
    starts = np.empty(n, np.int64)
    lengths = np.empty(n, np.int64)
    counts = np.empty(n, np.int64)
    n = 0
    for s in range(table.shape[0]):
        if table[s, 0]:
            starts[n] = table[s, 0] - 1
            lengths[n] = table[s, 1]
            counts[n] = table[s, 3]
            n += 1
    return starts, lengths, counts


@nb.njit(cache=True)
def _heads(arena, starts, lengths, words, depth):
    # code points depth..depth+2 of each word as one key, (c + 1) in 21 bits each, 0 past the end
    keys = np.zeros(len(words), np.int64)
    for r in range(len(words)):
        w = words[r]
        for t in range(depth, depth + 3):
            keys[r] <<= 21
            if t < lengths[w]:
                keys[r] |= np.int64(arena[starts[w] + t]) + 1
    return keys


@nb.njit(cache=True)
def _code_point_order(arena, starts, lengths):
    # the permutation sorting the words (spans of the arena) as Python sorts str: most significant three
    # code points first, then each group of equal keys (words alike so far) on the next three
    order = np.arange(len(starts))
    groups = [(0, len(starts), 0)]
    while groups:
        lo, hi, depth = groups.pop()
        keys = _heads(arena, starts, lengths, order[lo:hi], depth)
        by_key = np.argsort(keys)
        order[lo:hi] = order[lo:hi][by_key]
        keys = keys[by_key]
        first = 0
        for r in range(1, hi - lo + 1):
            if r == hi - lo or keys[r] != keys[first]:
                if r - first > 1 and keys[first] & 0x1FFFFF:  # else the words ended alike: equal, never here
                    groups.append((lo + first, lo + r, depth + 3))
                first = r
    return order
