"""Tokenizer readers refuse corrupt, truncated, oversized and non-regular files with one clean ForensicsError
(issue 19): structure of tokenizer.json, truncated archives, files the reference libraries refuse,
unbounded reads, and a property test over mutated real fixtures."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import tracemalloc
from functools import cache
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, TOKENIZERS
from forensics import ForensicsError, load_tokenizer
from forensics.bpe import formats
from forensics.bpe.formats.tiktoken_ranks import parse_compressed_ranks

SENTENCEPIECE_MODELS = ("botchan_en_bpe_1000.model", "mistral-tokenizer.model.v1")


def refused(path, **options) -> str:
    """The one-line message of the ForensicsError that loading ``path`` raises."""
    with pytest.raises(ForensicsError) as info:
        load_tokenizer(path, **options)
    message = str(info.value)
    assert "\n" not in message
    return message


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI with at most 4 GiB of address space, so that an unbounded read fails instead of filling memory."""
    import resource

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, preexec_fn=limit_memory)


@cache
def gpt2_merges() -> bytes:
    return gzip.decompress((TOKENIZERS / "gpt2/vocab.bpe.gz").read_bytes())


def zstd_frames(data: bytes, *, frames: int) -> bytes:
    """``data`` compressed as several zstd frames, one per chunk (as `zstd` writes concatenated files)."""
    size = len(data) // frames + 1
    compressor = zstandard.ZstdCompressor()
    return b"".join(compressor.compress(data[i:i + size]) for i in range(0, len(data), size))


# --- 1. tokenizer.json structure ------------------------------------------------------------------

def small_hf_json(tmp_path: Path, **model) -> Path:
    """A small byte-level tokenizer.json, with ``model`` fields replaced."""
    data = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"], **model}}
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data))
    return path


def test_small_hf_json_loads(tmp_path):
    tok = load_tokenizer(small_hf_json(tmp_path))
    assert tok.merges == [(b"a", b"b")] and tok.vocab == {b"a": 0, b"b": 1, b"ab": 2}


@pytest.mark.parametrize("vocab, problem", [
    ([["a", 0], ["b", 1], ["ab", 2]], "model.vocab is a list"),
    ({"a": "0", "b": 1, "ab": 2}, "id of 'a' is '0'"),
    ({"a": -5, "b": 1, "ab": 2}, "id of 'a' is -5"),
    ({"a": 0.5, "b": 1, "ab": 2}, "id of 'a' is 0.5"),
    ({"a": True, "b": 1, "ab": 2}, "id of 'a' is True"),
    ({"a": 2**40, "b": 1, "ab": 2}, "id of 'a' is 1099511627776"),
])
def test_hf_vocab_must_map_tokens_to_unsigned_ids(tmp_path, vocab, problem):
    message = refused(small_hf_json(tmp_path, vocab=vocab))
    assert problem in message and "tokenizer.json" in message


def test_hf_invalid_split_regex_is_refused_when_read(tmp_path):
    path = small_hf_json(tmp_path)
    data = json.loads(path.read_text())
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "(\\p{L}+"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}
    path.write_text(json.dumps(data))
    assert "Split pattern is not a valid regular expression" in refused(path)


@pytest.mark.parametrize("text", ["[" * 100_000, '{"model": ' * 100_000])
def test_deeply_nested_json_is_refused(tmp_path, text):
    path = tmp_path / "tokenizer.json"
    path.write_text(text)
    assert "JSON nested too deeply" in refused(path)


