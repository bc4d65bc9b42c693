"""Reading documents from shards: plain text, JSONL and Parquet, optionally gzip- or zstd-compressed.

What it does: expands files, directories and globs into a sorted, deterministic shard list (symlink
loops end; links that lead out of a directory, or out of a pattern's fixed leading folders, are
skipped and counted unless ``follow_links``); opens each shard with the right decompressor and
streams it (a 61 KB ``.zst`` of 2 GB of zeros is read block by block; a ``.zst`` must end exactly at
the end of a frame, as ``zstd -t`` demands); skips binary files among text shards (a NUL byte or
mostly invalid UTF-8 in the first 8 KiB, counted, unless ``include_binary``); decodes UTF-8 with
replacement (counting every invalid byte sequence); yields documents (a JSONL record, a Parquet row, or
a whole non-empty text file, streamed in blocks cut where no pre-tokenizer word can straddle the cut).
Problems with one shard or line (a truncated ``.gz`` or ``.zst``, a corrupt JSON line, a binary file)
are recorded in :class:`ReadStats` and the rest goes on, or raise with ``on_error="raise"``.

What it leaves out: any tokenization or classification; remote file systems; a size cap on a whole
text file read as one document (``whole_text_files=True``: use blocks for large files); JSONL lines
over ``max_line_bytes`` are skipped, not parsed. (A little over 500 lines: the three formats, decoding and
binary sniffing share the ReadStats bookkeeping; listing is in ``shards.py``, decompression in
``forensics.compression``.)

>>> docs = list(iter_documents(["fixtures/text/udhr-sample.txt"]))
>>> len(docs), docs[0].text[:37]
(1, 'Universal Declaration of Human Rights')
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from forensics.compression import ZstdReader, sniff
from forensics.compression import decompress_errors as _decompress_errors
from forensics.corpus.shards import expand_inputs
from forensics.errors import ForensicsError, input_error, require

Compression = Literal["infer", "gzip", "zstd", "none"]
Format = Literal["infer", "text", "jsonl", "parquet"]
OnError = Literal["skip", "raise"]

TEXT_SUFFIXES = {".txt", ".text", ".md", ".rst", ".tex", ".html", ".htm", ""}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}

DEFAULT_BLOCK_BYTES = 1 << 20
# A JSONL line longer than this is skipped unread (a record is parsed whole, so this bounds memory).
DEFAULT_MAX_LINE_BYTES = 256 << 20
# Binary sniffing looks at this much of a text shard's (decompressed) start, as git does (8000 bytes).
SNIFF_BYTES = 8192
# ... and calls it binary when over this share of its characters are invalid UTF-8 sequences, and at
# least BINARY_MIN_INVALID of them: Latin-1 prose has a few percent, random bytes about 75%.
BINARY_INVALID_SHARE = 0.3
BINARY_MIN_INVALID = 8


@dataclass
class Document:
    """One document: its text, optional id, and where it came from."""

    text: str
    id: str | None
    source: str
    line: int | None = None


@dataclass
class ReadStats:
    """What reading saw: counts plus every problem, with file and line.

    ``skipped_files`` counts shards not read to their end (damaged, or binary: ``binary_files`` of
    them); ``skipped_links`` counts symlinks left out of a directory or pattern because they lead out
    of it. Stats from separate readers merge with ``+``.
    """

    files: int = 0
    documents: int = 0
    bytes: int = 0
    invalid_utf8_sequences: int = 0
    documents_with_invalid_utf8: int = 0
    skipped_lines: int = 0
    skipped_files: int = 0
    problems: list[str] = field(default_factory=list)
    binary_files: int = 0
    skipped_links: int = 0

    def __add__(self, other: "ReadStats") -> "ReadStats":
        return ReadStats(
            files=self.files + other.files,
            documents=self.documents + other.documents,
            bytes=self.bytes + other.bytes,
            invalid_utf8_sequences=self.invalid_utf8_sequences + other.invalid_utf8_sequences,
            documents_with_invalid_utf8=self.documents_with_invalid_utf8 + other.documents_with_invalid_utf8,
            skipped_lines=self.skipped_lines + other.skipped_lines,
            skipped_files=self.skipped_files + other.skipped_files,
            problems=self.problems + other.problems,
            binary_files=self.binary_files + other.binary_files,
            skipped_links=self.skipped_links + other.skipped_links,
        )

    def problem(self, message: str, *, on_error: OnError) -> None:
        if on_error == "raise":
            raise ForensicsError(message)
        if len(self.problems) < 1000:
            self.problems.append(message)


def split_suffix(path: str | os.PathLike) -> tuple[str, str]:
    """The format suffix and the compression of a path.

    >>> split_suffix("a/b.jsonl.gz")
    ('.jsonl', 'gzip')
    """
    name = Path(path).name.lower()
    base, ext = os.path.splitext(name)
    compression = COMPRESSION_SUFFIXES.get(ext, "none")
    if compression != "none":
        ext = os.path.splitext(base)[1]
    return ext, compression


def detect_format(path: str | os.PathLike) -> Literal["text", "jsonl", "parquet"]:
    """Guess a shard's format from its name.

    >>> detect_format("x.jsonl.zst")
    'jsonl'
    """
    ext, _ = split_suffix(path)
    if ext in JSONL_SUFFIXES:
        return "jsonl"
    if ext in PARQUET_SUFFIXES:
        return "parquet"
    return "text"


# --- compression ----------------------------------------------------------------------------------

def open_binary(path: str | os.PathLike, *, compression: Compression = "infer") -> BinaryIO:
    """Open a file for binary reading, decompressing gzip or zstd by suffix or magic bytes.

    Reads stream; damaged or truncated compressed data raises ``EOFError``, ``OSError`` or
    ``zstandard.ZstdError`` when reached (see :func:`_decompress_errors`), an empty compressed file
    ``EOFError`` at once.

    >>> with open_binary("fixtures/tokenizers/gpt2/vocab.bpe.gz") as handle:
    ...     handle.read(8)
    b'#version'
    """
    path = Path(path)
    if compression == "infer":
        _, compression = split_suffix(path)
        if compression == "none":
            with open(path, "rb") as probe:
                compression = sniff(probe.read(4))  # type: ignore[assignment]
    if compression != "none" and path.stat().st_size == 0:  # gzip -t and zstd -t reject it too
        raise EOFError(f"truncated {compression} data (an empty file)")
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "zstd":
        return ZstdReader(open(path, "rb"))  # type: ignore[return-value]
    return open(path, "rb")


def read_head(handle: BinaryIO, size: int = SNIFF_BYTES) -> bytes:
    """Up to ``size`` bytes from the start of a handle (fewer only at its end)."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        data = handle.read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def binary_reason(head: bytes) -> str | None:
    """Why a text shard whose first bytes are ``head`` looks binary, or None when it looks like text.

    Binary: a NUL byte (git's and ripgrep's test), or more than 30% of the characters invalid UTF-8
    (and at least 8 of them): random bytes give about 75%, Latin-1 prose a few percent, a ``.pyc``
    a NUL within its first 16 bytes.

    >>> binary_reason(b"plain text"), binary_reason(b"\\x00\\x01")
    (None, 'a NUL byte in the first 8 KiB')
    """
    if b"\x00" in head:
        return "a NUL byte in the first 8 KiB"
    text, invalid = decode_bytes(head)
    if invalid >= BINARY_MIN_INVALID and invalid > BINARY_INVALID_SHARE * len(text):
        return f"{invalid / len(text):.0%} of the first 8 KiB is invalid UTF-8"
    return None


