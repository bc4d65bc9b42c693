"""Category sets from a manifest: samples of the user's own shards (local or ``hf://``), split and written.

What it does: reads a TOML manifest that names each category and its sources, checks all of it
before anything is written (keys, types, paths, globs, hub listings, each file's text field, a
category without text), then samples each category from its documents and writes the same set a
recipe build writes: ``<out>/<category>/{train,count}.jsonl.gz``, ``categories.toml`` and
``provenance.json`` (every input's sha256 and size, licences, hub commits, the manifest's sha256,
seed and version), so ``forensics count``, ``infer`` and ``profiles build`` read it like any set.

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

import hashlib
import heapq
import io
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from forensics.corpus.categories import GROUPS
from forensics.corpus.cleaning import Doc, chunk_text, looks_english, normalise_for_dedup
from forensics.corpus.hub import Hub, HubSource, HfHub, RemoteFile, is_hf_url, list_hub_files, parse_hf_url
from forensics.corpus.readers import ReadStats, detect_format, iter_file_documents, open_binary
from forensics.errors import ForensicsError, input_error

SPLITS = ("train", "count")
GROUP_DOCUMENTS = 64          # records per document group (the split unit of a single-file category)
HUB_READ_FACTOR = 4.0         # default read_factor of a category with hf:// sources
PEEK_LINES = 20               # JSONL lines looked at to check a file's text field
MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]*")

Dedup = Literal["document", "none"]
SplitBy = Literal["file", "group"]
SourceFormat = Literal["infer", "jsonl", "parquet", "text"]

# --- the manifest ---------------------------------------------------------------------------------

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


# --- units: what a category reads ------------------------------------------------------------------

@dataclass
class Unit:
    """One file a category may read: local, or on the hub (fetched when first read)."""

    id: str                       # relative path, or hf://datasets/OWNER/NAME@SHA/PATH
    order_id: str                 # what the seeded order hashes (no absolute path, no commit)
    source: SourceEntry
    local: Path | None = None
    remote: tuple[str, str, str] | None = None   # repo, path, commit sha
    size: int = 0
    hub_sha256: str | None = None

    def path(self, hub: Hub | None) -> Path:
        if self.local is None:
            if hub is None or self.remote is None:  # pragma: no cover - plan_category always sets one
                raise ForensicsError(f"{self.id}: no hub to fetch it from")
            repo, path, sha = self.remote
            self.local = hub.fetch(repo, path, sha)
        return self.local


@dataclass
class CategoryPlan:
    """A category with its units (in seeded order once sampled) and the hub commits they come from."""

    category: CategoryEntry
    units: list[Unit]
    revisions: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def has_hub(self) -> bool:
        return any(u.remote is not None for u in self.units)

    @property
    def split_by(self) -> str:
        return self.category.split_by or ("file" if len(self.units) >= 2 else "group")

    @property
    def read_factor(self) -> float:
        if self.category.read_factor is not None:
            return float(self.category.read_factor)
        return HUB_READ_FACTOR if self.has_hub else 0.0


def unit_order(seed: int, category: str, unit: str) -> str:
    """Sort key of a unit: a seeded hash (the same rule as the recipe builder's split)."""
    from forensics.corpus.build import unit_order as recipe_unit_order

    return recipe_unit_order(seed, category, unit)


def _local_units(entry: SourceEntry, base: Path, where: str, manifest: Path) -> list[Unit]:
    from forensics.corpus.shards import _is_pattern, expand_inputs

    raw = os.path.expanduser(entry.spec)
    full = raw if os.path.isabs(raw) else os.path.join(os.path.abspath(base), raw)
    if _is_pattern(raw):
        try:
            files = expand_inputs([full])
        except ForensicsError:
            files = []
        if not files:
            raise input_error(manifest, f"{where}no file matches {entry.spec!r} (looked under {os.path.abspath(base)})",
                              "fix the glob (it is relative to the manifest)")
    elif os.path.isdir(full):
        files = expand_inputs([full])
        if not files:
            raise input_error(manifest, f"{where}directory {entry.spec!r} holds no files", "fix the path")
    elif os.path.isfile(full):
        files = [Path(full)]
    else:
        raise input_error(manifest, f"{where}{entry.spec!r} does not exist (looked for {full})",
                          "fix the path (it is relative to the manifest)")
    units = []
    root = Path(os.path.abspath(base))
    for path in files:
        real = Path(os.path.abspath(path))
        # named relative to the manifest, so the seeded order does not depend on where the tree lies
        name = (real.relative_to(root) if real.is_relative_to(root) else real).as_posix()
        units.append(Unit(id=name, order_id=name, source=entry, local=real, size=real.stat().st_size))
    return units


def _hub_units(entry: SourceEntry, hub: Hub, where: str, manifest: Path,
               revisions: dict[str, dict[str, str]]) -> list[Unit]:
    source: HubSource = parse_hf_url(entry.spec)
    try:
        sha, files = list_hub_files(source, hub)
    except ForensicsError as exc:
        raise input_error(manifest, f"{where}{exc}") from None
    if not files:
        raise input_error(manifest, f"{where}no file of {source.repo_id} at {sha[:12]} matches {source.pattern!r}",
                          f"check the glob against https://huggingface.co/datasets/{source.repo_id}/tree/{sha}")
    revisions[source.repo_id + ("@" + source.revision if source.revision else "")] = {
        "repo": source.repo_id, "requested": source.revision or "main", "revision": sha}
    return [_hub_unit(entry, source.repo_id, sha, f) for f in files]


def _hub_unit(entry: SourceEntry, repo: str, sha: str, f: RemoteFile) -> Unit:
    return Unit(id=f"hf://datasets/{repo}@{sha}/{f.path}", order_id=f"hf://datasets/{repo}/{f.path}",
                source=entry, remote=(repo, f.path, sha), size=f.size, hub_sha256=f.sha256)


def plan_category(manifest: Manifest, category: CategoryEntry, *, hub: Hub | None = None,
                  seed: int = 0) -> CategoryPlan:
    """Expand a category's sources into units and check them: every path exists, every glob matches, every
    local file (and the first hub file of each hub source, in the seeded order) has the text field, and
    the category has some text. Raises one-line errors naming the manifest."""
    where = f"[categories.{category.name}] "
    base = manifest.path.parent
    if hub is None and any(s.is_hub for s in category.sources):
        hub = HfHub()
    units: list[Unit] = []
    seen: set[str] = set()
    revisions: dict[str, dict[str, str]] = {}
    for i, entry in enumerate(category.sources):
        at = f"{where}sources[{i}]: "
        if entry.is_hub:
            assert hub is not None
            found = _hub_units(entry, hub, at, manifest.path, revisions)
        else:
            found = _local_units(entry, base, at, manifest.path)
        for unit in found:
            if unit.id not in seen:  # two globs naming one file: read it once
                seen.add(unit.id)
                units.append(unit)
    plan = CategoryPlan(category=category, units=units, revisions=revisions)
    ordered = sorted(units, key=lambda u: unit_order(seed, category.name, u.order_id))
    peeked: set[int] = set()
    for unit in ordered:
        if unit.remote is None:
            _check_text_field(unit, where, manifest.path)
        elif id(unit.source) not in peeked:  # the first hub file of each hub source (it is read first)
            peeked.add(id(unit.source))
            unit.path(hub)
            _check_text_field(unit, where, manifest.path)
    checked = [u for u in ordered if u.local is not None]
    # hub files not fetched yet may hold the text: only a category read entirely here can be called empty
    if len(checked) == len(units) and not any(_pieces_of_unit(u, category) for u in checked):
        raise input_error(manifest.path, f"{where}has no text: no document of its {len(checked)} file(s) has "
                                         f"{category.min_chars} or more characters after cleaning",
                          "check text_field and the files, lower min_chars, or remove the category")
    return plan


def _check_text_field(unit: Unit, where: str, manifest: Path) -> None:
    """The unit's file has its source's text field (JSONL: among the first records; Parquet: a column)."""
    path = unit.local
    assert path is not None
    kind = detect_format(path) if unit.source.format == "infer" else unit.source.format
    field_name = unit.source.text_field
    hint = 'set text_field = "{}" for this source (or the category)'
    if kind == "parquet":
        from forensics.errors import require

        pq = require("pyarrow.parquet", extra="parquet", purpose="reading Parquet shards")
        try:
            names = list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise input_error(manifest, f"{where}{unit.id} is not a readable Parquet file ({str(exc)[:200]})",
                              "re-create or remove the file") from None
        if field_name not in names:
            strings = [n for n in names if n in ("text", "content", "body", "raw_content")] or names[:1]
            raise input_error(manifest, f"{where}{unit.id} has no column {field_name!r} (columns: {', '.join(names)})",
                              hint.format(strings[0]) if strings else "pick the text column")
        return
    if kind != "jsonl":
        return
    records: list[dict[str, Any]] = []
    try:
        with open_binary(path) as handle:
            buffered = isinstance(handle, io.BufferedIOBase)
            reader = handle if buffered else io.BufferedReader(handle)  # type: ignore[arg-type,type-var]
            looked = 0
            while looked < PEEK_LINES:
                line = reader.readline(16 << 20)
                if not line:
                    break
                if not line.strip():
                    continue
                looked += 1
                if not line.endswith(b"\n") and len(line) >= 16 << 20:
                    return  # a huge first record: the reader checks it when it gets there
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    if isinstance(record.get(field_name), str):
                        return
                    records.append(record)
    except ForensicsError:
        raise
    except Exception as exc:  # a damaged gz/zst start, unreadable file
        raise input_error(manifest, f"{where}{unit.id} cannot be read ({type(exc).__name__}: {str(exc)[:200]})",
                          "re-create or remove the file") from None
    if records:
        fields = [k for k, v in records[0].items() if isinstance(v, str)]
        best = max(fields, key=lambda k: len(records[0][k])) if fields else None
        raise input_error(manifest, f"{where}{unit.id}: its records have no string field {field_name!r} (fields: "
                                    f"{', '.join(map(str, records[0]))})",
                          hint.format(best) if best else "name the field that holds the text in text_field")
    if looked:
        raise input_error(manifest, f"{where}{unit.id} is not JSON Lines (none of its first {looked} lines is a "
                                    f"JSON object)", 'set format = "text" for this source, or fix the file')


# --- cleaning and sampling -------------------------------------------------------------------------

def clean_pieces(text: str, category: CategoryEntry) -> list[str]:
    """A record's text as the documents the category keeps: English lines dropped (``drop_english``), cut
    at line ends into pieces of at most ``chunk_chars``, pieces under ``min_chars`` dropped.

    >>> clean_pieces("one line here\\nsecond line here", CategoryEntry("x", "other", (), chunk_chars=20, min_chars=5))
    ['one line here', 'second line here']
    """
    if category.drop_english:
        text = "\n".join(line for line in text.split("\n") if not looks_english(line))
    pieces = chunk_text(text, max_chars=category.chunk_chars, separator="\n") if category.chunk_chars else [text]
    return [p for p in pieces if len(p.strip()) >= category.min_chars]


def _pieces_of_unit(unit: Unit, category: CategoryEntry) -> bool:
    """Whether a (local or fetched) unit holds at least one document that survives cleaning."""
    assert unit.local is not None
    stats = ReadStats()
    for record in iter_file_documents(unit.local, format=unit.source.format, text_key=unit.source.text_field,
                                      stats=stats, on_error="skip", whole_text_files=False):
        if clean_pieces(record.text, category):
            return True
    return False


@dataclass
class _Entry:
    neg_key: int
    neg_seq: int
    nbytes: int
    doc: Doc
    dedup_key: bytes | None

    def __lt__(self, other: "_Entry") -> bool:
        return (self.neg_key, self.neg_seq) < (other.neg_key, other.neg_seq)


class BudgetSample:
    """A streaming sample: of all documents offered, those with the smallest keys whose text bytes reach
    ``target`` (the last may pass it). Memory: the kept documents plus one. With a ``dedup_key``, a
    document whose key is already kept is dropped (equal texts must share a key). Ties: first offered.

    >>> s = BudgetSample(10)
    >>> for key, text in [(5, "aaaa"), (1, "bbbb"), (9, "cccc"), (3, "dddd")]:
    ...     _ = s.offer(key, Doc("u", text, text), nbytes=len(text))
    >>> [d.text for d in s.documents()], s.total
    (['bbbb', 'dddd', 'aaaa'], 12)
    """

    def __init__(self, target: int) -> None:
        if target <= 0:
            raise ValueError("target must be positive")
        self.target = target
        self.total = 0
        self._heap: list[_Entry] = []  # a max-heap by (key, seq), through negated numbers
        self._kept: set[bytes] = set()
        self._seq = 0

    def offer(self, key: int, doc: Doc, *, nbytes: int, dedup_key: bytes | None = None) -> bool:
        """Offer one document; True when it is (for now) in the sample."""
        self._seq += 1
        heap = self._heap
        if self.total >= self.target and heap and (key, self._seq) > (-heap[0].neg_key, -heap[0].neg_seq):
            return False
        if dedup_key is not None:
            if dedup_key in self._kept:
                return False
            self._kept.add(dedup_key)
        heapq.heappush(heap, _Entry(-key, -self._seq, nbytes, doc, dedup_key))
        self.total += nbytes
        while heap and self.total - heap[0].nbytes >= self.target:
            top = heapq.heappop(heap)
            self.total -= top.nbytes
            if top.dedup_key is not None:
                self._kept.discard(top.dedup_key)
        return True

    def entries(self) -> list[_Entry]:
        return sorted(self._heap, reverse=True)

    def documents(self) -> list[Doc]:
        """The sample in key order."""
        return [e.doc for e in self.entries()]


def document_key(seed: int, category: str, text: str) -> bytes:
    """16 bytes that order (first 8) and identify (all 16) a document of a category for a seed.

    >>> document_key(0, "de", "Hallo") == document_key(0, "de", "Hallo"), len(document_key(1, "de", "x"))
    (True, 16)
    """
    return hashlib.blake2b(f"{seed}\0{category}\0".encode() + text.encode("utf-8", "surrogatepass"),
                           digest_size=16).digest()


@dataclass
class UnitRead:
    """What was read of one unit (for the provenance)."""

    id: str
    split: str
    documents: int = 0
    text_bytes: int = 0
    whole: bool = True
    sha256: str = ""
    bytes: int = 0


@dataclass
class CategorySample:
    """The sampled splits of one category, and what was read to get them."""

    parts: dict[str, list[Doc]]
    available: dict[str, int]
    units: list[UnitRead]
    shared_removed: int
    stats: ReadStats


def sample_category(plan: CategoryPlan, *, seed: int, target_bytes: int, hub: Hub | None = None) -> CategorySample:
    """Read a category's units in the seeded order and sample its two splits (the rules in the module doc)."""
    from forensics._results import file_sha256

    cat = plan.category
    samplers = {s: BudgetSample(target_bytes) for s in SPLITS}
    available = {s: 0 for s in SPLITS}
    limit = plan.read_factor * target_bytes if plan.read_factor > 0 else None
    stats = ReadStats()
    reads: list[UnitRead] = []
    dedup = cat.dedup == "document"

    def choose(unit_name: str) -> str | None:
        open_splits = [s for s in SPLITS if limit is None or available[s] < limit]
        if not open_splits:
            return None
        first = "train" if int(unit_order(seed, cat.name, unit_name)[:2], 16) % 2 == 0 else "count"
        return min(open_splits, key=lambda s: (available[s], s != first))

    by_group = plan.split_by == "group"
    for unit in sorted(plan.units, key=lambda u: unit_order(seed, cat.name, u.order_id)):
        split = choose(unit.order_id)
        if split is None:
            break
        path = unit.path(hub)
        read = UnitRead(id=unit.id, split="groups" if by_group else split)
        counts = {s: 0 for s in SPLITS}
        for number, record in enumerate(iter_file_documents(path, format=unit.source.format,
                                                            text_key=unit.source.text_field, stats=stats,
                                                            on_error="skip", whole_text_files=False)):
            if by_group and number % GROUP_DOCUMENTS == 0:
                split = choose(f"{unit.order_id}#{number // GROUP_DOCUMENTS}")
                if split is None:
                    read.whole = False
                    break
            assert split is not None
            pieces = clean_pieces(record.text, cat)
            for k, piece in enumerate(pieces):
                nbytes = len(piece.encode("utf-8", "surrogatepass"))
                available[split] += nbytes
                read.text_bytes += nbytes
                counts[split] += 1
                digest = document_key(seed, cat.name, normalise_for_dedup(piece) if dedup else piece)
                where = record.line or number + 1  # the JSONL line or Parquet row; a text file's block
                doc_id = f"{unit.id}:{where}" + (f"#{k + 1}" if len(pieces) > 1 else "")
                samplers[split].offer(int.from_bytes(digest[:8], "big"), Doc(unit.id, doc_id, piece),
                                      nbytes=nbytes, dedup_key=digest if dedup else None)
        read.documents = sum(counts.values())
        if by_group:
            read.split = "+".join(f"{s} {counts[s]}" for s in SPLITS if counts[s]) or "none"
        read.sha256 = file_sha256(path)
        read.bytes = path.stat().st_size
        reads.append(read)
    train = samplers["train"].entries()
    count = samplers["count"].entries()
    shared = 0
    if dedup:  # the same text from two units: keep it on the train side only
        train_keys = {e.dedup_key for e in train}
        kept = [e for e in count if e.dedup_key not in train_keys]
        shared, count = len(count) - len(kept), kept
    return CategorySample(parts={"train": [e.doc for e in train], "count": [e.doc for e in count]},
                          available=available, units=reads, shared_removed=shared, stats=stats)


# --- the build ---------------------------------------------------------------------------------------

@dataclass
class ManifestCategoryBuild:
    """What the builder wrote for one category of a manifest."""

    name: str
    train_bytes: int
    count_bytes: int
    train_documents: int
    count_documents: int
    available_bytes: int
    units_read: int
    units_listed: int
    split_by: str
    shared_removed: int


@dataclass
class ManifestBuildReport:
    """What the builder wrote for one manifest."""

    manifest: str
    out: str
    seed: int
    mb_per_category: float
    categories: list[ManifestCategoryBuild]
    skipped: dict[str, str]


def build_from_manifest(manifest: str | os.PathLike | Manifest, out: str | os.PathLike, *,
                        mb_per_category: float = 5.0, seed: int = 0, categories: Sequence[str] | None = None,
                        layout: Literal["directories", "flat"] = "directories", hub: Hub | None = None,
                        cache: str | os.PathLike | None = None, offline: bool = False, min_split_bytes: int = 20_000,
                        progress: Callable[[str], None] | None = None) -> ManifestBuildReport:
    """Check the manifest and every source, then sample and write each category into ``out``.

    Nothing is written until every check passed. ``hub`` replaces the hub client (default
    :class:`~forensics.corpus.hub.HfHub` with downloads in ``cache``, default ``$FORENSICS_CACHE/hub``).
    A category whose smaller split holds under ``min_split_bytes`` (or under the target, if smaller) is
    skipped and named in the report, as in the recipe builder.

    >>> build_from_manifest("my-manifest.toml", "/tmp/mine", mb_per_category=1)  # doctest: +SKIP
    """
    from forensics._results import atomic_write_text, check_output_directory, output_directory, provenance, write_json
    from forensics.corpus.build import categories_toml, write_splits

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
    if hub is None and any(s.is_hub for c in selected for s in c.sources):
        hub = HfHub(cache=cache)
    plans = [plan_category(loaded, c, hub=hub, seed=seed) for c in selected]  # every check, before writing
    out_dir = Path(out)  # created with the first category written: a build with nothing to write leaves nothing
    target = int(mb_per_category * 1e6 / 2)
    built: list[ManifestCategoryBuild] = []
    skipped: dict[str, str] = {}
    sources: dict[str, dict[str, Any]] = {}
    revisions: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for plan in plans:
        cat = plan.category
        if progress:
            progress(cat.name)
        sample = sample_category(plan, seed=seed, target_bytes=target, hub=hub)
        revisions.update(plan.revisions)
        problems += sample.stats.problems[:100]
        for read in sample.units:
            unit = next(u for u in plan.units if u.id == read.id)
            sources[read.id] = {"category": cat.name, "split": read.split, "licence": unit.source.licence,
                                "sha256": read.sha256, "bytes": read.bytes, "documents": read.documents,
                                "text_bytes": read.text_bytes, "read_whole": read.whole}
            if unit.remote is not None:
                sources[read.id]["hub"] = {"repo": unit.remote[0], "path": unit.remote[1],
                                           "revision": unit.remote[2], "lfs_sha256": unit.hub_sha256}
        sizes = {s: sum(len(d.text.encode("utf-8", "surrogatepass")) for d in sample.parts[s]) for s in SPLITS}
        if min(sizes.values()) < min(min_split_bytes, target):
            skipped[cat.name] = (f"too little text for two splits (train {sizes['train']:,} and count "
                                 f"{sizes['count']:,} bytes, {len(sample.units)} of {len(plan.units)} units read)")
            if progress:
                progress(f"{cat.name}: skipped, {skipped[cat.name]}")
            continue
        written = write_splits(output_directory(out_dir), cat.name, sample.parts, layout)
        built.append(ManifestCategoryBuild(
            name=cat.name, train_bytes=written["train"], count_bytes=written["count"],
            train_documents=len(sample.parts["train"]), count_documents=len(sample.parts["count"]),
            available_bytes=sum(sample.available.values()), units_read=len(sample.units),
            units_listed=len(plan.units), split_by=plan.split_by, shared_removed=sample.shared_removed))
    if not built:
        raise input_error(loaded.path, f"no category has text enough for two splits of {target:,} bytes ("
                                       + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + ")",
                          "lower --mb-per-category or add sources")
    metadata = {c.category.name: c.category.metadata() for c in plans if c.category.name in {b.name for b in built}}
    groups = {c.category.group for c in plans}
    shown = os.fspath(loaded.path) if loaded.path.parent != MANIFEST_DIR else loaded.path.stem
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
    return ManifestBuildReport(manifest=shown, out=os.fspath(out_dir), seed=seed, mb_per_category=mb_per_category,
                               categories=built, skipped=skipped)
