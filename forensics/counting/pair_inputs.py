"""Documents for pair counting: files and texts as byte documents, files as token-id documents.

What it does: :func:`file_byte_documents` yields one byte document per plain text file (a reader that
fills the caller's buffers: guarded against truncated gzip/zstd, parallel ``preadv`` for large plain
files, or a whole-file memory map when the backend counts in place) and one per JSONL record or Parquet
row (its UTF-8 bytes); files that look binary are skipped and recorded in :class:`ReadStats`.
:func:`text_documents` does the same for in-memory texts, and :func:`file_token_documents` encodes
files block by block into token ids.

What it leaves out: packing documents into batches and counting (``pair_batches.py``), the sizes that
tune reading (``pairs.py`` passes them in, so they are set in one place), and format detection,
decompression and globbing (``forensics.corpus.readers``).

>>> import io
>>> reader = GuardedReader(io.BytesIO(b"cd"), "x.txt", ReadStats(), "skip", prefix=b"ab")
>>> buf = bytearray(4); reader.readinto(memoryview(buf)), reader.readinto(memoryview(buf)[2:]), bytes(buf)
(2, 2, b'abcd')
"""

from __future__ import annotations

import io
import mmap
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from forensics.corpus.readers import (
    Compression,
    Format,
    OnError,
    ReadStats,
    detect_format,
    iter_documents,
    iter_file_documents,
    open_binary,
    read_head,
    skipped_as_binary,
)
from forensics.counting.pair_tokenizers import encode_texts
from forensics.errors import input_error


def _record_damage(stats: ReadStats, source: str, exc: BaseException, on_error: OnError) -> None:
    stats.skipped_files += 1
    stats.problem(f"{source}: unreadable or truncated shard ({exc or type(exc).__name__});"
                  f" bytes read before the damage were counted", on_error=on_error)


def _zstd_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard

        return (zstandard.ZstdError,)
    except ImportError:  # pragma: no cover
        return ()


class GuardedReader:
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


class ParallelFileReader:
    """Reads an uncompressed file with several ``os.preadv`` calls at once (they release the GIL).

    One thread copying from the page cache reaches a few GB/s, below a GPU's host-to-device copy;
    splitting each read over threads (pieces of at least ``piece`` bytes) lifts that limit.
    """

    def __init__(self, handle: BinaryIO, pool, threads: int, *, piece: int) -> None:
        self.fd = handle.fileno()
        self.size = os.fstat(self.fd).st_size
        self.offset = 0
        self.pool, self.threads, self.piece = pool, threads, piece

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
        parts = max(1, min(self.threads, n // self.piece))
        bounds = [n * i // parts for i in range(parts + 1)]
        jobs = [(view[a:b], self.offset + a) for a, b in zip(bounds[:-1], bounds[1:])]
        got = sum(self.pool.map(lambda job: self._read_exactly(*job), jobs)) if parts > 1 else \
            self._read_exactly(*jobs[0])
        self.offset += got
        return got


class MappedFile:
    """A whole uncompressed file as a read-only memory map, counted in place (no copy).

    Only for sinks that take whole documents (the CPU); the file must not shrink while it is counted.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self.map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if hasattr(mmap, "MADV_SEQUENTIAL"):
            self.map.madvise(mmap.MADV_SEQUENTIAL)
        self.array = np.frombuffer(self.map, np.uint8)


def file_byte_documents(paths: list[Path], *, format: Format, text_key: str, compression: Compression,
                        stats: ReadStats, on_error: OnError, read_piece: int, map_min_bytes: int,
                        pool=None, read_threads: int = 1, map_files: bool = False,
                        include_binary: bool = False) -> Iterator[bytes | GuardedReader | ParallelFileReader
                                                                  | MappedFile]:
    """The byte documents of ``paths``: bytes per record/row, a reader (or map) per plain text file.

    A reader is valid until the next document is asked for (its file is closed then). Plain files of
    at least ``map_min_bytes`` are mapped when ``map_files``; others are read in parallel when a
    ``pool`` is given.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp()); _ = (folder / "a.jsonl").write_text('{"text": "hi"}')
    >>> list(file_byte_documents([folder / "a.jsonl"], format="infer", text_key="text",
    ...                          compression="infer", stats=ReadStats(), on_error="skip",
    ...                          read_piece=1 << 20, map_min_bytes=1 << 20))
    [b'hi']
    """
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
            if skipped_as_binary(head, source, stats=stats, on_error=on_error, include_binary=include_binary,
                                 instead="count it"):
                continue
            if not head:  # an empty file holds no document (as in iter_documents)
                continue
            stats.documents += 1
            if map_files and plain and os.fstat(handle.fileno()).st_size >= map_min_bytes:
                yield MappedFile(handle)
            elif pool is not None and plain and hasattr(os, "preadv"):
                yield ParallelFileReader(handle, pool, read_threads, piece=read_piece)
            else:
                yield GuardedReader(handle, source, stats, on_error, prefix=b"" if plain else head)


def text_documents(texts: str | bytes | Sequence[str | bytes]) -> list[bytes]:
    """One text or a list of them as byte documents (str as UTF-8, lone surrogates kept).

    >>> text_documents(["ab", b"\\xff"]), text_documents("é")
    ([b'ab', b'\\xff'], [b'\\xc3\\xa9'])
    """
    if isinstance(texts, (str, bytes, bytearray, memoryview)):
        texts = [texts]
    return [t.encode("utf-8", "surrogatepass") if isinstance(t, str) else bytes(t) for t in texts]


def file_token_documents(paths: list[Path], tokenizer: Any, *, format: Format, text_key: str,
                         compression: Compression, stats: ReadStats, on_error: OnError,
                         batch_bytes: int, block_bytes: int,
                         include_binary: bool = False) -> Iterator[tuple[np.ndarray, bool]]:
    """(ids, continues_previous) per text block; blocks of one plain text file continue each other.

    Plain text files are cut into blocks of about ``block_bytes``; texts are encoded in batches of
    about ``batch_bytes`` characters.

    >>> import pathlib, tempfile
    >>> class Chars:
    ...     def encode_batch(self, texts):
    ...         return [[ord(c) for c in t] for t in texts]
    >>> folder = pathlib.Path(tempfile.mkdtemp()); _ = (folder / "a.txt").write_text("hi")
    >>> [(ids.tolist(), more) for ids, more in file_token_documents(
    ...     [folder / "a.txt"], Chars(), format="infer", text_key="text", compression="infer", stats=ReadStats(),
    ...     on_error="skip", batch_bytes=1 << 20, block_bytes=1 << 20)]
    [([104, 105], False)]
    """
    docs = iter_documents(paths, format=format, text_key=text_key, compression=compression, stats=stats,
                          on_error=on_error, whole_text_files=False, block_bytes=block_bytes,
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
