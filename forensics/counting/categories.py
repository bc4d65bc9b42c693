"""Count every category of a category set under one tokenizer: word counts and merge traces, cached.

What it does: one work unit per category, run on a backend (:mod:`forensics.backends`: local processes by
default, a Ray cluster optionally); ``rank``/``world_size`` count one slice of the categories (array
jobs). A unit streams its sample's documents into a word table (memory grows with the unique words, not
with the sample), replays the merges and writes the trace atomically when it is done: into the cache, and
into ``out`` as ``<name>.npz`` when given. Cache entries are keyed by the hashes of the sample files, the
tokenizer file and the pre-tokenizer rules, so a rerun with another solver setting reads them back
(``cache=False`` recomputes and leaves the cache alone); a trace in ``out`` whose key matches is reused too
(``resume``), so a run stopped by Ctrl-C or a crash, or the ranks of an array job followed by one run
without a rank, count each category once. The cache lives in ``$FORENSICS_CACHE/counts`` (default
``~/.cache/forensics/counts``).

What it leaves out: splitting one category across machines (a category is one unit; its word counting
uses threads when there are fewer categories than workers). Memory per worker: a 1 GiB category with 1.8
million unique words peaks at 1.15 GiB (see :mod:`forensics.counting.words`).

>>> result = count_categories("gpt2/vocab.bpe", "languages", merges=3000)  # doctest: +SKIP
>>> result.traces["en"].merged_count[:3]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forensics.bpe.model import Tokenizer
from forensics.counting.replay import PairTrace, replay_merges
from forensics.counting.words import WordCounts, count_words, inputs_hash
from forensics.backends import library_backend
from forensics.errors import ForensicsError

CACHE_VERSION = "v2"  # v2: text files cut only between two non-space characters (exact words at block ends)
LOCK_FILE = ".count.lock"


def cache_dir() -> Path:
    """Where word counts and traces are cached.

    >>> cache_dir().name
    'counts'
    """
    from forensics._cache import cache_dir as _cache_dir

    return _cache_dir("counts")


@dataclass
class CategoryRow:
    """One row of the summary table (``cached``: read back from the cache or ``out``, not counted now)."""

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


@dataclass(frozen=True)
class _Job:
    """One category's work (picklable: sent to worker processes and Ray tasks)."""

    name: str
    files: tuple[str, ...]
    tokenizer: Tokenizer
    merges: int | None
    cache: bool
    text_key: str
    out: str | None = None
    resume: bool = True
    threads: int = 1
    inline: bool = False  # hand the trace back itself (Ray: the driver may not see the worker's files)


def _count_one(job: _Job) -> tuple[str, PairTrace | str, CategoryRow]:
    """Count one category (or find it done) and write its trace; returns the trace (or, on this machine, the
    path it was written to) and its row."""
    started = time.perf_counter()
    tokenizer, paths = job.tokenizer, [Path(f) for f in job.files]
    source = inputs_hash(paths)
    rules = tokenizer.training_pretokenizer
    words_key = _key(CACHE_VERSION, "words", source, rules.fingerprint(), job.text_key)
    steps = tokenizer.num_merges if job.merges is None else min(job.merges, tokenizer.num_merges)
    trace_key = _key(CACHE_VERSION, "trace", words_key, tokenizer.sha256, str(steps))
    folder = cache_dir()
    words_path, cached_path = folder / f"words-{words_key}.npz", folder / f"trace-{trace_key}.npz"
    out_path = Path(job.out) / f"{job.name}.npz" if job.out else None
    finished = _finished(out_path, trace_key) if out_path is not None and job.resume else None
    trace = finished
    if trace is None and job.cache and cached_path.exists():
        trace = _load_cached(PairTrace.load, cached_path)
    cached = trace is not None
    if trace is None:
        trace = _count_trace(job, paths, words_path, steps)
        trace.meta.update({"source_hash": source, "trace_key": trace_key})
        if job.cache:
            trace.save(cached_path)
    trace.meta["trace_key"] = trace_key  # cache entries written before the key was stored lack it
    path = out_path if out_path is not None else cached_path if job.cache else None
    if out_path is not None and trace is not finished:
        trace.save(out_path)
    seen = int((trace.merged_count > 0).sum())
    row = CategoryRow(name=job.name, bytes=trace.total_bytes, documents=trace.documents, words=trace.total_words,
                      unique_words=trace.unique_words, pairs=trace.total_pairs, merges_seen=seen,
                      merges_missing=trace.num_steps - seen, invalid_utf8_sequences=trace.invalid_utf8_sequences,
                      seconds=time.perf_counter() - started, cached=cached, trace_path=str(path or ""))
    return job.name, trace if job.inline or path is None else str(path), row


