"""A build's categories as jobs on a backend: one job per category, recorded when finished, skipped on a rerun.

What it does: both builders (registry recipes, :func:`forensics.corpus.build.build_category_set`, and
manifests, :func:`forensics.corpus.manifest.build_from_manifest`) hand :class:`CategoryJobs` one
:class:`CategoryJob` per category of their share (:func:`share`: every ``world_size``-th category from
``rank``, for array jobs), run on a backend (:mod:`forensics.backends`: processes on this machine by
default, one in-process; a Ray cluster optionally). A job writes its category's split files, each
atomically, and then its completion record ``<out>/.build/<category>.json``: the job's key (a hash of
everything that decides the category's bytes, :func:`job_key`), the sha256 of each file written, the
report row and what the set's provenance needs from it. A category is finished when its record's key
matches and its files still have those hashes, so a rerun into the same ``out`` (after Ctrl-C, a crash,
or the ranks of an array job) skips finished categories and redoes the others, a category stopped
between its files and its record included. The run without a rank reads every record back in the
builder's order, so the set's ``categories.toml`` and ``provenance.json`` do not depend on what ran the
categories or in which order; after writing them the builder removes ``.build`` (a finished set keeps no
records: a rerun into it builds it again, to the same bytes).

What it leaves out: what a job does (the builders) and retries (a failed job fails the run; the rerun
redoes only the unfinished categories).

>>> share(["ar", "de", "en", "fr", "zh"], rank=1, world_size=2)
['de', 'fr']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from forensics.corpus.writer import SPLITS, Layout, WrittenCategory, split_path
from forensics.backends import library_backend
from forensics.errors import ForensicsError

RECORD_VERSION = "v1"
WORK_DIR = ".build"  # hidden: category sets skip it


@dataclass
class Outcome:
    """What one category's job did: the report row of what it wrote, or why it wrote nothing (``skipped``);
    ``data`` is what the set's provenance needs from the category (plain JSON data)."""

    row: WrittenCategory | None = None
    skipped: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CategoryJob:
    """One category's work, sent to worker processes and Ray tasks (so picklable: plain data, no closures).
    A builder subclasses it; :meth:`run` writes the category's splits with
    :func:`forensics.corpus.writer.write_splits` into ``out`` and says what it did."""

    name: str
    key: str
    out: str  # absolute: a Ray worker may run elsewhere
    layout: Layout

    def run(self) -> Outcome:
        raise NotImplementedError


