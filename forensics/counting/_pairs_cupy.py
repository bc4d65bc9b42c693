"""CuPy (CUDA) pair counting: raw kernels fed by pinned host buffers on several streams.

What it does: the GPU backend of :func:`forensics.count_pairs`. Byte batches are packed by the caller
into pinned host buffers; each buffer's host-to-device copy and histogram kernel run on that buffer's own
stream, so the copy of one batch overlaps the kernel of the previous one and the host filling the next.
Token pairs are keyed on the device, sorted with CuPy's radix sort and run-length encoded there.

The device is behind a small interface (:class:`CupyDevice`); :class:`SimulatedDevice` implements the
same calls with numpy on the host, using the CUDA kernel's own index arithmetic, so the batching, stream
and boundary logic runs (and is tested) on machines without a GPU.

What it leaves out: multiple GPUs, device-side decompression or tokenization.

>>> backend = GpuBackend(SimulatedDevice())  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from forensics.counting._pairs_numba import (
    N_BINS,
    boundary_byte_pairs,
    run_lengths,
    subtract_counts,
    token_pair_counts,
)
from forensics.errors import ForensicsError, require

# Each block keeps the pairs of one class ((a ^ b) & (2**class_bits - 1), chosen by blockIdx.y) in shared
# memory: 65,536 >> class_bits uint32 counters (128 KiB for class_bits = 1, where the GPU allows it; 64 or
# 32 KiB otherwise). Classes by the low bits of a ^ b stay balanced on ASCII text. Shared uint32 counts
# cannot overflow: one launch covers fewer than 2**31 pairs (MAX_BATCH_BYTES).
_KERNELS = r"""
extern "C" __global__ void byte_pairs(const unsigned char* __restrict__ data,
                                      const long long n_pairs,
                                      unsigned long long* __restrict__ hist,
                                      const int class_bits)
{
    extern __shared__ unsigned int counts[];
    const unsigned int cls = blockIdx.y;
    const unsigned int mask = (1u << class_bits) - 1u;
    const int high_bits = 8 - class_bits;
    const int bins = 65536 >> class_bits;
    for (int i = threadIdx.x; i < bins; i += blockDim.x) counts[i] = 0u;
    __syncthreads();

    // Pairs 4w..4w+3 come from the aligned word w plus the first byte of word w+1.
    const long long n_words = n_pairs / 4;
    const unsigned int* words = reinterpret_cast<const unsigned int*>(data);
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long w = (long long)blockIdx.x * blockDim.x + threadIdx.x; w < n_words; w += stride) {
        const unsigned int x = words[w];
        const unsigned int y = (x >> 8) | ((unsigned int)data[4 * w + 4] << 24);
#pragma unroll
        for (int shift = 0; shift < 32; shift += 8) {
            const unsigned int a = (x >> shift) & 0xFFu;
            const unsigned int b = (y >> shift) & 0xFFu;
            if (((a ^ b) & mask) == cls) atomicAdd(&counts[(a << high_bits) | (b >> class_bits)], 1u);
        }
    }
    if (blockIdx.x == 0) {
        for (long long i = 4 * n_words + threadIdx.x; i < n_pairs; i += blockDim.x) {
            const unsigned int a = data[i];
            const unsigned int b = data[i + 1];
            if (((a ^ b) & mask) == cls) atomicAdd(&counts[(a << high_bits) | (b >> class_bits)], 1u);
        }
    }
    __syncthreads();

    for (int s = threadIdx.x; s < bins; s += blockDim.x) {
        const unsigned int c = counts[s];
        if (c != 0u) {
            const unsigned int a = (unsigned int)s >> high_bits;
            const unsigned int b = (((unsigned int)s & ((1u << high_bits) - 1u)) << class_bits) | (cls ^ (a & mask));
            atomicAdd(&hist[(a << 8) | b], (unsigned long long)c);
        }
    }
}

extern "C" __global__ void token_pair_keys(const unsigned int* __restrict__ ids,
                                           const long long n_pairs,
                                           unsigned long long* __restrict__ keys)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n_pairs; i += stride) {
        keys[i] = ((unsigned long long)ids[i] << 32) | (unsigned long long)ids[i + 1];
    }
}
"""

THREADS_PER_BLOCK = 1024
MAX_BATCH_BYTES = 1 << 30


def shared_bytes(class_bits: int) -> int:
    """Dynamic shared memory of one ``byte_pairs`` block."""
    return (1 << 16 >> class_bits) * 4


def _simulated_byte_pairs(data: np.ndarray, hist: np.ndarray, class_bits: int = 1) -> None:
    """The ``byte_pairs`` kernel's arithmetic in numpy: classes, shared index, key recovery."""
    a = data[:-1].astype(np.uint32)
    b = data[1:].astype(np.uint32)
    mask, high_bits = (1 << class_bits) - 1, 8 - class_bits
    for cls in range(1 << class_bits):
        mine = ((a ^ b) & mask) == cls
        shared = np.bincount(((a[mine] << high_bits) | (b[mine] >> class_bits)).astype(np.int64),
                             minlength=1 << 16 >> class_bits)
        s = np.flatnonzero(shared).astype(np.uint32)
        first = s >> high_bits
        second = ((s & ((1 << high_bits) - 1)) << class_bits) | (cls ^ (first & mask))
        hist[((first << 8) | second).astype(np.int64)] += shared[s].astype(np.uint64)


