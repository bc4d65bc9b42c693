"""Where pairs are counted: the CPU backend, and the choice of backend for a ``device``.

What it does: :class:`CpuBackend` puts the numba kernels of ``_pairs_numba.py`` behind the small
interface that :func:`~forensics.counting.pairs.count_pairs` drives (``name``, ``maps_files``,
``byte_sink``, ``byte_histogram``, ``token_pairs``); :func:`resolve_backend` turns ``device``
(auto / cpu / gpu) into a backend. The GPU backend and the simulated device that runs its batching on
the host (for tests) are in ``_pairs_cupy.py``, which implements the same interface.

What it leaves out: reading inputs (``pair_inputs.py``), packing them into batches (``pair_batches.py``),
and the kernels themselves. numba and CuPy are imported only when a backend is made.

>>> keys, counts = resolve_backend("cpu", threads=1).token_pairs(np.array([7, 8, 7], np.uint32), None)
>>> [(int(k) >> 32, int(k) & 0xFFFFFFFF, int(c)) for k, c in zip(keys, counts)]
[(7, 8, 1), (8, 7, 1)]
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from forensics.errors import ForensicsError

Device = Literal["auto", "cpu", "gpu"]


class CpuBackend:
    """numba kernels on all (or ``threads``) cores; one count at a time (it reuses its batch buffers).

    >>> hist = CpuBackend(threads=1).byte_histogram(np.frombuffer(b"abab", np.uint8), None)
    >>> int(hist[0x6162]), int(hist[0x6261])
    (2, 1)
    """

    name = "cpu"
    maps_files = True  # large plain files are counted in place (see pair_inputs.MappedFile)

    def __init__(self, *, threads: int | None = None) -> None:
        from forensics.counting import _pairs_numba

        self._numba = _pairs_numba
        self.threads = threads
        self._buffers: dict[int, list[np.ndarray]] = {}
        # Load (or compile) the kernels now so that timings exclude start-up.
        _pairs_numba.byte_pair_histogram(np.zeros(64, np.uint8), np.array([3]), threads=1)
        _pairs_numba.token_pair_counts(np.arange(8, dtype=np.uint32), np.array([3]), threads=1)
        _pairs_numba.merge_many([_pairs_numba.run_lengths(np.zeros(2, np.uint64))] * 2)

    def byte_sink(self, capacity: int):
        if capacity not in self._buffers:
            self._buffers = {capacity: [np.empty(capacity, np.uint8) for _ in range(2)]}
        return self._numba.CpuByteSink(capacity, threads=self.threads, buffers=self._buffers[capacity])

    def byte_histogram(self, data: np.ndarray, starts) -> np.ndarray:
        return self._numba.byte_pair_histogram(data, starts, threads=self.threads)

    def token_pairs(self, ids: np.ndarray, starts) -> tuple[np.ndarray, np.ndarray]:
        return self._numba.token_pair_counts(ids, starts, threads=self.threads)


def resolve_backend(device: Device = "auto", *, threads: int | None = None):
    """The backend for ``device``: ``auto`` is the GPU when CuPy sees one, else the CPU.

    >>> resolve_backend("cpu").name
    'cpu'
    """
    if device == "cpu":
        return CpuBackend(threads=threads)
    if device not in ("gpu", "auto"):
        raise ForensicsError(f"unknown device '{device}'; use one of: auto, cpu, gpu")
    from forensics.counting import _pairs_cupy

    if device == "auto" and not _pairs_cupy.gpu_available():
        return CpuBackend(threads=threads)
    return _pairs_cupy.GpuBackend(_pairs_cupy.CupyDevice())