def skipped_as_binary(head: bytes, source: str, *, stats: ReadStats, on_error: OnError, include_binary: bool,
                      instead: str = "read it as text") -> bool:
    """Whether a text shard starting with ``head`` is skipped as binary (counted, with a problem line).

    >>> stats = ReadStats(); skipped_as_binary(b"\\x00\\x01", "a.bin", stats=stats, on_error="skip", include_binary=False)
    True
    >>> stats.binary_files, stats.skipped_files
    (1, 1)
    """
    reason = None if include_binary else binary_reason(head)
    if reason is None:
        return False
    stats.binary_files += 1
    stats.skipped_files += 1
    stats.problem(f"{source}: looks binary ({reason}); skipped (pass include_binary=True, --include-binary, "
                  f"to {instead})", on_error=on_error)
    return True


class _Prefixed:
    """A handle whose first bytes were already read (to sniff them): gives them back first."""

    def __init__(self, head: bytes, handle: BinaryIO) -> None:
        self.head, self.handle = head, handle

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.handle.read(size)
        if size is None or size < 0:
            data, self.head = self.head + self.handle.read(), b""
        else:
            data, self.head = self.head[:size], self.head[size:]
        return data


# --- decoding --------------------------------------------------------------------------------------

_REPLACEMENT = b"\xef\xbf\xbd"  # U+FFFD in UTF-8: a genuine one in the input is not damage


