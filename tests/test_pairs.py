"""Pair counting: every path (numba kernels, batching, simulated GPU, CuPy) agrees with the reference."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics.counting import _pairs_cupy, _pairs_numba, pairs
from forensics.counting.pairs import CpuBackend, count_pairs
from forensics.counting.pairs_reference import byte_pairs_reference, pairs_to_arrays, token_pairs_reference

ROOT = Path(__file__).resolve().parents[1]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
REAL_FILES = [STDLIB / name for name in ("argparse.py", "typing.py", "difflib.py")]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def cpu():
    return CpuBackend(threads=2)


@pytest.fixture(scope="module")
def simulated():
    return _pairs_cupy.GpuBackend(_pairs_cupy.SimulatedDevice())


def numpy_pairs(data: bytes) -> np.ndarray:
    a = np.frombuffer(data, np.uint8)
    return np.bincount((a[:-1].astype(np.int64) << 8) | a[1:], minlength=65536).astype(np.uint64)


def byte_docs(data_list) -> np.ndarray:
    return sum((numpy_pairs(d) for d in data_list), np.zeros(65536, np.uint64))


# --- byte pairs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", list(range(0, 40)) + [1000, 4097])
def test_kernel_every_alignment(n):
    rng = np.random.default_rng(n)
    data = rng.integers(0, 256, n + 8, dtype=np.uint8)
    for offset in range(8):  # unaligned starts of the 64-bit loads
        buf = data[offset:offset + n]
        got = _pairs_numba.byte_pair_histogram(buf, threads=2)
        assert np.array_equal(got, numpy_pairs(buf.tobytes()))


def test_kernel_parallel_chunks_on_real_text():
    data = b"".join(p.read_bytes() for p in REAL_FILES) * 3  # several MB -> several chunks
    got = _pairs_numba.byte_pair_histogram(np.frombuffer(data, np.uint8), threads=4)
    assert np.array_equal(got, numpy_pairs(data))


def test_reference_definition():
    hist = byte_pairs_reference([b"abab", b"", b"x", "é"])
    assert hist[(ord("a") << 8) | ord("b")] == 2
    assert hist[(ord("b") << 8) | ord("a")] == 1
    assert hist[0xC3A9] == 1
    assert hist.sum() == 4


doc_lists = st.lists(st.binary(max_size=40) | st.sampled_from([b"", b"a", b"\xff", b"  \n  "]), max_size=12)


@FAST
@given(docs=doc_lists, batch=st.integers(2, 50))
def test_bytes_all_paths_agree(cpu, simulated, docs, batch):
    expected = byte_pairs_reference(docs)
    for backend in (cpu, simulated):
        got = count_pairs(texts=docs, backend=backend, batch_bytes=batch)
        assert np.array_equal(got.histogram(), expected), backend.name
        assert got.total_pairs == int(expected.sum())


@FAST
@given(docs=doc_lists, batch=st.integers(2, 30))
def test_bytes_array_with_offsets(cpu, simulated, docs, batch):
    data = np.frombuffer(b"".join(docs), np.uint8)
    offsets = np.cumsum([0] + [len(d) for d in docs])
    expected = byte_pairs_reference(docs)
    for backend in (cpu, simulated):
        got = count_pairs(texts=data, offsets=offsets, backend=backend, batch_bytes=batch)
        assert np.array_equal(got.histogram(), expected)


@pytest.mark.parametrize("piece, map_min", [(pairs._PARALLEL_READ_PIECE, pairs.MAP_MIN_BYTES), (1000, 2)])
def test_bytes_files_stream_in_batches_with_carry(tmp_path, cpu, simulated, piece, map_min, monkeypatch):
    monkeypatch.setattr(pairs, "_PARALLEL_READ_PIECE", piece)  # 1000: parallel preadv pieces
    monkeypatch.setattr(pairs, "MAP_MIN_BYTES", map_min)  # 2: the CPU maps every plain file
    monkeypatch.setattr(pairs, "READ_THREADS", 3)
    text = b"".join(p.read_bytes() for p in REAL_FILES)
    invalid = b"ok \xff\xfe\xc3 broken \xe2\x82 utf-8"
    (tmp_path / "a.txt").write_bytes(text)
    (tmp_path / "b.txt").write_bytes(invalid)
    (tmp_path / "c.txt").write_bytes(b"")
    (tmp_path / "d.txt").write_bytes(b"z")
    with gzip.open(tmp_path / "e.txt.gz", "wb") as handle:
        handle.write(text[:50_000])
    expected = byte_docs([text, invalid, b"", b"z", text[:50_000]])
    for backend in (cpu, simulated):
        for batch in (1 << 20, 4099):
            got = count_pairs([tmp_path], backend=backend, batch_bytes=batch)
            assert np.array_equal(got.histogram(), expected), (backend.name, batch)
            assert got.documents == 4  # the empty file holds none
            assert got.input_bytes == 2 * len(text[:50_000]) + len(text) - 50_000 + len(invalid) + 1


def test_bytes_jsonl_records_are_documents(tmp_path, cpu):
    texts = ["first record", "", "x", "naïve café ☕", "line\nbreak"]
    lines = [json.dumps({"text": t}) for t in texts] + ["{corrupt", json.dumps({"other": 1})]
    (tmp_path / "docs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = count_pairs([tmp_path / "docs.jsonl"], backend=cpu, batch_bytes=7)
    assert np.array_equal(got.histogram(), byte_pairs_reference(texts))
    assert got.documents == len(texts)
    assert got.read_stats.skipped_lines == 2


def test_bytes_jsonl_invalid_utf8_is_replaced(tmp_path, cpu):
    (tmp_path / "bad.jsonl").write_bytes(b'{"text": "a\xffb"}\n')
    got = count_pairs([tmp_path / "bad.jsonl"], backend=cpu)
    assert np.array_equal(got.histogram(), byte_pairs_reference(["a\ufffdb"]))


def test_pair_counts_api():
    counts = count_pairs(texts="abcab", device="cpu")
    assert counts.top(2) == [(97, 98, 2), (98, 99, 1)]
    assert counts.get(97, 98) == 2 and counts.get(1, 2) == 0
    assert counts.split(0x6162) == (97, 98)
    both = counts + count_pairs(texts="ab", device="cpu")
    assert both.get(97, 98) == 3 and both.documents == 2
    with pytest.raises(ValueError):
        count_pairs(token_ids=[[1, 2]]).histogram()


def test_errors_are_one_line():
    from forensics.errors import ForensicsError

    with pytest.raises(ForensicsError):
        count_pairs()
    with pytest.raises(ForensicsError):
        count_pairs(texts="ab", kind="tokens")
    with pytest.raises(ForensicsError):
        count_pairs(token_ids=np.array([-1, 2]))
    with pytest.raises(ForensicsError):
        count_pairs(token_ids=np.array([1, 2]), offsets=[0, 5])
    with pytest.raises(ForensicsError):
        count_pairs(texts="ab", device="tpu")


# --- token pairs -----------------------------------------------------------------------------------

id_lists = st.lists(st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 5), max_size=30), max_size=10)


def assert_same_tokens(got, docs):
    keys, counts = pairs_to_arrays(token_pairs_reference(docs))
    assert np.array_equal(got.keys, keys)
    assert np.array_equal(got.counts, counts)


@FAST
@given(docs=id_lists, batch=st.integers(2, 20))
def test_tokens_all_paths_agree(cpu, simulated, docs, batch):
    flat = np.array([i for d in docs for i in d], dtype=np.uint64)
    offsets = np.cumsum([0] + [len(d) for d in docs])
    for backend in (cpu, simulated):
        assert_same_tokens(count_pairs(token_ids=docs, backend=backend, batch_tokens=batch), docs)
        assert_same_tokens(count_pairs(token_ids=flat, offsets=offsets, backend=backend, batch_tokens=batch),
                           docs)


def test_tokens_parallel_sort_merge_and_boundaries():
    rng = np.random.default_rng(0)
    ids = (rng.zipf(1.3, 3_000_000) % 50_000).astype(np.uint32)
    offsets = np.sort(rng.integers(0, ids.size, 500))
    keys, counts = _pairs_numba.token_pair_counts(ids, offsets, threads=4)
    docs = np.split(ids, offsets)
    flat_keys = np.concatenate([(d[:-1].astype(np.uint64) << np.uint64(32)) | d[1:] for d in docs])
    want_keys, want_counts = np.unique(flat_keys, return_counts=True)
    assert np.array_equal(keys, want_keys)
    assert np.array_equal(counts, want_counts.astype(np.uint64))


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator([p.read_text() for p in REAL_FILES[:1]], trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


def test_tokens_from_files_with_tokenizer(tmp_path, tokenizer_file, cpu, simulated, monkeypatch):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    text = REAL_FILES[0].read_text()[:60_000]
    records = ["a JSON record", "", "another\none ☕"]
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps({"text": r}) for r in records))
    expected = [tok.encode(text, add_special_tokens=False).ids] + \
               [tok.encode(r, add_special_tokens=False).ids for r in records]
    # Small blocks and batches: the text file is encoded as many blocks that continue each other.
    monkeypatch.setattr(pairs, "TEXT_BLOCK_BYTES", 2048)
    for backend in (cpu, simulated):
        got = count_pairs([tmp_path], tokenizer=tokenizer_file, backend=backend, batch_bytes=5000,
                          batch_tokens=700)
        assert_same_tokens(got, expected)
        assert got.documents == 4 and got.tokens == sum(len(e) for e in expected)
    got = count_pairs(texts=["a JSON record", "another"], tokenizer=tok, backend=cpu)
    assert_same_tokens(got, [tok.encode(t, add_special_tokens=False).ids for t in ["a JSON record", "another"]])


# --- devices, CLI, dry run -------------------------------------------------------------------------

def test_auto_falls_back_to_cpu_without_gpu():
    if _pairs_cupy.gpu_available():
        pytest.skip("a GPU is present")
    assert count_pairs(texts="abc", device="auto").device == "cpu"


def test_gpu_without_cupy_gives_install_hint():
    if _pairs_cupy.gpu_available():
        pytest.skip("a GPU is present")
    from forensics.errors import ForensicsError

    with pytest.raises(ForensicsError, match="cpu|cupy"):
        count_pairs(texts="abc", device="gpu")


@pytest.mark.parametrize("class_bits", [1, 2, 3])
def test_simulated_kernel_index_math_matches_histogram(class_bits):
    rng = np.random.default_rng(class_bits)
    data = np.concatenate([np.frombuffer(bytes(range(256)) * 3 + b"\x00\xff\x01\xfe", np.uint8),
                           rng.integers(0, 256, 100_000, dtype=np.uint8)])
    hist = np.zeros(65536, np.uint64)
    _pairs_cupy._simulated_byte_pairs(data, hist, class_bits)
    assert np.array_equal(hist, numpy_pairs(data.tobytes()))


def test_import_pulls_in_no_optional_dependency():
    code = ("import forensics.counting.pairs, sys; "
            "print(any(m.startswith(('cupy', 'numba')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_json(tmp_path, capsys):
    from cli.main import main

    target = tmp_path / "t.txt"
    target.write_bytes(b"hello hello")
    assert main(["count-pairs", str(target), "--json", "--top", "2", "--device", "cpu"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["total_pairs"] == 10
    assert record["top"][0]["pair"] == [101, 108] and record["top"][0]["count"] == 2
    assert record["seconds"] >= 0 and record["provenance"]["inputs"][str(target)]
    assert main(["count-pairs", str(tmp_path / "missing.txt")]) == 2


def test_cli_tokens(tmp_path, tokenizer_file, capsys):
    from cli.main import main

    target = tmp_path / "t.jsonl"
    target.write_text(json.dumps({"text": "def def def"}) + "\n")
    out = tmp_path / "r.json"
    assert main(["count-pairs", str(target), "--tokenizer", str(tokenizer_file), "-o", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["kind"] == "tokens" and record["total_pairs"] >= 2


@pytest.mark.skipif(not _pairs_cupy.gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_cupy_agrees_with_cpu(cpu):
    gpu = _pairs_cupy.GpuBackend(_pairs_cupy.CupyDevice())
    data = b"".join(p.read_bytes() for p in REAL_FILES)
    docs = [data, b"", b"x", data[:12345], b"\xff\xfe"]
    for batch in (1 << 20, 4099):
        assert np.array_equal(count_pairs(texts=docs, backend=gpu, batch_bytes=batch).histogram(),
                              byte_docs(docs))
    ids = (np.random.default_rng(1).zipf(1.3, 200_000) % 50_000).astype(np.uint32)
    offsets = np.array([0, 10, 10, 5000, 150_000])
    want = count_pairs(token_ids=ids, offsets=offsets, backend=cpu)
    got = count_pairs(token_ids=ids, offsets=offsets, backend=gpu, batch_tokens=30_000)
    assert np.array_equal(got.keys, want.keys) and np.array_equal(got.counts, want.counts)


def test_gpu_check_dry_run(tmp_path):
    out = tmp_path / "gpu_check.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--dry-run",
                           "--out", str(out)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["dry_run"] is True and record["all_agree"] is True
    assert "provenance" in record


# --- CupyDevice's calls, against a numpy stand-in for CuPy ------------------------------------------

class _FakeArray(np.ndarray):
    """numpy array with CuPy's ``set``/``get`` copies."""

    def set(self, arr, stream=None):
        assert arr.shape == self.shape and arr.dtype == self.dtype
        self[...] = arr

    def get(self, stream=None):
        return np.array(self)


