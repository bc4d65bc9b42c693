"""Exactness proof: our merges + pre-tokenizer reproduce the original tokenizer's ids.

Rank files are checked against the `tiktoken` package (an Encoding built from the local ranks, no
download), tokenizer.json files against HF `tokenizers`, SentencePiece models against `sentencepiece`.
Text: UDHR paragraphs in 15 languages and scripts, code-like text, and hypothesis-generated strings.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TOKENIZERS, large_tokenizer
from forensics import load_tokenizer

EXTRA = [
    "x = 12345 + 3.14159;\n\n    def f():\n\treturn  None  \n",
    "   leading spaces", "trailing spaces   ", "it's we'll I'M they'RE", "a  b   c    d\n\n\n",
    "emoji 🙂👍🏽 and ZWJ 👩‍👩‍👧", "mixed Latin Кириллица 漢字 かな العربية हिन्दी", "\u00a0nbsp\u2009thin", "",
    "tabs\tand\r\nwindows\rline ends", "1234567890 0.5 1e-9 ١٢٣", "Ünïcödé combining: e\u0301 a\u0308",
]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tiktoken_twin(tok):
    tiktoken = pytest.importorskip("tiktoken")
    (kind, split), = tok.pretokenizer.steps
    ranks = {token: rank for token, rank in tok.vocab.items()}
    if tok.format == "tekken":  # ids are shifted past the specials; tiktoken wants plain ranks
        shift = min(ranks.values())
        ranks = {t: r - shift for t, r in ranks.items()}
        return tiktoken.Encoding("t", pat_str=split.pattern, mergeable_ranks=ranks, special_tokens={}), shift
    return tiktoken.Encoding("t", pat_str=split.pattern, mergeable_ranks=ranks, special_tokens={}), 0


RANK_FILES = ["tiktoken/r50k_base.tiktoken.gz", "tiktoken/cl100k_base.tiktoken.gz",
              "tiktoken/o200k_base.tiktoken.gz", "claude/claude.json.gz", "tekken/tekken_240911.first6000.json.gz"]


@pytest.fixture(scope="module", params=RANK_FILES)
def rank_pair(request):
    tok = load_tokenizer(TOKENIZERS / request.param)
    encoding, shift = tiktoken_twin(tok)
    return tok, encoding, shift


def test_rank_files_match_tiktoken_on_real_text(rank_pair, udhr_paragraphs):
    tok, encoding, shift = rank_pair
    for text in udhr_paragraphs + EXTRA:
        assert [i - shift for i in tok.encode(text)] == encoding.encode_ordinary(text), text[:60]


@HYPOTHESIS
@given(text=TEXT)
def test_cl100k_matches_tiktoken_on_generated_text(text):
    tok, encoding = _cached("cl100k")
    assert tok.encode(text) == encoding.encode_ordinary(text)


@HYPOTHESIS
@given(text=TEXT)
def test_o200k_matches_tiktoken_on_generated_text(text):
    tok, encoding = _cached("o200k")
    assert tok.encode(text) == encoding.encode_ordinary(text)


_CACHE: dict = {}


def _cached(name):
    if name not in _CACHE:
        tok = load_tokenizer(TOKENIZERS / f"tiktoken/{name}_base.tiktoken.gz")
        _CACHE[name] = (tok, tiktoken_twin(tok)[0])
    return _CACHE[name]


# --- HF tokenizer.json ---------------------------------------------------------------------------

def _hf_ids(hf, text):
    return hf.encode(text, add_special_tokens=False).ids


def test_gpt2_tokenizer_json_matches_hf(gpt2_hf_json, udhr_paragraphs):
    from tokenizers import Tokenizer as HF

    tok, hf = load_tokenizer(gpt2_hf_json), HF.from_file(str(gpt2_hf_json))
    for text in udhr_paragraphs + EXTRA:
        assert tok.encode(text) == _hf_ids(hf, text)


def _train(udhr_text, tmp_path, kind):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if kind == "byte-level":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    elif kind == "split-digits-nfc":
        tok = Tokenizer(models.BPE())
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.Split(Regex(r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""),
                                 behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:  # character-level with byte fallback, SentencePiece style
        tok = Tokenizer(models.BPE(byte_fallback=True, unk_token=None))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        alphabet = []
    tok.decoder = decoders.ByteLevel() if alphabet else decoders.Metaspace()
    specials = ["<|endoftext|>"] + ([f"<0x{b:02X}>" for b in range(256)] if not alphabet else [])
    trainer = trainers.BpeTrainer(vocab_size=1500 if alphabet else 1200, initial_alphabet=alphabet,
                                  special_tokens=specials, show_progress=False, limit_alphabet=300)
    tok.train_from_iterator(udhr_text.split("\n"), trainer=trainer)
    path = tmp_path / f"{kind}.json"
    tok.save(str(path))
    return path


@pytest.mark.parametrize("kind", ["byte-level", "split-digits-nfc", "char-level-byte-fallback"])
def test_trained_tokenizer_json_matches_hf(kind, udhr_text, udhr_paragraphs, tmp_path):
    from tokenizers import Tokenizer as HF

    path = _train(udhr_text, tmp_path, kind)
    tok, hf = load_tokenizer(path), HF.from_file(str(path))
    assert tok.byte_level == (kind != "char-level-byte-fallback")
    assert tok.num_merges > 300
    for text in udhr_paragraphs + EXTRA:
        assert tok.encode(text) == _hf_ids(hf, text), (kind, text[:60])


@pytest.mark.parametrize("name", ["gpt4o", "llama3", "qwen3", "mistral7b"])
def test_large_tokenizer_json_matches_hf(name, udhr_paragraphs):
    from tokenizers import Tokenizer as HF

    path = large_tokenizer(f"{name}.tokenizer.json")
    tok, hf = load_tokenizer(path), HF.from_file(str(path))
    for text in udhr_paragraphs + EXTRA:
        assert tok.encode(text) == _hf_ids(hf, text), (name, text[:60])


# --- SentencePiece -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mistral-tokenizer.model.v1", "botchan_en_bpe_1000.model"])
def test_sentencepiece_matches_library(name, udhr_paragraphs):
    spm = pytest.importorskip("sentencepiece")
    path = TOKENIZERS / "sentencepiece" / name
    tok, sp = load_tokenizer(path), spm.SentencePieceProcessor(model_file=str(path))
    for text in udhr_paragraphs + EXTRA:
        assert tok.encode(text) == sp.encode(text), text[:60]


@HYPOTHESIS
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=60))
def test_mistral_sentencepiece_on_generated_text(text):
    spm = pytest.importorskip("sentencepiece")
    if "sp" not in _CACHE:
        path = TOKENIZERS / "sentencepiece" / "mistral-tokenizer.model.v1"
        _CACHE["sp"] = (load_tokenizer(path), spm.SentencePieceProcessor(model_file=str(path)))
    tok, sp = _CACHE["sp"]
    assert tok.encode(text) == sp.encode(text)
