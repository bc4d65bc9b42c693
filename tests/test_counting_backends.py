"""Counting through the backends (issue 17 item 3): the same traces whatever the backend, the number of
workers or the split into ranks; a rerun counts only the categories still missing."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from forensics.backends import get_backend
from forensics.bpe.formats import load_tokenizer
from forensics.bpe.pretokenize import PreTokenizer
from forensics.counting.categories import count_categories
from forensics.counting.words import count_words, count_words_by_chunk
from forensics.errors import ForensicsError

ROOT = Path(__file__).resolve().parents[1]
GPT2 = ROOT / "fixtures/tokenizers/gpt2/vocab.bpe.gz"
LANGUAGES = ROOT / "fixtures/categories/languages"
NAMES = ("de", "en", "es", "fr", "ru")
ARRAYS = ("merges", "merged_count", "initial_keys", "initial_counts", "delta_step", "delta_key", "delta_value")


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(GPT2)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", os.fspath(tmp_path / "cache"))


def _samples() -> dict[str, list[str]]:
    return {name: [os.fspath(LANGUAGES / name / "count.jsonl.gz")] for name in NAMES}


def _same(a, b) -> None:
    assert list(a.traces) == list(b.traces)
    for name in a.traces:
        for key in ARRAYS:
            assert np.array_equal(getattr(a.traces[name], key), getattr(b.traces[name], key)), (name, key)
    plain = [("name", "bytes", "documents", "words", "unique_words", "pairs", "merges_seen", "merges_missing")]
    for row_a, row_b in zip(a.rows, b.rows):
        assert [getattr(row_a, f) for f in plain[0]] == [getattr(row_b, f) for f in plain[0]]


def test_workers_and_ranks_give_identical_traces(tok, tmp_path):
    one = count_categories(tok, _samples(), merges=400, workers=1, cache=False)
    two = count_categories(tok, _samples(), merges=400, workers=2, cache=False)
    _same(one, two)
    out = tmp_path / "ranks"
    shares = [count_categories(tok, _samples(), merges=400, workers=1, cache=False, out=out, rank=r, world_size=2)
              for r in (0, 1)]
    assert [list(s.traces) for s in shares] == [["de", "es", "ru"], ["en", "fr"]]
    assert sorted(p.name for p in out.glob("*.npz")) == [f"{n}.npz" for n in NAMES]
    assembled = count_categories(tok, _samples(), merges=400, workers=2, cache=False, out=out)
    assert all(row.cached for row in assembled.rows)  # found done, nothing counted again
    _same(one, assembled)


def test_rerun_counts_only_missing_categories(tok, tmp_path):
    samples = _samples()
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    samples["zz"] = [os.fspath(empty)]  # counted last (one worker: in order); fails the run like a crash would
    out = tmp_path / "out"
    with pytest.raises(ForensicsError, match="category 'zz' has no text"):
        count_categories(tok, samples, merges=300, workers=1, cache=False, out=out)
    assert sorted(p.stem for p in out.glob("*.npz")) == list(NAMES)  # what finished is kept
    empty.write_text("finally some text for zz\n")
    rerun = count_categories(tok, samples, merges=300, workers=2, cache=False, out=out)
    assert [row.name for row in rerun.rows if not row.cached] == ["zz"]
    (out / "en.npz").unlink()  # a trace lost: only it is counted again
    again = count_categories(tok, samples, merges=300, workers=2, cache=False, out=out)
    assert [row.name for row in again.rows if not row.cached] == ["en"]
    _same(rerun, again)
    other = count_categories(tok, samples, merges=200, workers=2, cache=False, out=out)  # other merges: stale
    assert not any(row.cached for row in other.rows) and other.merges == 200
    fresh = count_categories(tok, samples, merges=200, workers=1, cache=False, out=out, resume=False)
    assert not any(row.cached for row in fresh.rows)
    _same(other, fresh)


def test_cache_serves_a_rerun_and_ranks_need_somewhere_to_write(tok, tmp_path):
    first = count_categories(tok, _samples(), merges=300, workers=2)
    assert not any(row.cached for row in first.rows)
    second = count_categories(tok, _samples(), merges=300, workers=2, out=tmp_path / "out")
    assert all(row.cached for row in second.rows) and len(list((tmp_path / "out").glob("*.npz"))) == len(NAMES)
    _same(first, second)
    with pytest.raises(ForensicsError, match="needs an output directory"):
        count_categories(tok, _samples(), merges=300, cache=False, rank=0, world_size=2)
    with pytest.raises(ForensicsError, match="--rank must be in"):
        count_categories(tok, _samples(), merges=300, rank=2, world_size=2)
    with pytest.raises(ForensicsError, match="unknown backend"):
        count_categories(tok, _samples(), merges=300, cache=False, backend="slurm")
    with pytest.raises(ForensicsError, match="cannot name files"):
        count_categories(tok, {"a/b": _samples()["de"]}, merges=300, out=tmp_path / "bad")


def _small_set(tmp_path: Path) -> Path:
    """A category set directory of three languages (copies of the fixtures)."""
    import shutil

    root = tmp_path / "set"
    for name in ("de", "en", "fr"):
        shutil.copytree(LANGUAGES / name, root / name)
    return root


def test_cli_count_array_job_then_assembly(tmp_path, capsys):
    out = tmp_path / "traces"
    base = ["count", os.fspath(GPT2), "--categories", os.fspath(_small_set(tmp_path)), "--merges", "200",
            "--out", os.fspath(out), "--split", "count", "--no-cache", "--json"]
    for rank in (0, 1):
        assert main(base + ["--rank", str(rank), "--world-size", "2"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed["rank"] == rank and all(not row["cached"] for row in printed["categories"])
    assert not (out / "summary.json").exists()
    assert main(base) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [row["name"] for row in summary["categories"]] == ["de", "en", "fr"]
    assert all(row["cached"] for row in summary["categories"])
    assert len(list(out.glob("*.npz"))) == len(summary["categories"])
    capsys.readouterr()
    assert main(base + ["--rank", "2", "--world-size", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--rank" in err[0]


def test_cli_infer_ranks_fill_the_cache_for_the_final_run(tmp_path, capsys, monkeypatch):
    base = ["infer", os.fspath(GPT2), "--categories", os.fspath(_small_set(tmp_path)), "--split", "count",
            "--merges", "300", "--json"]
    assert main(base + ["--workers", "1"]) == 0
    direct = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("FORENSICS_CACHE", os.fspath(tmp_path / "array-cache"))  # the ranks' shared cache
    for rank in (0, 1):
        assert main(base + ["--rank", str(rank), "--world-size", "2"]) == 0
        rows = json.loads(capsys.readouterr().out)["categories"]
        assert all(not row["cached"] for row in rows)
    assert main(base + ["--workers", "2", "--backend", "local"]) == 0
    final = json.loads(capsys.readouterr().out)
    assert final["shares"] == direct["shares"] and final["pair_shares"] == direct["pair_shares"]
    assert main(base + ["--rank", "0"]) == 2
    assert "--rank and --world-size go together" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_backend_equals_local(tok, tmp_path):
    ray = pytest.importorskip("ray")
    local = count_categories(tok, _samples(), merges=300, workers=2, cache=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = count_categories(tok, _samples(), merges=300, backend="ray", cache=False, out=tmp_path / "ray")
        also = count_categories(tok, _samples(), merges=300, cache=False, backend="ray", workers=2)
    finally:
        ray.shutdown()
    assert remote.parameters["backend"] == "ray" and also.parameters["backend"] == "ray"
    _same(local, remote)
    _same(local, also)


def test_local_backend_reads_items_lazily():
    pulled = []

    def items():
        for i in range(40):
            pulled.append(i)
            yield -i

    backend = get_backend("local", workers=2, start_method="fork")
    ahead = []
    results = []
    for value in backend.map_unordered(abs, items()):
        results.append(value)
        ahead.append(len(pulled) - len(results))
    assert sorted(results) == list(range(40))
    # two items per worker in flight plus finished ones not yet handed over; never the whole input
    assert max(ahead) <= 8


def test_reference_word_counting_on_the_backend_and_streamed_chunks(tmp_path):
    rules = PreTokenizer.preset("gpt2")
    paths = [LANGUAGES / "de/count.jsonl.gz", LANGUAGES / "ru/count.jsonl.gz"]
    one = count_words(paths, pretokenizer=rules, fast=False, workers=1)
    two = count_words(paths, pretokenizer=rules, fast=False, workers=2)
    fast = count_words(paths, pretokenizer=rules, workers=2)
    assert one.words == two.words == fast.words
    assert one.counts.tolist() == two.counts.tolist() == fast.counts.tolist()
    chunked = count_words_by_chunk(paths, pretokenizer=rules, chunks=7)
    assert chunked.chunk_counts.shape[0] == 7 and chunked.documents == one.documents
    totals = dict(zip(chunked.words, np.asarray(chunked.chunk_counts.sum(axis=0)).ravel().tolist()))
    assert totals == dict(zip(one.words, one.counts.tolist()))
    assert int(chunked.bytes_per_chunk.sum()) == sum(
        len(json.loads(line)["text"].encode()) for p in paths for line in gzip.open(p, "rt", encoding="utf-8"))