class Utf8Decoder:
    """Incremental UTF-8 decoding with replacement that counts invalid byte sequences.

    >>> d = Utf8Decoder(); d.decode(b"a\\xffb", final=True), d.invalid
    ('a\\ufffdb', 1)
    """

    def __init__(self) -> None:
        self.invalid = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def decode(self, data: bytes, *, final: bool = False) -> str:
        pending = self._decoder.getstate()[0]
        text = self._decoder.decode(data, final)
        if "\ufffd" in text:  # rare: each invalid sequence became one U+FFFD (linear, however many)
            self.invalid += text.count("\ufffd") - (pending + bytes(data)).count(_REPLACEMENT)
        return text


def decode_bytes(data: bytes) -> tuple[str, int]:
    """Decode UTF-8 with replacement; return the text and the number of invalid sequences.

    >>> decode_bytes(b"ok\\xc3")
    ('ok\\ufffd', 1)
    """
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        return text, text.count("\ufffd") - data.count(_REPLACEMENT)


_SAFE_CUT = re.compile(r".*\S\n(?=\S)", re.DOTALL)


def safe_cut(text: str) -> int:
    """Index after the last newline between two non-space characters (0 when there is none).

    Pre-tokenizers never join a newline with the letter, digit or symbol after it, so cutting a text
    there leaves every pre-tokenized word intact; a cut inside a run of whitespace would not (GPT-2's
    rules split "\\n\\nx" into "\\n", "\\n", "x" but a block ending in "\\n\\n" into one word).

    >>> safe_cut("ab\\ncd\\n  ef")
    3
    """
    match = _SAFE_CUT.match(text)
    return match.end() if match else 0


def iter_text_blocks(handle: BinaryIO, *, block_bytes: int = DEFAULT_BLOCK_BYTES,
                     decoder: Utf8Decoder | None = None) -> Iterator[str]:
    """Stream a binary handle as text blocks of about ``block_bytes``, cut at :func:`safe_cut` points.

    Concatenating the blocks gives back the whole decoded text. Text with no safe cut is held for at
    most 64 blocks, then cut anyway, so memory stays bounded (a file of zeros has no newline).

    >>> list(iter_text_blocks(io.BytesIO(b"ab\\ncd"), block_bytes=2))
    ['ab\\n', 'cd']
    """
    decoder = decoder or Utf8Decoder()
    held: list[str] = []  # text after the last cut: no safe cut inside it
    held_size = 0
    while True:
        data = handle.read(block_bytes)
        final = not data
        text = decoder.decode(data, final=final)
        if final:
            rest = "".join(held) + text
            if rest:
                yield rest
            return
        if not text:
            continue
        # Only the new text and its junction with the held text can hold a new safe cut.
        tail = "".join(held[-2:])[-2:]   # a cut needs the character before the newline too
        found = safe_cut(tail + text)
        if found:
            cut = found - len(tail)
            yield "".join(held) + text[:cut]
            held, held_size = ([text[cut:]], len(text) - cut) if cut < len(text) else ([], 0)
            continue
        held.append(text)
        held_size += len(text)
        if held_size >= 64 * block_bytes:  # no safe cut for 64 blocks: cut anyway
            yield "".join(held)
            held, held_size = [], 0


# --- documents -------------------------------------------------------------------------------------