def job_key(**parts: Any) -> str:
    """A hash of everything that decides a category's bytes (plain JSON data), and of the forensics version.

    >>> job_key(category="de", seed=0) == job_key(seed=0, category="de") != job_key(category="de", seed=1)
    True
    """
    from forensics import __version__

    text = json.dumps({"record": RECORD_VERSION, "forensics": __version__, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def share(names: Sequence[str], *, rank: int = 0, world_size: int = 1) -> list[str]:
    """The categories of one rank of an array job: every ``world_size``-th name from ``rank``."""
    from forensics.backends import rank_items

    if world_size < 1 or not 0 <= rank < world_size:
        raise ForensicsError(f"--rank must be in 0..world size - 1 and --world-size at least 1, "
                             f"got rank {rank} of {world_size}")
    return rank_items(list(names), rank=rank, world_size=world_size)


def _record_path(out: Path, name: str) -> Path:
    return out / WORK_DIR / f"{name}.json"


def _execute(job: CategoryJob) -> dict[str, Any]:
    """Run one job (in a worker): its files first, then its record, both atomic; returns the record."""
    from forensics._results import file_sha256, to_json, write_json

    out = Path(job.out)
    _record_path(out, job.name).unlink(missing_ok=True)  # an old record must not vouch for files rewritten now
    paths = [split_path(out, job.name, split, job.layout) for split in SPLITS]
    for path in paths:  # temporary files of a worker killed mid-write (atomic writes leave them when killed)
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
    outcome = job.run()
    files = {p.relative_to(out).as_posix(): file_sha256(p) for p in paths} if outcome.row is not None else {}
    record = {"version": RECORD_VERSION, "key": job.key, "name": job.name, "files": files,
              "row": asdict(outcome.row) if outcome.row is not None else None, "skipped": outcome.skipped,
              "data": outcome.data}
    record = json.loads(to_json(record))  # as a rerun reads it back
    write_json(_record_path(out, job.name), record)
    return record


def _finished(out: Path, job: CategoryJob) -> dict[str, Any] | None:
    """The record of an earlier run that built ``job``'s category from the same inputs, its files intact; else None."""
    from forensics._results import file_sha256

    try:
        record = json.loads(_record_path(out, job.name).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("version") != RECORD_VERSION or record.get("key") != job.key \
            or record.get("name") != job.name or not isinstance(record.get("files"), dict):
        return None
    for name, sha256 in record["files"].items():
        path = out / name
        if not path.is_file() or file_sha256(path) != sha256:
            return None
    return record


class CategoryJobs:
    """Runs a build's category jobs into ``out`` on ``backend`` (``local``: ``workers`` processes, default the
    usable CPUs; ``ray``: the cluster at ``address``), skipping finished ones when ``resume``.

    A context manager: entering connects the backend, creates ``out`` and takes its lock (shared between
    the ranks of one array job, exclusive otherwise), which it holds until the set is assembled.

    >>> CategoryJobs("/tmp/set", backend="slurm")
    Traceback (most recent call last):
    ...
    forensics.errors.ForensicsError: unknown backend 'slurm'; use one of: local, ray
    """

    def __init__(self, out: str | os.PathLike, *, backend: str = "local", workers: int | None = None,
                 address: str | None = None, rank: int = 0, world_size: int = 1, resume: bool = True,
                 progress: Callable[[str], None] | None = None) -> None:
        from forensics.backends import BACKENDS

        if backend not in BACKENDS:
            raise ForensicsError(f"unknown backend {backend!r}; use one of: {', '.join(BACKENDS)}")
        share([], rank=rank, world_size=world_size)
        self.out = Path(out)
        self.backend, self.workers, self.address = backend, workers, address
        self.rank, self.world_size, self.resume = rank, world_size, resume
        self.say = progress or (lambda text: None)
        self.resumed: list[str] = []
        self._created = False
        self._locks = contextlib.ExitStack()

    def __enter__(self) -> CategoryJobs:
        from forensics._results import DirectoryLock, output_directory

        self.runner = library_backend(self.backend, workers=self.workers, address=self.address)  # before writing
        self._created = not self.out.exists()
        output_directory(self.out)
        work = self.out / WORK_DIR
        work.mkdir(exist_ok=True)
        try:
            self._locks.enter_context(DirectoryLock(work, name="lock", shared=self.world_size > 1,
                                                    what="category build"))
            if self.world_size > 1:
                self._locks.enter_context(DirectoryLock(work, name=f"rank-{self.rank}.lock",
                                                        what="category build rank"))
        except BaseException:
            self._locks.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._locks.close()

    def run(self, jobs: Sequence[CategoryJob]) -> list[dict[str, Any]]:
        """The records of ``jobs``, in their order: finished ones read back, the others run now."""
        records: dict[str, dict[str, Any]] = {}
        pending = []
        for job in jobs:
            found = _finished(self.out, job) if self.resume else None
            if found is None:
                pending.append(job)
                continue
            records[job.name] = found
            self.resumed.append(job.name)
            self.say(f"{job.name}: finished earlier, kept")

        def started() -> Iterator[CategoryJob]:
            for job in pending:
                self.say(job.name)
                yield job

        try:
            for record in self.runner.map_unordered(_execute, started()):
                records[record["name"]] = record
                if record["skipped"] is not None:
                    self.say(f"{record['name']}: skipped, {record['skipped']}")
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"{len(records)} of {len(jobs)} categories finished; they are kept in "
                                    f"{self.out}: run the same command again to resume") from None
        return [records[job.name] for job in jobs]

    def clear(self) -> None:
        """Remove the records (``.build``), and ``out`` itself when this run created it and it is still empty."""
        shutil.rmtree(self.out / WORK_DIR, ignore_errors=True)
        if self._created and self.out.is_dir() and not any(self.out.iterdir()):
            self.out.rmdir()


