"""The local backend: a pool of worker processes on this machine (one worker runs in-process).

Workers are started with ``spawn`` by default (no inherited threads or locks; ``start_method="fork"``
lets a plain script without an ``if __name__ == "__main__"`` guard use the pool, as counting does);
results come back as they finish, and items are taken from the input only as workers free up (at most
two per worker in flight), so an input that is a stream of batches stays a stream.
Workers ignore Ctrl-C; on Ctrl-C (or any error) the main process cancels queued items and stops the
workers within seconds.
"""

from __future__ import annotations

import contextlib
import itertools
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

    def __init__(self, *, workers: int | None = None, start_method: str | None = None) -> None:
        self.workers = max(1, workers or default_workers())
        self.start_method = start_method or "spawn"

    def map_unordered(self, fn: Callable[[Any], T], items: Iterable[Any]) -> Iterator[T]:
        """``fn`` of every item, in the order they finish. ``items`` is read lazily, with at most two items
        per worker in flight, so a long stream of batches never sits whole in memory.

        >>> sorted(LocalBackend(workers=2, start_method="fork").map_unordered(abs, iter([-3, 1, -2])))
        [1, 2, 3]
        """
        source = iter(items)
        head = list(itertools.islice(source, self.workers))
        if self.workers == 1 or len(head) <= 1:
            for item in itertools.chain(head, source):
                yield fn(item)
            return
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        context = multiprocessing.get_context(self.start_method)
        size = min(self.workers, len(head))
        pool = ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_ignore_interrupts)
        queue = itertools.chain(head, source)
        pending: set = set()

        def fill() -> None:
            for item in itertools.islice(queue, max(0, 2 * size - len(pending))):  # read with Ctrl-C live
                with _interrupts_ignored():  # a worker a submit starts ignores Ctrl-C before it imports anything
                    pending.add(pool.submit(fn, item))

        try:
            fill()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                fill()
                for future in done:
                    yield future.result()
        except BaseException:
            # Ctrl-C, an error, or the caller stopped early: stop the workers now. Waiting for running items
            # could take minutes (and hung when a worker had died); each item writes its result atomically,
            # so a killed one leaves nothing behind and finished ones stay.
            _stop(pool)
            raise
        pool.shutdown(wait=True)


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the main process, which stops them (a worker interrupted mid-item
    could leave the pool waiting on it)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _interrupts_ignored():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop(pool) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
