"""Reading documents from shards: plain text, JSONL and Parquet, optionally gzip- or zstd-compressed.

What it does: expands files, directories and globs into a sorted, deterministic shard list; opens each
shard with the right decompressor; decodes UTF-8 with replacement (counting every invalid byte sequence);
yields documents (a JSONL record, a Parquet row, or a whole text file, streamed in blocks cut where no
pre-tokenizer word can straddle the cut). Problems with one shard or line (a truncated ``.gz``, a corrupt
JSON line) are recorded in :class:`ReadStats` and the rest goes on, or raise with ``on_error="raise"``.

What it leaves out: any tokenization or classification; remote file systems.

>>> docs = list(iter_documents(["fixtures/text/botchan.txt"]))  # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import glob as _glob
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from forensics.errors import ForensicsError, input_error, require

Compression = Literal["infer", "gzip", "zstd", "none"]
Format = Literal["infer", "text", "jsonl", "parquet"]
OnError = Literal["skip", "raise"]

TEXT_SUFFIXES = {".txt", ".text", ".md", ".rst", ".tex", ".html", ".htm", ""}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}

DEFAULT_BLOCK_BYTES = 1 << 20


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

    Stats from separate readers merge with ``+``.
    """

    files: int = 0
    documents: int = 0
    bytes: int = 0
    invalid_utf8_sequences: int = 0
    documents_with_invalid_utf8: int = 0
    skipped_lines: int = 0
    skipped_files: int = 0
    problems: list[str] = field(default_factory=list)

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
        )

    def problem(self, message: str, *, on_error: OnError) -> None:
        if on_error == "raise":
            raise ForensicsError(message)
        if len(self.problems) < 1000:
            self.problems.append(message)


# --- shard lists ---------------------------------------------------------------------------------

