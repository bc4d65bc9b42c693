"""Partial scan results: what one work unit counted, how partials add up, and how they are stored.

What it does: :class:`Partial` holds per-category document, byte and token counts (the last slot is
``unknown``), the byte-pair histogram, the bytes scored and the read statistics of some units; partials
add with ``+`` (associative, commutative on counts). Each unit's partial is one JSON file written
atomically, tagged with a fingerprint of the scan settings and the unit's shards, so a rerun can tell a
finished unit from a stale one; the scan's plan (its units and settings) is one JSON file beside them.

What it leaves out: the per-document work (``scan.py``), adding a directory's partials up into a result
(``results.py``) and the report files (``report.py``).

>>> a = Partial.empty(["de", "en"]); a.documents[0] += 1
>>> (a + a).documents.tolist()
[2, 0, 0]
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensics._results import write_json
from forensics.corpus.readers import ReadStats
from forensics.errors import ForensicsError, input_error

PARTIALS_DIR = "partials"
LABELS_DIR = "labels"
PLAN_FILE = "scan-plan.json"
PLAN_KEYS = ("names", "units", "shards", "profiles_path", "settings", "parameters")


@dataclass
class Partial:
    """Counts of some units; ``names`` are the categories, the arrays have one more slot (``unknown``)."""

    names: list[str]
    documents: np.ndarray
    bytes: np.ndarray
    tokens: np.ndarray
    pair_hist: np.ndarray
    scored_bytes: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss: int = 0  # the largest worker resident set seen (bytes; 0 where unknown)
    units: list[int] = field(default_factory=list)
    read: ReadStats = field(default_factory=ReadStats)
    input_hashes: dict[str, str] = field(default_factory=dict)
    # bytes of the documents labelled ``unknown``, by their best (if unconvincing) category
    unknown_best: np.ndarray = None  # type: ignore[assignment]  # zeros after __post_init__
    novel_documents: int = 0  # of the ``unknown`` documents, those unlike every category (novel)
    novel_bytes: int = 0
    markup_documents: int = 0  # HTML pages, classified by their visible text
    markup_bytes: int = 0

    def __post_init__(self) -> None:
        if self.unknown_best is None:
            self.unknown_best = np.zeros(len(self.names), np.int64)

    @classmethod
    def empty(cls, names: list[str]) -> "Partial":
        slots = len(names) + 1
        return cls(list(names), np.zeros(slots, np.int64), np.zeros(slots, np.int64), np.zeros(slots, np.int64),
                   np.zeros(1 << 16, np.uint64))

    def __add__(self, other: "Partial") -> "Partial":
        if self.names != other.names:
            raise ForensicsError("cannot add partials of different category profiles; rerun the scan with "
                                 "one set of profiles")
        return Partial(self.names, self.documents + other.documents, self.bytes + other.bytes,
                       self.tokens + other.tokens, self.pair_hist + other.pair_hist,
                       self.scored_bytes + other.scored_bytes, self.seconds + other.seconds,
                       self.cpu_seconds + other.cpu_seconds, max(self.peak_rss, other.peak_rss),
                       sorted(self.units + other.units), self.read + other.read,
                       {**self.input_hashes, **other.input_hashes}, self.unknown_best + other.unknown_best,
                       self.novel_documents + other.novel_documents, self.novel_bytes + other.novel_bytes,
                       self.markup_documents + other.markup_documents, self.markup_bytes + other.markup_bytes)

    def to_dict(self) -> dict[str, Any]:
        keys = np.flatnonzero(self.pair_hist)
        return {"names": self.names, "documents": self.documents, "bytes": self.bytes, "tokens": self.tokens,
                "pair_keys": keys, "pair_counts": self.pair_hist[keys], "scored_bytes": self.scored_bytes,
                "seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "peak_rss": self.peak_rss,
                "units": self.units, "read": self.read,
                "input_hashes": self.input_hashes, "unknown_best": self.unknown_best,
                "novel_documents": self.novel_documents, "novel_bytes": self.novel_bytes,
                "markup_documents": self.markup_documents, "markup_bytes": self.markup_bytes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Partial":
        hist = np.zeros(1 << 16, np.uint64)
        hist[np.asarray(data["pair_keys"], np.int64)] = np.asarray(data["pair_counts"], np.uint64)
        return cls(list(data["names"]), np.asarray(data["documents"], np.int64),
                   np.asarray(data["bytes"], np.int64), np.asarray(data["tokens"], np.int64), hist,
                   int(data["scored_bytes"]), float(data["seconds"]), float(data.get("cpu_seconds", 0.0)),
                   int(data.get("peak_rss", 0)),
                   list(data["units"]),
                   ReadStats(**data["read"]), dict(data.get("input_hashes", {})),
                   np.asarray(data.get("unknown_best", np.zeros(len(data["names"]))), np.int64),
                   int(data.get("novel_documents", 0)), int(data.get("novel_bytes", 0)),
                   int(data.get("markup_documents", 0)), int(data.get("markup_bytes", 0)))


def partial_path(work_dir: str | os.PathLike, unit: int) -> Path:
    return Path(work_dir) / PARTIALS_DIR / f"unit-{unit:06d}.json"


def labels_path(work_dir: str | os.PathLike, unit: int) -> Path:
    return Path(work_dir) / LABELS_DIR / f"unit-{unit:06d}.jsonl"


def write_partial(work_dir: str | os.PathLike, unit: int, fingerprint: str, partial: Partial) -> None:
    """Write one unit's partial atomically (readers see the old file or the whole new one)."""
    write_json(partial_path(work_dir, unit), {"fingerprint": fingerprint, "partial": partial.to_dict()})


def read_partial(work_dir: str | os.PathLike, unit: int, fingerprint: str | None = None) -> Partial | None:
    """A unit's partial, or None when it is missing, unreadable, or from other settings or shards."""
    path = partial_path(work_dir, unit)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if fingerprint is not None and data.get("fingerprint") != fingerprint:
        return None
    return Partial.from_dict(data["partial"])


def write_plan(work_dir: str | os.PathLike, plan: dict[str, Any]) -> None:
    write_json(Path(work_dir) / PLAN_FILE, plan)


def read_plan(work_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(work_dir) / PLAN_FILE
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise input_error(path, "no scan plan here", "pass the --output directory of `forensics scan`") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise input_error(path, f"unreadable scan plan ({exc})", "rerun the scan") from None
    lacking = [key for key in PLAN_KEYS if not isinstance(plan, dict) or key not in plan]
    if lacking or not all(isinstance(u, dict) and {"index", "fingerprint"} <= u.keys() for u in plan["units"]):
        raise input_error(path, f"not a scan plan (missing {', '.join(lacking) or 'unit indices'})",
                          "rerun the scan that wrote it")
    return plan
