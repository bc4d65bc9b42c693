"""Merge replay: exact per-step pair counts of one category sample under a tokenizer's merge list.

For step t (0-based: merge t is applied at step t), the count of pair p after the first t merges is
``initial[p] + sum of deltas of p at steps < t``. A :class:`PairTrace` stores the initial pair counts,
the count of each step's merged pair just before it is applied, and the per-step changes, as numpy
arrays (``.npz`` on disk) - never a dense steps x pairs matrix.

What it leaves out: the linear program (see :mod:`forensics.inference`).

>>> trace = replay_merges(word_counts, tokenizer, merges=3000)  # doctest: +SKIP
>>> trace.merged_count[:3]  # doctest: +SKIP
array([41234, 39876, 30211])
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from forensics.bpe.model import Tokenizer
from forensics.counting.words import WordCounts

Engine = Literal["numba", "reference"]
TRACE_FORMAT = 1


@dataclass
class PairTrace:
    """Initial pair counts plus per-step changes for one category (see module docstring)."""

    name: str
    merges: np.ndarray          # (T, 3) int64: left id, right id, new id
    merged_count: np.ndarray    # (T,) int64: count of merge t's pair just before step t
    initial_keys: np.ndarray    # sorted int64 pair keys (left << 32 | right) at step 0
    initial_counts: np.ndarray  # int64
    delta_step: np.ndarray      # int32, non-decreasing
    delta_key: np.ndarray       # int64
    delta_value: np.ndarray     # int64 (never 0)
    total_bytes: int = 0
    total_words: int = 0
    unique_words: int = 0
    documents: int = 0
    invalid_utf8_sequences: int = 0
    seconds: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def num_steps(self) -> int:
        return int(self.merges.shape[0])

    @property
    def total_pairs(self) -> int:
        """Pairs at step 0 (the normaliser of the paper's counts)."""
        return int(self.initial_counts.sum())

    @property
    def bytes_per_pair(self) -> float:
        return self.total_bytes / self.total_pairs if self.total_pairs else float("nan")

    @property
    def unseen_merges(self) -> np.ndarray:
        """Steps whose merged pair never occurs in this sample at that point."""
        return np.flatnonzero(self.merged_count == 0)

    def count_at(self, left: int, right: int, step: int) -> int:
        """Count of pair (left, right) after the first ``step`` merges.

        >>> trace.count_at(220, 83, 0)  # doctest: +SKIP
        1523
        """
        key = (left << 32) | right
        pos = np.searchsorted(self.initial_keys, key)
        base = int(self.initial_counts[pos]) if pos < len(self.initial_keys) and self.initial_keys[pos] == key else 0
        end = np.searchsorted(self.delta_step, step, side="left")
        mask = self.delta_key[:end] == key
        return base + int(self.delta_value[:end][mask].sum())

    def counts_at(self, step: int) -> dict[int, int]:
        """All nonzero pair counts after the first ``step`` merges (slow; for tests and small samples)."""
        counts = dict(zip(self.initial_keys.tolist(), self.initial_counts.tolist()))
        end = np.searchsorted(self.delta_step, step, side="left")
        for key, value in zip(self.delta_key[:end].tolist(), self.delta_value[:end].tolist()):
            counts[key] = counts.get(key, 0) + value
        return {k: v for k, v in counts.items() if v}

    def save(self, path: str | os.PathLike) -> None:
        """Write the trace as ``.npz`` atomically."""
        from forensics._results import atomic_write_bytes

        meta = {"format": TRACE_FORMAT, "name": self.name, "total_bytes": self.total_bytes,
                "total_words": self.total_words, "unique_words": self.unique_words, "documents": self.documents,
                "invalid_utf8_sequences": self.invalid_utf8_sequences, "seconds": self.seconds, "meta": self.meta}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, merges=self.merges, merged_count=self.merged_count,
                            initial_keys=self.initial_keys, initial_counts=self.initial_counts,
                            delta_step=self.delta_step, delta_key=self.delta_key, delta_value=self.delta_value,
                            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PairTrace":
        with np.load(path) as data:
            meta = json.loads(data["meta"].tobytes())
            if meta.pop("format", None) != TRACE_FORMAT:
                raise ValueError(f"{path}: trace of another format version")
            arrays = {k: data[k].copy() for k in ("merges", "merged_count", "initial_keys", "initial_counts",
                                                   "delta_step", "delta_key", "delta_value")}
        return cls(**arrays, **meta)

    def truncated(self, steps: int) -> "PairTrace":
        """The same trace limited to the first ``steps`` merges.

        >>> trace.truncated(100).num_steps  # doctest: +SKIP
        100
        """
        end = int(np.searchsorted(self.delta_step, steps, side="left"))
        return PairTrace(self.name, self.merges[:steps], self.merged_count[:steps], self.initial_keys,
                         self.initial_counts, self.delta_step[:end], self.delta_key[:end], self.delta_value[:end],
                         self.total_bytes, self.total_words, self.unique_words, self.documents,
                         self.invalid_utf8_sequences, self.seconds, dict(self.meta))


def encode_words(words: list[str], tokenizer: Tokenizer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat int32 base-symbol ids of every word (as ``tokenizer.initial_ids``), with start offsets and lengths.

    Each distinct character is looked up once (a word's ids are its characters' ids in a row); the words
    go through as code points, a block at a time, so no Python object is made per word or per symbol.

    >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
    >>> [part.tolist() for part in encode_words(["hi", "é"], tok)]
    [[71, 72, 127, 102], [0, 2], [2, 2]]
    """
    from forensics.counting._numba import fill_symbols, mark_code_points, symbol_lengths

    present = np.zeros(0x110000, dtype=np.bool_)
    for codes, _ in _code_blocks(words):
        mark_code_points(codes, present)
    alphabet = np.flatnonzero(present)
    del present
    ids = [tokenizer.initial_ids(chr(c)) for c in alphabet.tolist()]
    sizes = np.array([len(one) for one in ids], dtype=np.int64)
    per_char = np.zeros(0x110000, dtype=np.int32)  # ids per code point, and where they start in char_ids
    per_char[alphabet] = sizes
    char_start = np.zeros(0x110000, dtype=np.int64)
    char_start[alphabet] = np.cumsum(sizes) - sizes
    char_ids = np.fromiter((i for one in ids for i in one), dtype=np.int32, count=int(sizes.sum()))
    lengths = np.zeros(len(words), dtype=np.int64)
    for first, (codes, chars) in zip(range(0, len(words), _BLOCK), _code_blocks(words)):
        symbol_lengths(codes, chars, per_char, lengths, first)
    starts = np.zeros(len(words), dtype=np.int64)
    if len(words) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    symbols = np.empty(int(lengths.sum()), dtype=np.int32)
    at = 0
    for codes, _ in _code_blocks(words):
        at = fill_symbols(codes, per_char, char_start, char_ids, symbols, at)
    return symbols, starts, lengths


_BLOCK = 1 << 16  # words per block in encode_words


def _code_blocks(words: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Code points (uint32) of each block of ``_BLOCK`` words, and each word's number of characters."""
    for first in range(0, len(words), _BLOCK):
        block = words[first:first + _BLOCK]
        codes = np.frombuffer("".join(block).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        yield codes, np.fromiter(map(len, block), dtype=np.int64, count=len(block))


def replay_merges(word_counts: WordCounts, tokenizer: Tokenizer, *, merges: int | None = None,
                  engine: Engine = "numba", name: str = "") -> PairTrace:
    """Replay the first ``merges`` merges of ``tokenizer`` on ``word_counts``.

    >>> trace = replay_merges(count_words(["a.txt"], pretokenizer=tok.training_pretokenizer), tok)  # doctest: +SKIP
    """
    started = time.perf_counter()
    table = tokenizer.merge_table()
    if merges is not None:
        table = table[:merges]
    counts = np.asarray(word_counts.counts, dtype=np.int64)
    if engine == "reference":  # every step from the words themselves, nothing shared with the numba engine
        from forensics.counting.reference import replay_reference

        words = [tokenizer.initial_ids(word) for word in word_counts.words]
        result = replay_reference(words, counts.tolist(), [tuple(m) for m in table.tolist()])
        initial_keys = np.array(sorted(result["initial"]), dtype=np.int64)
        initial_counts = np.array([result["initial"][key] for key in initial_keys.tolist()], dtype=np.int64)
        merged_count = np.array(result["merged_count"], dtype=np.int64)
        steps, keys, values = [], [], []
        for t, change in enumerate(result["deltas"]):
            for key in sorted(change):
                steps.append(t)
                keys.append(key)
                values.append(change[key])
        delta_step = np.array(steps, dtype=np.int32)
        delta_key = np.array(keys, dtype=np.int64)
        delta_value = np.array(values, dtype=np.int64)
    else:
        from forensics.counting._numba import initial_pair_counts, replay_kernel

        symbols, starts, lengths = encode_words(word_counts.words, tokenizer)
        initial_keys, initial_counts = initial_pair_counts(symbols, starts, lengths, counts)
        pair_keys = (table[:, 0] << 32) | table[:, 1]
        # first step of each distinct merge pair, sorted by key for binary search
        unique_keys, first_steps = np.unique(pair_keys, return_index=True)
        # symbols and lengths are the kernel's to shrink: nothing else reads them
        merged_count, delta_step, delta_key, delta_value = replay_kernel(
            symbols, starts, lengths, counts, np.ascontiguousarray(table), unique_keys,
            first_steps.astype(np.int64))
    return PairTrace(
        name=name, merges=table, merged_count=merged_count, initial_keys=initial_keys,
        initial_counts=initial_counts, delta_step=delta_step, delta_key=delta_key, delta_value=delta_value,
        total_bytes=word_counts.bytes, total_words=word_counts.total_words, unique_words=word_counts.unique_words,
        documents=word_counts.documents, invalid_utf8_sequences=word_counts.invalid_utf8_sequences,
        seconds=time.perf_counter() - started,
    )