class _HostEvent:
    def synchronize(self) -> None:
        pass


class _HostStream:
    def record(self) -> _HostEvent:
        return _HostEvent()


class SimulatedDevice:
    """The :class:`CupyDevice` interface on the host (numpy), for dry runs and tests without a GPU."""

    name = "simulated-gpu"

    def __init__(self, *, multiprocessors: int = 4, class_bits: int = 1) -> None:
        self.multiprocessors = multiprocessors
        self.class_bits = class_bits
        self.kernel_launches = 0
        self.copies = 0

    def pinned_empty(self, nbytes: int) -> np.ndarray:
        return np.empty(nbytes, np.uint8)

    def empty(self, n: int, dtype) -> np.ndarray:
        return np.empty(n, dtype)

    def zeros(self, n: int, dtype) -> np.ndarray:
        return np.zeros(n, dtype)

    def stream(self) -> _HostStream:
        return _HostStream()

    def copy_to_device(self, dst: np.ndarray, src: np.ndarray, stream) -> None:
        dst[:src.size] = src
        self.copies += 1

    def byte_pairs(self, data, n: int, hist, stream) -> None:
        self.kernel_launches += 1
        if n > 1:
            _simulated_byte_pairs(data[:n], hist, self.class_bits)

    def token_pairs(self, ids, n: int, stream) -> tuple[np.ndarray, np.ndarray]:
        self.kernel_launches += 1
        return token_pair_counts(ids[:n])

    def record(self, stream):
        return stream.record()

    def synchronize(self) -> None:
        pass

    def to_host(self, array) -> np.ndarray:
        return np.asarray(array)


class CupyDevice:
    """One CUDA device through CuPy: pinned buffers, streams, and the raw kernels above.

    >>> device = CupyDevice()  # doctest: +SKIP
    """

    def __init__(self, device_id: int = 0) -> None:
        cp = require("cupy", extra="gpu", purpose="counting pairs on a GPU")
        try:
            count = cp.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError when there is no driver
            raise ForensicsError(f"no usable CUDA device ({exc}); use --device cpu") from None
        if count <= device_id:
            raise ForensicsError("no CUDA device found; use --device cpu")
        self.cp = cp
        self.device = cp.cuda.Device(device_id)
        self.device.use()
        props = cp.cuda.runtime.getDeviceProperties(device_id)
        raw_name = props.get("name", b"gpu")
        self.name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
        self.multiprocessors = int(self.device.attributes["MultiProcessorCount"])
        module = cp.RawModule(code=_KERNELS, options=("-std=c++14",))
        self._byte_kernel = module.get_function("byte_pairs")
        # Fewest classes (fewest passes over the data) whose counters fit the block's shared memory.
        limit = int(self.device.attributes.get("MaxSharedMemoryPerBlockOptin", 48 << 10))
        self.class_bits = next(k for k in (1, 2, 3) if shared_bytes(k) <= limit or k == 3)
        if shared_bytes(self.class_bits) > 48 << 10:
            self._byte_kernel.max_dynamic_shared_size_bytes = shared_bytes(self.class_bits)
        self._key_kernel = module.get_function("token_pair_keys")

    def pinned_empty(self, nbytes: int) -> np.ndarray:
        # The view keeps the allocation alive; when it goes, CuPy's pinned pool takes the memory back.
        return np.frombuffer(self.cp.cuda.alloc_pinned_memory(nbytes), np.uint8, nbytes)

    def empty(self, n: int, dtype):
        return self.cp.empty(n, dtype)

    def zeros(self, n: int, dtype):
        return self.cp.zeros(n, dtype)

    def stream(self):
        return self.cp.cuda.Stream(non_blocking=True)

    def copy_to_device(self, dst, src: np.ndarray, stream) -> None:
        dst[:src.size].set(src, stream=stream)

    def byte_pairs(self, data, n: int, hist, stream) -> None:
        if n < 2:
            return
        with stream:
            self._byte_kernel((self.multiprocessors, 1 << self.class_bits), (THREADS_PER_BLOCK,),
                              (data, np.int64(n - 1), hist, np.int32(self.class_bits)),
                              shared_mem=shared_bytes(self.class_bits))

    def token_pairs(self, ids, n: int, stream) -> tuple[np.ndarray, np.ndarray]:
        cp = self.cp
        if n < 2:
            return np.empty(0, np.uint64), np.empty(0, np.uint64)
        with stream:
            keys = cp.empty(n - 1, cp.uint64)
            self._key_kernel((self.multiprocessors * 8,), (256,), (ids, np.int64(n - 1), keys))
            keys.sort()
            change = cp.empty(keys.size, cp.bool_)
            change[0] = True
            cp.not_equal(keys[1:], keys[:-1], out=change[1:])
            first = cp.flatnonzero(change)
            unique = keys[first]
            ends = cp.concatenate((first[1:], cp.array([keys.size], dtype=first.dtype)))
            counts = (ends - first).astype(cp.uint64)
            result = unique.get(stream=stream), counts.get(stream=stream)
        stream.synchronize()
        return result

    def record(self, stream):
        return stream.record()

    def synchronize(self) -> None:
        self.device.synchronize()

    def to_host(self, array) -> np.ndarray:
        return array.get()


