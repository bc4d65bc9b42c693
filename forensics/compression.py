"""Decompression in one place: gzip and zstd, streamed, with truncation detected as ``gzip -t`` and
``zstd -t`` detect it.

What it does: :class:`ZstdReader` streams every frame of a zstd file and raises ``EOFError`` when the
data stops inside a frame or carries bytes after the last one (zstandard alone returns what it has);
:class:`ZstdFrameCheck` follows the frame layout to tell; :func:`decompress_bytes` decompresses a
whole in-memory file (a tokenizer, a package member) up to a size limit; :func:`decompress_errors`
lists what damaged data raises.

What it leaves out: choosing the compression from a file name (``forensics.corpus.readers``).

>>> import zstandard; decompress_bytes(zstandard.compress(b"abc") * 2)
b'abcabc'
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def sniff(head: bytes) -> str:
    """``gzip``, ``zstd`` or ``none`` from a file's first bytes.

    >>> sniff(b"\\x1f\\x8b\\x08"), sniff(b"text")
    ('gzip', 'none')
    """
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head[:4] == ZSTD_MAGIC:
        return "zstd"
    return "none"


def open_stream(raw: BinaryIO, compression: str) -> BinaryIO:
    """A binary stream of ``raw``'s decompressed content (``compression``: gzip, zstd or none)."""
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if compression == "zstd":
        return ZstdReader(raw)  # type: ignore[return-value]
    return raw


class SizeLimitExceeded(ValueError):
    """Decompressed data grew past the limit given."""


def decompress_bytes(data: bytes, *, limit: int | None = None) -> bytes:
    """``data`` itself, or its gzip/zstd content checked to end exactly at a member or frame end; raises
    :class:`SizeLimitExceeded` once it grows past ``limit`` bytes, and one of :func:`decompress_errors`
    on damaged data.

    >>> decompress_bytes(gzip.compress(b"hello"))
    b'hello'
    """
    kind = sniff(data)
    if kind == "none":
        return data
    out = bytearray()
    with open_stream(io.BytesIO(data), kind) as stream:
        while piece := stream.read(1 << 20):
            out += piece
            if limit is not None and len(out) > limit:
                raise SizeLimitExceeded(f"more than {limit} bytes once decompressed")
    return bytes(out)


class ZstdFrameCheck:
    """Follows the zstd frame layout (RFC 8878) over a byte stream without decompressing it.

    zstandard's stream reader returns what it has when the input stops inside a frame; this tells
    whether the input ended exactly at the end of a frame, as ``zstd -t`` requires. It reads only
    frame and block headers and skips block contents, so it costs next to nothing.

    >>> import zstandard; check = ZstdFrameCheck(); check.feed(zstandard.compress(b"abc")[:-1])
    >>> check.problem()
    'truncated zstd data (the file ends inside a frame)'
    """

    _MAGIC = 0xFD2FB528

    def __init__(self) -> None:
        self.frames = 0
        self.seen = 0
        self._buf = bytearray()
        self._want = 4
        self._step = self._magic
        self._skip = 0
        self._checksum = False
        self._unknown: str | None = None

    def feed(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        self.seen += len(view)
        i, n = 0, len(view)
        while i < n and self._unknown is None:
            if self._skip:
                take = min(self._skip, n - i)
                self._skip -= take
                i += take
                continue
            take = min(self._want - len(self._buf), n - i)
            self._buf += view[i:i + take]
            i += take
            if len(self._buf) == self._want:
                header = bytes(self._buf)
                self._buf.clear()
                self._step(header)

    def problem(self) -> str | None:
        """Why the bytes fed so far are not complete zstd data (None when they are)."""
        if self._unknown is not None:
            return self._unknown
        if self.seen == 0:
            return "truncated zstd data (an empty file, no frame)"
        if self._step != self._magic or self._buf or self._skip:
            return "truncated zstd data (the file ends inside a frame)"
        return None

    def _to(self, want: int, step, skip: int = 0) -> None:
        self._want, self._step, self._skip = want, step, skip

    def _magic(self, header: bytes) -> None:
        magic = int.from_bytes(header, "little")
        if magic == self._MAGIC:
            self._to(1, self._descriptor)
        elif magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame: 4-byte size, then that many bytes
            self._to(4, self._skippable)
        elif self.frames:
            self._unknown = f"data after the last zstd frame is not zstd (at byte {self.seen})"
        else:  # not (modern) zstd at all: leave the verdict to the decompressor
            self._unknown = ""

    def _skippable(self, header: bytes) -> None:
        self.frames += 1
        self._to(4, self._magic, int.from_bytes(header, "little"))

    def _descriptor(self, header: bytes) -> None:
        d = header[0]
        single = (d >> 5) & 1
        self._checksum = bool((d >> 2) & 1)
        size = (0 if single else 1) + (0, 1, 2, 4)[d & 3] + ((1 if single else 0), 2, 4, 8)[d >> 6]
        if size:
            self._to(size, self._header_rest)
        else:
            self._to(3, self._block)

    def _header_rest(self, header: bytes) -> None:
        self._to(3, self._block)

    def _block(self, header: bytes) -> None:
        value = int.from_bytes(header, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        content = 1 if kind == 1 else size  # an RLE block stores one byte
        if not last:
            self._to(3, self._block, content)
        elif self._checksum:
            self._to(4, self._frame_end, content)
        else:
            self.frames += 1
            self._to(4, self._magic, content)

    def _frame_end(self, header: bytes) -> None:
        self.frames += 1
        self._to(4, self._magic)


class _CheckedSource:
    """The compressed file as zstandard reads it, every byte also fed to a :class:`ZstdFrameCheck`."""

    def __init__(self, raw: BinaryIO, check: ZstdFrameCheck) -> None:
        self.raw, self.check = raw, check

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.check.feed(data)
        return data


class ZstdReader(io.RawIOBase):
    """A streaming zstd decompressor (all frames) that raises ``EOFError`` on truncated data.

    >>> import zstandard
    >>> ZstdReader(io.BytesIO(zstandard.ZstdCompressor().compress(b"text"))).read()
    b'text'
    """

    def __init__(self, raw: BinaryIO) -> None:
        import zstandard

        super().__init__()
        self._raw = raw
        self._check = ZstdFrameCheck()
        self._source = _CheckedSource(raw, self._check)
        self._reader = zstandard.ZstdDecompressor().stream_reader(self._source, read_across_frames=True,
                                                                  closefd=False)
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._ended or not len(buffer):
            return 0
        got = self._reader.readinto(buffer)
        if got:
            return got
        self._ended = True
        while self._source.read(1 << 16):  # what the decompressor left unread (trailing bytes)
            pass
        problem = self._check.problem()
        if problem:
            raise EOFError(problem)
        return 0

    def close(self) -> None:
        if not self.closed:
            try:
                self._reader.close()
            finally:
                self._raw.close()
        super().close()


_DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


def decompress_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard

        return _DECOMPRESS_ERRORS + (zstandard.ZstdError,)
    except ImportError:  # pragma: no cover
        return _DECOMPRESS_ERRORS
