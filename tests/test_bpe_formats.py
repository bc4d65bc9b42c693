"""Every tokenizer format loads from a real file, merge lists are exact, and bad files fail clearly."""

from __future__ import annotations

import gzip
import json

import pytest

from conftest import TOKENIZERS, large_tokenizer
from forensics import ForensicsError, load_tokenizer
from forensics.bpe.bytelevel import BYTE_TO_CHAR, decode_token, encode_token
from forensics.bpe.ranks import merges_from_ranks

REAL_FILES = {
    # path: (format, merges, byte_level)
    "gpt2/vocab.bpe.gz": ("merges-txt", 50000, True),
    "tiktoken/r50k_base.tiktoken.gz": ("tiktoken", 50000, True),
    "tiktoken/cl100k_base.tiktoken.gz": ("tiktoken", 100000, True),
    "tiktoken/o200k_base.tiktoken.gz": ("tiktoken", 199742, True),
    "claude/claude.json.gz": ("tiktoken-json", 64739, True),
    "tekken/tekken_240911.first6000.json.gz": ("tekken", 5744, True),
    "sentencepiece/mistral-tokenizer.model.v1": ("sentencepiece", 28446, False),
    "sentencepiece/botchan_en_bpe_1000.model": ("sentencepiece", 928, False),
}


@pytest.mark.parametrize("relative", sorted(REAL_FILES))
def test_real_file_loads(relative):
    fmt, merges, byte_level = REAL_FILES[relative]
    tok = load_tokenizer(TOKENIZERS / relative)
    assert (tok.format, tok.num_merges, tok.byte_level) == (fmt, merges, byte_level)
    assert not tok.unreachable_tokens
    # every merge joins two known tokens into a known token
    for a, b in tok.merges[:2000]:
        assert a in tok.vocab and b in tok.vocab and a + b in tok.vocab


def test_format_is_chosen_by_content_not_name(tmp_path):
    renamed = tmp_path / "mystery.bin"
    renamed.write_bytes(gzip.decompress((TOKENIZERS / "tiktoken/r50k_base.tiktoken.gz").read_bytes()))
    assert load_tokenizer(renamed).format == "tiktoken"
    model = tmp_path / "something.json"
    model.write_bytes((TOKENIZERS / "sentencepiece/botchan_en_bpe_1000.model").read_bytes())
    assert load_tokenizer(model).format == "sentencepiece"


def test_rank_recovery_rebuilds_gpt2_vocab_bpe_exactly():
    from_ranks = load_tokenizer(TOKENIZERS / "tiktoken/r50k_base.tiktoken.gz")
    listed = load_tokenizer(TOKENIZERS / "gpt2/vocab.bpe.gz")
    assert from_ranks.merges == listed.merges
    assert from_ranks.recognised_encoding == listed.recognised_encoding == "r50k_base"
    assert from_ranks.pretokenizer_source == "recognised"


def test_merges_from_ranks_small():
    recovered = merges_from_ranks([b"a", b"b", b"c", b"ab", b"bc", b"abc"], byte_level=True)
    # BPE on "abc" with ranks below abc merges "ab" first, leaving ("ab", "c")
    assert recovered.merges == [(b"a", b"b"), (b"b", b"c"), (b"ab", b"c")]
    unreachable = merges_from_ranks([b"a", b"b", b"c", b"abc"], byte_level=True)
    assert unreachable.unreachable == [b"abc"]


def test_byte_level_table_round_trips():
    assert len(set(BYTE_TO_CHAR.values())) == 256
    for b in range(256):
        assert decode_token(encode_token(bytes([b]))) == bytes([b])
    assert encode_token(b" the") == "Ġthe"


def test_hf_json_both_merge_spellings(tmp_path, gpt2_hf_json):
    pairs = json.loads(gpt2_hf_json.read_text())
    assert isinstance(pairs["model"]["merges"][0], list)
    strings = dict(pairs)
    strings["model"] = dict(pairs["model"], merges=[" ".join(m) for m in pairs["model"]["merges"]])
    path = tmp_path / "strings.json"
    path.write_text(json.dumps(strings))
    a, b = load_tokenizer(gpt2_hf_json), load_tokenizer(path)
    listed = load_tokenizer(TOKENIZERS / "gpt2/vocab.bpe.gz")
    assert a.merges == b.merges == listed.merges
    assert a.format == "hf-json" and a.byte_level