def gpu_available() -> bool:
    """Whether CuPy imports and sees a CUDA device (never raises).

    >>> isinstance(gpu_available(), bool)
    True
    """
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


class DeviceByteSink:
    """Byte-pair counting on a device with ``slots`` pinned buffers, each with its own stream.

    ``acquire()`` waits only until that slot's previous host-to-device copy is done, so the host fills
    one buffer while others are copied and counted. Same protocol as ``CpuByteSink``.
    """

    def __init__(self, device, capacity: int, *, slots: int = 3) -> None:
        if capacity > MAX_BATCH_BYTES:
            raise ValueError(f"batch of {capacity} bytes is over the kernel's {MAX_BATCH_BYTES}")
        self.device = device
        self.name = device.name
        self.capacity = capacity
        self._host = [device.pinned_empty(capacity) for _ in range(slots)]
        self._dev = [device.empty(capacity, np.uint8) for _ in range(slots)]
        self._streams = [device.stream() for _ in range(slots)]
        self._copied = [None] * slots
        self._next = 0
        self._hist = device.zeros(N_BINS, np.uint64)
        self._boundary = np.zeros(N_BINS, np.uint64)
        self.batches = 0
        # The zero fill ran on the default stream, which non-blocking streams do not wait for.
        device.synchronize()

    def acquire(self) -> np.ndarray:
        slot = self._next % len(self._host)
        if self._copied[slot] is not None:
            self._copied[slot].synchronize()
            self._copied[slot] = None
        return self._host[slot]

    def submit(self, n: int, starts: list[int]) -> None:
        slot = self._next % len(self._host)
        host = self._host[slot][:n]
        if starts:
            boundary_byte_pairs(host, np.asarray(starts, np.int64), self._boundary)
        stream = self._streams[slot]
        self.device.copy_to_device(self._dev[slot], host, stream)
        self._copied[slot] = self.device.record(stream)
        # Same stream: the kernel starts after its copy, and this slot's next copy waits for the kernel.
        self.device.byte_pairs(self._dev[slot], n, self._hist, stream)
        self._next += 1
        self.batches += 1

    def finish(self) -> np.ndarray:
        self.device.synchronize()
        return self.device.to_host(self._hist) - self._boundary


class GpuBackend:
    """The device side of ``count_pairs``: byte sinks and token-pair counts on one device."""

    def __init__(self, device) -> None:
        self.device = device
        self.name = device.name
        self._stream = device.stream()
        self._ids_host = None
        self._ids_dev = None

    def byte_sink(self, capacity: int) -> DeviceByteSink:
        return DeviceByteSink(self.device, min(capacity, MAX_BATCH_BYTES))

    def token_pairs(self, ids: np.ndarray, starts) -> tuple[np.ndarray, np.ndarray]:
        ids = np.ascontiguousarray(ids, dtype=np.uint32)
        nbytes = ids.size * 4
        if self._ids_host is None or self._ids_host.size < nbytes:
            self._ids_host = self.device.pinned_empty(max(nbytes, 1 << 20))
            self._ids_dev = self.device.empty(self._ids_host.size // 4, np.uint32)
        staged = self._ids_host[:nbytes].view(np.uint32)
        staged[:] = ids
        self.device.copy_to_device(self._ids_dev, staged, self._stream)
        keys, counts = self.device.token_pairs(self._ids_dev, ids.size, self._stream)
        if starts is not None and len(starts):
            starts = np.unique(np.asarray(starts, dtype=np.int64))
            starts = starts[(starts > 0) & (starts < ids.size)]
            if starts.size:
                cut = (ids[starts - 1].astype(np.uint64) << np.uint64(32)) | ids[starts].astype(np.uint64)
                cut.sort()
                keys, counts = subtract_counts(keys, counts, *run_lengths(cut))
        return keys, counts
