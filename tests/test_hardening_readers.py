"""Shard readers under damage: truncated zstd/gzip, decompression bombs, symlink loops, binary files,
empty files, byte accounting in count-pairs, and random or mutated shards (issue 19)."""

from __future__ import annotations

import gzip
import io
import json
import os
import py_compile
import random
import shutil
import subprocess
import tracemalloc
from datetime import timedelta

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import ForensicsError
from forensics.compression import ZstdFrameCheck
from forensics.corpus.readers import ReadStats, expand_inputs, iter_documents
from forensics.counting.pairs import CpuBackend, count_pairs

RECORDS = [{"text": f"document number {i} " + "é" * (i % 5), "id": i} for i in range(300)]
JSONL = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
TEXT = "".join(r["text"] + "\n" for r in RECORDS).encode()


@pytest.fixture(scope="module")
def cpu():
    return CpuBackend(threads=1)


def frame_list(body: bytes, n: int, **options) -> list[bytes]:
    """``body`` as ``n`` zstd frames (`zstd` writes concatenated files so)."""
    cut = [len(body) * i // n for i in range(n + 1)]
    compressor = zstandard.ZstdCompressor(**options)
    return [compressor.compress(body[a:b]) for a, b in zip(cut, cut[1:])]


def frames(body: bytes, n: int, **options) -> bytes:
    return b"".join(frame_list(body, n, **options))


def read(paths, **options) -> tuple[list[str], ReadStats]:
    stats = ReadStats()
    docs = [d.text for d in iter_documents(paths, stats=stats, **options)]
    return docs, stats


# --- 1. truncated compressed shards ------------------------------------------------------------------

@pytest.mark.parametrize("n_frames", [1, 3])
@pytest.mark.parametrize("kind", ["jsonl", "txt"])
def test_truncated_zstd_is_a_problem_not_silence(tmp_path, cpu, kind, n_frames):
    body = JSONL if kind == "jsonl" else TEXT
    data = frames(body, n_frames)
    whole = tmp_path / f"whole.{kind}.zst"
    whole.write_bytes(data)
    docs, stats = read([whole])
    assert not stats.problems and len(docs) == (len(RECORDS) if kind == "jsonl" else 1)
    for cut in (len(data) - 1, len(data) - 7, len(data) * 2 // 3, 4):
        short = tmp_path / f"cut{cut}.{kind}.zst"
        short.write_bytes(data[:cut])
        docs, stats = read([short])
        assert stats.skipped_files == 1, cut
        assert any("truncated zstd data" in p for p in stats.problems), stats.problems
        assert len(docs) < len(RECORDS)
        _, blocks = read([short], whole_text_files=False)
        assert blocks.skipped_files == 1 and "truncated zstd data" in blocks.problems[-1]
        with pytest.raises(ForensicsError, match="truncated zstd data"):
            read([short], on_error="raise")
        got = count_pairs([short], backend=cpu)
        assert got.read_stats.skipped_files == 1
        assert any("truncated zstd data" in p for p in got.read_stats.problems)
        short.unlink()


def test_zstd_trailing_bytes_and_empty_files_are_problems(tmp_path):
    data = frames(JSONL, 2)
    cases = {"garbage": data + b"not zstd", "zeros": data + b"\0" * 8, "empty": b"", "magic": data[:4]}
    for name, content in cases.items():
        (tmp_path / f"{name}.jsonl.zst").write_bytes(content)
        _, stats = read([tmp_path / f"{name}.jsonl.zst"])
        assert stats.skipped_files == 1 and stats.problems, name
    # skippable frames and checksums are complete data
    skippable = (0x184D2A50).to_bytes(4, "little") + (3).to_bytes(4, "little") + b"abc"
    (tmp_path / "ok.jsonl.zst").write_bytes(skippable + frames(JSONL, 2, write_checksum=True) + skippable)
    docs, stats = read([tmp_path / "ok.jsonl.zst"])
    assert len(docs) == len(RECORDS) and not stats.problems


@pytest.mark.skipif(shutil.which("zstd") is None, reason="needs the zstd command")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 3), checksum=st.booleans(), size=st.booleans(), cut=st.integers(0, 10_000))
def test_frame_check_agrees_with_zstd_t(tmp_path, n, checksum, size, cut):
    data = frames(TEXT[:3000], n, write_checksum=checksum, write_content_size=size)
    data = data[:cut]
    target = tmp_path / "x.zst"
    target.write_bytes(data)
    check = ZstdFrameCheck()
    check.feed(data)
    tested = subprocess.run(["zstd", "-q", "-t", str(target)], capture_output=True)
    assert (check.problem() is None) == (tested.returncode == 0), (len(data), check.problem())


