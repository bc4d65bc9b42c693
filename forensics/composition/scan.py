"""Corpus scans: what a corpus is made of, by documents, bytes and tokens, over many shards.

What it does: :func:`scan_corpus` expands the inputs into a sorted shard list, cuts it into work units
of about ``unit_mb`` MiB (consecutive shards; the cut depends only on the list and file sizes), and
runs the units on a backend (a local process pool by default, Ray optionally). Each unit streams its
shards' documents in batches (bounded memory), labels every document with its most likely category
(or ``unknown``), adds documents, bytes and tokens per label and the byte-pair counts, and writes its
partial atomically into ``<output>/partials``. Finished units whose fingerprint (settings + shard
names, sizes, times) matches are skipped, so a scan stopped by Ctrl-C or a crash resumes where it
stopped with nothing counted twice; ``rank``/``world_size`` run one slice of the units (array jobs),
merged afterwards with ``forensics merge``. The result carries per-document shares and the pair-count
mixture estimate side by side.

What it leaves out: splitting one shard across units (a unit is whole shards); remote file systems;
storing partials (``partials.py``) and the result (``results.py``). (A little over 500 lines: planning,
the per-unit counter and the entry point share the settings and their fingerprint.)

With the default profiles (languages + code: built once and cached, about 90 s) on the synthetic corpus
written by :mod:`forensics.composition.synthetic`'s example:

>>> result = scan_corpus(["/tmp/corpus/"], output="/tmp/scan")  # doctest: +SKIP
>>> round(result.shares["bytes"]["de"], 3)  # doctest: +SKIP
0.011
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forensics._results import DirectoryLock, check_output_directory, output_directory
from forensics.composition.classify import DEFAULT_MAX_BYTES, DEFAULT_THRESHOLD, UNKNOWN, WINDOWS
from forensics.composition.partials import Partial, labels_path, read_partial, write_partial, write_plan
from forensics.composition.results import ScanResult, merge_scan
from forensics.corpus.readers import ReadStats, detect_format, expand_inputs
from forensics.errors import ForensicsError

DEFAULT_UNIT_MB = 64
BATCH_BYTES = 8 << 20
PROFILES_FILE = "profiles.npz"


@dataclass(frozen=True)
class Unit:
    """Consecutive shards of the sorted list, scanned together; ``fingerprint`` names settings + shards."""

    index: int
    shards: tuple[str, ...]
    fingerprint: str
    size: int


@dataclass(frozen=True)
class ScanSettings:
    """What every unit needs to know (picklable; sent to worker processes and Ray tasks)."""

    work_dir: str
    profiles_path: str
    threshold: float = DEFAULT_THRESHOLD
    max_bytes: int | None = DEFAULT_MAX_BYTES
    format: str = "infer"
    text_key: str = "text"
    id_key: str = "id"
    tokenizer: str | None = None
    labels: bool = False
    hash_inputs: bool = True
    novelty: bool = False
    include_binary: bool = False
    markup: str = "strip"  # HTML pages: classified by their visible text ("strip") or as they are ("keep")

    def key(self, profiles_fingerprint: str) -> dict[str, Any]:
        """The settings that change a unit's counts."""
        return {"profiles": profiles_fingerprint, "threshold": self.threshold, "novelty": self.novelty,
                "max_bytes": self.max_bytes,
                "windows": WINDOWS, "format": self.format, "text_key": self.text_key, "id_key": self.id_key,
                "tokenizer": _tokenizer_hash(self.tokenizer), "labels": self.labels,
                "hash_inputs": self.hash_inputs, "include_binary": self.include_binary,
                "markup": self.markup}


def _tokenizer_hash(path: str | None) -> str | None:
    from forensics._results import file_sha256

    return file_sha256(path) if path else None


