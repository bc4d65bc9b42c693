"""Planning a manifest category: its sources expanded into units (local files, hub files) and checked.

What it does: :func:`plan_category` expands each source of a category into :class:`Unit` objects (a
local file, or a file of a hub dataset at a resolved commit, fetched when first read) and checks them
before anything is written: every path exists, every glob matches, each local file (and the first hub
file of each hub source) has the text field, and the category has some text. The result, a
:class:`CategoryPlan`, is what :func:`forensics.corpus.manifest_sample.sample_category` reads.

What it leaves out: parsing the manifest (:mod:`forensics.corpus.manifest_parse`), the hub protocol
(:mod:`forensics.corpus.hub`) and sampling (:mod:`forensics.corpus.manifest_sample`).

>>> import pathlib, tempfile
>>> from forensics.corpus.manifest_parse import load_manifest
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "de.jsonl").write_text('{"text": "Ein Satz mit genug Zeichen darin."}\\n')
>>> _ = (folder / "m.toml").write_text('[categories.de]\\nsources = ["de.jsonl"]\\n')
>>> manifest = load_manifest(folder / "m.toml")
>>> [(u.id, u.size) for u in plan_category(manifest, manifest.categories[0]).units]
[('de.jsonl', 46)]
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.corpus.hub import Hub, HubSource, HfHub, RemoteFile, list_hub_files, parse_hf_url
from forensics.corpus.manifest_parse import CategoryEntry, Manifest, SourceEntry
from forensics.corpus.manifest_sample import clean_pieces
from forensics.corpus.readers import ReadStats, detect_format, iter_file_documents, open_binary
from forensics.corpus.writer import unit_order
from forensics.errors import ForensicsError, input_error

HUB_READ_FACTOR = 4.0         # default read_factor of a category with hf:// sources
PEEK_LINES = 20               # JSONL lines looked at to check a file's text field


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



def _pieces_of_unit(unit: Unit, category: CategoryEntry) -> bool:
    """Whether a (local or fetched) unit holds at least one document that survives cleaning."""
    assert unit.local is not None
    stats = ReadStats()
    for record in iter_file_documents(unit.local, format=unit.source.format, text_key=unit.source.text_field,
                                      stats=stats, on_error="skip", whole_text_files=False):
        if clean_pieces(record.text, category):
            return True
    return False

