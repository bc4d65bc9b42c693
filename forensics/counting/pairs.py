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

What it leaves out: tokenizer training, pairs at a distance > 1, anything about which pairs matter.
``pairs_reference.py`` defines the same counts in plain Python.

>>> counts = count_pairs(texts=["abab", "ba"])
>>> counts.get(ord("b"), ord("a")), counts.total_pairs
(2, 4)
"""

from __future__ import annotations

import io
import mmap
import os
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from forensics.corpus.readers import (
    Compression,
    Format,
    OnError,
    ReadStats,
    binary_reason,
    detect_format,
    expand_inputs,
    iter_documents,
    iter_file_documents,
    open_binary,
    read_head,
)
from forensics.errors import ForensicsError, input_error

Kind = Literal["bytes", "tokens"]
Device = Literal["auto", "cpu", "gpu"]

DEFAULT_BATCH_BYTES = 64 << 20
DEFAULT_BATCH_TOKENS = 16 << 20
# Plain text files are tokenized in blocks of about this size, cut where no pre-tokenized word spans the cut.
TEXT_BLOCK_BYTES = 1 << 20
_MERGE_EVERY = 16
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


# --- backends --------------------------------------------------------------------------------------

class CpuBackend:
    """numba kernels on all (or ``threads``) cores; one count at a time (it reuses its batch buffers)."""

    name = "cpu"
    maps_files = True  # large plain files are counted in place (see _MappedFile)

    def __init__(self, *, threads: int | None = None) -> None:
        from forensics.counting import _pairs_numba

        self._numba = _pairs_numba
        self.threads = threads
        self._buffers: dict[int, list[np.ndarray]] = {}
        # Load (or compile) the kernels now so that timings exclude start-up.
        _pairs_numba.byte_pair_histogram(np.zeros(64, np.uint8), np.array([3]), threads=1)
        _pairs_numba.token_pair_counts(np.arange(8, dtype=np.uint32), np.array([3]), threads=1)
        _pairs_numba.merge_many([_pairs_numba.run_lengths(np.zeros(2, np.uint64))] * 2)

    def byte_sink(self, capacity: int):
        if capacity not in self._buffers:
            self._buffers = {capacity: [np.empty(capacity, np.uint8) for _ in range(2)]}
        return self._numba.CpuByteSink(capacity, threads=self.threads, buffers=self._buffers[capacity])

    def byte_histogram(self, data: np.ndarray, starts) -> np.ndarray:
        return self._numba.byte_pair_histogram(data, starts, threads=self.threads)

    def token_pairs(self, ids: np.ndarray, starts) -> tuple[np.ndarray, np.ndarray]:
        return self._numba.token_pair_counts(ids, starts, threads=self.threads)


def resolve_backend(device: Device = "auto", *, threads: int | None = None):
    """The backend for ``device``: ``auto`` is the GPU when CuPy sees one, else the CPU.

    >>> resolve_backend("cpu").name
    'cpu'
    """
    if device == "cpu":
        return CpuBackend(threads=threads)
    if device not in ("gpu", "auto"):
        raise ForensicsError(f"unknown device '{device}'; use one of: auto, cpu, gpu")
    from forensics.counting import _pairs_cupy

    if device == "auto" and not _pairs_cupy.gpu_available():
        return CpuBackend(threads=threads)
    return _pairs_cupy.GpuBackend(_pairs_cupy.CupyDevice())


# --- byte documents --------------------------------------------------------------------------------

def _record_damage(stats: ReadStats, source: str, exc: BaseException, on_error: OnError) -> None:
    stats.skipped_files += 1
    stats.problem(f"{source}: unreadable or truncated shard ({exc or type(exc).__name__});"
                  f" bytes read before the damage were counted", on_error=on_error)


class _GuardedReader:
    """A shard handle whose read errors (truncated gzip/zstd) are recorded instead of raised.

    ``prefix`` holds bytes already read from the handle (to sniff them); they come first.
    """

    def __init__(self, handle: BinaryIO, source: str, stats: ReadStats, on_error: OnError, *,
                 prefix: bytes = b"") -> None:
        self.handle, self.source, self.stats, self.on_error = handle, source, stats, on_error
        self.prefix = memoryview(prefix)

    def readinto(self, view: memoryview) -> int:
        if len(self.prefix):
            n = min(len(view), len(self.prefix))
            view[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        try:
            return self.handle.readinto(view) or 0
        except (EOFError, zlib.error, OSError) + _zstd_errors() as exc:
            _record_damage(self.stats, self.source, exc, self.on_error)
            return 0


class _ParallelFileReader:
    """Reads an uncompressed file with several ``os.preadv`` calls at once (they release the GIL).

    One thread copying from the page cache reaches a few GB/s, below a GPU's host-to-device copy;
    splitting each read over threads lifts that limit.
    """

    def __init__(self, handle: BinaryIO, pool, threads: int) -> None:
        self.fd = handle.fileno()
        self.size = os.fstat(self.fd).st_size
        self.offset = 0
        self.pool, self.threads = pool, threads

    def _read_exactly(self, view: memoryview, offset: int) -> int:
        done = 0
        while done < len(view):
            got = os.preadv(self.fd, [view[done:]], offset + done)
            if not got:
                break
            done += got
        return done

    def readinto(self, view: memoryview) -> int:
        n = min(len(view), self.size - self.offset)
        if n <= 0:
            return 0
        parts = max(1, min(self.threads, n // _PARALLEL_READ_PIECE))
        bounds = [n * i // parts for i in range(parts + 1)]
        jobs = [(view[a:b], self.offset + a) for a, b in zip(bounds[:-1], bounds[1:])]
        got = sum(self.pool.map(lambda job: self._read_exactly(*job), jobs)) if parts > 1 else \
            self._read_exactly(*jobs[0])
        self.offset += got
        return got


class _MappedFile:
    """A whole uncompressed file as a read-only memory map, counted in place (no copy).

    Only for sinks that take whole documents (the CPU); the file must not shrink while it is counted.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self.map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if hasattr(mmap, "MADV_SEQUENTIAL"):
            self.map.madvise(mmap.MADV_SEQUENTIAL)
        self.array = np.frombuffer(self.map, np.uint8)


