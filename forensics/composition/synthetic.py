"""Synthetic corpora of known make-up, for measuring scans against the truth.

What it does: cuts the documents of category sets (the ``count`` split by default, which profiles
never see) into paragraphs of at least ``min_bytes`` UTF-8 bytes, and writes shards of documents
(each one to ``max_paragraphs`` paragraphs of one category) in mixed formats (``.jsonl``,
``.jsonl.gz``, ``.jsonl.zst``) until a byte budget is reached, recording each document's category
in the record (``category``) and the exact byte composition in ``truth.json``. Deterministic for a seed.

What it leaves out: real-world noise (mixed-language documents, boilerplate); text is repeated when
the budget exceeds the samples.

>>> truth = write_synthetic_corpus("/tmp/corpus", ["languages"], total_bytes=10**6)
>>> round(sum(truth["bytes"].values()) / 1e6, 1)
1.0
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forensics._results import atomic_write_bytes, write_json
from forensics.composition.profiles import split_pieces

SHARD_SUFFIXES: tuple[str, ...] = (".jsonl", ".jsonl.gz", ".jsonl.zst")


def labelled_paragraphs(categories: Any, *, split: str = "count", min_bytes: int = 200) -> list[tuple[str, str]]:
    """``(category, paragraph)`` pairs from category sets (names, directories or loaded sets).

    >>> labelled_paragraphs("code")[0][0]
    'c'
    """
    from forensics.corpus.categories import CategorySet, load_categories

    specs = [categories] if isinstance(categories, (str, os.PathLike, CategorySet)) else list(categories)
    out = []
    for spec in specs:
        cat_set = spec if isinstance(spec, CategorySet) else load_categories(spec, split=split)
        for cat in cat_set:
            for text in cat.texts():
                out.extend((cat.name, p) for p in split_pieces(text, min_bytes=min_bytes) if p.strip())
    return out


def _compress(data: bytes, suffix: str) -> bytes:
    if suffix.endswith(".gz"):
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as handle:
            handle.write(data)
        return buffer.getvalue()
    if suffix.endswith(".zst"):
        import zstandard

        return zstandard.ZstdCompressor(level=1).compress(data)
    return data


def write_synthetic_corpus(directory: str | os.PathLike, categories: Any = ("languages", "code"), *,
                           total_bytes: int, shards: int = 8, seed: int = 0, split: str = "count",
                           min_bytes: int = 200, max_paragraphs: int = 4,
                           weights: dict[str, float] | None = None,
                           suffixes: Sequence[str] = SHARD_SUFFIXES) -> dict[str, Any]:
    """Write ``shards`` shard files holding about ``total_bytes`` of text; return (and save) the truth.

    ``weights`` (category -> relative weight; default: random Dirichlet shares) sets the make-up.

    >>> write_synthetic_corpus("/tmp/c", "code", total_bytes=10**5, shards=2)["files"]
    ['shard-00000.jsonl', 'shard-00001.jsonl.gz']
    """
    rng = np.random.default_rng(seed)
    paragraphs = labelled_paragraphs(categories, split=split, min_bytes=min_bytes)
    by_category: dict[str, list[str]] = {}
    for name, text in paragraphs:
        by_category.setdefault(name, []).append(text)
    names = sorted(by_category)
    if weights is None:
        share = rng.dirichlet(np.full(len(names), 2.0))
    else:
        share = np.array([float(weights.get(n, 0.0)) for n in names])
        share = share / share.sum()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    truth_bytes = dict.fromkeys(names, 0)
    truth_docs = dict.fromkeys(names, 0)
    per_shard = total_bytes / shards
    files = []
    number = 0
    for s in range(shards):
        suffix = suffixes[s % len(suffixes)]
        lines, size = [], 0
        while size < per_shard:
            name = names[rng.choice(len(names), p=share)]
            pool = by_category[name]
            picks = rng.integers(0, len(pool), size=rng.integers(1, max_paragraphs + 1))
            text = "\n".join(pool[i] for i in picks)
            record = {"id": f"doc-{number}", "category": name, "text": text}
            number += 1
            encoded = len(text.encode("utf-8"))
            size += encoded
            truth_bytes[name] += encoded
            truth_docs[name] += 1
            lines.append(json.dumps(record, ensure_ascii=False))
        path = directory / f"shard-{s:05d}{suffix}"
        atomic_write_bytes(path, _compress(("\n".join(lines) + "\n").encode("utf-8"), suffix))
        files.append(path.name)
    total = sum(truth_bytes.values())
    truth = {"bytes": truth_bytes, "documents": truth_docs,
             "byte_shares": {n: truth_bytes[n] / total for n in names}, "files": files, "seed": seed,
             "split": split, "min_bytes": min_bytes}
    write_json(directory.parent / f"{directory.name}.truth.json", truth)
    return truth