def iter_documents(inputs: Sequence[str | os.PathLike] | str | os.PathLike, *,
                   format: Format = "infer", text_key: str = "text", id_key: str = "id",
                   compression: Compression = "infer", glob_pattern: str | None = None,
                   stats: ReadStats | None = None, on_error: OnError = "skip",
                   whole_text_files: bool = True,
                   block_bytes: int = DEFAULT_BLOCK_BYTES, follow_links: bool = False,
                   include_binary: bool = False,
                   max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Document]:
    """Yield documents from every shard, in sorted shard order.

    A non-empty plain text file is one document (with ``whole_text_files=False`` it is streamed as
    several blocks, each a :class:`Document` with the same ``source``, so memory stays bounded; an
    empty file has none, a whitespace-only one is a document); a JSONL record or Parquet row is one
    document. Problems are recorded in ``stats``. See :func:`expand_inputs` for ``follow_links``
    and :func:`iter_file_documents` for ``include_binary`` and ``max_line_bytes``.

    >>> stats = ReadStats()
    >>> sum(1 for _ in iter_documents(["fixtures/categories/languages/de"], stats=stats)), stats.files
    (88, 2)
    """
    stats = stats if stats is not None else ReadStats()
    for path in expand_inputs(inputs, glob_pattern=glob_pattern, follow_links=follow_links, stats=stats):
        yield from iter_file_documents(path, format=format, text_key=text_key, id_key=id_key,
                                       compression=compression, stats=stats, on_error=on_error,
                                       whole_text_files=whole_text_files, block_bytes=block_bytes,
                                       include_binary=include_binary, max_line_bytes=max_line_bytes)


def iter_file_documents(path: Path, *, format: Format = "infer", text_key: str = "text",
                        id_key: str = "id", compression: Compression = "infer",
                        stats: ReadStats, on_error: OnError = "skip", whole_text_files: bool = True,
                        block_bytes: int = DEFAULT_BLOCK_BYTES, include_binary: bool = False,
                        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Document]:
    """Documents of one shard (see :func:`iter_documents`).

    A text shard that looks binary (:func:`binary_reason`) is skipped and counted in
    ``stats.binary_files`` unless ``include_binary``; a JSONL line longer than ``max_line_bytes``
    is skipped unparsed.
    """
    kind = detect_format(path) if format == "infer" else format
    stats.files += 1
    source = os.fspath(path)
    before = stats.documents
    try:
        if kind == "parquet":
            yield from _parquet_documents(path, text_key=text_key, id_key=id_key, stats=stats,
                                          on_error=on_error)
            return
        with open_binary(path, compression=compression) as handle:
            if kind == "jsonl":
                yield from _jsonl_documents(handle, source, text_key=text_key, id_key=id_key,
                                            stats=stats, on_error=on_error, max_line_bytes=max_line_bytes)
                return
            head = read_head(handle)
            if skipped_as_binary(head, source, stats=stats, on_error=on_error, include_binary=include_binary):
                return
            if head:  # an empty text file is a file without documents
                yield from _text_documents(_Prefixed(head, handle), source, stats=stats,
                                           whole_text_files=whole_text_files, block_bytes=block_bytes)
    except ForensicsError:
        raise
    except _decompress_errors() as exc:
        stats.skipped_files += 1
        reason = str(exc) or type(exc).__name__
        kept = stats.documents - before
        stats.problem(f"{source}: unreadable or truncated shard ({reason}); {kept} documents read before "
                      f"the damage were kept, re-create the file to read the rest", on_error=on_error)


def _text_documents(handle, source: str, *, stats: ReadStats, whole_text_files: bool,
                    block_bytes: int) -> Iterator[Document]:
    decoder = Utf8Decoder()
    blocks = iter_text_blocks(handle, block_bytes=block_bytes, decoder=decoder)
    if whole_text_files:
        parts: list[str] = []
        size = 0
        for block in blocks:
            parts.append(block)
            size += len(block.encode("utf-8", "surrogatepass"))
        if not parts:
            return
        stats.bytes += size
        stats.documents += 1
        if decoder.invalid:
            stats.invalid_utf8_sequences += decoder.invalid
            stats.documents_with_invalid_utf8 += 1
        yield Document(text="".join(parts), id=None, source=source)
        return
    started = False
    try:
        for block in blocks:
            if not started:
                stats.documents += 1  # counted at its first block, so a damaged file's start counts
                started = True
            stats.bytes += len(block.encode("utf-8", "surrogatepass"))
            yield Document(text=block, id=None, source=source)
    finally:
        if decoder.invalid:
            stats.invalid_utf8_sequences += decoder.invalid
            stats.documents_with_invalid_utf8 += 1


