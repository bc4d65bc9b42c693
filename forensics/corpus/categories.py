"""Category sets: named groups of sample text (languages, programming languages, domains).

What it does: reads a category set from a directory and finds the bundled sets by name.

A category set is a directory holding, per category, either files named after the category
(``de.txt``, ``de.txt.gz``, ``de.jsonl``, ``de.jsonl.gz``, ``de.jsonl.zst``; with a split:
``de.train.jsonl.gz`` and ``de.count.jsonl.gz``) or one subdirectory named after it holding any
number of such files. Inside a subdirectory, files whose name starts with ``train`` or ``count``
(``train.jsonl.gz``, ``count.txt``, ``train-000.jsonl.gz``) form the two disjoint splits; other files
belong to both. An optional ``categories.toml`` (or ``categories.json``) gives
metadata::

    [set]
    description = "30+ natural languages"
    group = "language"            # default group of every category

    [categories.de]
    group = "language"            # language | code | domain | other
    language = "de"
    script = "Latn"               # ISO 15924, used by the quality report
    source = "Debian libreoffice-help-de 7.4.7"
    licence = "MPL-2.0"

The bundled sets (``languages``, ``languages-wide``, ``code``, ``domains``) live in
``fixtures/categories``; each document there is one JSONL record ``{"id": ..., "text": ...}`` in
``<category>/train.jsonl.gz`` / ``<category>/count.jsonl.gz`` (``languages-wide``, with 450 small
categories, uses the flat ``<category>.train.jsonl.gz`` form to save disk blocks). More directories of named sets can be listed in the
environment variable ``FORENSICS_CATEGORIES`` (``os.pathsep``-separated).

What it leaves out: building sets from packages (:mod:`forensics.corpus.build`), quality checks
(:mod:`forensics.corpus.quality`), counting words (``forensics.counting``).

>>> cats = load_categories("languages", split="train")
>>> cats["de"].files  # doctest: +ELLIPSIS
(PosixPath('.../fixtures/categories/languages/de/train.jsonl.gz'),)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from forensics.corpus.readers import Document, ReadStats, iter_documents, split_suffix
from forensics.errors import ForensicsError, input_error

Split = Literal["train", "count", "all"]
Group = Literal["language", "code", "domain", "other"]

SPLITS: tuple[str, ...] = ("train", "count")
GROUPS: tuple[str, ...] = ("language", "code", "domain", "other")
CATEGORY_SUFFIXES = {".txt", ".jsonl"}
METADATA_FILES = ("categories.toml", "categories.json")
ENV_VAR = "FORENSICS_CATEGORIES"

BUNDLED_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "categories"


@dataclass(frozen=True)
class Category:
    """One category: its name, group, the files of the chosen split, and metadata."""

    name: str
    group: str
    files: tuple[Path, ...]
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def script(self) -> str | None:
        """ISO 15924 script code from the metadata (``"Latn"``), if any."""
        return self.metadata.get("script")

    @property
    def language(self) -> str | None:
        return self.metadata.get("language")

    @property
    def bytes_on_disk(self) -> int:
        return sum(path.stat().st_size for path in self.files)

    def documents(self, *, stats: ReadStats | None = None) -> Iterator[Document]:
        """Documents of this category's files, in file order.

        >>> next(load_categories("domains")["bible"].documents()).text[:17]
        'The Book of Micah'
        """
        return self._checked(iter_documents(list(self.files), stats=stats, on_error="raise"))

    def _checked(self, documents: Iterator[Document]) -> Iterator[Document]:
        """The documents, and an error at the end when none had any text but whitespace (such a category
        has nothing to measure, and would take shares it cannot have earned)."""
        seen_text = False
        for doc in documents:
            seen_text = seen_text or not doc.text.isspace() and bool(doc.text)
            yield doc
        if not seen_text:
            where = self.files[0] if len(self.files) == 1 else (self.files[0].parent if self.files else None)
            raise input_error(where, f"category {self.name!r} has no text (its documents are empty or "
                                     f"whitespace)", "add sample text or remove the category")

    def texts(self) -> Iterator[str]:
        for doc in self.documents():
            yield doc.text

    def read_text(self, *, separator: str = "\n\n") -> str:
        """All documents joined by ``separator``.

        >>> len(load_categories("domains")["bible"].read_text())
        221078
        """
        return separator.join(self.texts())


@dataclass(frozen=True)
class CategorySet:
    """A loaded category set: its name, directory, split, categories (sorted by name) and metadata."""

    name: str
    path: Path
    split: str
    categories: tuple[Category, ...]
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def names(self) -> list[str]:
        return [cat.name for cat in self.categories]

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __len__(self) -> int:
        return len(self.categories)

    def __contains__(self, name: object) -> bool:
        return any(cat.name == name for cat in self.categories)

    def __getitem__(self, name: str) -> Category:
        for cat in self.categories:
            if cat.name == name:
                return cat
        raise KeyError(f"no category {name!r} in set {self.name!r} (categories: {', '.join(self.names)})")

    def select(self, names: Sequence[str]) -> "CategorySet":
        """The same set restricted to ``names`` (in the given order).

        >>> load_categories("code").select(["python", "rust"]).names
        ['python', 'rust']
        """
        missing = [n for n in names if n not in self]
        if missing:
            raise ForensicsError(f"category set {self.name!r} has no categor{'y' if len(missing) == 1 else 'ies'} "
                                 f"{', '.join(missing)}; it has: {', '.join(self.names)}")
        picked = tuple(self[n] for n in names)
        return CategorySet(self.name, self.path, self.split, picked, self.metadata)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for cat in self.categories:
            out.setdefault(cat.group, []).append(cat.name)
        return out


# --- registry -------------------------------------------------------------------------------------

_REGISTERED: dict[str, Path] = {}


def register_category_set(name: str, path: str | os.PathLike) -> None:
    """Make a directory loadable by name (for this process).

    >>> register_category_set("mine", "fixtures/categories/domains")
    >>> load_categories("mine").names[:2]
    ['bible', 'fiction']
    """
    _REGISTERED[name] = Path(path)


def _search_dirs() -> list[Path]:
    dirs = [BUNDLED_DIR]
    for item in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if item:
            dirs.append(Path(item))
    return dirs


def category_set_names() -> dict[str, Path]:
    """Every named set: registered ones, then sets found in the bundled and ``FORENSICS_CATEGORIES`` dirs.

    >>> sorted(category_set_names())
    ['code', 'domains', 'languages', 'languages-wide']
    """
    found: dict[str, Path] = {}
    for base in _search_dirs():
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.is_dir() and not child.name.startswith((".", "_")) and child.name not in found:
                found[child.name] = child
    found.update(_REGISTERED)
    return found


def resolve_category_set(name_or_path: str | os.PathLike) -> tuple[str, Path]:
    """The set's name and directory for a registered name or a directory path."""
    text = os.fspath(name_or_path)
    names = category_set_names()
    if text in names:
        return text, names[text]
    path = Path(text)
    if path.is_dir():
        return path.name, path
    if path.exists():
        raise input_error(path, "a category set is a directory (one file or subdirectory per category)",
                          "pass the directory that holds the category files")
    known = ", ".join(sorted(names)) or "none found"
    raise ForensicsError(f"unknown category set {text!r}: not a named set (named sets: {known}) and no such "
                         f"directory; pass one of the names or a directory path")