def plan_units(shards: list[Path], *, unit_bytes: int, settings_key: dict[str, Any]) -> list[Unit]:
    """Cut the sorted shard list into units of about ``unit_bytes`` (on disk), each with its fingerprint.

    >>> plan_units([], unit_bytes=1, settings_key={})
    []
    """
    base = json.dumps(settings_key, sort_keys=True)
    units: list[Unit] = []
    current: list[tuple[str, int, int]] = []
    size = 0

    def close() -> None:
        nonlocal current, size
        if not current:
            return
        digest = hashlib.sha256(base.encode())
        digest.update(json.dumps(current).encode())
        units.append(Unit(len(units), tuple(c[0] for c in current), digest.hexdigest()[:24], size))
        current, size = [], 0

    for shard in shards:
        stat = shard.stat()
        if current and size + stat.st_size > unit_bytes:
            close()
        current.append((os.fspath(shard), stat.st_size, stat.st_mtime_ns))
        size += stat.st_size
    close()
    return units


# --- one unit (runs in a worker) ------------------------------------------------------------------

_WORKER_CACHE: dict[str, Any] = {}


def _cached(key: str, build):
    if key not in _WORKER_CACHE:
        _WORKER_CACHE[key] = build()
    return _WORKER_CACHE[key]


def token_counter(path: str | None):
    """A function from a list of texts to their token counts, or None without a tokenizer.

    Any tokenizer file, through :func:`forensics.counting.pair_tokenizers.load_pair_tokenizer` (HF
    ``tokenizers`` where it reads the file, fast; the project's exact BPE model otherwise).

    >>> token_counter(None) is None
    True
    """
    if path is None:
        return None

    def build():
        from forensics.counting.pair_tokenizers import encode_texts, load_pair_tokenizer

        tok = load_pair_tokenizer(path)
        return lambda texts: [len(ids) for ids in encode_texts(tok, texts)]

    return _cached(f"tokenizer:{path}", build)