def test_json_number_too_long_to_convert_is_refused(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text('{"model": {"type": "BPE", "vocab": {"a": ' + "9" * 5000 + '}, "merges": []}}')
    assert "JSON value out of range" in refused(path)


# --- 3. corrupt tokenizers the reference libraries refuse -----------------------------------------

@pytest.mark.parametrize("merges, named", [
    (["a b", "a c"], "merge 1 ('a', 'c') uses token 'c'"),
    ([["a", "b"], ["b", "b"]], "merge 1 ('b', 'b') uses token 'bb'"),
])
def test_hf_merge_with_a_token_outside_the_vocabulary_is_named(tmp_path, merges, named):
    assert named in refused(small_hf_json(tmp_path, merges=merges))


def test_real_hf_json_with_a_foreign_merge_is_refused(tmp_path, gpt2_hf_json):
    data = json.loads(gpt2_hf_json.read_text())
    data["model"]["merges"].insert(10, "Ġthe zzzzqq")
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data))
    assert "merge 10 ('Ġthe', 'zzzzqq') uses token 'zzzzqq'" in refused(path)


def test_merges_txt_with_a_foreign_vocabulary_names_the_line(tmp_path):
    vocab = json.loads(gzip.decompress((TOKENIZERS / "gpt2/encoder.json.gz").read_bytes()))
    del vocab["Ġthe"]
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_bytes(gpt2_merges())
    message = refused(tmp_path / "merges.txt")
    first_use = next(number for number, line in enumerate(gpt2_merges().decode().split("\n"), start=1)
                     if "Ġthe" in line.split(" ") or line.replace(" ", "") == "Ġthe")
    assert f"the first on line {first_use}" in message and "vocab.json" in message


@pytest.mark.parametrize("vocab, problem", [([1, 2], "vocabulary is a list"), ({"a": -1}, "id of 'a' is -1")])
def test_merges_txt_with_a_malformed_vocabulary_is_refused(tmp_path, vocab, problem):
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_bytes(gpt2_merges()[:2000])
    assert problem in refused(tmp_path / "merges.txt")


def tiktoken_lines() -> list[bytes]:
    return gzip.decompress((TOKENIZERS / "tiktoken/r50k_base.tiktoken.gz").read_bytes()).splitlines()


def test_tiktoken_rank_given_twice_is_named(tmp_path):
    lines = tiktoken_lines()
    lines[1000] = lines[1000].split()[0] + b" 999"
    path = tmp_path / "dup.tiktoken"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert "rank 999 is given twice (line 1000 and 1001)" in refused(path, pretokenizer="gpt2")


def test_tiktoken_token_given_twice_is_named(tmp_path):
    lines = tiktoken_lines()
    lines.append(lines[300].split()[0] + b" 50257")
    path = tmp_path / "dup.tiktoken"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert f"is given twice (line {len(lines)}, ranks 300 and 50257)" in refused(path, pretokenizer="gpt2")


@pytest.mark.parametrize("rank", [b"99999999999", b"9" * 5000])
def test_tiktoken_rank_out_of_range_is_refused(tmp_path, rank):
    lines = tiktoken_lines()[:300]
    lines[299] = lines[299].split()[0] + b" " + rank
    path = tmp_path / "big.tiktoken"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert "line 300" in refused(path, pretokenizer="gpt2")


def test_compressed_ranks_overlapping_are_refused(tmp_path):
    data = json.loads(gzip.decompress((TOKENIZERS / "claude/claude.json.gz").read_bytes()))
    data["bpe_ranks"] += "\n! 100 " + base64.b64encode(b"zzqqxx").decode()
    path = tmp_path / "claude.json"
    path.write_text(json.dumps(data))
    assert "rank 100 is given twice" in refused(path)


def test_tekken_rank_given_twice_and_negative_special_count_are_refused(tmp_path):
    data = json.loads(gzip.decompress((TOKENIZERS / "tekken/tekken_240911.first6000.json.gz").read_bytes()))
    data["vocab"] = data["vocab"][:1000]
    data["vocab"][700]["rank"] = 600
    path = tmp_path / "tekken.json"
    path.write_text(json.dumps(data))
    assert "rank 600 is given twice (vocab entry 601 and 701)" in refused(path)
    data["vocab"][700]["rank"] = 700
    data["config"]["default_num_special_tokens"] = -5
    path.write_text(json.dumps(data))
    assert "default_num_special_tokens is -5" in refused(path)


