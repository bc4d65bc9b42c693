"""The local backend: a pool of worker processes on this machine (one worker runs in-process).

Workers are started with ``spawn`` (no inherited threads or locks); results come back as they finish.
On Ctrl-C, queued items are cancelled and the running ones are left to the operating system.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LocalBackend:
    """``map_unordered`` over a process pool of ``workers`` (default: the usable CPUs)."""

    name = "local"

    def __init__(self, *, workers: int | None = None) -> None:
        self.workers = max(1, workers or default_workers())

    def map_unordered(self, fn: Callable[[Any], T], items: Iterable[Any]) -> Iterator[T]:
        items = list(items)
        if self.workers == 1 or len(items) <= 1:
            for item in items:
                yield fn(item)
            return
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(items)), mp_context=context)
        try:
            pending = {pool.submit(fn, item) for item in items}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
