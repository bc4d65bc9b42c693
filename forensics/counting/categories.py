"""Count every category of a category set under one tokenizer: word counts and merge traces, cached.

Categories are processed in parallel (one process each, all cores). Word counts and traces are cached
on disk, keyed by the hashes of the sample files, the tokenizer file and the pre-tokenizer rules, so a
rerun with another number of merges or another solver setting reads them back instead of recounting;
``cache=False`` recomputes everything. The cache lives in ``$FORENSICS_CACHE/counts`` (default
``~/.cache/forensics/counts``).

>>> result = count_categories("gpt2/vocab.bpe", "languages", merges=3000)  # doctest: +SKIP
>>> result.traces["en"].merged_count[:3]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forensics.bpe.model import Tokenizer
from forensics.counting.replay import PairTrace, replay_merges
from forensics.counting.words import WordCounts, count_words, inputs_hash
from forensics.errors import ForensicsError

CACHE_VERSION = "v1"


def cache_dir() -> Path:
    """Where word counts and traces are cached.

    >>> cache_dir().name
    'counts'
    """
    from forensics._cache import cache_dir as _cache_dir

    return _cache_dir("counts")


@dataclass
class CategoryRow:
    """One row of the summary table."""

    name: str
    bytes: int
    documents: int
    words: int
    unique_words: int
    pairs: int
    merges_seen: int
    merges_missing: int
    invalid_utf8_sequences: int
    seconds: float
    cached: bool
    trace_path: str = ""


@dataclass
class CategoryCounts:
    """Traces of every category, in the order of the category set, plus the summary rows."""

    traces: dict[str, PairTrace]
    rows: list[CategoryRow]
    tokenizer_sha256: str
    merges: int
    parameters: dict = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _count_job(job: tuple) -> tuple[str, str, CategoryRow]:
    return _count_one(*job)


def _count_one(name: str, files: list[str], tokenizer: Tokenizer, merges: int | None, use_cache: bool,
               text_key: str) -> tuple[str, str, CategoryRow]:
    started = time.perf_counter()
    paths = [Path(f) for f in files]
    source = inputs_hash(paths)
    rules = tokenizer.training_pretokenizer
    words_key = _key(CACHE_VERSION, "words", source, rules.fingerprint(), text_key)
    steps = tokenizer.num_merges if merges is None else min(merges, tokenizer.num_merges)
    trace_key = _key(CACHE_VERSION, "trace", words_key, tokenizer.sha256, str(steps))
    folder = cache_dir()
    words_path = folder / f"words-{words_key}.npz"
    trace_path = folder / f"trace-{trace_key}.npz"
    cached = False
    trace = _load_cached(PairTrace.load, trace_path) if use_cache and trace_path.exists() else None
    if trace is not None:
        cached = True
    else:
        word_counts = _load_cached(WordCounts.load, words_path) if use_cache and words_path.exists() else None
        if word_counts is None:
            word_counts = count_words(paths, pretokenizer=rules, text_key=text_key, workers=1)
            if use_cache:
                word_counts.save(words_path)
        if all(word.isspace() for word in word_counts.words):  # nothing, or whitespace only: nothing to measure
            raise ForensicsError(f"category '{name}' has no text, only whitespace or nothing ({', '.join(files)}); "
                                 f"add sample text or drop it")
        trace = replay_merges(word_counts, tokenizer, merges=steps, name=name)
        trace.meta.update({"source_hash": source, "files": files, "problems": word_counts.problems[:20]})
        if use_cache:
            trace.save(trace_path)
        else:
            folder = Path(os.environ.get("TMPDIR", "/tmp"))
            trace_path = folder / f"forensics-trace-{os.getpid()}-{trace_key}.npz"
            trace.save(trace_path)
    seen = int((trace.merged_count > 0).sum())
    row = CategoryRow(name=name, bytes=trace.total_bytes, documents=trace.documents, words=trace.total_words,
                      unique_words=trace.unique_words, pairs=trace.total_pairs, merges_seen=seen,
                      merges_missing=trace.num_steps - seen, invalid_utf8_sequences=trace.invalid_utf8_sequences,
                      seconds=time.perf_counter() - started, cached=cached, trace_path=str(trace_path))
    return name, str(trace_path), row


def _load_cached(loader, path: Path):
    """A cache entry read back, or None (with a warning, the file removed) when it is damaged or foreign."""
    import warnings
    import zipfile

    try:
        return loader(path)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        warnings.warn(f"{path}: damaged cache entry ({type(exc).__name__}: {exc}); removed, recomputing it",
                      stacklevel=2)
        path.unlink(missing_ok=True)
        return None


def count_categories(tokenizer: Tokenizer | str | os.PathLike, categories, *, split: str = "all",
                     merges: int | None = None, workers: int | None = None, cache: bool = True,
                     text_key: str = "text", progress: bool = False) -> CategoryCounts:
    """Word counts and merge traces of every category.

    ``categories`` is a category set name, a directory, a mapping ``{name: [files]}``, or a list of
    those, combined (a category name may appear in only one of them).

    >>> counts = count_categories(tok, "languages", merges=1000)  # doctest: +SKIP
    """
    from forensics.backends import get_backend
    from forensics.bpe.inspect import _as_tokenizer

    tok = _as_tokenizer(tokenizer)
    if merges is not None and merges <= 0:
        raise ForensicsError(f"merges must be a positive number of merges (None: all), not {merges}")
    if tok.num_merges == 0:
        raise ForensicsError(f"{tok.source}: the tokenizer has no merges to replay")
    groups = _category_files(categories, split=split)
    workers = max(1, min(workers or os.cpu_count() or 1, len(groups)))
    traces: dict[str, PairTrace] = {}
    rows: dict[str, CategoryRow] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(groups), desc="categories", unit="cat", leave=False, disable=None)
    # Ctrl-C stops the workers; one worker runs in-process. fork where there is one: a user's plain script
    # (no __main__ guard) calling count_categories or infer_mixture must work, as it did with fork before.
    start = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    runner = get_backend("local", workers=workers, start_method=start)
    jobs = [(name, files, tok, merges, cache, text_key) for name, files in groups.items()]
    for name, path, row in runner.map_unordered(_count_job, jobs):
        rows[name] = row
        traces[name] = PairTrace.load(path)
        if bar:
            bar.update(1)
            bar.set_postfix_str(name)
    if bar:
        bar.close()
    if not cache:
        for row in rows.values():
            Path(row.trace_path).unlink(missing_ok=True)
    ordered = list(groups)
    inputs = {name: traces[name].meta.get("source_hash", "") for name in ordered}
    return CategoryCounts(traces={n: traces[n] for n in ordered}, rows=[rows[n] for n in ordered],
                          tokenizer_sha256=tok.sha256, merges=int(traces[ordered[0]].num_steps),
                          parameters={"split": split, "merges": merges, "text_key": text_key, "cache": cache},
                          inputs=inputs)


def _category_files(categories, *, split: str) -> dict[str, list[str]]:
    """``{name: [files]}`` of a set name, a directory, a mapping, or a list of those (combined; names must
    not repeat across them)."""
    if isinstance(categories, (list, tuple)):
        if not categories:
            raise ForensicsError("no category sets given")
        combined: dict[str, list[str]] = {}
        origin: dict[str, object] = {}
        for spec in categories:
            for name, files in _category_files(spec, split=split).items():
                if name in combined:
                    raise ForensicsError(f"category '{name}' is in both {origin[name]} and {spec}; rename one of "
                                         f"them or leave one set out")
                combined[name], origin[name] = files, spec
        return combined
    if isinstance(categories, dict):  # {name: files, directories or globs}
        from forensics.corpus.readers import expand_inputs

        groups = {str(k): [str(p) for p in expand_inputs(list(v) if isinstance(v, (list, tuple)) else [v])]
                  for k, v in categories.items()}
    else:
        from forensics.corpus.categories import load_categories

        loaded = load_categories(categories, split=split)  # type: ignore[arg-type]
        groups = {cat.name: [str(p) for p in cat.files] for cat in loaded}
    if len(groups) < 1:
        raise ForensicsError(f"{categories}: no categories found")
    empty = [name for name, files in groups.items() if not files]
    if empty:
        raise ForensicsError(f"{categories}: categories without files for split '{split}': {', '.join(empty)}")
    return groups


def summary_table(counts: CategoryCounts) -> list[dict]:
    """Rows as plain dicts (JSON and tables).

    >>> summary_table(counts)[0]["name"]  # doctest: +SKIP
    'ar'
    """
    from dataclasses import asdict

    return [asdict(row) for row in counts.rows]


def pair_totals(counts: CategoryCounts) -> np.ndarray:
    """Total pairs at step 0 per category, in order.

    >>> pair_totals(counts).dtype  # doctest: +SKIP
    dtype('int64')
    """
    return np.array([counts.traces[row.name].total_pairs for row in counts.rows], dtype=np.int64)