@pytest.mark.parametrize("kind", ["jsonl", "txt"])
def test_truncated_gzip_is_a_problem(tmp_path, cpu, kind):
    data = gzip.compress(JSONL if kind == "jsonl" else TEXT)
    short = tmp_path / f"cut.{kind}.gz"
    short.write_bytes(data[: len(data) - 5])
    _, stats = read([short])
    assert stats.skipped_files == 1 and "unreadable or truncated" in stats.problems[0]
    with pytest.raises(ForensicsError, match="unreadable or truncated"):
        read([short], on_error="raise")
    got = count_pairs([short], backend=cpu)
    assert got.read_stats.skipped_files == 1 and got.read_stats.problems


# --- 2. decompression bombs stream ------------------------------------------------------------------

BOMB_BYTES = 200 << 20


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bomb")
    zeros = bytes(1 << 20)
    for name in ("zeros.txt.zst", "zeros.jsonl.zst"):
        with open(folder / name, "wb") as raw, zstandard.ZstdCompressor().stream_writer(raw) as out:
            for _ in range(BOMB_BYTES >> 20):
                out.write(zeros)
    assert (folder / "zeros.txt.zst").stat().st_size < 100_000
    return folder


def peak_python_memory(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_zstd_bomb_is_read_in_bounded_memory(bombs, cpu):
    limit = 32 << 20  # well under the 200 MiB it decompresses to
    (docs, stats), peak = peak_python_memory(lambda: read([bombs / "zeros.txt.zst"]))
    assert peak < limit and stats.binary_files == 1 and not docs  # zeros are NUL bytes: binary

    def blocks():
        stats = ReadStats()
        size = sum(len(d.text) for d in iter_documents([bombs / "zeros.txt.zst"], stats=stats, include_binary=True,
                                                       whole_text_files=False, block_bytes=64 << 10))
        return size, stats

    (size, stats), peak = peak_python_memory(blocks)
    assert size == BOMB_BYTES and stats.documents == 1 and peak < limit

    (docs, stats), peak = peak_python_memory(lambda: read([bombs / "zeros.jsonl.zst"], max_line_bytes=8 << 20))
    assert not docs and stats.skipped_lines == 1 and "longer than" in stats.problems[0] and peak < limit

    got, peak = peak_python_memory(lambda: count_pairs([bombs / "zeros.txt.zst"], backend=cpu,
                                                       include_binary=True, batch_bytes=1 << 20))
    assert got.get(0, 0) == BOMB_BYTES - 1 and got.input_bytes == BOMB_BYTES and peak < limit


def test_text_without_newlines_is_cut_in_bounded_blocks(tmp_path):
    (tmp_path / "one.txt").write_bytes(b"x" * (3 << 20))
    docs, stats = read([tmp_path / "one.txt"], whole_text_files=False, block_bytes=1 << 10)
    assert max(map(len, docs)) <= 64 << 10 and sum(map(len, docs)) == 3 << 20 and stats.documents == 1


# --- 3. symlinks --------------------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_symlink_loops_end(tmp_path):
    loop = tmp_path / "c" / "loop"
    loop.mkdir(parents=True)
    (loop / "x.jsonl").write_bytes(JSONL)
    os.symlink(".", loop / "self")
    os.symlink(".", loop / "again")  # two self-links: 2**40 paths for a glob that follows them
    assert expand_inputs([str(loop) + "/**/*.jsonl"]) == [loop / "x.jsonl"]
    assert expand_inputs([tmp_path / "c"]) == [loop / "x.jsonl"]
    assert expand_inputs([tmp_path / "c"], follow_links=True) == [loop / "x.jsonl"]
    assert expand_inputs([tmp_path / "c"], glob_pattern="**/*.jsonl", follow_links=True) == [loop / "x.jsonl"]
    docs, stats = read([str(loop) + "/**/*.jsonl"])
    assert len(docs) == len(RECORDS) and stats.files == 1


def test_symlinks_out_of_a_directory_are_skipped_unless_asked(tmp_path):
    inside, outside = tmp_path / "corpus", tmp_path / "elsewhere"
    (inside / "sub").mkdir(parents=True)
    outside.mkdir()
    (inside / "a.txt").write_text("inside\n")
    (outside / "b.txt").write_text("outside\n")
    os.symlink(outside / "b.txt", inside / "b.txt")
    os.symlink(outside, inside / "sub" / "ext")
    os.symlink("a.txt", inside / "c.txt")  # leads inside: read
    stats = ReadStats()
    assert expand_inputs([inside], stats=stats) == [inside / "a.txt", inside / "c.txt"]
    assert stats.skipped_links == 2 and all("follow_links" in p for p in stats.problems)
    assert expand_inputs([str(inside) + "/*.txt"]) == [inside / "a.txt", inside / "c.txt"]
    assert expand_inputs([inside], follow_links=True) == [inside / "a.txt", inside / "b.txt", inside / "c.txt",
                                                          inside / "sub" / "ext" / "b.txt"]
    assert expand_inputs([inside / "b.txt"]) == [inside / "b.txt"]  # named explicitly: always read
    docs, stats = read([inside])
    assert docs == ["inside\n", "inside\n"] and stats.skipped_links == 2 and stats.files == 2
    assert (stats + stats).skipped_links == 4
    only_links = tmp_path / "links"
    only_links.mkdir()
    os.symlink(outside / "b.txt", only_links / "b.txt")
    with pytest.raises(ForensicsError, match="follow_links"):
        expand_inputs([only_links])
    got = count_pairs([inside], device="cpu")
    assert got.read_stats.skipped_links == 2 and got.documents == 2


# --- 4. binary files ----------------------------------------------------------------------------------

def test_binary_files_are_skipped_and_counted(tmp_path, cpu):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "mod.py").write_text("def f():\n    return 'é'\n" * 50, encoding="utf-8")
    py_compile.compile(str(folder / "mod.py"), cfile=str(folder / "mod.pyc"))
    rng = random.Random(0)
    (folder / "noise").write_bytes(bytes(rng.randrange(128, 256) for _ in range(4000)))  # no NUL
    (folder / "latin1.txt").write_bytes("café crème brûlée, naïve\n".encode("latin-1") * 100)
    docs, stats = read([folder])
    assert stats.files == 4 and stats.binary_files == 2 and stats.skipped_files == 2 and len(docs) == 2
    assert sum("looks binary" in p for p in stats.problems) == 2
    assert stats.invalid_utf8_sequences == 500  # Latin-1 text is read, its bad bytes counted
    assert (stats + ReadStats(binary_files=1)).binary_files == 3
    docs, stats = read([folder], include_binary=True)
    assert len(docs) == 4 and stats.binary_files == 0
    with pytest.raises(ForensicsError, match="looks binary"):
        read([folder / "mod.pyc"], on_error="raise")
    _, blocks = read([folder], whole_text_files=False)
    assert blocks.binary_files == 2
    (folder / "mod.jsonl").write_bytes(JSONL)  # records are not sniffed
    got = count_pairs([folder], backend=cpu)
    assert got.read_stats.binary_files == 2 and got.documents == 2 + len(RECORDS)
    assert count_pairs([folder], backend=cpu, include_binary=True).documents == 4 + len(RECORDS)
    gz = tmp_path / "x.txt.gz"
    gz.write_bytes(gzip.compress((folder / "mod.pyc").read_bytes()))
    assert read([gz])[1].binary_files == 1 and count_pairs([gz], backend=cpu).read_stats.binary_files == 1