def _finished(path: Path, trace_key: str) -> PairTrace | None:
    """The trace an earlier run left at ``path`` when it is whole and made from the same inputs, else None."""
    if not path.exists():
        return None
    trace = _load_cached(PairTrace.load, path, what="trace")
    return trace if trace is not None and trace.meta.get("trace_key") == trace_key else None


def _count_trace(job: _Job, paths: list[Path], words_path: Path, steps: int) -> PairTrace:
    """Word counts (from the cache, or streamed from the samples) replayed over the first ``steps`` merges."""
    rules = job.tokenizer.training_pretokenizer
    word_counts = _load_cached(WordCounts.load, words_path) if job.cache and words_path.exists() else None
    if word_counts is None:
        word_counts = count_words(paths, pretokenizer=rules, text_key=job.text_key, workers=job.threads)
        if job.cache:
            word_counts.save(words_path)
    if all(word.isspace() for word in word_counts.words):  # nothing, or whitespace only: nothing to measure
        raise ForensicsError(f"category '{job.name}' has no text, only whitespace or nothing "
                             f"({', '.join(job.files)}); add sample text or drop it")
    trace = replay_merges(word_counts, job.tokenizer, merges=steps, name=job.name)
    trace.meta.update({"files": list(job.files), "problems": word_counts.problems[:20]})
    return trace


def _load_cached(loader, path: Path, *, what: str = "cache entry"):
    """A file read back, or None (with a warning, the file removed) when it is damaged or foreign."""
    import warnings
    import zipfile

    try:
        return loader(path)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        warnings.warn(f"{path}: damaged {what} ({type(exc).__name__}: {exc}); removed, recomputing it",
                      stacklevel=2)
        path.unlink(missing_ok=True)
        return None


