"""Shared test fixtures: paths to committed fixtures, the optional ../shared folder and the large cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics._cache import cache_dir

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
TOKENIZERS = FIXTURES / "tokenizers"
SHARED = ROOT.parent / "shared"
LARGE_CACHE = cache_dir("tokenizers")


@pytest.fixture(scope="session")
def udhr_text() -> str:
    return (FIXTURES / "text" / "udhr-sample.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def udhr_paragraphs(udhr_text) -> list[str]:
    return [p for p in udhr_text.split("\n") if p.strip()]


def large_tokenizer(name: str) -> Path:
    """A large real tokenizer fetched by `fixtures/rebuild_tokenizers.py --large`, or skip."""
    path = LARGE_CACHE / name
    if not path.exists():
        pytest.skip(f"{name} not fetched (run: python fixtures/rebuild_tokenizers.py --large-only)")
    return path


NINE_LANGS = ["de", "en", "fr", "ja", "ru", "es"]
NINE_CODE = ["c", "python", "go"]


@pytest.fixture(scope="session")
def nine_profiles():
    """Profiles of nine bundled categories (train split: NINE_LANGS and NINE_CODE), built once per session
    for the scan and composition tests."""
    from forensics.composition.profiles import build_profiles
    from forensics.corpus.categories import load_categories

    sets = [load_categories("languages", split="train", categories=NINE_LANGS),
            load_categories("code", split="train", categories=NINE_CODE)]
    return build_profiles(sets, bits=16)


@pytest.fixture(scope="session")
def gpt2_hf_json(tmp_path_factory) -> Path:
    """GPT-2 as an HF tokenizer.json, written by HF tokenizers itself from the real vocab.bpe/encoder.json."""
    import gzip

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    folder = tmp_path_factory.mktemp("gpt2")
    vocab = folder / "vocab.json"
    merges = folder / "merges.txt"
    vocab.write_bytes(gzip.decompress((TOKENIZERS / "gpt2/encoder.json.gz").read_bytes()))
    merges.write_bytes(gzip.decompress((TOKENIZERS / "gpt2/vocab.bpe.gz").read_bytes()))
    tok = Tokenizer(models.BPE.from_file(str(vocab), str(merges)))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    out = folder / "tokenizer.json"
    tok.save(str(out))
    return out