def sentencepiece_refusal(data: bytes) -> str | None:
    import sentencepiece

    try:
        sentencepiece.SentencePieceProcessor(model_proto=data)
    except (RuntimeError, OSError) as exc:
        return str(exc)
    return None


def flips(data: bytes, count: int, seed: int):
    """``count`` copies of ``data`` with one bit flipped, at deterministic positions."""
    rng = random.Random(seed)
    for _ in range(count):
        position, bit = rng.randrange(len(data)), rng.randrange(8)
        flipped = bytearray(data)
        flipped[position] ^= 1 << bit
        yield position, bytes(flipped)


@pytest.mark.parametrize("name, count", [(SENTENCEPIECE_MODELS[0], 300), (SENTENCEPIECE_MODELS[1], 120)])
def test_flipped_sentencepiece_is_refused_whenever_sentencepiece_refuses_it(tmp_path, name, count):
    data = (TOKENIZERS / "sentencepiece" / name).read_bytes()
    path = tmp_path / "flipped.model"
    refusals = 0
    for position, flipped in flips(data, count, seed=19):
        reason = sentencepiece_refusal(flipped)
        if reason is None and name != SENTENCEPIECE_MODELS[0]:
            continue  # loading the larger model takes a while; the property test covers the rest
        path.write_bytes(flipped)
        if reason is None:
            try:
                load_tokenizer(path)
            except ForensicsError:
                pass  # stricter than SentencePiece: pieces that are not UTF-8
            continue
        refusals += 1
        try:
            load_tokenizer(path)
        except ForensicsError:
            continue
        pytest.fail(f"byte {position} flipped: SentencePiece refuses ({reason}), we load it")
    assert refusals > count // 10  # the flips do reach the checks


def test_sentencepiece_precompiled_charsmap_is_validated(tmp_path):
    from forensics.bpe.formats.sentencepiece import charsmap_problem, parse_model

    model = parse_model((TOKENIZERS / "sentencepiece/botchan_en_bpe_1000.model").read_bytes())
    assert charsmap_problem(model.charsmap) is None
    root_out_of_bounds = model.charsmap[:4] + (0x80000000 | (0x00200000 << 10)).to_bytes(4, "little") \
        + model.charsmap[8:]
    assert charsmap_problem(root_out_of_bounds) == "has a corrupt trie root"
    assert charsmap_problem(model.charsmap[:-1] + b"x") == "does not end its strings with a null byte"


# --- 2. truncated archives ------------------------------------------------------------------------

def test_multi_frame_zstd_loads_every_frame(tmp_path):
    path = tmp_path / "vocab.bpe.zst"
    path.write_bytes(zstd_frames(gpt2_merges(), frames=8))
    assert load_tokenizer(path).num_merges == 50000


@pytest.mark.parametrize("keep", [0.5, 0.9, -1, -3])
def test_truncated_multi_frame_zstd_is_refused(tmp_path, keep):
    data = zstd_frames(gpt2_merges(), frames=8)
    path = tmp_path / "vocab.bpe.zst"
    path.write_bytes(data[: int(len(data) * keep) if keep > 0 else keep])
    assert "truncated or corrupt zstd data" in refused(path)


def test_zstd_with_trailing_garbage_is_refused(tmp_path):
    path = tmp_path / "vocab.bpe.zst"
    path.write_bytes(zstd_frames(gpt2_merges(), frames=3) + b"\x00\x00junk")
    assert "truncated or corrupt zstd data" in refused(path)


@pytest.mark.parametrize("keep", [0.25, 0.5, -1, -4, -8])
def test_truncated_gzip_is_refused(tmp_path, keep):
    data = (TOKENIZERS / "gpt2/vocab.bpe.gz").read_bytes()
    path = tmp_path / "vocab.bpe.gz"
    path.write_bytes(data[: int(len(data) * keep) if keep > 0 else keep])
    assert "truncated or corrupt gzip data" in refused(path)