def expand_inputs(inputs: Sequence[str | os.PathLike] | str | os.PathLike, *,
                  glob_pattern: str | None = None) -> list[Path]:
    """Expand files, directories (recursively) and glob patterns into a sorted list of files.

    >>> expand_inputs(["fixtures/tokenizers"])  # doctest: +SKIP
    [PosixPath('fixtures/tokenizers/...'), ...]
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found: set[Path] = set()
    for item in inputs:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            pattern = glob_pattern or "**/*"
            for child in path.glob(pattern):
                if child.is_file() and not child.name.startswith("."):
                    found.add(child)
        elif path.is_file():
            found.add(path)
        elif any(ch in text for ch in "*?["):
            matches = [Path(m) for m in _glob.glob(text, recursive=True)]
            found.update(m for m in matches if m.is_file())
            if not matches:
                raise input_error(text, "no file matches this pattern", "check the path")
        else:
            raise input_error(text, "no such file or directory", "check the path")
    return sorted(found)


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


def open_binary(path: str | os.PathLike, *, compression: Compression = "infer") -> BinaryIO:
    """Open a file for binary reading, decompressing gzip or zstd by suffix or magic bytes.

    >>> open_binary("x.txt.gz").read()  # doctest: +SKIP
    """
    path = Path(path)
    if compression == "infer":
        _, compression = split_suffix(path)
        if compression == "none":
            with open(path, "rb") as probe:
                magic = probe.read(4)
            if magic[:2] == b"\x1f\x8b":
                compression = "gzip"
            elif magic == b"\x28\xb5\x2f\xfd":
                compression = "zstd"
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "zstd":
        import zstandard

        raw = open(path, "rb")
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
    return open(path, "rb")


_DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


def _decompress_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard

        return _DECOMPRESS_ERRORS + (zstandard.ZstdError,)
    except ImportError:  # pragma: no cover
        return _DECOMPRESS_ERRORS


# --- decoding --------------------------------------------------------------------------------------

class Utf8Decoder:
    """Incremental UTF-8 decoding with replacement that counts invalid byte sequences.

    >>> d = Utf8Decoder(); d.decode(b"a\\xffb", final=True), d.invalid
    ('a\\ufffdb', 1)
    """

    def __init__(self) -> None:
        self.invalid = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")

    def decode(self, data: bytes, *, final: bool = False) -> str:
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError:
            pass
        # Rare path: re-decode this block from the decoder's pending state with counting replacement.
        pending, _ = self._decoder.getstate()
        buffer = pending + data
        out: list[str] = []
        start = 0
        while True:
            try:
                decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
                out.append(decoder.decode(buffer[start:], final))
                self._decoder = decoder
                return "".join(out)
            except UnicodeDecodeError as exc:
                out.append(buffer[start:start + exc.start].decode("utf-8"))
                out.append("\ufffd")
                self.invalid += 1
                start += exc.end


def decode_bytes(data: bytes) -> tuple[str, int]:
    """Decode UTF-8 with replacement; return the text and the number of invalid sequences.

    >>> decode_bytes(b"ok\\xc3")
    ('ok\\ufffd', 1)
    """
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        decoder = Utf8Decoder()
        return decoder.decode(data, final=True), decoder.invalid


def safe_cut(text: str) -> int:
    """Index after the last newline followed by a non-space character (0 when there is none).

    Pre-tokenizers never join a newline with the letter, digit or symbol after it, so cutting a text
    there leaves every pre-tokenized word intact; a cut inside a run of whitespace would not.

    >>> safe_cut("ab\\ncd\\n  ef")
    3
    """
    pos = len(text) - 1  # a final newline has no known follower yet
    while pos > 0:
        newline = text.rfind("\n", 0, pos)
        if newline < 0:
            return 0
        if not text[newline + 1].isspace():
            return newline + 1
        pos = newline
    return 0


def iter_text_blocks(handle: BinaryIO, *, block_bytes: int = DEFAULT_BLOCK_BYTES,
                     decoder: Utf8Decoder | None = None) -> Iterator[str]:
    """Stream a binary handle as text blocks of about ``block_bytes``, cut at :func:`safe_cut` points.

    Concatenating the blocks gives back the whole decoded text.

    >>> list(iter_text_blocks(io.BytesIO(b"ab\\ncd"), block_bytes=2))
    ['ab\\n', 'cd']
    """
    decoder = decoder or Utf8Decoder()
    carry = ""
    while True:
        data = handle.read(block_bytes)
        final = not data
        text = carry + decoder.decode(data, final=final)
        if final:
            if text:
                yield text
            return
        cut = safe_cut(text)
        if cut == 0 and len(text) < 64 * block_bytes:
            carry = text  # no safe cut yet: keep reading (bounded by the 64-block cap)
            continue
        if cut == 0:
            cut = len(text)
        yield text[:cut]
        carry = text[cut:]


# --- documents -------------------------------------------------------------------------------------

def iter_documents(inputs: Sequence[str | os.PathLike] | str | os.PathLike, *,
                   format: Format = "infer", text_key: str = "text", id_key: str = "id",
                   compression: Compression = "infer", glob_pattern: str | None = None,
                   stats: ReadStats | None = None, on_error: OnError = "skip",
                   whole_text_files: bool = True,
                   block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[Document]:
    """Yield documents from every shard, in sorted shard order.

    A plain text file is one document (with ``whole_text_files=False`` it is streamed as several
    blocks, each a :class:`Document` with the same ``source``, so memory stays bounded); a JSONL record
    or Parquet row is one document. Problems are recorded in ``stats``.

    >>> stats = ReadStats(); n = sum(1 for _ in iter_documents(["data.jsonl"], stats=stats))  # doctest: +SKIP
    """
    stats = stats if stats is not None else ReadStats()
    for path in expand_inputs(inputs, glob_pattern=glob_pattern):
        yield from iter_file_documents(path, format=format, text_key=text_key, id_key=id_key,
                                       compression=compression, stats=stats, on_error=on_error,
                                       whole_text_files=whole_text_files, block_bytes=block_bytes)


def iter_file_documents(path: Path, *, format: Format = "infer", text_key: str = "text",
                        id_key: str = "id", compression: Compression = "infer",
                        stats: ReadStats, on_error: OnError = "skip", whole_text_files: bool = True,
                        block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[Document]:
    """Documents of one shard (see :func:`iter_documents`)."""
    kind = detect_format(path) if format == "infer" else format
    stats.files += 1
    source = os.fspath(path)
    try:
        if kind == "parquet":
            yield from _parquet_documents(path, text_key=text_key, id_key=id_key, stats=stats,
                                          on_error=on_error)
            return
        with open_binary(path, compression=compression) as handle:
            if kind == "jsonl":
                yield from _jsonl_documents(handle, source, text_key=text_key, id_key=id_key,
                                            stats=stats, on_error=on_error)
            else:
                decoder = Utf8Decoder()
                blocks = iter_text_blocks(handle, block_bytes=block_bytes, decoder=decoder)
                if whole_text_files:
                    text = "".join(blocks)
                    stats.bytes += len(text.encode("utf-8", "surrogatepass"))
                    stats.documents += 1
                    if decoder.invalid:
                        stats.invalid_utf8_sequences += decoder.invalid
                        stats.documents_with_invalid_utf8 += 1
                    yield Document(text=text, id=None, source=source)
                else:
                    before = 0
                    for block in blocks:
                        stats.bytes += len(block.encode("utf-8", "surrogatepass"))
                        yield Document(text=block, id=None, source=source)
                    stats.documents += 1
                    if decoder.invalid > before:
                        stats.invalid_utf8_sequences += decoder.invalid
                        stats.documents_with_invalid_utf8 += 1
    except ForensicsError:
        raise
    except _decompress_errors() as exc:
        stats.skipped_files += 1
        reason = str(exc) or type(exc).__name__
        stats.problem(f"{source}: unreadable or truncated shard ({reason}); documents read before the "
                      f"damage were kept, re-create the file to read the rest", on_error=on_error)


def _jsonl_documents(handle: BinaryIO, source: str, *, text_key: str, id_key: str,
                     stats: ReadStats, on_error: OnError) -> Iterator[Document]:
    reader = io.BufferedReader(handle) if not isinstance(handle, io.BufferedIOBase) else handle
    for number, raw in enumerate(reader, start=1):
        if not raw.strip():
            continue
        text_line, invalid = decode_bytes(raw)
        try:
            record = json.loads(text_line)
        except json.JSONDecodeError as exc:
            stats.skipped_lines += 1
            stats.problem(f"{source}:{number}: corrupt JSON line ({exc.msg}); line skipped", on_error=on_error)
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
    source = os.fspath(path)
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        stats.skipped_files += 1
        stats.problem(f"{source}: not a readable Parquet file ({exc})", on_error=on_error)
        return
    names = parquet.schema_arrow.names
    if text_key not in names:
        raise input_error(path, f"no column '{text_key}' (columns: {', '.join(names)})", "set --text-key")
    columns = [text_key] + ([id_key] if id_key in names else [])
    row = 0
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


def read_text(path: str | os.PathLike, *, stats: ReadStats | None = None) -> str:
    """Read one text-like file (any supported format) into one string, documents joined by newlines.

    >>> read_text("fixtures/text/botchan.txt")[:10]  # doctest: +SKIP
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