class _UnitCounter:
    """Adds up one unit: batches of documents in, a Partial (and label lines) out."""

    def __init__(self, settings: ScanSettings, profiles) -> None:
        from forensics.counting.pairs import resolve_backend

        self.settings = settings
        self.profiles = profiles
        self.partial = Partial.empty(profiles.names)
        self.pairs_backend = _cached("pairs-cpu", lambda: resolve_backend("cpu", threads=1))
        self.count_tokens = token_counter(settings.tokenizer)
        self.label_lines: list[str] = []
        self.batch: list[Any] = []
        self.batch_bytes = 0

    def add(self, doc) -> None:
        self.batch.append(doc)
        self.batch_bytes += len(doc.text)
        if self.batch_bytes >= BATCH_BYTES:
            self.flush()

    def _pairs(self, data: np.ndarray, starts: np.ndarray) -> None:
        from forensics.counting.pairs import count_pairs

        counts = count_pairs(texts=data, offsets=starts, backend=self.pairs_backend)
        self.partial.pair_hist[counts.keys.astype(np.int64)] += counts.counts

    def _label(self, scores: np.ndarray, lengths: np.ndarray, sizes: np.ndarray,
               byte_scores: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from forensics.composition.classify import decide, novel_mask

        labels, top = decide(scores, lengths, self.profiles, threshold=self.settings.threshold)
        novel = novel_mask(scores, lengths, byte_scores, self.profiles) if byte_scores is not None \
            else np.zeros(len(scores), bool)
        labels[novel] = -1
        self.partial.novel_documents += int(novel.sum())
        self.partial.novel_bytes += int(sizes[novel].sum())
        unknown = labels < 0
        if unknown.any():  # what the unconvincing documents looked most like
            np.add.at(self.partial.unknown_best, scores[unknown].argmax(axis=1), sizes[unknown])
        return np.where(unknown, len(self.profiles.names), labels), top, novel

    def flush(self) -> None:
        from forensics.composition.classify import score_array
        from forensics.composition.profiles import pack_texts

        if not self.batch:
            return
        docs, self.batch, self.batch_bytes = self.batch, [], 0
        data, starts = pack_texts([d.text for d in docs])
        visible = self._visible([d.text for d in docs], data, starts)
        scored = score_array(*visible, self.profiles, max_bytes=self.settings.max_bytes,
                             byte_scores=self.settings.novelty)
        scores, lengths = scored[:2]
        byte_scores = scored[2] if self.settings.novelty else None
        sizes = np.diff(starts)
        labels, top, novel = self._label(scores, lengths, sizes, byte_scores)
        self._add_counts(labels, sizes, lengths, docs, top, novel)
        self._pairs(data, starts)

    def _visible(self, texts: list[str], data: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the documents are classified by: HTML pages by their visible text (``markup="strip"``),
        everything else as it is. Bytes, tokens and byte pairs always count the documents as they are
        (what a tokenizer would train on)."""
        from forensics.composition.profiles import pack_texts
        from forensics.corpus.markup import looks_like_html, strip_html

        if self.settings.markup != "strip":
            return data, starts
        pages = [looks_like_html(t) for t in texts]
        if not any(pages):
            return data, starts
        sizes = np.diff(starts)
        self.partial.markup_documents += sum(pages)
        self.partial.markup_bytes += int(sizes[np.array(pages)].sum())
        return pack_texts([strip_html(t) if page else t for t, page in zip(texts, pages)])

    def _add_counts(self, labels, sizes, scored, docs, top, novel, tokens=None) -> None:
        part = self.partial
        np.add.at(part.documents, labels, 1)
        np.add.at(part.bytes, labels, sizes)
        part.scored_bytes += int(np.sum(scored))
        if tokens is None and self.count_tokens is not None:
            tokens = self.count_tokens([d.text for d in docs])
        if tokens is not None:
            np.add.at(part.tokens, labels, np.asarray(tokens, np.int64))
        if self.settings.labels:
            names = self.profiles.names + [UNKNOWN]
            for i, doc in enumerate(docs):
                record = {"source": doc.source, "line": doc.line, "id": doc.id, "label": names[labels[i]],
                          "probability": round(float(top[i]), 6), "bytes": int(sizes[i])}
                if novel[i]:
                    record["novel"] = True
                if tokens is not None:
                    record["tokens"] = int(tokens[i])
                self.label_lines.append(json.dumps(record, ensure_ascii=False))

    @staticmethod
    def _strip_block(text: str) -> tuple[np.ndarray, np.ndarray]:
        from forensics.composition.profiles import pack_texts
        from forensics.corpus.markup import strip_html

        return pack_texts([strip_html(text)])  # a tag cut at a block's end loses at most its own text

    def add_text_file(self, blocks) -> None:
        """A plain text file is one document: score ``max_bytes`` of it (windows spread over its first
        block when that is longer), count all of it."""
        from forensics.composition.classify import score_array
        from forensics.composition.profiles import pack_texts

        limit = self.settings.max_bytes
        scores = np.zeros((1, len(self.profiles.names)), np.int64)
        byte_scores = None
        scored = size = tokens = 0
        first = None
        page = False
        for doc in blocks:
            if first is None:  # a file is a page or not by its first block
                from forensics.corpus.markup import looks_like_html

                first, page = doc, self.settings.markup == "strip" and looks_like_html(doc.text)
            data, starts = pack_texts([doc.text])
            size += int(data.size)
            if limit is None or scored < limit:
                visible = (data, starts) if not page else self._strip_block(doc.text)
                part = score_array(*visible, self.profiles, byte_scores=self.settings.novelty,
                                   max_bytes=None if limit is None else limit - scored)
                scores += part[0]
                scored += int(part[1][0])
                if self.settings.novelty:
                    byte_scores = part[2] if byte_scores is None else byte_scores + part[2]
            if self.count_tokens is not None:
                tokens += self.count_tokens([doc.text])[0]
            self._pairs(data, starts)  # a pair across two blocks of one file is not counted
        if first is None:
            return
        if page:
            self.partial.markup_documents += 1
            self.partial.markup_bytes += size
        labels, top, novel = self._label(scores, np.array([scored]), np.array([size]), byte_scores)
        self._add_counts(labels, np.array([size]), [scored], [first], top, novel,
                         tokens=[tokens] if self.count_tokens is not None else None)


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux ``VmHWM``; 0 where unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_unit(job: tuple[ScanSettings, Unit]) -> dict[str, Any]:
    """Scan one unit and write its partial; returns a small summary for progress reporting."""
    from forensics._results import atomic_write_text, file_sha256
    from forensics.composition.profiles import Profiles
    from forensics.corpus.readers import iter_file_documents

    settings, unit = job
    started, cpu_started = time.perf_counter(), time.process_time()
    profiles = _cached(f"profiles:{settings.profiles_path}", lambda: Profiles.load(settings.profiles_path,
                                                                                  pair_directions=False))
    counter = _UnitCounter(settings, profiles)
    stats = ReadStats()
    for shard in unit.shards:
        path = Path(shard)
        kind = detect_format(path) if settings.format == "infer" else settings.format
        documents = iter_file_documents(path, format=settings.format, text_key=settings.text_key,  # type: ignore[arg-type]
                                        id_key=settings.id_key, stats=stats, on_error="skip",
                                        whole_text_files=False, include_binary=settings.include_binary)
        if kind == "text":
            counter.add_text_file(documents)
        else:
            for doc in documents:
                counter.add(doc)
        if settings.hash_inputs:
            counter.partial.input_hashes[shard] = file_sha256(path)
    counter.flush()
    part = counter.partial
    part.read, part.units = stats, [unit.index]
    part.seconds, part.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    part.peak_rss = peak_rss()
    if settings.labels:
        text = "\n".join(counter.label_lines) + ("\n" if counter.label_lines else "")
        atomic_write_text(labels_path(settings.work_dir, unit.index), text)
    write_partial(settings.work_dir, unit.index, unit.fingerprint, part)
    return {"unit": unit.index, "bytes": int(part.bytes.sum()), "documents": int(part.documents.sum()),
            "seconds": part.seconds}


# --- the scan -------------------------------------------------------------------------------------

def _stale_profiles(path: Path, fingerprint: str) -> bool:
    """Whether the working copy of the profiles in a scan directory must be (re)written: missing,
    other profiles, or unreadable (a file from an older version of this tool, or cut short)."""
    from forensics.composition.profiles import Profiles

    if not path.is_file():
        return True
    try:
        return Profiles.load(path).fingerprint != fingerprint
    except ForensicsError:
        return True


def _progress(units: list[Unit], enabled: bool):
    from tqdm import tqdm

    return tqdm(total=sum(u.size for u in units), unit="B", unit_scale=True, unit_divisor=1024,
                desc="scan", disable=not enabled, smoothing=0.1)


def scan_corpus(inputs, *, categories: Any = None, profiles: Any = None, output: str | os.PathLike | None = None,
                backend: str = "local", workers: int | None = None, address: str | None = None,
                rank: int = 0, world_size: int = 1, threshold: float = DEFAULT_THRESHOLD,
                novelty: bool = False,
                max_bytes: int | None = DEFAULT_MAX_BYTES, tokenizer: str | os.PathLike | None = None,
                format: str = "infer", text_key: str = "text", id_key: str = "id",
                unit_mb: float = DEFAULT_UNIT_MB, labels: bool = False, estimate_method: str = "nnls",
                hash_inputs: bool = True, glob_pattern: str | None = None, progress: bool = False,
                resume: bool = True, include_binary: bool = False, follow_links: bool = False,
                markup: str = "strip") -> ScanResult | None:
    """Scan shards (files, directories, globs) and return their composition.

    A document is ``unknown`` below ``threshold``, and with ``novelty`` also when it is unlike every
    category (:func:`~forensics.composition.profiles.novel_documents`).
    ``categories`` (set names or directories; default languages + code) or ``profiles`` (a ``.npz``
    from ``forensics profiles build``) say what to compare against. With ``output`` the partials, the
    profiles used and (with ``labels=True``) per-document labels stay there and a rerun resumes;
    without it they go to a temporary directory. Text files that look binary are skipped and counted
    unless ``include_binary``; inside a directory, symlinks that lead out of it are left out (and counted)
    unless ``follow_links``. HTML pages are classified by their visible text (``markup="strip"``,
    :mod:`forensics.corpus.markup`) and counted as they are; ``markup="keep"`` classifies the markup too. With ``world_size > 1`` only this rank's units run
    and None is returned: merge the ranks with :func:`~forensics.composition.results.merge_scan`.

    >>> from forensics.composition.profiles import build_profiles
    >>> from forensics.corpus.categories import load_categories
    >>> profiles = build_profiles(load_categories("languages", categories=["de", "en"]), group_refinement=False)
    >>> scan_corpus(["fixtures/categories/languages/en"], profiles=profiles).shares["bytes"]
    {'de': 0.0, 'en': 1.0, 'unknown': 0.0}
    """
    from forensics.backends import get_backend, rank_items
    from forensics.composition.profiles import DEFAULT_SETS, Profiles, load_profiles

    if not 0.0 <= threshold <= 1.0:
        raise ForensicsError(f"threshold must be between 0 and 1, got {threshold}")
    if estimate_method not in ("em", "nnls"):
        raise ForensicsError(f"unknown estimate method {estimate_method!r}; use em or nnls")
    if profiles is not None and categories is not None:
        raise ForensicsError("give categories or profiles, not both")
    if markup not in ("strip", "keep"):
        raise ForensicsError(f"unknown --markup {markup!r}; use strip or keep")
    if max_bytes is not None and max_bytes <= 0:
        raise ForensicsError(f"--max-bytes must be positive (or 0 for whole documents), got {max_bytes}")
    if not unit_mb > 0:
        raise ForensicsError(f"--unit-mb must be positive, got {unit_mb}")
    if world_size < 1 or not 0 <= rank < world_size:
        raise ForensicsError(f"--rank must be in 0..world size - 1 and --world-size at least 1, "
                             f"got rank {rank} of {world_size}")
    listing = ReadStats()  # what listing the inputs left out (symlinks leading out of them)
    shards = expand_inputs(inputs, glob_pattern=glob_pattern, follow_links=follow_links, stats=listing)
    if output is not None:  # a scan's own output (profiles, partials, summary) is never its input
        shards = [s for s in shards if not _inside(s, Path(output))]
    if not shards:
        raise ForensicsError(f"no input files found in {inputs}; check the paths")
    tokenizer = os.fspath(tokenizer) if tokenizer is not None else None
    if tokenizer is not None and not Path(tokenizer).is_file():
        raise ForensicsError(f"{tokenizer}: no such tokenizer file; check the path")
    if output is None and world_size > 1:
        raise ForensicsError("a scan split over ranks needs --output (a directory all ranks share)")
    if output is not None:
        check_output_directory(output)
    loaded = profiles if isinstance(profiles, Profiles) else load_profiles(
        profiles if profiles is not None else (categories or DEFAULT_SETS), progress=progress)
    temp = None
    if output is None:
        temp = tempfile.TemporaryDirectory(prefix="forensics-scan-")
        output = temp.name
    work_dir = output_directory(output)
    locks = contextlib.ExitStack()
    try:
        if temp is None:  # one writer per directory; the ranks of one array job share it
            locks.enter_context(DirectoryLock(work_dir, name=".scan.lock", shared=world_size > 1, what="scan"))
            if world_size > 1:
                locks.enter_context(DirectoryLock(work_dir, name=f".scan-rank-{rank}.lock", what="scan rank"))
        profiles_path = work_dir / PROFILES_FILE
        if _stale_profiles(profiles_path, loaded.fingerprint):
            loaded.save(profiles_path, compress=False)
        settings = ScanSettings(work_dir=os.fspath(work_dir), profiles_path=os.fspath(profiles_path),
                                threshold=threshold, max_bytes=max_bytes, format=format, text_key=text_key,
                                id_key=id_key, tokenizer=tokenizer, labels=labels, hash_inputs=hash_inputs,
                                novelty=novelty, include_binary=include_binary, markup=markup)
        units = plan_units(shards, unit_bytes=max(1, int(unit_mb * (1 << 20))),
                           settings_key=settings.key(loaded.fingerprint))
        parameters = {"inputs": [os.fspath(i) for i in ([inputs] if isinstance(inputs, (str, os.PathLike))
                                                       else inputs)],
                      "categories": None if categories is None else
                      [os.fspath(c) if isinstance(c, (str, os.PathLike)) else getattr(c, "name", str(c))
                       for c in ([categories] if isinstance(categories, (str, os.PathLike)) else categories)],
                      "profiles": loaded.info | {"fingerprint": loaded.fingerprint},
                      "threshold": threshold, "novelty": novelty, "max_bytes": max_bytes, "tokenizer": tokenizer,
                      "format": format,
                      "text_key": text_key, "id_key": id_key, "unit_mb": unit_mb, "labels": labels,
                      "estimate_method": estimate_method, "backend": backend, "world_size": world_size,
                      "include_binary": include_binary, "follow_links": follow_links, "markup": markup}
        plan = {"names": loaded.names, "profiles_path": os.fspath(profiles_path),
                "shards": [os.fspath(s) for s in shards], "tokenizer": tokenizer,
                "estimate_method": estimate_method, "settings": settings.key(loaded.fingerprint),
                "parameters": parameters, "listing": dataclasses.asdict(listing),
                "extra_inputs": {tokenizer: settings.key("")["tokenizer"]} if tokenizer else {},
                "units": [{"index": u.index, "fingerprint": u.fingerprint, "shards": list(u.shards)}
                          for u in units]}
        write_plan(work_dir, plan)
        mine = rank_items(units, rank=rank, world_size=world_size)
        todo = [u for u in mine if not (resume and _finished(work_dir, u, hash_inputs=hash_inputs))]
        started = time.perf_counter()
        if todo:
            runner = get_backend(backend, workers=workers, address=address)
            bar = _progress(mine, progress)
            bar.update(sum(u.size for u in mine if u not in todo))
            by_index = {u.index: u for u in todo}
            finished = len(mine) - len(todo)
            try:
                for done in runner.map_unordered(run_unit, [(settings, u) for u in todo]):
                    bar.update(by_index[done["unit"]].size)
                    finished += 1
            except KeyboardInterrupt:
                raise KeyboardInterrupt(f"{finished} of {len(mine)} units finished in {work_dir}; run the same "
                                        f"command again to resume") from None
            finally:
                bar.close()
        plan["wall_seconds"] = time.perf_counter() - started
        if world_size > 1:
            return None
        result = merge_scan(work_dir)
        result.plan["wall_seconds"] = plan["wall_seconds"]
        return result
    finally:
        locks.close()
        if temp is not None:
            temp.cleanup()


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


def _finished(work_dir: Path, unit: Unit, *, hash_inputs: bool) -> bool:
    """Whether a unit's partial can be reused: same settings and shard names, sizes and times (its
    fingerprint) and, when inputs are hashed, the same bytes (an edit that keeps the size and restores the
    time is caught; with ``hash_inputs=False`` size and time are all that is checked)."""
    from forensics._results import file_sha256

    part = read_partial(work_dir, unit.index, unit.fingerprint)
    if part is None:
        return False
    return not hash_inputs or all(part.input_hashes.get(shard) == file_sha256(shard) for shard in unit.shards)