def count_categories(tokenizer: Tokenizer | str | os.PathLike, categories, *, split: str = "all",
                     merges: int | None = None, workers: int | None = None, cache: bool = True,
                     text_key: str = "text", progress: bool = False, backend: str | None = None,
                     address: str | None = None, out: str | os.PathLike | None = None, resume: bool = True,
                     rank: int = 0, world_size: int = 1) -> CategoryCounts:
    """Word counts and merge traces of every category.

    ``categories`` is a category set name, a directory, a mapping ``{name: [files]}``, or a list of
    those, combined (a category name may appear in only one of them). ``backend`` (default ``local``)
    runs one unit per category on ``workers`` workers (``address``:
    a Ray cluster). With ``out`` every trace is written there as ``<name>.npz`` as soon as it is done, and
    with ``resume`` a rerun reuses those whose key (samples, rules, tokenizer, merges) matches. With
    ``world_size > 1`` only every ``world_size``-th category from ``rank`` is counted and returned; a run
    without a rank afterwards, into the same ``out`` (or cache), finds them done and returns them all.

    >>> import tempfile
    >>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en", "fr")}
    >>> tok, out = "fixtures/tokenizers/gpt2/vocab.bpe.gz", tempfile.mkdtemp()
    >>> share = count_categories(tok, langs, merges=100, workers=1, out=out, rank=1, world_size=2, cache=False)
    >>> list(share.traces)
    ['en']
    >>> every = count_categories(tok, langs, merges=100, workers=1, out=out, cache=False)
    >>> [(row.name, row.cached) for row in every.rows]
    [('de', False), ('en', True), ('fr', False)]
    """
    from forensics.backends import rank_items
    from forensics.backends.local import default_workers
    from forensics.bpe.inspect import _as_tokenizer

    tok = _as_tokenizer(tokenizer)
    if merges is not None and merges <= 0:
        raise ForensicsError(f"merges must be a positive number of merges (None: all), not {merges}")
    if tok.num_merges == 0:
        raise ForensicsError(f"{tok.source}: the tokenizer has no merges to replay")
    if world_size < 1 or not 0 <= rank < world_size:
        raise ForensicsError(f"--rank must be in 0..world size - 1 and --world-size at least 1, "
                             f"got rank {rank} of {world_size}")
    if world_size > 1 and out is None and not cache:
        raise ForensicsError("counting split over ranks needs an output directory all ranks share, or the cache")
    groups = _category_files(categories, split=split)
    mine = rank_items(list(groups), rank=rank, world_size=world_size)
    backend = backend or "local"
    steps = tok.num_merges if merges is None else min(merges, tok.num_merges)
    locks = contextlib.ExitStack()
    if out is not None:
        from forensics._results import DirectoryLock, check_output_directory, output_directory

        bad = [n for n in groups if not n or "/" in n or "\\" in n or n.startswith(".")]
        if bad:
            raise ForensicsError(f"category names {bad} cannot name files in {out}; rename them")
        check_output_directory(out)
        out = output_directory(out)
        # one writer per directory; the ranks of one array job share it
        locks.enter_context(DirectoryLock(out, name=LOCK_FILE, shared=world_size > 1, what="count"))
        if world_size > 1:
            locks.enter_context(DirectoryLock(out, name=f".count-rank-{rank}.lock", what="count rank"))
    traces: dict[str, PairTrace] = {}
    rows: dict[str, CategoryRow] = {}
    with locks:
        if mine:
            local = backend == "local"
            runner = library_backend(backend, workers=min(workers or default_workers(), len(mine)) if local else workers,
                             address=address)
            # fewer categories than workers: each category's word counting gets the spare cores as threads
            threads = max(1, (workers or default_workers()) // len(mine)) if local else 1
            jobs = [_Job(name, tuple(groups[name]), tok, merges, cache, text_key,
                         os.fspath(out) if out is not None else None, resume, threads, inline=not local)
                    for name in mine]
            _run(runner, jobs, traces, rows, progress=progress, where=out if out is not None else
                 (cache_dir() if cache else None))
    inputs = {name: traces[name].meta.get("source_hash", "") for name in mine}
    return CategoryCounts(traces={n: traces[n] for n in mine}, rows=[rows[n] for n in mine],
                          tokenizer_sha256=tok.sha256, merges=int(traces[mine[0]].num_steps) if mine else steps,
                          parameters={"split": split, "merges": merges, "text_key": text_key, "cache": cache,
                                      "backend": backend, "rank": rank, "world_size": world_size},
                          inputs=inputs)


def _run(runner, jobs: list[_Job], traces: dict[str, PairTrace], rows: dict[str, CategoryRow], *,
         progress: bool, where: Path | None) -> None:
    """Run the jobs, reading each finished trace back; Ctrl-C says how far it got and how to resume."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="categories", unit="cat", leave=False, disable=None)
    try:
        for name, trace, row in runner.map_unordered(_count_one, jobs):
            rows[name] = row
            traces[name] = trace if isinstance(trace, PairTrace) else PairTrace.load(trace)
            if bar:
                bar.update(1)
                bar.set_postfix_str(name)
    except KeyboardInterrupt:
        kept = f"; they are kept in {where}: run the same command again to resume" if where else ""
        raise KeyboardInterrupt(f"{len(rows)} of {len(jobs)} categories finished{kept}") from None
    finally:
        if bar:
            bar.close()


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
