"""Python API cases found while making the docstring examples run (issue 18)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import ROOT, TOKENIZERS

from forensics import count_categories, load_tokenizer
from forensics.composition.profiles import load_profiles
from forensics.corpus.categories import load_categories


def test_a_directory_holding_a_compressed_tokenizer_loads():
    assert load_tokenizer(TOKENIZERS / "gpt2").num_merges == 50000


def test_profiles_of_a_loaded_category_set_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path))
    loaded = load_categories("languages", split="train", categories=["de", "en"])
    first = load_profiles(loaded, group_refinement=False)
    assert first.names == ["de", "en"] and len(list((tmp_path / "profiles").glob("*.npz"))) == 1
    assert load_profiles(loaded, group_refinement=False).fingerprint == first.fingerprint


def test_a_category_mapping_may_name_directories(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path))
    folder = ROOT / "fixtures/categories/languages/de"
    by_folder = count_categories(TOKENIZERS / "gpt2/vocab.bpe.gz", {"de": [folder]}, merges=50, workers=1)
    by_files = count_categories(TOKENIZERS / "gpt2/vocab.bpe.gz", {"de": sorted(folder.glob("*.jsonl.gz"))},
                                merges=50, workers=1)
    assert by_folder.rows[0].bytes == by_files.rows[0].bytes > 0


def test_a_plain_script_without_a_main_guard_can_infer_with_workers(tmp_path):
    script = tmp_path / "audit.py"
    script.write_text(textwrap.dedent(f"""
        from forensics import infer_mixture
        estimate = infer_mixture({str(TOKENIZERS / "gpt2/vocab.bpe.gz")!r}, "domains", merges=100, workers=2,
                                 cache=False)
        print(round(sum(estimate.shares.values()), 6))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1.0"