def _zstd_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard

        return (zstandard.ZstdError,)
    except ImportError:  # pragma: no cover
        return ()


def _file_byte_documents(paths: list[Path], *, format: Format, text_key: str, compression: Compression,
                         stats: ReadStats, on_error: OnError, pool=None, read_threads: int = 1,
                         map_files: bool = False, include_binary: bool = False,
                         ) -> Iterator[bytes | _GuardedReader | _ParallelFileReader]:
    for path in paths:
        kind = detect_format(path) if format == "infer" else format
        if kind != "text":
            counted = stats.bytes
            try:
                for doc in iter_file_documents(path, format=kind, text_key=text_key, compression=compression,
                                               stats=stats, on_error=on_error):
                    yield doc.text.encode("utf-8", "surrogatepass")
            finally:
                stats.bytes = counted  # pack_bytes counts the bytes it packs; the reader counted them too
            continue
        stats.files += 1
        source = os.fspath(path)
        try:
            handle = open_binary(path, compression=compression)
        except EOFError as exc:  # an empty compressed file
            _record_damage(stats, source, exc, on_error)
            continue
        except OSError as exc:
            raise input_error(path, f"cannot open ({exc.strerror or exc})", "check the path") from None
        with handle:
            plain = type(handle) is io.BufferedReader
            try:
                head = read_head(handle)
            except (EOFError, zlib.error, OSError) + _zstd_errors() as exc:
                _record_damage(stats, source, exc, on_error)
                continue
            if plain:
                handle.seek(0)  # the mapped and parallel readers start at 0 anyway
            reason = None if include_binary else binary_reason(head)
            if reason:
                stats.binary_files += 1
                stats.skipped_files += 1
                stats.problem(f"{source}: looks binary ({reason}); skipped (pass include_binary=True, "
                              f"--include-binary, to count it)", on_error=on_error)
                continue
            if not head:  # an empty file holds no document (as in iter_documents)
                continue
            stats.documents += 1
            if map_files and plain and os.fstat(handle.fileno()).st_size >= MAP_MIN_BYTES:
                yield _MappedFile(handle)
            elif pool is not None and plain and hasattr(os, "preadv"):
                yield _ParallelFileReader(handle, pool, read_threads)
            else:
                yield _GuardedReader(handle, source, stats, on_error, prefix=b"" if plain else head)