def test_hf_json_with_every_split_listed_keeps_the_merge_bpe_uses(tmp_path, gpt2_hf_json):
    """Llama 3-style files list every split of each token; we must keep the split BPE really merges."""
    data = json.loads(gpt2_hf_json.read_text())
    vocab = data["model"]["vocab"]
    merges = data["model"]["merges"]
    by_token: dict[str, list[list[str]]] = {}
    for a, b in merges:
        splits = [[(a + b)[:i], (a + b)[i:]] for i in range(1, len(a + b))]
        by_token[a + b] = [s for s in splits if s[0] in vocab and s[1] in vocab]
    data["model"]["merges"] = [s for a, b in merges for s in by_token[a + b]]
    assert len(data["model"]["merges"]) > len(merges)
    path = tmp_path / "every-split.json"
    path.write_text(json.dumps(data))
    tok = load_tokenizer(path)
    assert tok.merges == load_tokenizer(gpt2_hf_json).merges
    assert tok.redundant_merges_removed == len(data["model"]["merges"]) - len(merges)


def test_llama3_extends_cl100k():
    llama3 = load_tokenizer(large_tokenizer("llama3.tokenizer.json"))
    cl100k = load_tokenizer(TOKENIZERS / "tiktoken/cl100k_base.tiktoken.gz")
    assert llama3.listed_merges == 280147
    assert llama3.merges[:100000] == cl100k.merges
    assert llama3.redundant_merges_removed > 150000


def test_sentencepiece_conversion_equals_model_file():
    converted = load_tokenizer(large_tokenizer("mistral7b.tokenizer.json"))
    model = load_tokenizer(TOKENIZERS / "sentencepiece/mistral-tokenizer.model.v1")
    assert converted.merges == model.merges
    assert converted.redundant_merges_removed == converted.listed_merges - len(model.merges)


def test_full_tekken():
    tok = load_tokenizer(large_tokenizer("tekken_240911.json"))
    assert tok.num_merges == 129816 and tok.format == "tekken"


# --- bad input ---------------------------------------------------------------------------------

def _message(path, **kwargs) -> str:
    with pytest.raises(ForensicsError) as info:
        load_tokenizer(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_truncated_gzip(tmp_path):
    data = (TOKENIZERS / "tiktoken/r50k_base.tiktoken.gz").read_bytes()
    path = tmp_path / "r50k.tiktoken.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt gzip" in _message(path) and str(path) in _message(path)


def test_truncated_json(tmp_path, gpt2_hf_json):
    path = tmp_path / "tokenizer.json"
    path.write_bytes(gpt2_hf_json.read_bytes()[:5000])
    assert "corrupt or truncated JSON" in _message(path)


def test_unknown_and_empty_files(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 10)
    assert "not a recognised BPE tokenizer file" in _message(garbage)
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert "is empty" in _message(empty)
    assert "no such file" in _message(tmp_path / "missing.json")
    assert "unknown tokenizer format" in _message(TOKENIZERS / "gpt2/vocab.bpe.gz", format="nope")


def test_vocab_json_alone_says_what_to_pass(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_bytes(gzip.decompress((TOKENIZERS / "gpt2/encoder.json.gz").read_bytes()))
    assert "pass the merges.txt" in _message(path)


def test_truncated_tiktoken_lacks_bytes(tmp_path):
    lines = gzip.decompress((TOKENIZERS / "tiktoken/r50k_base.tiktoken.gz").read_bytes()).splitlines()
    path = tmp_path / "cut.tiktoken"
    path.write_bytes(b"\n".join(lines[100:300]) + b"\n")
    assert "lacks" in _message(path)


def test_unknown_rank_file_needs_pretokenizer(tmp_path):
    lines = gzip.decompress((TOKENIZERS / "tiktoken/r50k_base.tiktoken.gz").read_bytes()).splitlines()
    path = tmp_path / "custom.tiktoken"
    path.write_bytes(b"\n".join(lines[:5000]) + b"\n")
    assert "--pretokenizer" in _message(path)
    tok = load_tokenizer(path, pretokenizer="gpt2")
    assert tok.num_merges == 5000 - 256 and tok.pretokenizer_source == "option"
    assert load_tokenizer(path, pretokenizer=r"\S+|\s+").pretokenizer.name == "custom-regex"


def test_truncated_sentencepiece(tmp_path):
    data = (TOKENIZERS / "sentencepiece/botchan_en_bpe_1000.model").read_bytes()
    path = tmp_path / "cut.model"
    path.write_bytes(data[: len(data) // 3])
    message = _message(path)
    assert str(path) in message