# --- loading --------------------------------------------------------------------------------------

def read_metadata(directory: Path) -> dict[str, Any]:
    """The parsed ``categories.toml`` / ``categories.json`` of a set directory ({} when absent)."""
    for name in METADATA_FILES:
        path = directory / name
        if not path.is_file():
            continue
        try:
            if name.endswith(".toml"):
                import tomllib

                with open(path, "rb") as handle:
                    data = tomllib.load(handle)
            else:
                data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise input_error(path, f"unreadable category metadata ({exc})", "fix or remove the file") from None
        if not isinstance(data, dict):
            raise input_error(path, "category metadata must be a table/object", "see forensics.corpus.categories")
        return data
    return {}


def _is_category_file(path: Path) -> bool:
    ext, _ = split_suffix(path)
    return path.is_file() and not path.name.startswith(".") and ext in CATEGORY_SUFFIXES


def _split_of(path: Path) -> str | None:
    stem = path.name.split(".", 1)[0]
    for split in SPLITS:
        if stem == split or stem.startswith(split + "-") or stem.startswith(split + "_"):
            return split
    return None


def _file_category(path: Path) -> tuple[str, str | None]:
    """Category name and split of a top-level file: ``de.txt`` -> (de, None), ``de.count.jsonl.gz`` -> (de, count)."""
    name = path.name
    ext, compression = split_suffix(path)
    if compression != "none":
        name = name.rsplit(".", 1)[0]
    name = name[: -len(ext)] if ext else name
    for split in SPLITS:
        if name.endswith("." + split):
            return name[: -len(split) - 1], split
    return name, None