def test_truncated_multi_member_gzip_is_refused(tmp_path):
    merges = gpt2_merges()
    first, second = gzip.compress(merges[:200_000]), gzip.compress(merges[200_000:])
    path = tmp_path / "vocab.bpe.gz"
    path.write_bytes(first + second)
    assert load_tokenizer(path).num_merges == 50000
    path.write_bytes(first + second[: len(second) // 2])
    assert "truncated or corrupt gzip data" in refused(path)


# --- 4. unbounded reads ---------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "tokenizer.json"
    os.mkfifo(fifo)
    assert "is not a regular file" in refused(fifo)
    assert "is not a regular file" in refused(tmp_path)  # found inside a directory too
    done = cli("inspect", str(fifo))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "is not a regular file" in done.stderr


@pytest.mark.timeout(60)
def test_character_device_is_refused():
    done = cli("inspect", "/dev/zero")  # in a child: before the fix this read grew until memory ran out
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "is not a regular file" in done.stderr


def test_file_over_the_cap_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "MAX_TOKENIZER_BYTES", 1 << 20)
    path = tmp_path / "vocab.bpe"
    path.write_bytes(gpt2_merges() * 3)
    assert "is larger than 1 MiB;" in refused(path)


@pytest.mark.parametrize("compress", ["gzip", "zstd"])
def test_decompression_bomb_stops_at_the_cap(tmp_path, monkeypatch, compress):
    monkeypatch.setattr(formats, "MAX_TOKENIZER_BYTES", 4 << 20)
    zeros = bytes(1 << 20)
    if compress == "zstd":
        compressor = zstandard.ZstdCompressor().compressobj()
        bomb = b"".join(compressor.compress(zeros) for _ in range(256)) + compressor.flush()
    else:
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb") as stream:
            for _ in range(256):
                stream.write(zeros)
        bomb = buffer.getvalue()
    path = tmp_path / "bomb"
    path.write_bytes(bomb)
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "once decompressed" in message
    assert peak < 64 << 20  # 256 MiB of zeros are never held


# --- 5. property test over mutated real fixtures --------------------------------------------------

@cache
def seeds() -> dict[str, tuple[str, bytes, dict[str, bytes]]]:
    """Small valid files cut from each real fixture: kind -> (file name, content, files beside it)."""
    from forensics.bpe.bytelevel import BYTE_TO_CHAR

    merges = gpt2_merges().split(b"\n")[:301]
    small_vocab = {BYTE_TO_CHAR[byte]: i for i, byte in enumerate(BYTE_TO_CHAR)}
    for line in merges[1:]:
        small_vocab.setdefault(line.decode().replace(" ", ""), len(small_vocab))
    claude = json.loads(gzip.decompress((TOKENIZERS / "claude/claude.json.gz").read_bytes()))
    ranks = parse_compressed_ranks(Path("claude.json"), claude["bpe_ranks"])
    first = sorted(ranks, key=ranks.__getitem__)[:400]
    claude["bpe_ranks"] = f"! {ranks[first[0]]} " + " ".join(base64.b64encode(t).decode() for t in first)
    tekken = json.loads(gzip.decompress((TOKENIZERS / "tekken/tekken_240911.first6000.json.gz").read_bytes()))
    tekken["vocab"] = tekken["vocab"][:400]
    return {
        "merges-txt": ("vocab.bpe", b"\n".join(merges) + b"\n", {}),
        "merges-txt+vocab": ("merges.txt", b"\n".join(merges) + b"\n",
                             {"vocab.json": json.dumps(small_vocab).encode()}),
        "tiktoken": ("r50k.tiktoken", b"\n".join(tiktoken_lines()[:400]) + b"\n", {}),
        "tiktoken-json": ("claude.json", json.dumps(claude).encode(), {}),
        "tekken": ("tekken.json", json.dumps(tekken).encode(), {}),
        "hf-json": ("tokenizer.json", hf_json_seed(merges, small_vocab), {}),
        "sentencepiece": ("tokenizer.model", (TOKENIZERS / "sentencepiece" / SENTENCEPIECE_MODELS[0]).read_bytes(),
                          {}),
    }


def hf_json_seed(merges: list[bytes], vocab: dict[str, int]) -> bytes:
    """A small GPT-2 tokenizer.json written by HF tokenizers itself."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    pairs = [tuple(line.decode().split(" ")) for line in merges[1:] if line]
    tok = Tokenizer(models.BPE(vocab, pairs))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok.to_str().encode()


def wrap(data: bytes, wrapper: str) -> bytes:
    if wrapper == "gzip":
        return gzip.compress(data, compresslevel=1)
    if wrapper == "zstd":
        return zstd_frames(data, frames=2)
    return data


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """``data`` after one to three byte flips, truncations, insertions or deletions."""
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        if action == "flip":
            flipped = data[position] ^ (1 << draw(st.integers(0, 7)))
            data = data[:position] + bytes([flipped]) + data[position + 1:]
        elif action == "truncate":
            data = data[:position]
        elif action == "insert":
            data = data[:position] + draw(st.binary(min_size=1, max_size=8)) + data[position:]
        else:
            data = data[:position] + data[position + draw(st.integers(1, 64)):]
    return data


def assert_loads_consistently_or_refuses(name: str, data: bytes, beside: dict[str, bytes], **options) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        for other, content in beside.items():
            (Path(folder) / other).write_bytes(content)
        try:
            tok = load_tokenizer(path, **options)
        except ForensicsError as exc:
            assert "\n" not in str(exc)
            return
    for token_id in [*tok.vocab.values(), *tok.special_tokens.values(), *tok.byte_fallback.values()]:
        assert type(token_id) is int and 0 <= token_id < 2**32
    for a, b in tok.merges:
        assert a in tok.vocab and b in tok.vocab and a + b in tok.vocab
    assert tok.merge_table().shape == (tok.num_merges, 3)
    tok.pretokenizer.split("Hello world, 12345 times!")  # its split patterns compile


PROPERTY = settings(max_examples=100, deadline=5000, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["merges-txt", "merges-txt+vocab", "tiktoken", "tiktoken-json", "tekken", "hf-json",
                                  "sentencepiece"])
@PROPERTY
@given(data=st.data(), wrapper=st.sampled_from(["none", "gzip", "zstd"]), in_archive=st.booleans(),
       pretokenizer=st.sampled_from([None, "gpt2"]))
def test_mutated_fixture_loads_consistently_or_is_refused(kind, data, wrapper, in_archive, pretokenizer):
    name, content, beside = seeds()[kind]
    if in_archive and wrapper != "none":
        content = data.draw(mutated(wrap(content, wrapper)))
    else:
        content = wrap(data.draw(mutated(content)), wrapper)
    options = {"pretokenizer": pretokenizer} if kind != "sentencepiece" else {}
    assert_loads_consistently_or_refuses(name, content, beside, **options)


@pytest.mark.timeout(120)
@PROPERTY
@given(prefix=st.sampled_from([b"", b"{", b"[", b"\x0a", b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"#version: 0.2\n"]),
       body=st.binary(max_size=2048))
def test_random_bytes_load_consistently_or_are_refused(prefix, body):
    assert_loads_consistently_or_refuses("tokenizer", prefix + body, {})


def test_seeds_are_valid_tokenizers():
    for kind, (name, content, beside) in seeds().items():
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / name).write_bytes(content)
            for other, data in beside.items():
                (Path(folder) / other).write_bytes(data)
            tok = load_tokenizer(Path(folder) / name, pretokenizer="gpt2" if kind == "tiktoken" else None)
            assert tok.num_merges > 100, kind