# --- 5. empty files -----------------------------------------------------------------------------------

def test_an_empty_text_file_has_no_document(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "empty.txt.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "space.txt").write_bytes(b" \n\t\n")  # whitespace-only stays a document
    for whole in (True, False):
        docs, stats = read([tmp_path], whole_text_files=whole)
        assert docs == [" \n\t\n"] and stats.files == 3 and stats.documents == 1 and not stats.problems


# --- 6. count-pairs accounting and options -----------------------------------------------------------

def test_count_pairs_counts_input_bytes_once(tmp_path, cpu):
    (tmp_path / "a.jsonl").write_bytes(JSONL)
    (tmp_path / "b.txt").write_bytes(TEXT)
    text_bytes = sum(len(r["text"].encode()) for r in RECORDS)
    assert count_pairs([tmp_path / "a.jsonl"], backend=cpu).input_bytes == text_bytes
    assert count_pairs([tmp_path / "b.txt"], backend=cpu).input_bytes == len(TEXT)
    both = count_pairs([tmp_path], backend=cpu)
    assert both.input_bytes == both.read_stats.bytes == text_bytes + len(TEXT) < len(JSONL) + len(TEXT)


@pytest.mark.parametrize("batch", ["0", "-1"])
def test_cli_batch_mb_must_be_positive(tmp_path, capsys, batch):
    from cli.main import main

    (tmp_path / "t.txt").write_bytes(b"hello")
    assert main(["count-pairs", str(tmp_path / "t.txt"), "--batch-mb", batch, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--batch-mb" in err
    with pytest.raises(ForensicsError):
        count_pairs(texts="ab", device="cpu", batch_bytes=int(batch))


def test_cli_reports_skipped_files(tmp_path, capsys):
    from cli.main import main

    (tmp_path / "t.txt").write_bytes(b"hello")
    (tmp_path / "b.bin").write_bytes(b"\0\1\2")
    assert main(["count-pairs", str(tmp_path), "--json", "--device", "cpu", "--no-hash-inputs"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["read"]["binary_files"] == 1 and record["documents"] == 1
    assert main(["count-pairs", str(tmp_path), "--json", "--device", "cpu", "--no-hash-inputs",
                 "--include-binary"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 2


# --- 7. random and mutated shards ----------------------------------------------------------------------

def _parquet_bytes(texts: list[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table({"text": texts, "id": list(range(len(texts)))}), sink)
    return sink.getvalue()


SHAPES = ["jsonl", "txt", "jsonl.gz", "txt.gz", "jsonl.zst", "txt.zst", "parquet"]


def _shard(shape: str, texts: list[str]) -> tuple[bytes, set[int]]:
    """A shard's bytes and the lengths it can be cut to and still be complete compressed data."""
    if shape == "parquet":
        return _parquet_bytes(texts), set()
    if shape.startswith("jsonl"):
        body = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    else:
        body = "\n".join(texts).encode()
    if shape.endswith(".gz"):
        data = gzip.compress(body)
        return data, {len(data)}
    if shape.endswith(".zst"):
        parts = frame_list(body, 2)
        return b"".join(parts), {len(parts[0]), len(parts[0]) + len(parts[1])}
    return body, set()


mutation = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1,
                                        max_size=4)),
    st.tuples(st.just("cut"), st.integers(0, 10**6)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("random"), st.binary(max_size=300)),
    st.tuples(st.just("none"), st.none()),
)


def _mutate(data: bytes, how) -> bytes:
    kind, arg = how
    if kind == "flip" and data:
        out = bytearray(data)
        for pos, xor in arg:
            out[pos % len(out)] ^= xor
        return bytes(out)
    if kind == "cut":
        return data[: arg % (len(data) + 1)]
    if kind == "append":
        return data + arg
    if kind == "random":
        return arg
    return data


texts = st.lists(st.text(alphabet=st.sampled_from("ab \né\u4e2d"), max_size=30), min_size=1, max_size=6)


@settings(max_examples=300, deadline=timedelta(seconds=10),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(shape=st.sampled_from(SHAPES), docs=texts, how=mutation)
def test_damaged_shards_give_results_problems_or_forensics_errors(tmp_path, cpu, shape, docs, how):
    original, complete = _shard(shape, docs)
    data = _mutate(original, how)
    target = tmp_path / f"shard.{shape}"
    target.write_bytes(data)
    expected = docs if not shape.startswith("txt") else [t for t in ["\n".join(docs)] if t]
    try:
        got, stats = read([target], include_binary=True)
    except ForensicsError:
        assert data != original
        got, stats = None, None
    if data == original:
        assert got == expected and not stats.problems
    elif stats is not None and how[0] == "cut" and complete and len(data) not in complete:
        assert stats.problems  # a compressed shard cut short is never read silently
    for whole in (True, False):
        for on_error in ("raise", "skip"):
            try:
                read([target], on_error=on_error, whole_text_files=whole)
            except ForensicsError:
                pass
    try:
        counted = count_pairs([target], backend=cpu, batch_bytes=64, include_binary=True)
    except ForensicsError:
        assert data != original
        return
    if data == original:
        assert counted.total_pairs == sum(max(0, len(t.encode()) - 1) for t in expected)
        assert not counted.read_stats.problems
    assert np.all(counted.counts > 0)


def test_pathological_json_lines_are_skipped(tmp_path):
    (tmp_path / "x.jsonl").write_text("[" * 100_000 + "\n" + "1" * 5000 + "\n" + '{"text": "ok"}\n')
    docs, stats = read([tmp_path / "x.jsonl"])
    assert docs == ["ok"] and stats.skipped_lines == 2 and len(stats.problems) == 2
