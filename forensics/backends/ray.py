"""The Ray backend: one Ray task per work unit (optional extra ``ray``, imported only here).

Connects to the cluster in ``address`` or ``$RAY_ADDRESS``; without either it starts a local Ray
instance with ``workers`` CPUs. Inputs and the output directory must be visible to every node (a
shared file system), because each task reads its shards and writes its partial itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from forensics.errors import require

T = TypeVar("T")


class RayBackend:
    """``map_unordered`` as Ray tasks (one CPU each)."""

    name = "ray"

    def __init__(self, *, workers: int | None = None, address: str | None = None) -> None:
        self._ray = require("ray", extra="ray", purpose="--backend ray")
        if not self._ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS")
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                self._ray.init(address=address, **options)
            else:
                self._ray.init(num_cpus=workers or None, **options)
        self.workers = int(self._ray.cluster_resources().get("CPU", 1))

    def map_unordered(self, fn: Callable[[Any], T], items: Iterable[Any]) -> Iterator[T]:
        """``fn`` of every item as a Ray task, in the order they finish; at most two tasks per cluster CPU
        are submitted at a time (``items`` is read lazily)."""
        import itertools

        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        source = iter(items)
        window = max(2, 2 * self.workers)
        pending = [remote.remote(item) for item in itertools.islice(source, window)]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                pending += [remote.remote(item) for item in itertools.islice(source, window - len(pending))]
                yield ray.get(done[0])
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
