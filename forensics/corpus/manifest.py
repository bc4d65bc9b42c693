"""Category sets from a manifest: samples of the user's own shards (local or ``hf://``), split and written.

What it does: reads a TOML manifest that names each category and its sources, checks all of it
before anything is written (keys, types, paths, globs, hub listings, each file's text field, a
category without text), then samples each category from its documents and writes the same set a
recipe build writes: ``<out>/<category>/{train,count}.jsonl.gz``, ``categories.toml`` and
``provenance.json`` (every input's sha256 and size, licences, hub commits, the manifest's sha256,
seed and version), so ``forensics count``, ``infer`` and ``profiles build`` read it like any set.
Each category is one job (:mod:`forensics.corpus.jobs`): local processes by default, a Ray cluster, or
one share of an array job (``rank``/``world_size``); a rerun into the same ``out`` skips the categories
already finished. The bytes written do not depend on any of that.

This module is the entry point (:func:`build_from_manifest`); the stages live in their own modules and
are re-exported here, so ``from forensics.corpus.manifest import X`` keeps working:

- :mod:`forensics.corpus.manifest_parse`: the manifest read and checked (:func:`load_manifest`)
- :mod:`forensics.corpus.manifest_plan`: a category's sources expanded into units and checked (:func:`plan_category`)
- :mod:`forensics.corpus.manifest_sample`: the units read and sampled (:func:`sample_category`, :class:`BudgetSample`)
- :mod:`forensics.corpus.writer`: the split files, ``categories.toml`` and the report, shared with the recipes

A manifest::

    [set]                               # optional; defaults for every category below
    description = "German and French web text"
    licence = "ODC-By-1.0"

    [categories.de]
    group = "language"                  # language | code | domain | other (default: [set] group, else other)
    language = "de"                     # optional metadata: language, script, licence (or license), description
    script = "Latn"
    sources = [
      "shards/de/*.jsonl.gz",           # files, directories or globs, relative to the manifest
      {path = "more/de.parquet", text_field = "content"},   # a table sets text_field, format, licence
      "hf://datasets/HuggingFaceFW/fineweb-2/data/deu_Latn/test/*.parquet",   # OWNER/NAME@REVISION/GLOB
    ]
    text_field = "text"                 # the JSONL field / Parquet column holding the text
    # cleaning, as in the recipes: dedup = "document" | "none", min_chars = 20,
    # chunk_chars = 16000 (documents cut at line ends; 0: never), drop_english = false
    # sampling: split_by = "file" | "group", read_factor = 0 | >= 1 (see below)

Sampling, exactly (deterministic for a seed; memory bounded by the sample, not the source):

- *Units.* A source file is a unit. A category whose sources are a single file (or with
  ``split_by = "group"``) uses document groups instead: runs of :data:`GROUP_DOCUMENTS` consecutive
  records of a file. Every document of a unit goes to the same split, so the ``train`` and ``count``
  splits never share a document (identical texts from two units are removed from ``count``).
- *Order and split.* Files are read in a seeded order (``sha256(seed, category, file)``); each unit
  goes to the split that has read fewer text bytes so far (a tie goes to the side the unit's seeded
  hash picks). A split stops taking units once it has read ``read_factor`` times its target
  (``read_factor = 0``, the default for local sources: every unit is read; ``4`` for categories
  with ``hf://`` sources, so only the shards needed are downloaded). A file is read whole, except
  the single file of a category split by groups, whose reading stops when both splits have.
- *Documents.* Each document gets a key, ``blake2b(seed, category, text)`` (the text normalised as
  for de-duplication when ``dedup = "document"``, so duplicates share a key and one is kept). A
  split keeps the documents with the smallest keys whose text reaches its target, half of
  ``mb_per_category`` (the last document may pass it): a uniform sample of the split's documents,
  held in a heap of at most the target plus one document.

Measured (2 shared cores): 100 MB of JSONL.gz in 20 files, read in full for a 2 MB category: 6.0 s,
36 MB peak memory; half the files: 3.1 s, 36 MB; a 20 MB category from the same 100 MB: 8.3 s,
136 MB (memory follows the sample, not the source).

What it leaves out: reading formats (:mod:`forensics.corpus.readers`), the hub protocol
(:mod:`forensics.corpus.hub`), packages from registries (:mod:`forensics.corpus.build`, the
recipes), and paragraph-level de-duplication (a recipe option that needs state across documents).

>>> [m.stem for m in shipped_manifests().values()]
['fineweb2-languages', 'pile-domains', 'the-stack-code', 'wikipedia-languages']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from forensics.corpus.hub import HfHub, Hub
from forensics.corpus.jobs import CategoryJob, CategoryJobs, Outcome, job_key, share
from forensics.corpus.manifest_parse import (
    CATEGORY_KEYS, DEFAULTS, MANIFEST_DIR, SET_KEYS, SOURCE_KEYS, CategoryEntry, Dedup, Manifest, SourceEntry,
    SourceFormat, SplitBy, load_manifest, resolve_manifest, shipped_manifests,
)
from forensics.corpus.manifest_plan import HUB_READ_FACTOR, PEEK_LINES, CategoryPlan, Unit, plan_category
from forensics.corpus.manifest_sample import (
    GROUP_DOCUMENTS, BudgetSample, CategorySample, UnitRead, clean_pieces, document_key, sample_category,
)
from forensics.corpus.writer import SPLITS, BuildReport, Layout, WrittenCategory, categories_toml, unit_order, write_splits
from forensics.errors import ForensicsError, input_error

__all__ = [
    "BudgetSample", "CATEGORY_KEYS", "CategoryEntry", "CategoryPlan", "CategorySample", "DEFAULTS", "Dedup",
    "GROUP_DOCUMENTS", "HUB_READ_FACTOR", "MANIFEST_DIR", "Manifest", "ManifestBuildReport", "ManifestCategoryBuild",
    "PEEK_LINES", "SET_KEYS", "SOURCE_KEYS", "SPLITS", "SourceEntry", "SourceFormat", "SplitBy", "Unit", "UnitRead",
    "build_from_manifest", "clean_pieces", "document_key", "load_manifest", "plan_category", "resolve_manifest",
    "sample_category", "shipped_manifests", "unit_order",
]

ManifestBuildReport = BuildReport  # one report type for both builders; ``source`` names the manifest


@dataclass
class ManifestCategoryBuild(WrittenCategory):
    """What the builder wrote for one category of a manifest, and what it read to get there."""

    units_read: int
    units_listed: int
    split_by: str
    shared_removed: int


@dataclass(frozen=True)
class _ManifestJob(CategoryJob):
    """Sample one planned category and write its splits (a job of :class:`~forensics.corpus.jobs.CategoryJobs`)."""

    plan: CategoryPlan
    hub: Hub | None
    seed: int
    target: int
    min_split_bytes: int

    def run(self) -> Outcome:
        plan, cat = self.plan, self.plan.category
        sample = sample_category(plan, seed=self.seed, target_bytes=self.target, hub=self.hub)
        units = {u.id: u for u in plan.units}
        sources: dict[str, dict[str, Any]] = {}
        for read in sample.units:
            unit = units[read.id]
            sources[read.id] = {"category": cat.name, "split": read.split, "licence": unit.source.licence,
                                "sha256": read.sha256, "bytes": read.bytes, "documents": read.documents,
                                "text_bytes": read.text_bytes, "read_whole": read.whole}
            if unit.remote is not None:
                sources[read.id]["hub"] = {"repo": unit.remote[0], "path": unit.remote[1],
                                           "revision": unit.remote[2], "lfs_sha256": unit.hub_sha256}
        data = {"sources": sources, "revisions": plan.revisions, "problems": sample.stats.problems[:100]}
        sizes = {s: sum(len(d.text.encode("utf-8", "surrogatepass")) for d in sample.parts[s]) for s in SPLITS}
        if min(sizes.values()) < min(self.min_split_bytes, self.target):
            return Outcome(skipped=f"too little text for two splits (train {sizes['train']:,} and count "
                                   f"{sizes['count']:,} bytes, {len(sample.units)} of {len(plan.units)} units read)",
                           data=data)
        written = write_splits(Path(self.out), cat.name, sample.parts, self.layout)
        return Outcome(row=ManifestCategoryBuild(
            name=cat.name, train_bytes=written["train"], count_bytes=written["count"],
            train_documents=len(sample.parts["train"]), count_documents=len(sample.parts["count"]),
            available_bytes=sum(sample.available.values()), units_read=len(sample.units),
            units_listed=len(plan.units), split_by=plan.split_by, shared_removed=sample.shared_removed), data=data)


def _job_key(plan: CategoryPlan, *, seed: int, target: int, layout: str, min_split_bytes: int) -> str:
    """What decides a category's bytes: its entry, its units (local ones by size and modification time,
    hub ones by commit and sha256) and the sampling parameters."""
    units = [[u.id, u.size, u.hub_sha256, u.local.stat().st_mtime_ns if u.remote is None and u.local else None]
             for u in plan.units]
    return job_key(builder="manifest", category=asdict(plan.category), units=units, seed=seed, target=target,
                   layout=layout, min_split_bytes=min_split_bytes)


def build_from_manifest(manifest: str | os.PathLike | Manifest, out: str | os.PathLike, *,
                        mb_per_category: float = 5.0, seed: int = 0, categories: Sequence[str] | None = None,
                        layout: Layout = "directories", hub: Hub | None = None,
                        cache: str | os.PathLike | None = None, offline: bool = False, min_split_bytes: int = 20_000,
                        progress: Callable[[str], None] | None = None, workers: int | None = None,
                        backend: str = "local", address: str | None = None, rank: int = 0, world_size: int = 1,
                        resume: bool = True) -> BuildReport:
    """Check the manifest and every source, then sample and write each category into ``out``.

    Nothing is written until every check passed. ``hub`` replaces the hub client (default
    :class:`~forensics.corpus.hub.HfHub` with downloads in ``cache``, default ``$FORENSICS_CACHE/hub``; with
    more than one worker it must pickle). A category whose smaller split holds under ``min_split_bytes`` (or
    under the target, if smaller) is skipped and named in the report, as in the recipe builder.
    ``backend`` (``local``: ``workers`` processes; ``ray``: the cluster at ``address``) runs one job per
    category; with ``world_size > 1`` only this ``rank``'s share is checked and built, and a run without a
    rank afterwards, into the same ``out``, finds them finished and writes ``categories.toml`` and
    ``provenance.json``. With ``resume`` (the default) a rerun keeps the categories an earlier run finished.

    >>> build_from_manifest("my-manifest.toml", "/tmp/mine", mb_per_category=1)  # doctest: +SKIP
    """
    from forensics._results import atomic_write_text, check_output_directory, provenance, write_json

    if mb_per_category <= 0:
        raise ForensicsError(f"--mb-per-category must be positive, got {mb_per_category}")
    loaded = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
    selected = list(loaded.categories)
    if categories is not None:
        missing = [c for c in categories if c not in loaded.names]
        if missing:
            raise input_error(loaded.path, f"no categor{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}",
                              f"the manifest has: {', '.join(loaded.names)}")
        selected = [c for c in selected if c.name in set(categories)]
    if offline and any(s.is_hub for c in selected for s in c.sources):
        raise input_error(loaded.path, "has hf:// sources and --offline was given",
                          "drop --offline (files already downloaded are reused from the cache)")
    check_output_directory(out)
    work = CategoryJobs(out, backend=backend, workers=workers, address=address, rank=rank, world_size=world_size,
                        resume=resume, progress=progress)
    mine = set(share([c.name for c in selected], rank=rank, world_size=world_size))
    selected = [c for c in selected if c.name in mine]
    if hub is None and any(s.is_hub for c in selected for s in c.sources):
        hub = HfHub(cache=cache)
    plans = [plan_category(loaded, c, hub=hub, seed=seed) for c in selected]  # every check, before writing
    target = int(mb_per_category * 1e6 / 2)
    jobs = [_ManifestJob(p.category.name, _job_key(p, seed=seed, target=target, layout=layout,
                                                   min_split_bytes=min_split_bytes),
                         os.path.abspath(out), layout, p, hub, seed, target, min_split_bytes) for p in plans]
    shown = os.fspath(loaded.path) if loaded.path.parent != MANIFEST_DIR else loaded.path.stem
    out_dir = Path(out)
    with work:
        records = work.run(jobs)
        built = [ManifestCategoryBuild(**r["row"]) for r in records if r["row"] is not None]
        skipped = {r["name"]: r["skipped"] for r in records if r["row"] is None}
        report = BuildReport(source=shown, out=os.fspath(out_dir), seed=seed, mb_per_category=mb_per_category,
                             categories=list(built), skipped=skipped, resumed=list(work.resumed), rank=rank,
                             world_size=world_size)
        if world_size > 1:
            return report  # the run without a rank writes the set's metadata
        if not built:
            work.clear()
            raise input_error(loaded.path, f"no category has text enough for two splits of {target:,} bytes ("
                                           + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + ")",
                              "lower --mb-per-category or add sources")
        sources: dict[str, dict[str, Any]] = {}
        revisions: dict[str, dict[str, str]] = {}
        problems: list[str] = []
        for record in records:  # in the order of the categories, whatever ran them
            revisions.update(record["data"]["revisions"])
            problems += record["data"]["problems"]
            sources.update(record["data"]["sources"])
        names = {b.name for b in built}
        metadata = {p.category.name: p.category.metadata() for p in plans if p.category.name in names}
        groups = {p.category.group for p in plans}
        set_meta = {"description": loaded.description or f"Categories sampled from the sources of {loaded.path.name}",
                    "group": loaded.group or (groups.pop() if len(groups) == 1 else "other"),
                    "format": "one JSON record {id, text} per line; train/count share no source unit",
                    "built_by": f"forensics categories build --from {shown} --seed {seed} "
                                f"--mb-per-category {mb_per_category:g}"}
        atomic_write_text(out_dir / "categories.toml", categories_toml(set_meta, metadata))
        inputs = {f"manifest:{shown}": loaded.sha256, **{k: v["sha256"] for k, v in sorted(sources.items())}}
        write_json(out_dir / "provenance.json", {
            "provenance": provenance(command="categories build",
                                     parameters={"from": shown, "mb_per_category": mb_per_category, "layout": layout,
                                                 "categories": list(categories) if categories else None},
                                     inputs=inputs, seed=seed),
            "manifest": {"path": os.fspath(loaded.path), "sha256": loaded.sha256},
            "hub": revisions,
            "sources": dict(sorted(sources.items())),
            "categories": built,
            "skipped": skipped,
            "problems": problems,
        })
        work.clear()
    return report