def _jsonl_documents(handle: BinaryIO, source: str, *, text_key: str, id_key: str,
                     stats: ReadStats, on_error: OnError,
                     max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Document]:
    reader = io.BufferedReader(handle) if not isinstance(handle, io.BufferedIOBase) else handle
    number = 0
    while True:
        raw = reader.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            while True:  # skip the rest of the line without holding it
                more = reader.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            stats.skipped_lines += 1
            stats.problem(f"{source}:{number}: line longer than {max_line_bytes:,} bytes; line skipped "
                          f"(raise max_line_bytes to read it)", on_error=on_error)
            continue
        if not raw.strip():
            continue
        text_line, invalid = decode_bytes(raw)
        try:
            record = json.loads(text_line)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, a huge number, deep nesting
            stats.skipped_lines += 1
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            stats.problem(f"{source}:{number}: corrupt JSON line ({reason}); line skipped", on_error=on_error)
            continue
        if not isinstance(record, dict) or not isinstance(record.get(text_key), str):
            stats.skipped_lines += 1
            stats.problem(f"{source}:{number}: no string field '{text_key}'; line skipped "
                          f"(set --text-key to the field holding the text)", on_error=on_error)
            continue
        text = record[text_key]
        stats.documents += 1
        stats.bytes += len(text.encode("utf-8", "surrogatepass"))
        if invalid:
            stats.invalid_utf8_sequences += invalid
            stats.documents_with_invalid_utf8 += 1
        doc_id = record.get(id_key)
        yield Document(text=text, id=None if doc_id is None else str(doc_id), source=source, line=number)


def _parquet_documents(path: Path, *, text_key: str, id_key: str, stats: ReadStats,
                       on_error: OnError) -> Iterator[Document]:
    pq = require("pyarrow.parquet", extra="parquet", purpose="reading Parquet shards")
    import pyarrow as pa

    source = os.fspath(path)
    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for corrupt files
        stats.skipped_files += 1
        stats.problem(f"{source}: not a readable Parquet file ({exc})", on_error=on_error)
        return
    if text_key not in names:
        raise input_error(path, f"no column '{text_key}' (columns: {', '.join(names)})", "set --text-key")
    columns = [text_key] + ([id_key] if id_key in names else [])
    row = 0
    try:
        for batch in parquet.iter_batches(columns=columns, batch_size=4096):
            texts = batch.column(0).to_pylist()
            ids = batch.column(1).to_pylist() if len(columns) > 1 else [None] * len(texts)
            for text, doc_id in zip(texts, ids):
                row += 1
                if not isinstance(text, str):
                    stats.skipped_lines += 1
                    continue
                stats.documents += 1
                stats.bytes += len(text.encode("utf-8", "surrogatepass"))
                yield Document(text=text, id=None if doc_id is None else str(doc_id), source=source, line=row)
    except (pa.ArrowException, OSError, ValueError) as exc:  # damaged pages, found as they are read
        stats.skipped_files += 1
        stats.problem(f"{source}: unreadable Parquet data after row {row} ({str(exc)[:200]}); rows read "
                      f"before the damage were kept", on_error=on_error)


def read_text(path: str | os.PathLike, *, stats: ReadStats | None = None) -> str:
    """Read one text-like file (any supported format) into one string, documents joined by newlines.

    >>> read_text("fixtures/text/udhr-sample.txt")[:37]
    'Universal Declaration of Human Rights'
    """
    docs = iter_documents([path], stats=stats, on_error="raise")
    return "\n".join(doc.text for doc in docs)


def iter_texts(docs: Iterable[Document]) -> Iterator[str]:
    """Texts only.

    >>> list(iter_texts([Document("a", None, "x")]))
    ['a']
    """
    for doc in docs:
        yield doc.text
