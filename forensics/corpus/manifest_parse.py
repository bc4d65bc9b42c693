"""Reading and checking a manifest: its TOML parsed, every key, type, value and name checked, one line per error.

What it does: :func:`load_manifest` turns a manifest file (a path, or the name of a shipped manifest:
:func:`shipped_manifests`) into a :class:`Manifest` of :class:`CategoryEntry` objects, each with its
:class:`SourceEntry` list and its cleaning and sampling options, ``[set]`` defaults applied. The format is
described in :mod:`forensics.corpus.manifest`.

What it leaves out: the sources themselves (paths, globs, hub listings and text fields are checked when a
category is planned: :mod:`forensics.corpus.manifest_plan`).

>>> load_manifest("pile-domains").names[:2]
['academic', 'books']
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from forensics.corpus.categories import GROUPS
from forensics.corpus.hub import is_hf_url, parse_hf_url
from forensics.errors import ForensicsError, input_error

MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]*")

Dedup = Literal["document", "none"]
SplitBy = Literal["file", "group"]
SourceFormat = Literal["infer", "jsonl", "parquet", "text"]

# Options a category takes, and [set] gives as defaults: type, allowed values.
_OPTIONS: dict[str, tuple[type | tuple[type, ...], tuple[str, ...] | None]] = {
    "group": (str, GROUPS), "licence": (str, None), "text_field": (str, None),
    "dedup": (str, ("document", "none")), "min_chars": (int, None), "chunk_chars": (int, None),
    "drop_english": (bool, None), "split_by": (str, ("file", "group")), "read_factor": ((int, float), None),
}
SET_KEYS = {"description": (str, None), **_OPTIONS}
CATEGORY_KEYS = {**_OPTIONS, "language": (str, None), "script": (str, None), "description": (str, None),
                 "sources": (list, None)}
SOURCE_KEYS = {"path": (str, None), "text_field": (str, None), "licence": (str, None),
               "format": (str, ("infer", "jsonl", "parquet", "text"))}
DEFAULTS: dict[str, Any] = {"text_field": "text", "dedup": "document", "min_chars": 20, "chunk_chars": 16_000,
                            "drop_english": False}


@dataclass(frozen=True)
class SourceEntry:
    """One entry of a category's ``sources``: a path, directory, glob or ``hf://`` URL, and how to read it."""

    spec: str
    text_field: str = "text"
    format: SourceFormat = "infer"
    licence: str | None = None

    @property
    def is_hub(self) -> bool:
        return is_hf_url(self.spec)


@dataclass(frozen=True)
class CategoryEntry:
    """One category of a manifest: metadata, sources and the cleaning and sampling options."""

    name: str
    group: str
    sources: tuple[SourceEntry, ...]
    licence: str | None = None
    language: str | None = None
    script: str | None = None
    description: str | None = None
    dedup: Dedup = "document"
    min_chars: int = 20
    chunk_chars: int = 16_000
    drop_english: bool = False
    split_by: SplitBy | None = None
    read_factor: float | None = None

    def metadata(self) -> dict[str, str]:
        """The ``categories.toml`` entry (as a recipe build writes it); the licence lists its sources' licences.

        >>> CategoryEntry("c", "code", (SourceEntry("a", licence="MIT"), SourceEntry("b", licence="BSD"))).metadata()
        {'group': 'code', 'source': 'a; b', 'licence': 'MIT; BSD'}
        """
        meta = {"group": self.group, "source": "; ".join(s.spec for s in self.sources)}
        licences = list(dict.fromkeys(s.licence for s in self.sources if s.licence))
        if licences or self.licence:
            meta["licence"] = "; ".join(licences) or str(self.licence)
        for key in ("language", "script", "description"):
            value = getattr(self, key)
            if value:
                meta[key] = value
        return meta


@dataclass(frozen=True)
class Manifest:
    """A parsed, checked manifest: where it is, its sha256 and its categories (sorted by name)."""

    path: Path
    sha256: str
    categories: tuple[CategoryEntry, ...]
    description: str | None = None
    group: str | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.categories]


def shipped_manifests() -> dict[str, Path]:
    """The manifests that come with the package, by name (``fineweb2-languages``, ...)."""
    return {p.stem: p for p in sorted(MANIFEST_DIR.glob("*.toml"))}


