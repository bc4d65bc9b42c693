"""Reading archive members in memory: ``.deb`` (ar + ``data.tar.*``), tar of any compression, ``.zip``.

What it does: :func:`iter_archive` yields ``(path, bytes)`` for the regular files of an archive given as
a path or as bytes, so an archive nested in another (``glibc-2.36.tar.xz`` inside a ``.deb``,
``src.zip`` inside ``openjdk-17-source``) is read without unpacking to disk; tar members come in
archive order, zip members sorted by name, so the same archive always gives the same order.
:func:`maybe_gunzip` strips a member's ``.gz`` layer.

What it leaves out: writing or unpacking to disk, symlinks and other non-regular members, fetching
(:mod:`forensics.corpus.fetch`), and what the members mean (:mod:`forensics.corpus.sources`).
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from forensics.errors import ForensicsError

Member = tuple[str, bytes]


def _ar_members(data: bytes) -> Iterator[Member]:
    if not data.startswith(b"!<arch>\n"):
        raise ForensicsError("not an ar archive (a .deb starts with '!<arch>')")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        yield name, data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)


def _open_tar(data: bytes) -> tarfile.TarFile:
    if data[:4] == b"\x28\xb5\x2f\xfd":  # tarfile reads gzip, bz2 and xz itself; a truncated zstd is refused
        from forensics.compression import decompress_bytes, decompress_errors

        try:
            data = decompress_bytes(data)
        except decompress_errors() as exc:
            raise ForensicsError(f"truncated or corrupt zstd archive ({exc}); fetch the package again") from None
    return tarfile.open(fileobj=io.BytesIO(data), mode="r|*")


def iter_archive(path_or_data: str | os.PathLike | bytes, *, name: str = "",
                 want: Callable[[str], bool] = lambda _: True) -> Iterator[Member]:
    """Regular files of an archive (``.deb``, tar of any compression, ``.zip``) whose path ``want`` accepts.

    Paths are relative (no leading ``./``). A ``.deb`` yields the members of its ``data.tar.*``.

    >>> buf = io.BytesIO(); z = zipfile.ZipFile(buf, "w"); z.writestr("doc/a.txt", "hi"); z.close()
    >>> list(iter_archive(buf.getvalue()))
    [('doc/a.txt', b'hi')]
    """
    if isinstance(path_or_data, (str, os.PathLike)):
        name = name or os.fspath(path_or_data)
        data = Path(path_or_data).read_bytes()
    else:
        data = path_or_data
    if data.startswith(b"!<arch>\n"):
        for member, content in _ar_members(data):
            if member.startswith("data.tar"):
                yield from iter_archive(content, name=f"{name}:{member}", want=want)
        return
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if not info.is_dir() and want(info.filename):
                    yield info.filename, archive.read(info)
        return
    try:
        archive = _open_tar(data)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ForensicsError(f"{name}: not a readable archive ({exc})") from None
    with archive:  # streamed in archive order: the same archive always gives the same order
        for member in archive:
            path = member.name[2:] if member.name.startswith("./") else member.name
            if member.isfile() and want(path):
                handle = archive.extractfile(member)
                if handle is not None:
                    yield path, handle.read()


def maybe_gunzip(path: str, data: bytes) -> tuple[str, bytes]:
    """Strip a ``.gz`` layer: ``("a.tex.gz", gz) -> ("a.tex", raw)``."""
    if path.endswith(".gz") and data[:2] == b"\x1f\x8b":
        return path[:-3], gzip.decompress(data)
    return path, data