def _text_documents(texts: str | bytes | Sequence[str | bytes]) -> list[bytes]:
    if isinstance(texts, (str, bytes, bytearray, memoryview)):
        texts = [texts]
    return [t.encode("utf-8", "surrogatepass") if isinstance(t, str) else bytes(t) for t in texts]


def pack_bytes(documents: Iterable[bytes | Any], sink, *, stats: ReadStats | None = None) -> np.ndarray:
    """Pack documents into the sink's buffers, submit each full buffer, and return the histogram.

    A document is bytes or an object with ``readinto`` (a file). A new buffer starts with the last
    byte of the previous one, so pairs across buffer cuts are counted; every document start inside a
    buffer is passed as a boundary, so pairs across documents are not.
    """
    capacity = sink.capacity
    buf = sink.acquire()
    view = memoryview(buf)
    pos = 0
    starts: list[int] = []
    total = 0

    def flush() -> None:
        nonlocal buf, view, pos, starts
        sink.submit(pos, starts)
        last = buf[pos - 1]
        buf = sink.acquire()
        view = memoryview(buf)
        buf[0] = last
        pos, starts = 1, []

    for doc in documents:
        if isinstance(doc, _MappedFile):  # a whole document, counted where it lies
            sink.count_document(doc.array)
            total += doc.array.size
            continue
        if pos:
            starts.append(pos)
        if hasattr(doc, "readinto"):
            while True:
                got = doc.readinto(view[pos:capacity])
                if not got:
                    break
                pos += got
                total += got
                if pos == capacity:
                    flush()
        else:
            data = memoryview(doc).cast("B")
            while len(data):
                take = min(len(data), capacity - pos)
                view[pos:pos + take] = data[:take]
                data = data[take:]
                pos += take
                total += take
                if pos == capacity:
                    flush()
    if pos > 1:
        sink.submit(pos, starts)
    if stats is not None:
        stats.bytes += total
    return sink.finish()