def _pick(files: list[tuple[Path, str | None]], split: str) -> tuple[Path, ...]:
    # Files of the split plus files that belong to no split; an unsplit category gives all its files.
    return tuple(sorted(p for p, s in files if split == "all" or s in (split, None)))


def load_categories(name_or_path: str | os.PathLike, *, split: Split = "all",
                    categories: Sequence[str] | None = None) -> CategorySet:
    """Load a category set by name (``"languages"``) or directory path.

    ``split`` picks the ``train`` or ``count`` files (or ``all``); ``categories`` keeps only those names.
    A category's files for a split are its files of that split plus files that belong to no split.

    >>> s = load_categories("code", split="count"); s.names[:3]
    ['c', 'cpp', 'go']
    """
    if split not in ("train", "count", "all"):
        raise ForensicsError(f"unknown split {split!r}; use train, count or all")
    name, directory = resolve_category_set(name_or_path)
    metadata = read_metadata(directory)
    set_meta = metadata.get("set", {}) if isinstance(metadata.get("set"), dict) else {}
    per_category = metadata.get("categories", {}) if isinstance(metadata.get("categories"), dict) else {}
    default_group = set_meta.get("group", "other")
    members: dict[str, list[tuple[Path, str | None]]] = {}
    kinds: dict[str, str] = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith((".", "_")) or entry.name in METADATA_FILES:
            continue
        if entry.is_dir():
            cat_name, kind = entry.name, "directory"
            found = [(p, _split_of(p)) for p in sorted(entry.rglob("*")) if _is_category_file(p)]
            if not found:
                continue  # a directory with no text files is not a category
        elif _is_category_file(entry):
            (cat_name, file_split), kind = _file_category(entry), "file"
            found = [(entry, file_split)]
        else:
            continue
        if kinds.setdefault(cat_name, kind) != kind or (kind == "directory" and cat_name in members):
            raise input_error(entry, f"category {cat_name!r} is defined both as a file and as a directory",
                              "keep one of them")
        members.setdefault(cat_name, []).extend(found)
    if not members:
        raise input_error(directory, "no category files found (.txt, .txt.gz, .jsonl, .jsonl.gz, .jsonl.zst)",
                          "put one file or subdirectory per category in it")
    cats = []
    for cat_name in sorted(members):
        files = _pick(members[cat_name], split)
        if not files:
            continue  # the category has files, none for this split
        meta = dict(per_category.get(cat_name, {}))
        group = meta.get("group", default_group)
        if group not in GROUPS:
            meta_file = next((directory / n for n in METADATA_FILES if (directory / n).is_file()), directory)
            raise input_error(meta_file, f"category {cat_name!r} has unknown group {group!r}",
                              f"use one of {', '.join(GROUPS)}")
        cats.append(Category(name=cat_name, group=group, files=files, metadata=meta))
    cat_set = CategorySet(name=name, path=directory, split=split, categories=tuple(cats), metadata=set_meta)
    if categories is not None:
        cat_set = cat_set.select(list(categories))
    return cat_set


@dataclass
class SetSummary:
    """One line of ``forensics categories list``."""

    name: str
    path: str
    categories: int
    groups: dict[str, int]
    bytes_on_disk: int
    description: str


def list_category_sets() -> list[SetSummary]:
    """Every named set with its number of categories and size on disk.

    >>> [s.name for s in list_category_sets()]
    ['code', 'domains', 'languages', 'languages-wide']
    """
    out = []
    for name, path in sorted(category_set_names().items()):
        try:
            cat_set = load_categories(path)
        except ForensicsError:
            continue
        groups: dict[str, int] = {}
        for cat in cat_set:
            groups[cat.group] = groups.get(cat.group, 0) + 1
        size = sum(cat.bytes_on_disk for cat in cat_set)
        out.append(SetSummary(name=name, path=os.fspath(path), categories=len(cat_set), groups=groups,
                              bytes_on_disk=size, description=str(cat_set.metadata.get("description", ""))))
    return out
