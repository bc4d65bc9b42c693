"""GPU check for pair counting: GPU == CPU on real text, throughput of both, and the copy limits.

One prepared run for a machine with a CUDA GPU (an H200 finishes in well under 5 minutes):

    python benchmarks/gpu_check.py --out gpu_check.json

1. Exactness: byte pairs of a folder of real documents (text files, empty and 1-byte files, JSONL
   records) in small batches, and of a 1 GiB real-text file, and GPT-2 token pairs: GPU == CPU.
2. Throughput (GB/s, median of --repeats): byte pairs file -> counts on the CPU and on the GPU, the
   kernels on data already in memory / on the device, and token pairs (Mpairs/s) on both.
3. Limits, same run: device-to-device memcpy, pinned host-to-device memcpy, host memory read.

It prints one table and writes JSON (with provenance) to --out. ``--dry-run`` runs all of it on the
CPU with the simulated device (same batching, streams and boundary logic, the CUDA kernel's index
arithmetic in numpy) on small data in seconds; CI runs it that way. Only the CUDA calls are skipped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_pairs import DATA, corpus_file, gather_text, gpt2_tokenizer, machine, median_time  # noqa: E402


# --- timing and copies: CUDA events on the GPU, the wall clock on the simulated device ---------------

class HostProbe:
    """Timing and copies for the simulated device (plain host memory)."""

    kind = "simulated (host memory)"

    def __init__(self, device) -> None:
        self.device = device
        self.stream = device.stream()

    def time(self, fn, repeats: int) -> float:
        return median_time(fn, repeats)

    def copy_d2d(self, dst, src) -> None:
        np.copyto(dst, src)

    def copy_h2d(self, dst, src_pinned: np.ndarray) -> None:
        dst[:src_pinned.size] = src_pinned


class CudaProbe:
    """Timing with CUDA events on one stream, raw cudaMemcpyAsync for the copy limits."""

    kind = "cuda"

    def __init__(self, device) -> None:
        self.device = device
        self.cp = device.cp
        self.stream = device.stream()

    def time(self, fn, repeats: int) -> float:
        cp = self.cp
        times = []
        for _ in range(repeats):
            start, end = cp.cuda.Event(), cp.cuda.Event()
            start.record(self.stream)
            fn()
            end.record(self.stream)
            end.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
        return statistics.median(times)

    def copy_d2d(self, dst, src) -> None:
        self.cp.cuda.runtime.memcpyAsync(dst.data.ptr, src.data.ptr, src.nbytes, 3, self.stream.ptr)

    def copy_h2d(self, dst, src_pinned: np.ndarray) -> None:
        self.cp.cuda.runtime.memcpyAsync(dst.data.ptr, src_pinned.ctypes.data, src_pinned.nbytes, 1,
                                         self.stream.ptr)


# --- data ------------------------------------------------------------------------------------------

def documents_folder(text: bytes, folder: Path) -> Path:
    """Real documents with awkward boundaries: text files of many sizes, empty, 1-byte, and JSONL."""
    folder.mkdir(parents=True, exist_ok=True)
    cuts = [0, 1, 2, 7, 4096, 100_003, len(text) // 3, len(text) // 2]
    for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
        (folder / f"doc{i:02d}.txt").write_bytes(text[a:b])
    (folder / "empty.txt").write_bytes(b"")
    (folder / "one.txt").write_bytes(text[:1])
    (folder / "invalid.txt").write_bytes(b"\xff\xfe" + text[:1000] + b"\xc3")
    records = text[:200_000].decode("utf-8", "replace").split("\n\n")
    (folder / "records.jsonl").write_text("\n".join(json.dumps({"text": r}) for r in records) + "\n")
    return folder


def gpt2_ids(text: bytes) -> tuple[np.ndarray, str]:
    try:
        from forensics.counting.pairs import encode_texts

        tok = gpt2_tokenizer()
    except Exception as exc:  # fixtures or tokenizers missing: still real text, as byte ids
        return np.frombuffer(text, np.uint8).astype(np.uint32), f"UTF-8 bytes as ids ({exc})"
    strings = text.decode("utf-8", "replace")
    blocks = [strings[i:i + (1 << 16)] for i in range(0, len(strings), 1 << 16)]
    return np.concatenate(encode_texts(tok, blocks)), "GPT-2 (fixtures/tokenizers/gpt2)"


# --- the check -------------------------------------------------------------------------------------

def run(args) -> dict:
    from forensics._results import provenance
    from forensics.counting import _pairs_cupy
    from forensics.counting._pairs_numba import byte_pair_histogram, token_pair_counts
    from forensics.counting.pairs import CpuBackend, count_pairs

    began = time.perf_counter()
    device = _pairs_cupy.SimulatedDevice() if args.dry_run else _pairs_cupy.CupyDevice()
    probe = HostProbe(device) if args.dry_run else CudaProbe(device)
    gpu = _pairs_cupy.GpuBackend(device)
    cpu = CpuBackend()
    size = args.size_mb << 20
    repeats = args.repeats
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    rows: list[dict] = []
    checks: dict[str, bool] = {}

    def row(name, value, unit, limit=None, note=""):
        rows.append({"measure": name, "value": value, "unit": unit,
                     "share_of_limit": (value / limit) if (limit and isinstance(value, float)) else None,
                     "note": note})

    try:
        # 1. exactness on documents with boundaries, in small batches (many carries and streams)
        text = gather_text(min(size, 64 << 20))
        folder = documents_folder(text, work / "docs")
        batch = 1 << 16 if args.dry_run else 1 << 20
        want = count_pairs([folder], backend=cpu, batch_bytes=batch)
        got = count_pairs([folder], backend=gpu, batch_bytes=batch)
        checks["bytes, documents folder"] = np.array_equal(want.histogram(), got.histogram())

        # 2. the big real-text file: exactness and file -> counts throughput
        corpus = corpus_file(size, directory=DATA if args.dry_run else work)
        cpu_file = [count_pairs([corpus], backend=cpu) for _ in range(repeats)]
        gpu_file = [count_pairs([corpus], backend=gpu, batch_bytes=args.batch_mb << 20) for _ in range(repeats)]
        checks["bytes, real-text file"] = np.array_equal(cpu_file[0].histogram(), gpu_file[0].histogram())
        cpu_file_s = statistics.median(r.seconds for r in cpu_file)
        gpu_file_s = statistics.median(r.seconds for r in gpu_file)

        # 3. limits: host memory read, device-to-device and pinned host-to-device copies
        data = np.fromfile(corpus, np.uint8)
        words = data[: data.size // 8 * 8].view(np.uint64)
        host_read_s = median_time(lambda: words.sum(), repeats)
        pinned = device.pinned_empty(size)
        pinned[:] = data
        resident = device.empty(size, np.uint8)
        other = device.empty(size, np.uint8)
        probe.copy_h2d(resident, pinned)
        device.synchronize()
        h2d_s = probe.time(lambda: probe.copy_h2d(other, pinned), repeats)
        d2d_s = probe.time(lambda: probe.copy_d2d(other, resident), repeats)
        host_read = size / host_read_s / 1e9
        h2d = size / h2d_s / 1e9
        d2d = 2 * size / d2d_s / 1e9  # bytes read + bytes written

        # 4. kernels on resident data
        hist = device.zeros(1 << 16, np.uint64)
        device.synchronize()  # zeros ran on the default stream; the probe's stream does not wait for it
        kernel_s = probe.time(lambda: device.byte_pairs(resident, size, hist, probe.stream), repeats)
        device.synchronize()
        cpu_kernel_s = median_time(lambda: byte_pair_histogram(data), repeats)
        one = device.zeros(1 << 16, np.uint64)
        device.synchronize()
        device.byte_pairs(resident, size, one, probe.stream)
        device.synchronize()
        checks["bytes, device-resident kernel"] = np.array_equal(device.to_host(one),
                                                                 byte_pair_histogram(data))

        # 5. token pairs of real text
        ids, tokenizer = gpt2_ids(text[: int(args.token_text_mb * 2**20)])
        ids = np.tile(ids, args.tile)
        offsets = np.arange(0, ids.size, max(1, ids.size // 1000))
        want_t = count_pairs(token_ids=ids, offsets=offsets, backend=cpu)
        got_t = count_pairs(token_ids=ids, offsets=offsets, backend=gpu, batch_tokens=max(2, ids.size // 3))
        checks["tokens, GPT-2 ids"] = (np.array_equal(want_t.keys, got_t.keys)
                                       and np.array_equal(want_t.counts, got_t.counts))
        cpu_tok_s = median_time(lambda: token_pair_counts(ids), repeats)
        ids_dev = device.empty(ids.size, np.uint32)
        staged = device.pinned_empty(ids.nbytes).view(np.uint32)
        staged[:] = ids
        device.copy_to_device(ids_dev, staged, probe.stream)
        device.synchronize()
        gpu_tok_s = probe.time(lambda: device.token_pairs(ids_dev, ids.size, probe.stream), repeats)
        pairs = ids.size - 1

        row("all GPU results == CPU", "yes" if all(checks.values()) else "NO", "", note=", ".join(
            f"{k}: {'ok' if v else 'DIFFER'}" for k, v in checks.items()))
        row("limit: device memcpy D2D (read+write)", d2d, "GB/s", note=probe.kind)
        row("limit: host->device memcpy, pinned", h2d, "GB/s", note=probe.kind)
        row("limit: host memory read (numpy sum)", host_read, "GB/s", note="1 core")
        row("GPU bytes, device-resident kernel", size / kernel_s / 1e9, "GB/s", d2d,
            note="share of D2D memcpy (target >= 0.10)")
        row("GPU bytes, file -> counts", size / gpu_file_s / 1e9, "GB/s", h2d,
            note=f"share of pinned H2D; {args.batch_mb} MiB batches, 3 streams")
        row("CPU bytes, file -> counts", size / cpu_file_s / 1e9, "GB/s", host_read,
            note="share of host read; numba, all cores")
        row("CPU bytes, in-memory kernel", size / cpu_kernel_s / 1e9, "GB/s", host_read)
        row("GPU tokens, device-resident (key+sort+RLE)", pairs / gpu_tok_s / 1e6, "Mpairs/s",
            note=f"{pairs:,} pairs, {want_t.distinct_pairs:,} distinct; {tokenizer}")
        row("CPU tokens, in memory (sort+RLE)", pairs / cpu_tok_s / 1e6, "Mpairs/s")
        row("GPU / CPU, bytes file -> counts", cpu_file_s / gpu_file_s, "x")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return {
        "dry_run": args.dry_run,
        "device": device.name,
        "all_agree": all(checks.values()),
        "checks": checks,
        "rows": rows,
        "bytes": size,
        "repeats": repeats,
        "wall_seconds": time.perf_counter() - began,
        "machine": machine(),
        "provenance": provenance(command="benchmarks/gpu_check.py", parameters=vars(args) | {"out": str(args.out)}),
    }


def table(record: dict) -> str:
    lines = [f"pair counting GPU check on {record['device']} ({record['bytes'] >> 20} MiB real text, "
             f"median of {record['repeats']}, {record['wall_seconds']:.0f} s)",
             "| measure | value | unit | share of limit | note |", "|---|---|---|---|---|"]
    for r in record["rows"]:
        value = f"{r['value']:,.2f}" if isinstance(r["value"], float) else str(r["value"])
        share = f"{r['share_of_limit']:.1%}" if r["share_of_limit"] is not None else ""
        lines.append(f"| {r['measure']} | {value} | {r['unit']} | {share} | {r['note']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="write the JSON record here")
    parser.add_argument("--dry-run", action="store_true", help="CPU only: simulated device, small data")
    parser.add_argument("--size-mb", type=int, help="real-text file size (default 1024; dry run 8)")
    parser.add_argument("--token-text-mb", type=float, help="text tokenized for token pairs (default 8; dry 0.25)")
    parser.add_argument("--tile", type=int, help="repeat the token ids (default 16; dry run 1)")
    parser.add_argument("--batch-mb", type=int, default=256, help="GPU batch size, MiB")
    parser.add_argument("--repeats", type=int, help="timing repeats (default 3; dry run 1)")
    args = parser.parse_args(argv)
    small = args.dry_run
    args.size_mb = args.size_mb or (8 if small else 1024)
    args.token_text_mb = args.token_text_mb or (0.25 if small else 8)
    args.tile = args.tile or (1 if small else 16)
    args.repeats = args.repeats or (1 if small else 3)
    if small:
        args.batch_mb = min(args.batch_mb, 2)
    record = run(args)
    from forensics._results import write_json

    write_json(args.out, record)
    print(table(record))
    return 0 if record["all_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