def _windows(data: np.ndarray, starts: np.ndarray | None, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Windows of at most ``size + 1`` items overlapping by one, with the document starts inside each.

    Window ``[lo, hi)`` owns the pairs starting at ``lo .. hi - 2``, so every pair is in exactly one.
    """
    starts = np.empty(0, np.int64) if starts is None else starts
    lo = 0
    while True:
        hi = min(data.size, lo + size + 1)
        yield data[lo:hi], starts[(starts > lo) & (starts < hi)] - lo
        if hi >= data.size:
            return
        lo = hi - 1


def _document_count(starts: np.ndarray | None, n: int) -> int:
    if n == 0:
        return 0
    if starts is None:
        return 1
    return int(np.unique(np.append(starts[starts < n], 0)).size)


def _check_offsets(offsets, n: int) -> np.ndarray | None:
    if offsets is None:
        return None
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or (offsets.size and (offsets.min() < 0 or offsets.max() > n)):
        raise ForensicsError(f"offsets must be document start positions between 0 and {n}")
    if offsets.size > 1 and np.any(np.diff(offsets) < 0):
        raise ForensicsError("offsets must be non-decreasing document start positions")
    return offsets


# --- token documents -------------------------------------------------------------------------------

def load_pair_tokenizer(spec: Any):
    """A tokenizer object from a ``tokenizer.json`` path (HF ``tokenizers``), or ``spec`` itself.

    >>> load_pair_tokenizer("tokenizer.json")  # doctest: +SKIP
    """
    if isinstance(spec, (str, os.PathLike)):
        from tokenizers import Tokenizer

        try:
            return Tokenizer.from_file(os.fspath(spec))
        except Exception as exc:
            raise input_error(spec, f"not a readable tokenizer.json ({str(exc)[:120]})",
                              "pass a Hugging Face tokenizer.json") from None
    return spec


def encode_texts(tokenizer: Any, texts: list[str]) -> list[np.ndarray]:
    """Token ids (uint32 arrays) of each text: the one place that calls the tokenizer.

    Accepts HF ``tokenizers.Tokenizer`` (no special tokens added) or anything whose ``encode_batch``
    returns id lists.

    >>> encode_texts(tok, ["hello"])  # doctest: +SKIP
    [array([31373], dtype=uint32)]
    """
    try:
        encoded = tokenizer.encode_batch(texts, add_special_tokens=False)
    except TypeError:
        encoded = tokenizer.encode_batch(texts)
    return [np.asarray(getattr(e, "ids", e), dtype=np.uint32) for e in encoded]


def token_text(tokenizer: Any, token: int) -> str | None:
    """A token's text for display, or None when the tokenizer cannot say."""
    for method in ("id_to_token", "decode"):
        fn = getattr(tokenizer, method, None)
        if fn is not None:
            try:
                return fn(token) if method == "id_to_token" else fn([token])
            except Exception:
                continue
    return None


def _file_token_documents(paths: list[Path], tokenizer: Any, *, format: Format, text_key: str,
                          compression: Compression, stats: ReadStats, on_error: OnError,
                          batch_bytes: int, include_binary: bool = False) -> Iterator[tuple[np.ndarray, bool]]:
    """(ids, continues_previous) per text block; blocks of one plain text file continue each other."""
    docs = iter_documents(paths, format=format, text_key=text_key, compression=compression, stats=stats,
                          on_error=on_error, whole_text_files=False, block_bytes=TEXT_BLOCK_BYTES,
                          include_binary=include_binary)
    batch: list[tuple[str, bool]] = []
    size = 0
    previous = None
    for doc in docs:
        key = (doc.source, doc.line)
        continues = doc.line is None and key == previous
        previous = key
        batch.append((doc.text, continues))
        size += len(doc.text)
        if size >= batch_bytes:
            yield from zip(encode_texts(tokenizer, [t for t, _ in batch]), [c for _, c in batch])
            batch, size = [], 0
    if batch:
        yield from zip(encode_texts(tokenizer, [t for t, _ in batch]), [c for _, c in batch])


def count_token_stream(documents: Iterable[tuple[np.ndarray, bool]], backend, *,
                       batch_tokens: int = DEFAULT_BATCH_TOKENS) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Count token pairs of (ids, continues_previous) documents in batches; return keys, counts, tokens, docs.

    Each batch after the first starts with the last id of the previous one (a boundary when the next
    document does not continue it), exactly like byte buffers.
    """
    from forensics.counting._pairs_numba import merge_many

    parts: list[tuple[np.ndarray, np.ndarray]] = []
    pieces: list[np.ndarray] = []
    starts: list[int] = []
    size = tokens = docs = 0
    for ids, continues in documents:
        if not continues:
            docs += 1
            if size:
                starts.append(size)
        pieces.append(ids)
        size += len(ids)
        tokens += len(ids)
        if size >= batch_tokens:
            batch = np.concatenate(pieces)
            parts.append(backend.token_pairs(batch, np.asarray(starts, np.int64)))
            pieces, starts, size = [batch[-1:]], [], 1
            if len(parts) >= _MERGE_EVERY:
                parts = [merge_many(parts)]
    if size > 1:
        parts.append(backend.token_pairs(np.concatenate(pieces), np.asarray(starts, np.int64)))
    keys, counts = merge_many(parts)
    return keys, counts, tokens, docs


def _as_token_ids(token_ids) -> np.ndarray:
    ids = np.asarray(token_ids)
    if ids.dtype.kind not in "iu" or ids.ndim != 1:
        raise ForensicsError("token_ids must be a 1-D integer array (with offsets) or a list of id lists")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= 1 << 32):
        raise ForensicsError("token ids must be in [0, 2**32) to form 64-bit pair keys")
    return ids.astype(np.uint32, copy=False)


# --- the interface ---------------------------------------------------------------------------------

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
    stats = ReadStats()
    paths = expand_inputs(inputs, glob_pattern=glob_pattern, follow_links=follow_links,
                          stats=stats) if inputs is not None else []
    if inputs is not None and not paths:
        raise ForensicsError(f"no input files found in {inputs}; check the path")
    backend = backend or resolve_backend(device, threads=threads)
    tok = load_pair_tokenizer(tokenizer) if kind == "tokens" and tokenizer is not None else None
    started = time.perf_counter()

    if kind == "bytes":
        if isinstance(texts, np.ndarray):
            if texts.dtype != np.uint8 or texts.ndim != 1:
                raise ForensicsError("a texts array must be 1-D uint8 (UTF-8 bytes); token ids go in token_ids")
            data = np.ascontiguousarray(texts)
            starts = _check_offsets(offsets, data.size)
            hist = _count_byte_array(data, starts, backend, batch_bytes)
            stats.documents = _document_count(starts, data.size)
            stats.bytes = int(data.size)
        else:
            with ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="read") as pool:
                documents = (_text_documents(texts) if texts is not None else
                             _file_byte_documents(paths, format=format, text_key=text_key,
                                                  compression=compression, stats=stats, on_error=on_error,
                                                  pool=pool if READ_THREADS > 1 else None,
                                                  read_threads=READ_THREADS,
                                                  map_files=getattr(backend, "maps_files", False),
                                                  include_binary=include_binary))
                if texts is not None:
                    stats.documents = len(documents)
                hist = pack_bytes(documents, backend.byte_sink(batch_bytes), stats=stats)
        keys = np.flatnonzero(hist).astype(np.uint64)
        result = PairCounts("bytes", keys, hist[keys.astype(np.int64)], documents=stats.documents,
                            input_bytes=stats.bytes, device=backend.name)
    else:
        if token_ids is not None:
            keys, counts, n_tokens, n_docs = _count_token_ids(token_ids, offsets, backend, batch_tokens)
        else:
            if texts is not None:
                docs = _text_documents(texts) if not isinstance(texts, np.ndarray) else [texts.tobytes()]
                strings = [d.decode("utf-8", "replace") for d in docs]
                stats.bytes = sum(len(d) for d in docs)
                stream = ((ids, False) for ids in encode_texts(tok, strings))
            else:
                stream = _file_token_documents(paths, tok, format=format, text_key=text_key,
                                               compression=compression, stats=stats, on_error=on_error,
                                               batch_bytes=batch_bytes, include_binary=include_binary)
            keys, counts, n_tokens, n_docs = count_token_stream(stream, backend, batch_tokens=batch_tokens)
        result = PairCounts("tokens", keys, counts, documents=n_docs, input_bytes=stats.bytes,
                            tokens=n_tokens, device=backend.name)
    result.seconds = time.perf_counter() - started
    result.read_stats = stats
    return result


def _count_byte_array(data: np.ndarray, starts: np.ndarray | None, backend, batch_bytes: int) -> np.ndarray:
    if hasattr(backend, "byte_histogram"):
        return backend.byte_histogram(data, starts)
    sink = backend.byte_sink(batch_bytes)
    for window, inside in _windows(data, starts, sink.capacity - 1):
        if window.size < 2:
            continue
        buf = sink.acquire()
        buf[:window.size] = window
        sink.submit(window.size, list(inside))
    return sink.finish()


def _count_token_ids(token_ids, offsets, backend, batch_tokens: int):
    if isinstance(token_ids, np.ndarray):
        from forensics.counting._pairs_numba import merge_many

        ids = _as_token_ids(token_ids)
        starts = _check_offsets(offsets, ids.size)
        parts = [backend.token_pairs(window, inside) for window, inside in _windows(ids, starts, batch_tokens)]
        keys, counts = merge_many(parts)
        return keys, counts, int(ids.size), _document_count(starts, ids.size)
    if offsets is not None:
        raise ForensicsError("offsets go with a flat token_ids array, not a list of id lists")
    stream = ((_as_token_ids(np.asarray(doc, dtype=np.int64)), False) for doc in token_ids)
    return count_token_stream(stream, backend, batch_tokens=batch_tokens)
