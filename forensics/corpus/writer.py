"""What both category-set builders share: the seeded unit order, the split files, ``categories.toml``, the report.

What it does: :func:`unit_order` is the one seeded order in which both builders (registry recipes,
:mod:`forensics.corpus.build`, and manifests, :mod:`forensics.corpus.manifest`) take their split units;
:func:`write_splits` writes a category's ``train`` and ``count`` documents as ``{"id", "text"}`` JSON
lines, gzip level 9 with mtime 0 (so a rebuild gives identical bytes), each file atomically;
:func:`categories_toml` writes the set's metadata; :class:`WrittenCategory` and :class:`BuildReport` say
what a build wrote (each builder adds what it read to :class:`WrittenCategory`).

What it leaves out: reading and sampling (the builders), and running categories as jobs
(:mod:`forensics.corpus.jobs`).

>>> unit_order(0, "de", "a.jsonl")[:12]
'e98bc243aa88'
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from forensics.corpus.cleaning import Doc

SPLITS: tuple[str, str] = ("train", "count")
Layout = Literal["directories", "flat"]


def unit_order(seed: int, category: str, unit: str) -> str:
    """Sort key of a split unit: a seeded hash, so the order is random-looking but reproducible."""
    return hashlib.sha256(f"{seed}\0{category}\0{unit}".encode()).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    """gzip level 9 with mtime 0 and no file name, so equal input gives equal bytes.

    >>> gzip_bytes(b"abc") == gzip_bytes(b"abc")
    True
    """
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
    return {split: write_jsonl_gz(split_path(out_dir, category, split, layout), parts[split]) for split in SPLITS}


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


@dataclass
class WrittenCategory:
    """What a build wrote for one category: text bytes and documents per split, and the text it had."""

    name: str
    train_bytes: int
    count_bytes: int
    train_documents: int
    count_documents: int
    available_bytes: int


@dataclass
class BuildReport:
    """What a build wrote: ``source`` is the recipe name or the manifest; ``skipped`` names the categories with too
    little text, and why; ``resumed`` those an earlier run had finished. A rank of an array job
    (``world_size > 1``) reports its share of the categories; the run without a rank writes the set's metadata.

    >>> BuildReport("code", "/tmp/code", 0, 5.0, []).short(min_mb=1)
    []
    """

    source: str
    out: str
    seed: int
    mb_per_category: float
    categories: list[WrittenCategory]
    skipped: dict[str, str] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    rank: int = 0
    world_size: int = 1

    def short(self, *, min_mb: float) -> list[str]:
        """Names of categories below ``min_mb`` MB of text (both splits together)."""
        return [c.name for c in self.categories if c.train_bytes + c.count_bytes < min_mb * 1e6]
