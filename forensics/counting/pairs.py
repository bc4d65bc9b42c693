"""Adjacent-pair counting over documents: byte pairs (dense) and token pairs (sparse), CPU or GPU.

What it does: :func:`count_pairs` counts every adjacent pair inside each document (never across two)
of files (a plain text file is one document, a JSONL record or Parquet row is one), of in-memory texts,
or of token-id arrays with document offsets, and returns a :class:`PairCounts`.

- Byte pairs are over the UTF-8 bytes of each document: the raw bytes of a plain text file (invalid
  UTF-8 is counted as it is; large files stream in batches with the last byte carried over; a file
  that looks binary is skipped, see ``include_binary``), and the UTF-8 encoding of each JSONL/Parquet
  text. Keys are ``first << 8 | second``, 65,536 possible.
- Token pairs are over token ids (a tokenizer file, or ids you pass); keys are ``a << 32 | b``.
- Counts are uint64. ``device="auto"`` uses a GPU when CuPy sees one and the CPU (numba, all cores)
  otherwise.

This module is the entry point: it checks the request and hands each input form to one small function.
The work is in ``pair_inputs.py`` (files and texts to documents), ``pair_batches.py`` (documents to
batches), ``pair_backends.py`` (CPU/GPU backends) and ``pair_tokenizers.py`` (the HF tokenizer adapter);
their public names are re-exported here.

What it leaves out: tokenizer training, pairs at a distance > 1, anything about which pairs matter.
``pairs_reference.py`` defines the same counts in plain Python.

>>> counts = count_pairs(texts=["abab", "ba"])
>>> counts.get(ord("b"), ord("a")), counts.total_pairs
(2, 4)
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from forensics.corpus.readers import Compression, Format, OnError, ReadStats, expand_inputs
from forensics.counting.pair_backends import CpuBackend, Device, resolve_backend
from forensics.counting.pair_batches import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_BATCH_TOKENS,
    as_token_ids,
    check_offsets,
    count_byte_array,
    count_token_array,
    count_token_stream,
    document_count,
    pack_bytes,
)
from forensics.counting.pair_inputs import file_byte_documents, file_token_documents, text_documents
from forensics.counting.pair_tokenizers import encode_texts, load_pair_tokenizer, token_text
from forensics.errors import ForensicsError

__all__ = [
    "DEFAULT_BATCH_BYTES", "DEFAULT_BATCH_TOKENS", "CpuBackend", "Device", "Kind", "PairCounts",
    "count_pairs", "count_token_stream", "encode_texts", "load_pair_tokenizer", "pack_bytes",
    "resolve_backend", "token_text",
]

Kind = Literal["bytes", "tokens"]

# Reading sizes. count_pairs reads them from this module at call time and passes them down.
# Plain text files are tokenized in blocks of about this size, cut where no pre-tokenized word spans the cut.
TEXT_BLOCK_BYTES = 1 << 20
# Large uncompressed files are read by up to this many threads at once, in pieces of at least 8 MiB.
READ_THREADS = min(8, os.cpu_count() or 1)
_PARALLEL_READ_PIECE = 8 << 20
# The CPU counts uncompressed text files at least this large in place, memory-mapped (no copy).
MAP_MIN_BYTES = 16 << 20


@dataclass
class PairCounts:
    """Pair counts: sorted distinct ``keys`` (uint64) and their ``counts`` (uint64).

    A byte pair's key is ``first << 8 | second``, a token pair's ``a << 32 | b``. Counts from separate
    runs merge with ``+``.

    >>> c = count_pairs(texts="aaab"); c.top(1)
    [(97, 97, 2)]
    """

    kind: Kind
    keys: np.ndarray
    counts: np.ndarray
    documents: int = 0
    input_bytes: int = 0
    tokens: int = 0
    device: str = "cpu"
    seconds: float = 0.0
    read_stats: ReadStats = field(default_factory=ReadStats)

    @property
    def total_pairs(self) -> int:
        return int(self.counts.sum(dtype=np.uint64))

    @property
    def distinct_pairs(self) -> int:
        return int(self.keys.size)

    @property
    def _shift(self) -> np.uint64:
        return np.uint64(8 if self.kind == "bytes" else 32)

    def split(self, key: int) -> tuple[int, int]:
        """The two items of a key.

        >>> count_pairs(texts="ab").split(0x6162)
        (97, 98)
        """
        shift = int(self._shift)
        return int(key) >> shift, int(key) & ((1 << shift) - 1)

    def get(self, a: int, b: int) -> int:
        """How often the pair ``(a, b)`` occurs (0 when never)."""
        key = np.uint64((int(a) << int(self._shift)) | int(b))
        i = int(np.searchsorted(self.keys, key))
        return int(self.counts[i]) if i < self.keys.size and self.keys[i] == key else 0

    def top(self, k: int = 20) -> list[tuple[int, int, int]]:
        """The ``k`` most frequent pairs as ``(a, b, count)``, ties broken by key.

        >>> count_pairs(texts="abab").top(1)
        [(97, 98, 2)]
        """
        if k <= 0 or not self.keys.size:
            return []
        # lexsort sorts by its last key first; ~count (uint64) ascending is count descending, exactly.
        order = np.lexsort((self.keys, ~self.counts.astype(np.uint64)))
        return [(*self.split(self.keys[i]), int(self.counts[i])) for i in order[:k]]

    def histogram(self) -> np.ndarray:
        """Dense 65,536-bin uint64 histogram (byte pairs only).

        >>> int(count_pairs(texts="ab").histogram()[0x6162])
        1
        """
        if self.kind != "bytes":
            raise ValueError("histogram() is for byte pairs; token pairs are sparse (keys, counts)")
        hist = np.zeros(1 << 16, np.uint64)
        hist[self.keys.astype(np.int64)] = self.counts
        return hist

    def __add__(self, other: "PairCounts") -> "PairCounts":
        if self.kind != other.kind:
            raise ValueError(f"cannot add {self.kind} pairs to {other.kind} pairs")
        from forensics.counting._pairs_numba import merge_counts

        keys, counts = merge_counts(self.keys, self.counts, other.keys, other.counts)
        return PairCounts(self.kind, keys, counts, self.documents + other.documents,
                          self.input_bytes + other.input_bytes, self.tokens + other.tokens,
                          self.device if self.device == other.device else f"{self.device}+{other.device}",
                          self.seconds + other.seconds, self.read_stats + other.read_stats)


def count_pairs(inputs: Sequence[str | os.PathLike] | str | os.PathLike | None = None, *,
                texts: str | bytes | Sequence[str | bytes] | np.ndarray | None = None,
                token_ids: np.ndarray | Sequence[Sequence[int]] | None = None,
                offsets: np.ndarray | Sequence[int] | None = None,
                kind: Kind | None = None, tokenizer: Any = None, device: Device = "auto",
                format: Format = "infer", text_key: str = "text", compression: Compression = "infer",
                glob_pattern: str | None = None, on_error: OnError = "skip", threads: int | None = None,
                batch_bytes: int = DEFAULT_BATCH_BYTES, batch_tokens: int = DEFAULT_BATCH_TOKENS,
                backend: Any = None, follow_links: bool = False, include_binary: bool = False) -> PairCounts:
    """Count adjacent pairs inside each document; give exactly one of ``inputs``, ``texts``, ``token_ids``.

    - ``inputs``: files, directories or globs (text, JSONL, Parquet; gz/zst).
    - ``texts``: one text (str/bytes), a list of them (one document each), or a uint8 array with
      ``offsets`` (document start positions; a final ``len`` is allowed).
    - ``token_ids``: a list of id sequences, or a 1-D integer array with ``offsets``.

    ``kind`` defaults to ``"tokens"`` when ``tokenizer`` or ``token_ids`` is given, else ``"bytes"``.
    Text files that look binary are skipped unless ``include_binary``; ``follow_links`` is
    :func:`~forensics.corpus.readers.expand_inputs`'s. What reading skipped is in ``read_stats``.
    ``seconds`` in the result is the wall time from opening the first input to the final counts.

    >>> count_pairs(token_ids=[[5, 6, 5, 6], [6, 5]]).top(2)
    [(5, 6, 2), (6, 5, 2)]
    """
    kind = _check_request(inputs, texts, token_ids, kind, tokenizer, batch_bytes, batch_tokens)
    stats = ReadStats()
    paths = _input_paths(inputs, glob_pattern=glob_pattern, follow_links=follow_links, stats=stats)
    backend = backend or resolve_backend(device, threads=threads)
    tok = load_pair_tokenizer(tokenizer) if kind == "tokens" and tokenizer is not None else None
    read = dict(format=format, text_key=text_key, compression=compression, on_error=on_error,
                include_binary=include_binary)
    started = time.perf_counter()
    if isinstance(token_ids, np.ndarray):
        result = _token_pairs_of_id_array(token_ids, offsets, backend, stats, batch_tokens=batch_tokens)
    elif token_ids is not None:
        result = _token_pairs_of_id_lists(token_ids, offsets, backend, stats, batch_tokens=batch_tokens)
    elif kind == "tokens" and texts is not None:
        result = _token_pairs_of_texts(texts, tok, backend, stats, batch_tokens=batch_tokens)
    elif kind == "tokens":
        result = _token_pairs_of_files(paths, tok, backend, stats, batch_bytes=batch_bytes,
                                       batch_tokens=batch_tokens, **read)
    elif isinstance(texts, np.ndarray):
        result = _byte_pairs_of_array(texts, offsets, backend, stats, batch_bytes=batch_bytes)
    elif texts is not None:
        result = _byte_pairs_of_texts(texts, backend, stats, batch_bytes=batch_bytes)
    else:
        result = _byte_pairs_of_files(paths, backend, stats, batch_bytes=batch_bytes, **read)
    result.seconds = time.perf_counter() - started
    result.read_stats = stats
    return result


def _check_request(inputs, texts, token_ids, kind: Kind | None, tokenizer, batch_bytes: int,
                   batch_tokens: int) -> Kind:
    """The kind of pairs to count, after checking that the arguments of count_pairs fit together."""
    if sum(x is not None for x in (inputs, texts, token_ids)) != 1:
        raise ForensicsError("give exactly one of inputs (paths), texts or token_ids")
    kind = kind or ("tokens" if tokenizer is not None or token_ids is not None else "bytes")
    if kind not in ("bytes", "tokens"):
        raise ForensicsError(f"unknown kind '{kind}'; use bytes or tokens")
    if kind == "bytes" and token_ids is not None:
        raise ForensicsError("token_ids give token pairs; drop kind='bytes'")
    if kind == "tokens" and token_ids is None and tokenizer is None:
        raise ForensicsError("token pairs of text need a tokenizer (a tokenizer.json path); "
                             "or use kind='bytes'")
    if batch_bytes < 2 or batch_tokens < 2:
        raise ForensicsError(f"batch sizes must be at least 2 (batch_bytes={batch_bytes}, "
                             f"batch_tokens={batch_tokens})")
    return kind


def _input_paths(inputs, *, glob_pattern: str | None, follow_links: bool, stats: ReadStats) -> list[Path]:
    if inputs is None:
        return []
    paths = expand_inputs(inputs, glob_pattern=glob_pattern, follow_links=follow_links, stats=stats)
    if not paths:
        raise ForensicsError(f"no input files found in {inputs}; check the path")
    return paths


# --- one function per kind and input form ----------------------------------------------------------

def _byte_result(hist: np.ndarray, stats: ReadStats, backend) -> PairCounts:
    keys = np.flatnonzero(hist).astype(np.uint64)
    return PairCounts("bytes", keys, hist[keys.astype(np.int64)], documents=stats.documents,
                      input_bytes=stats.bytes, device=backend.name)


def _byte_pairs_of_array(data: np.ndarray, offsets, backend, stats: ReadStats, *,
                         batch_bytes: int) -> PairCounts:
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ForensicsError("a texts array must be 1-D uint8 (UTF-8 bytes); token ids go in token_ids")
    data = np.ascontiguousarray(data)
    starts = check_offsets(offsets, data.size)
    hist = count_byte_array(data, starts, backend, batch_bytes)
    stats.documents = document_count(starts, data.size)
    stats.bytes = int(data.size)
    return _byte_result(hist, stats, backend)


def _byte_pairs_of_texts(texts, backend, stats: ReadStats, *, batch_bytes: int) -> PairCounts:
    documents = text_documents(texts)
    stats.documents = len(documents)
    return _byte_result(pack_bytes(documents, backend.byte_sink(batch_bytes), stats=stats), stats, backend)


def _byte_pairs_of_files(paths: list[Path], backend, stats: ReadStats, *, batch_bytes: int,
                         **read: Any) -> PairCounts:
    with ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="read") as pool:
        documents = file_byte_documents(paths, stats=stats, pool=pool if READ_THREADS > 1 else None,
                                        read_threads=READ_THREADS, read_piece=_PARALLEL_READ_PIECE,
                                        map_files=getattr(backend, "maps_files", False),
                                        map_min_bytes=MAP_MIN_BYTES, **read)
        hist = pack_bytes(documents, backend.byte_sink(batch_bytes), stats=stats)
    return _byte_result(hist, stats, backend)


def _token_result(keys: np.ndarray, counts: np.ndarray, tokens: int, documents: int, stats: ReadStats,
                  backend) -> PairCounts:
    return PairCounts("tokens", keys, counts, documents=documents, input_bytes=stats.bytes, tokens=tokens,
                      device=backend.name)


def _token_pairs_of_id_array(token_ids: np.ndarray, offsets, backend, stats: ReadStats, *,
                             batch_tokens: int) -> PairCounts:
    ids = as_token_ids(token_ids)
    starts = check_offsets(offsets, ids.size)
    keys, counts = count_token_array(ids, starts, backend, batch_tokens)
    return _token_result(keys, counts, int(ids.size), document_count(starts, ids.size), stats, backend)


def _token_pairs_of_id_lists(token_ids: Sequence[Sequence[int]], offsets, backend, stats: ReadStats, *,
                             batch_tokens: int) -> PairCounts:
    if offsets is not None:
        raise ForensicsError("offsets go with a flat token_ids array, not a list of id lists")
    stream = ((as_token_ids(np.asarray(doc, dtype=np.int64)), False) for doc in token_ids)
    return _token_result(*count_token_stream(stream, backend, batch_tokens=batch_tokens), stats, backend)


def _token_pairs_of_texts(texts, tokenizer, backend, stats: ReadStats, *, batch_tokens: int) -> PairCounts:
    # A uint8 array is one document here (its offsets are not used).
    docs = text_documents(texts) if not isinstance(texts, np.ndarray) else [texts.tobytes()]
    stats.bytes = sum(len(d) for d in docs)
    stream = ((ids, False) for ids in encode_texts(tokenizer, [d.decode("utf-8", "replace") for d in docs]))
    return _token_result(*count_token_stream(stream, backend, batch_tokens=batch_tokens), stats, backend)


def _token_pairs_of_files(paths: list[Path], tokenizer, backend, stats: ReadStats, *, batch_bytes: int,
                          batch_tokens: int, **read: Any) -> PairCounts:
    stream = file_token_documents(paths, tokenizer, stats=stats, batch_bytes=batch_bytes,
                                  block_bytes=TEXT_BLOCK_BYTES, **read)
    return _token_result(*count_token_stream(stream, backend, batch_tokens=batch_tokens), stats, backend)
