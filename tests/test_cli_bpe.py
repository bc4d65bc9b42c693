"""`forensics inspect` and `forensics compare` from the command line, including bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, TOKENIZERS


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=ROOT)


def test_inspect_json_keys_and_provenance():
    done = run("inspect", str(TOKENIZERS / "tiktoken/o200k_base.tiktoken.gz"), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["format"] == "tiktoken" and data["vocab_size"] == 200000 and data["num_merges"] == 199742
    assert data["byte_level"] is True and data["pretokenizer"].startswith("o200k")
    assert data["recognised_encoding"] == "o200k_base"
    assert data["provenance"]["version"] and len(next(iter(data["provenance"]["inputs"].values()))) == 64
    assert abs(sum(data["script_shares"].values()) - 1) < 1e-4


def test_inspect_sentencepiece_table():
    done = run("inspect", str(TOKENIZERS / "sentencepiece/mistral-tokenizer.model.v1"))
    assert done.returncode == 0, done.stderr
    assert "sentencepiece" in done.stdout and "28,446" in done.stdout and "byte fallback" in done.stdout


def test_compare_json_detects_identical_merge_lists(tmp_path):
    out = tmp_path / "cmp.json"
    done = run("compare", str(TOKENIZERS / "gpt2/vocab.bpe.gz"), str(TOKENIZERS / "tiktoken/r50k_base.tiktoken.gz"),
               "--output", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["common_prefix"] == data["a_merges"] == data["b_merges"] == data["shared_merges"] == 50000


def test_compare_extension(tmp_path):
    import gzip

    lines = gzip.decompress((TOKENIZERS / "tiktoken/cl100k_base.tiktoken.gz").read_bytes()).splitlines()
    short = tmp_path / "first.tiktoken"
    short.write_bytes(b"\n".join(lines[:20000]) + b"\n")
    done = run("compare", str(short), str(TOKENIZERS / "tiktoken/cl100k_base.tiktoken.gz"), "--json")
    assert done.returncode == 2 and "--pretokenizer" in done.stderr  # unknown rank file: asks for rules
    from forensics import compare_tokenizers, load_tokenizer

    result = compare_tokenizers(load_tokenizer(short, pretokenizer="cl100k"),
                                load_tokenizer(TOKENIZERS / "tiktoken/cl100k_base.tiktoken.gz"))
    assert result.b_extends_a and result.common_prefix == 20000 - 256 and not result.a_extends_b


def test_bad_files_exit_2_with_one_line(tmp_path):
    corrupt = tmp_path / "tokenizer.json"
    corrupt.write_text('{"model": {"type": "BPE", "vocab": {"a": 0}, "merg')
    for target in (corrupt, tmp_path / "missing.model"):
        done = run("inspect", str(target))
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and str(target) in done.stderr and "Traceback" not in done.stderr
        assert done.stdout == ""


def test_import_forensics_is_light():
    code = ("import sys, forensics; heavy = [m for m in ('numba', 'pulp', 'cupy', 'ray', 'pyarrow', 'matplotlib', "
            "'tokenizers', 'scipy') if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_every_public_name_resolves():
    import forensics

    for name in forensics.__all__:
        assert getattr(forensics, name) is not None, name
    with pytest.raises(AttributeError):
        forensics.no_such_name  # noqa: B018