class _FakeStream:
    def __init__(self, non_blocking=False):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def record(self):
        return self

    def synchronize(self):
        pass


class _FakeKernel:
    def __init__(self, name):
        self.name = name
        self.max_dynamic_shared_size_bytes = 0

    def __call__(self, grid, block, args, shared_mem=0):
        if self.name == "byte_pairs":
            data, n_pairs, out, class_bits = args
            assert grid[1] == 1 << class_bits
            assert shared_mem == _pairs_cupy.shared_bytes(class_bits) <= max(self.max_dynamic_shared_size_bytes,
                                                                             48 << 10)
            _pairs_cupy._simulated_byte_pairs(np.asarray(data[:int(n_pairs) + 1]), out, int(class_bits))
        else:
            data, n_pairs, out = args
            n_pairs = int(n_pairs)
            out[:n_pairs] = (data[:n_pairs].astype(np.uint64) << np.uint64(32)) | data[1:n_pairs + 1]


def _fake_cupy(shared: int):
    import types

    def wrap(x):
        return np.asarray(x).view(_FakeArray)

    cp = types.ModuleType("cupy")
    cp.uint64, cp.uint32, cp.uint8, cp.bool_ = np.uint64, np.uint32, np.uint8, np.bool_
    cp.empty = lambda n, dtype: wrap(np.empty(n, dtype))
    cp.zeros = lambda n, dtype: wrap(np.zeros(n, dtype))
    cp.array = lambda x, dtype=None: wrap(np.array(x, dtype=dtype))
    cp.concatenate = lambda xs: wrap(np.concatenate(xs))
    cp.flatnonzero = lambda x: wrap(np.flatnonzero(x))
    cp.not_equal = np.not_equal
    module = types.SimpleNamespace(get_function=_FakeKernel)
    cp.RawModule = lambda code, options: module
    device = types.SimpleNamespace(attributes={"MultiProcessorCount": 4, "MaxSharedMemoryPerBlockOptin": shared},
                                   use=lambda: None, synchronize=lambda: None)
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, getDeviceProperties=lambda i: {"name": b"Fake"})
    cp.cuda = types.SimpleNamespace(runtime=runtime, Device=lambda i: device, Stream=_FakeStream,
                                    alloc_pinned_memory=lambda n: bytearray(n))
    return cp


@pytest.mark.parametrize("shared, class_bits", [(227 << 10, 1), (96 << 10, 2), (48 << 10, 3)])
def test_cupy_device_calls_with_a_numpy_stand_in(monkeypatch, cpu, shared, class_bits):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(shared))
    monkeypatch.setattr(_pairs_cupy, "gpu_available", lambda: True)
    backend = pairs.resolve_backend("auto")
    assert backend.name == "Fake" and backend.device.class_bits == class_bits
    data = b"".join(p.read_bytes() for p in REAL_FILES[:2])
    docs = [data, b"", b"q", data[:777], b"\xff\xfe"]
    got = count_pairs(texts=docs, backend=backend, batch_bytes=50_000)
    assert np.array_equal(got.histogram(), byte_docs(docs))
    ids = (np.random.default_rng(2).zipf(1.3, 50_000) % 70_000).astype(np.uint32)
    offsets = [0, 5, 5, 20_000]
    want = count_pairs(token_ids=ids, offsets=offsets, backend=cpu)
    got = count_pairs(token_ids=ids, offsets=offsets, backend=backend, batch_tokens=9_000)
    assert np.array_equal(got.keys, want.keys) and np.array_equal(got.counts, want.counts)
