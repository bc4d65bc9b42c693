"""Execution backends: run independent work units and hand back their results as they finish.

What it does: a registry of backends with one method, ``map_unordered(fn, items)``: ``local`` (a
process pool on this machine, the default; one worker runs in-process) and ``ray`` (tasks on a Ray
cluster, the optional extra ``ray``). Both read ``items`` lazily, a few per worker ahead, so a stream of
batches is never held whole. Work split by ``rank``/``world_size`` for scheduler array jobs happens
before a backend sees it (see :func:`rank_items`). Users: corpus scans (units of shards), category
counting (one item per category) and reference word counting (batches of documents).

What it leaves out: retries (a failed unit fails the run; a rerun redoes only unfinished units).

>>> backend = get_backend("local", workers=1)
>>> sorted(backend.map_unordered(abs, [-1, -2]))
[1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol, TypeVar

from forensics.errors import ForensicsError

T = TypeVar("T")
BackendName = Literal["local", "ray"]
BACKENDS: tuple[str, ...] = ("local", "ray")


class Backend(Protocol):
    name: str
    workers: int

    def map_unordered(self, fn: Callable[[Any], T], items: Iterable[Any]) -> Iterator[T]: ...


def get_backend(name: str = "local", *, workers: int | None = None, address: str | None = None,
                start_method: str | None = None) -> Backend:
    """The backend called ``name`` (``local`` or ``ray``); ``start_method`` picks how local workers start.

    >>> get_backend("local", workers=2).workers
    2
    """
    if name == "local":
        from forensics.backends.local import LocalBackend

        return LocalBackend(workers=workers, start_method=start_method)
    if name == "ray":
        from forensics.backends.ray import RayBackend

        return RayBackend(workers=workers, address=address)
    raise ForensicsError(f"unknown backend {name!r}; use one of: {', '.join(BACKENDS)}")


def library_backend(name: str = "local", *, workers: int | None = None, address: str | None = None) -> Backend:
    """The backend a library call runs its units on: local workers start by fork where the platform has it,
    so a user's plain script (no ``if __name__ == "__main__"`` guard) can call it, and workers see module
    state (registries) as the caller left it; Ctrl-C stops them. Category counting and building use it.

    >>> library_backend("local", workers=1).workers
    1
    """
    import multiprocessing

    if name == "local":
        start = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        return get_backend("local", workers=workers, start_method=start)
    return get_backend(name, workers=workers, address=address)


def rank_items(items: Sequence[T], *, rank: int = 0, world_size: int = 1) -> list[T]:
    """The items of one rank: every ``world_size``-th, starting at ``rank``.

    >>> rank_items(list(range(7)), rank=1, world_size=3)
    [1, 4]
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ForensicsError(f"need 0 <= rank < world_size, got rank {rank} and world size {world_size}")
    return list(items[rank::world_size])