def resolve_manifest(name_or_path: str | os.PathLike) -> Path:
    """A manifest file: a path, or the name of a shipped manifest; anything else lists the names.

    >>> resolve_manifest("pile-domains").name
    'pile-domains.toml'
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise input_error(path, "is a directory, not a manifest", "pass the manifest's TOML file")
    shipped = shipped_manifests()
    if text in shipped:
        return shipped[text]
    raise input_error(text, f"no such manifest file, and not a shipped manifest (shipped: {', '.join(shipped)})",
                      "pass a TOML file or one of those names")


def _check_value(where: str, key: str, value: Any, spec: tuple[Any, tuple[str, ...] | None],
                 problem: Callable[[str, str], ForensicsError]) -> Any:
    kind, choices = spec
    type_ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    if not type_ok:
        names = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}
        wanted = "a number" if isinstance(kind, tuple) else names.get(kind, kind.__name__)
        raise problem(f"{where}{key} must be {wanted}, not {json.dumps(value, default=str)}",
                      f"fix the value of {key}")
    if choices is not None and value not in choices:
        raise problem(f"{where}{key} = {json.dumps(value)} is not allowed", f"use one of: {', '.join(choices)}")
    if key in ("min_chars", "chunk_chars") and value < 0:
        raise problem(f"{where}{key} must be 0 or more, not {value}", f"fix the value of {key}")
    if key == "read_factor" and not (value == 0 or value >= 1):
        raise problem(f"{where}read_factor must be 0 (read every unit) or at least 1, not {value}",
                      "fix the value of read_factor")
    if key in ("text_field", "group", "licence") and not value.strip():
        raise problem(f"{where}{key} is empty", f"give {key} a value or remove it")
    return value


def _table(data: Any, where: str, allowed: dict[str, Any], problem) -> dict[str, Any]:
    """A TOML table's keys checked against ``allowed`` (``license`` is read as ``licence``)."""
    if not isinstance(data, dict):
        raise problem(f"{where.rstrip(': ')} must be a table, not {json.dumps(data, default=str)}",
                      "see the manifest format in `forensics categories build --help`")
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = "licence" if key == "license" else key
        if name not in allowed:
            raise problem(f"{where}unknown key {key!r}", f"allowed keys: {', '.join(sorted(allowed))}")
        if name in out:
            raise problem(f"{where}both licence and license are given", "keep one of them")
        out[name] = _check_value(where, name, value, allowed[name], problem)
    return out


def _parse_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror or exc})", "check the path") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise input_error(path, "not a TOML manifest (not UTF-8 text)", "pass the manifest's TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        twice = re.match(r"Cannot declare \('categories', '([^']*)'\) twice(?: \(at (line \d+))?", message)
        if twice:
            where = f" ({twice.group(2)})" if twice.group(2) else ""
            raise input_error(path, f"category {twice.group(1)!r} is declared twice{where}",
                              "merge the two [categories] tables or rename one") from None
        raise input_error(path, f"invalid TOML ({message})", "fix the syntax") from None


def load_manifest(name_or_path: str | os.PathLike) -> Manifest:
    """Parse and check a manifest (keys, types, values, names; not the sources: see :func:`plan_category`).

    >>> load_manifest("wikipedia-languages").categories[0].sources[0].spec
    'hf://datasets/wikimedia/wikipedia/20231101.ar/*.parquet'
    """
    path = resolve_manifest(name_or_path)

    def problem(text: str, hint: str) -> ForensicsError:
        return input_error(path, text, hint)

    raw = _parse_toml(path)
    unknown = sorted(set(raw) - {"set", "categories"})
    if unknown:
        raise problem(f"unknown table or key {unknown[0]!r} at the top level", "allowed: [set], [categories.NAME]")
    set_table = _table(raw.get("set", {}), "[set] ", SET_KEYS, problem)
    cats = raw.get("categories")
    if not isinstance(cats, dict) or not cats:
        raise problem("no categories", 'add at least one table like [categories.de] with sources = ["shards/de/*"]')
    folded: dict[str, str] = {}
    entries = []
    for name, table in cats.items():
        where = f"[categories.{name}] "
        if not _NAME.fullmatch(name):
            raise problem(f"category name {name!r} is not allowed",
                          "use letters, digits, '_', '+' and '-' (it names a directory)")
        if name.casefold() in folded:
            raise problem(f"categories {folded[name.casefold()]!r} and {name!r} are the same name up to case "
                          f"(their directories collide on many file systems)", "rename or merge one of them")
        folded[name.casefold()] = name
        opts = {**DEFAULTS, **{k: v for k, v in set_table.items() if k != "description"},
                **_table(table, where, CATEGORY_KEYS, problem)}
        sources = opts.pop("sources", None)
        if not sources:
            raise problem(f"{where}has no sources", 'add sources = ["path/or/glob/*.jsonl.gz"]')
        entries.append(CategoryEntry(
            name=name, group=opts.pop("group", "other"),
            sources=tuple(_source(item, i, where, opts, problem) for i, item in enumerate(sources)),
            **{k: v for k, v in opts.items() if k != "text_field"}))
    return Manifest(path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                    categories=tuple(sorted(entries, key=lambda c: c.name)),
                    description=set_table.get("description"), group=set_table.get("group"))


def _source(item: Any, index: int, where: str, opts: dict[str, Any], problem) -> SourceEntry:
    at = f"{where}sources[{index}]: "
    if isinstance(item, str):
        table: dict[str, Any] = {"path": item}
    else:
        table = _table(item, at, SOURCE_KEYS, problem)
        if "path" not in table:
            raise problem(f"{at}a source table needs a path", 'write {path = "shards/*.jsonl", text_field = "text"}')
    spec = table["path"].strip()
    if not spec:
        raise problem(f"{at}empty path", "name a file, directory, glob or hf:// URL")
    if is_hf_url(spec):
        try:
            parse_hf_url(spec)
        except ForensicsError as exc:
            raise problem(f"{at}{exc}".split("; ")[0], str(exc).split("; ", 1)[-1]) from None
    return SourceEntry(spec=spec, text_field=table.get("text_field", opts["text_field"]),
                       format=table.get("format", "infer"), licence=table.get("licence", opts.get("licence")))

