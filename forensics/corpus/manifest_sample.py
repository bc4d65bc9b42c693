"""Sampling a manifest category: its units read in the seeded order, each split a uniform sample under a budget.

What it does: :func:`sample_category` reads a planned category's units (:mod:`forensics.corpus.manifest_plan`)
in the seeded order, sends each unit (or group of :data:`GROUP_DOCUMENTS` records) to a split, cleans each
record into documents (:func:`clean_pieces`) and keeps, per split, the documents with the smallest keys
(:func:`document_key`) whose text reaches the target: a :class:`BudgetSample`, whose memory is the sample
plus one document. The rules, exactly, are in :mod:`forensics.corpus.manifest`.

What it leaves out: writing the splits (:mod:`forensics.corpus.writer`) and reading file formats
(:mod:`forensics.corpus.readers`).

>>> clean_pieces("Ein Satz.\\nNoch ein Satz.", CategoryEntry("de", "language", (), chunk_chars=12, min_chars=5))
['Ein Satz.', 'Noch ein Satz.']
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

from forensics.corpus.cleaning import Doc, chunk_text, looks_english, normalise_for_dedup
from forensics.corpus.hub import Hub
from forensics.corpus.manifest_parse import CategoryEntry
from forensics.corpus.readers import ReadStats, iter_file_documents
from forensics.corpus.writer import SPLITS, unit_order

if TYPE_CHECKING:  # the plan is read here, made there (it checks its units with clean_pieces)
    from forensics.corpus.manifest_plan import CategoryPlan

GROUP_DOCUMENTS = 64          # records per document group (the split unit of a single-file category)


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
    """Read a category's units in the seeded order and sample its two splits (the rules: :mod:`forensics.corpus.manifest`)."""
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
