"""Scans given bad input, edited inputs, their own output, a second writer or Ctrl-C (issue 19)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from forensics._results import DirectoryLock
from forensics.composition.mixture import estimate_mixture
from forensics.composition.profiles import Profiles, build_profiles
from forensics.composition.scan import scan_corpus
from forensics.composition.synthetic import write_synthetic_corpus
from forensics.corpus.categories import load_categories
from forensics.errors import ForensicsError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def profiles_file(tmp_path_factory):
    sets = [load_categories("languages", split="train", categories=["de", "en", "fr"]),
            load_categories("code", split="train", categories=["python"])]
    path = tmp_path_factory.mktemp("profiles") / "p.npz"
    build_profiles(sets, bits=16).save(path)
    return path


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    sets = [load_categories("languages", split="count", categories=["de", "en", "fr"]),
            load_categories("code", split="count", categories=["python"])]
    write_synthetic_corpus(root / "shards", sets, total_bytes=300_000, shards=12, seed=5)
    return root / "shards"


def _scan(inputs, profiles_file, output, **options):
    return scan_corpus(inputs, profiles=os.fspath(profiles_file), output=output, workers=1, **options)


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


# --- item 1: a scan that reads no document ----------------------------------------------------------

@pytest.mark.parametrize("case", ["wrong key", "empty shard", "parquet on jsonl", "text not a string"])
def test_a_scan_that_reads_no_document_is_one_clear_error(case, profiles_file, tmp_path, capsys):
    data = tmp_path / "in"
    data.mkdir()
    options = []
    if case == "wrong key":
        (data / "a.jsonl").write_text('{"body": "x"}\n')
    elif case == "empty shard":
        (data / "a.jsonl").write_text("")
    elif case == "parquet on jsonl":
        (data / "a.jsonl").write_text('{"text": "hello there"}\n')
        options = ["--format", "parquet"]
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"text": [1, 2, 3]}), data / "a.parquet")
    line = _error(capsys, ["scan", str(data), "--profiles", str(profiles_file), "-o", str(tmp_path / "out"),
                           "--workers", "1", "--no-progress", *options])
    assert "no documents were read" in line and "--text-key" in line


def test_the_mixture_estimate_of_nothing_is_zero_with_zero_covariance():
    weights, covariance = estimate_mixture(np.zeros(4), np.eye(2, 4), covariance=True)
    assert weights.tolist() == [0, 0] and covariance.shape == (2, 2) and not covariance.any()


# --- item 2: damaged profiles -------------------------------------------------------------------------

def test_a_damaged_profiles_copy_is_rewritten_and_a_damaged_profiles_file_refused(shards, profiles_file, tmp_path,
                                                                                   capsys):
    out = tmp_path / "out"
    first = _scan([shards], profiles_file, out)
    with open(out / "profiles.npz", "r+b") as handle:
        handle.truncate(1000)
    again = _scan([shards], profiles_file, out)
    assert again.partial.bytes.tolist() == first.partial.bytes.tolist()
    assert Profiles.load(out / "profiles.npz").fingerprint == first.profile_info["fingerprint"]
    cut = tmp_path / "cut.npz"
    cut.write_bytes(profiles_file.read_bytes()[:5000])
    line = _error(capsys, ["scan", str(shards), "--profiles", str(cut), "--no-progress"])
    assert "not a profiles file" in line


# --- item 3: options and output directories -----------------------------------------------------------

def test_unwritable_outputs_and_bad_numbers_are_clean_errors(shards, profiles_file, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    line = _error(capsys, ["scan", str(shards), "--profiles", str(profiles_file), "-o", str(blocker / "sub"),
                           "--no-progress"])
    assert "is a file, not a directory" in line
    line = _error(capsys, ["count", str(ROOT / "fixtures/tokenizers/gpt2/vocab.bpe.gz"), "--out",
                           str(blocker / "sub"), "--merges", "10"])
    assert "is a file, not a directory" in line
    assert "--max-bytes" in _error(capsys, ["scan", str(shards), "--profiles", str(profiles_file),
                                            "--max-bytes", "-5", "--no-progress"])
    assert "--unit-mb" in _error(capsys, ["scan", str(shards), "--profiles", str(profiles_file),
                                          "--unit-mb", "0", "--no-progress"])
    assert "--rank" in _error(capsys, ["scan", str(shards), "--profiles", str(profiles_file), "-o",
                                       str(tmp_path / "r"), "--rank", "2", "--world-size", "2", "--no-progress"])
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    (plan_dir / "scan-plan.json").write_text(json.dumps({"names": ["en"]}))
    assert "not a scan plan" in _error(capsys, ["merge", str(plan_dir)])


# --- item 6: resume by content ----------------------------------------------------------------------

def test_a_same_size_edit_with_the_time_restored_is_rescanned(shards, profiles_file, tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    for shard in sorted(shards.iterdir())[:3]:
        (data / shard.name).write_bytes(shard.read_bytes())
    target = next(p for p in sorted(data.iterdir()) if p.suffix == ".jsonl")
    out = tmp_path / "out"
    first = _scan([data], profiles_file, out)
    stat = target.stat()
    text = target.read_bytes()
    edited = text.replace(b"e", b"q", 200)  # same size, other bytes
    assert len(edited) == len(text) and edited != text
    target.write_bytes(edited)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = _scan([data], profiles_file, out)
    fresh = _scan([data], profiles_file, tmp_path / "fresh")
    assert again.partial.pair_hist.tolist() == fresh.partial.pair_hist.tolist() != first.partial.pair_hist.tolist()
    from forensics._results import file_sha256

    assert again.to_dict()["provenance"]["inputs"][os.fspath(target)] == file_sha256(target)


# --- item 7: the output inside the input -------------------------------------------------------------

def test_a_scan_never_reads_its_own_output(shards, profiles_file, tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    for shard in sorted(shards.iterdir())[:3]:
        (data / shard.name).write_bytes(shard.read_bytes())
    first = _scan([data], profiles_file, data / "scan")
    (data / "scan" / "composition.txt").write_text("a report the first scan might have left" * 100)
    again = _scan([data], profiles_file, data / "scan")
    assert again.plan["shards"] == first.plan["shards"] and all("/scan/" not in s for s in again.plan["shards"])
    assert again.partial.bytes.tolist() == first.partial.bytes.tolist()


# --- item 8: one writer per output directory ------------------------------------------------------------

def test_a_second_scan_into_a_busy_directory_is_refused(shards, profiles_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with DirectoryLock(out, name=".scan.lock", what="scan"):
        with pytest.raises(ForensicsError, match="another scan is writing here"):
            _scan([shards], profiles_file, out)
        with pytest.raises(ForensicsError, match="another scan is writing here"):
            _scan([shards], profiles_file, out, rank=0, world_size=2)
    # the ranks of one array job share the directory, but not one rank
    with DirectoryLock(out, name=".scan.lock", shared=True), DirectoryLock(out, name=".scan-rank-1.lock"):
        assert _scan([shards], profiles_file, out, rank=0, world_size=2) is None
        with pytest.raises(ForensicsError, match="another scan rank is writing here"):
            _scan([shards], profiles_file, out, rank=1, world_size=2)
        with pytest.raises(ForensicsError, match="another scan is writing here"):
            _scan([shards], profiles_file, out)
    assert _scan([shards], profiles_file, out) is not None  # released


def test_two_scan_processes_into_one_directory(shards, profiles_file, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cli.main", "scan", str(shards), "--profiles", str(profiles_file), "-o",
               str(out), "--workers", "1", "--unit-mb", "0.01", "--no-progress"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / ".scan.lock").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    if second.returncode == 0:  # the first had finished before the second started: nothing to check
        pytest.skip("the first scan finished before the second began")
    assert second.returncode == 2 and "another scan is writing here" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1


# --- item 11: Ctrl-C with worker processes ------------------------------------------------------------

@pytest.mark.timeout(180)
def test_ctrl_c_with_workers_stops_within_seconds_and_resumes(shards, profiles_file, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cli.main", "scan", str(shards), "--profiles", str(profiles_file), "-o",
               str(out), "--workers", "2", "--unit-mb", "0.005", "--no-progress"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.time() + 90
    while not list((out / "partials").glob("unit-*.json")) and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: every process of the group
    sent = time.time()
    _, err = process.communicate(timeout=30)
    assert time.time() - sent < 10
    if process.returncode == 0:
        pytest.skip("the scan finished before the interrupt")
    assert process.returncode == 130
    assert len(err.strip().splitlines()) == 1 and err.startswith("interrupted"), err
    resumed = _scan([shards], profiles_file, out, unit_mb=0.005)
    reference = _scan([shards], profiles_file, tmp_path / "ref", unit_mb=0.005)
    assert resumed.partial.pair_hist.tolist() == reference.partial.pair_hist.tolist()
    assert resumed.partial.bytes.tolist() == reference.partial.bytes.tolist()


# --- items 14 and 16: binary files and symlinks out of the inputs, as the scan reports them ------------

def test_a_scan_skips_binary_files_and_links_out_of_its_inputs_and_says_so(shards, profiles_file, tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    shard = sorted(shards.glob("*.jsonl"))[0]
    (data / shard.name).write_bytes(shard.read_bytes())
    (data / "__pycache__").mkdir()
    (data / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\xa7\r\r\n\x00\x00\x00\x00" + bytes(range(256)) * 40)
    secret = tmp_path / "outside.txt"
    secret.write_text("a file outside the scanned directory " * 50)
    (data / "link.txt").symlink_to(secret)
    result = _scan([data], profiles_file, tmp_path / "out")
    read = result.to_dict()["read"]
    assert read["binary_files"] == 1 and read["skipped_links"] == 1
    assert os.fspath(secret) not in json.dumps(result.to_dict()["provenance"])
    assert result.partial.documents.sum() == sum(1 for line in shard.read_text().splitlines() if line.strip())
    with_all = _scan([data], profiles_file, tmp_path / "all", include_binary=True, follow_links=True)
    assert with_all.to_dict()["read"]["binary_files"] == 0 and with_all.to_dict()["read"]["skipped_links"] == 0
    assert with_all.partial.documents.sum() == result.partial.documents.sum() + 2


# --- item 15: HTML pages ------------------------------------------------------------------------------

def test_html_pages_are_classified_by_their_visible_text_and_counted_as_they_are(profiles_file, tmp_path):
    import gzip
    import html as html_module

    text = gzip.open(ROOT / "fixtures/categories/languages/de/count.jsonl.gz", "rt").read()
    paragraphs = [json.loads(line)["text"] for line in text.splitlines()[:6]]
    style = "<style>.nav a { color: #333; } function(x) { return x; }</style><script>var a = [1, 2];</script>"
    body = "".join(f"<div class=\"para\"><p>{html_module.escape(p)}</p></div>\n" for p in paragraphs)
    page = f"<!DOCTYPE html><html><head><title>t</title>{style}</head><body><nav><a href=\"/\">x</a></nav>{body}</body></html>"
    data = tmp_path / "in"
    data.mkdir()
    (data / "page.html").write_text(page)
    (data / "pages.jsonl").write_text(json.dumps({"text": page}) + "\n" + json.dumps({"text": paragraphs[0]}) + "\n")
    stripped = _scan([data], profiles_file, tmp_path / "strip")
    summary = stripped.to_dict()
    assert summary["markup"] == {"documents": 2, "bytes": 2 * len(page.encode()), "handling": "strip"}
    assert stripped.partial.documents[stripped.names.index("de")] == 3
    assert stripped.partial.bytes.sum() == 2 * len(page.encode()) + len(paragraphs[0].encode())
    kept = _scan([data], profiles_file, tmp_path / "keep", markup="keep")
    assert kept.to_dict()["markup"]["documents"] == 0
    assert kept.partial.pair_hist.tolist() == stripped.partial.pair_hist.tolist()  # pairs count the raw bytes
    with pytest.raises(ForensicsError, match="--markup"):
        _scan([data], profiles_file, tmp_path / "x", markup="drop")
