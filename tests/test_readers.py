"""Shard readers: sorted inputs, compression, JSONL/text documents, counted UTF-8 damage, safe block cuts."""

from __future__ import annotations

import gzip
import io
import json

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics import ForensicsError
from forensics.corpus.readers import (ReadStats, Utf8Decoder, decode_bytes, expand_inputs, iter_documents,
                                      iter_text_blocks, safe_cut, split_suffix)


def test_expand_inputs_is_sorted_and_understands_dirs_and_globs(tmp_path):
    for name in ("b.txt", "a.jsonl", "sub/c.txt.gz", ".hidden"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = expand_inputs([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.jsonl", "b.txt", "sub/c.txt.gz"]
    assert expand_inputs([str(tmp_path / "*.txt")]) == [tmp_path / "b.txt"]
    with pytest.raises(ForensicsError, match="no such file"):
        expand_inputs([tmp_path / "missing.txt"])
    with pytest.raises(ForensicsError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.parquet")])


def test_suffixes():
    assert split_suffix("x.jsonl.zst") == (".jsonl", "zstd")
    assert split_suffix("x.txt") == (".txt", "none")


def test_documents_from_every_format(tmp_path):
    records = [{"text": "first", "id": 1}, {"text": "second"}]
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(body))
    (tmp_path / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(body))
    (tmp_path / "c.txt").write_bytes("plain text\nfile".encode())
    stats = ReadStats()
    docs = list(iter_documents([tmp_path], stats=stats))
    assert [d.text for d in docs] == ["first", "second", "first", "second", "plain text\nfile"]
    assert docs[0].id == "1" and docs[1].id is None and docs[0].line == 1
    assert stats.documents == 5 and stats.files == 3 and not stats.problems


def test_corrupt_lines_and_truncated_shards_are_reported_and_skipped(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "ok"}\n{broken\n{"other": 1}\n{"text": "fine"}\n')
    whole = gzip.compress(b'{"text": "lost"}\n' * 2000)
    (tmp_path / "b.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    stats = ReadStats()
    docs = [d.text for d in iter_documents([tmp_path], stats=stats)]
    assert docs[:2] == ["ok", "fine"]
    assert stats.skipped_lines == 2 and stats.skipped_files == 1
    assert any("a.jsonl:2: corrupt JSON" in p for p in stats.problems)
    assert any("b.jsonl.gz: unreadable or truncated" in p for p in stats.problems)
    with pytest.raises(ForensicsError, match="corrupt JSON"):
        list(iter_documents([tmp_path / "a.jsonl"], on_error="raise"))


def test_invalid_utf8_is_replaced_and_counted():
    assert decode_bytes(b"a\xffb\xc3") == ("a\ufffdb\ufffd", 2)
    decoder = Utf8Decoder()
    # a valid 3-byte character split across two reads is not damage
    assert decoder.decode(b"x\xe2\x82") + decoder.decode(b"\xac", final=True) == "x\u20ac"
    assert decoder.invalid == 0


@settings(max_examples=80, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("ab \n\t\u00e9\u4e2d"), max_size=400), block=st.integers(1, 64))
def test_blocks_concatenate_to_the_text_and_cut_only_at_safe_points(text, block):
    blocks = list(iter_text_blocks(io.BytesIO(text.encode()), block_bytes=block))
    assert "".join(blocks) == text
    for left in blocks[:-1]:
        assert left.endswith("\n")


def test_safe_cut():
    assert safe_cut("ab\ncd\n  ef") == 3
    assert safe_cut("no newline") == 0
    assert safe_cut("a\n\n  ") == 0
    assert safe_cut("a\n\nb") == 0       # GPT-2's rules split "\n\nb" into "\n", "\n", "b"; a block end joins them


@settings(max_examples=150, deadline=None)
@given(text=st.lists(st.sampled_from(["a", "B", "\n", " ", "\n\n", "x.", "\r\n", "1", "'s", "\t"]), max_size=120)
       .map("".join), block=st.integers(8, 32), preset=st.sampled_from(["gpt2", "cl100k", "o200k", "llama3"]))
def test_blocks_pretokenize_as_the_whole_text(text, block, preset):
    """Words of the blocks = words of the whole text (no forced cut: 64 blocks exceed the text)."""
    from forensics.bpe.pretokenize import PreTokenizer

    rules = PreTokenizer.preset(preset)
    blocks = list(iter_text_blocks(io.BytesIO(text.encode()), block_bytes=block))
    assert [word for b in blocks for word in rules.split(b)] == rules.split(text)
