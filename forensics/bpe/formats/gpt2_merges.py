"""GPT-2 style ``merges.txt`` (``vocab.bpe``), with an optional ``vocab.json`` (``encoder.json``) beside it.

Merges are one ``a b`` pair per line in byte-level spelling, after an optional ``#version`` line. Token
ids come from the vocabulary file when one is found beside the merges (``vocab.json``, ``encoder.json``,
also gzip-compressed); otherwise the 256 bytes take ids 0-255 in GPT-2's order and merges follow.

>>> from forensics import load_tokenizer
>>> tok = load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
>>> tok.format, tok.vocab[b"hello"]
('merges-txt', 31373)
"""

from __future__ import annotations

from pathlib import Path

from forensics._results import bytes_sha256
from forensics.bpe.bytelevel import BYTE_TO_CHAR, CHAR_TO_BYTE
from forensics.bpe.formats._common import id_map, parse_json
from forensics.bpe.known import recognise
from forensics.bpe.model import Tokenizer
from forensics.bpe.pretokenize import GPT2_PATTERN, PreTokenizer, Split
from forensics.errors import input_error

VOCAB_NAMES = ("vocab.json", "encoder.json", "vocab.json.gz", "encoder.json.gz")


def sniff(name: str, data: bytes, parsed: object) -> bool:
    if parsed is not None:
        return False
    lines = data[:4096].split(b"\n")
    if lines and lines[0].startswith(b"#version"):
        return True
    body = [line for line in lines[:-1] if line.strip()]
    return bool(body) and all(len(line.split(b" ")) == 2 for line in body[:50])


def find_vocab(path: Path) -> Path | None:
    """The vocabulary file beside a merges file, if any.

    >>> find_vocab(Path("fixtures/tokenizers/gpt2/vocab.bpe.gz")).name
    'encoder.json.gz'
    """
    stem = path.name.split(".")[0]
    candidates = [path.with_name(f"{stem}.json"), path.with_name(f"{stem}.json.gz")]
    candidates += [path.with_name(name) for name in VOCAB_NAMES]
    return next((c for c in candidates if c.exists() and c != path), None)


def read(path: Path, data: bytes, parsed: object, *, format_name: str, pretokenizer=None) -> Tokenizer:
    from forensics.bpe.formats import read_file_bytes

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise input_error(path, "merges file is not valid UTF-8", "the file is corrupt") from None
    merges: list[tuple[bytes, bytes]] = []
    line_numbers: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or (number == 1 and line.startswith("#version")):
            continue
        parts = line.rstrip("\r").split(" ")
        if len(parts) != 2:
            raise input_error(path, f"line {number} is not a pair of tokens", "the file is corrupt or truncated")
        try:
            merges.append((bytes(CHAR_TO_BYTE[c] for c in parts[0]), bytes(CHAR_TO_BYTE[c] for c in parts[1])))
            line_numbers.append(number)
        except KeyError:
            raise input_error(path, f"line {number} is not in byte-level spelling",
                              "only byte-level merges.txt files are supported") from None
    vocab_path = find_vocab(path)
    specials: dict[str, int] = {}
    notes: list[str] = []
    if vocab_path is not None:
        parsed_vocab = parse_json(vocab_path, read_file_bytes(vocab_path))
        if parsed_vocab is None:
            raise input_error(vocab_path, "is not a JSON vocabulary", "remove it or pass a matching vocab.json")
        raw_vocab = id_map(vocab_path, parsed_vocab, "vocabulary")
        vocab: dict[bytes, int] = {}
        for token, token_id in raw_vocab.items():
            if all(c in CHAR_TO_BYTE for c in token) and not (token.startswith("<|") and token.endswith("|>")):
                vocab[bytes(CHAR_TO_BYTE[c] for c in token)] = token_id
            else:
                specials[token] = token_id
        notes.append(f"vocabulary read from {vocab_path.name}")
    else:
        vocab = {bytes([b]): i for i, b in enumerate(BYTE_TO_CHAR)}
        for a, b in merges:
            vocab.setdefault(a + b, len(vocab))
        notes.append("no vocab.json beside the merges: ids assigned in GPT-2's byte order, then merge order")
    bad = [number for (a, b), number in zip(merges, line_numbers)
           if a not in vocab or b not in vocab or a + b not in vocab]
    if bad:
        hint = f"the merges and {vocab_path.name} do not belong together" if vocab_path else "the file is corrupt"
        raise input_error(path, f"{len(bad)} merges use tokens missing from the vocabulary, the first on line "
                          f"{bad[0]}", hint)
    known = recognise(vocab)
    source = "file"
    if pretokenizer is not None:
        rules, source = pretokenizer, "option"
    elif known is not None:
        rules, source = PreTokenizer.preset(known.preset), "recognised"
        notes.append(f"recognised as {known.name} by content hash")
    else:
        rules = PreTokenizer(name="gpt2", steps=(("split", Split(GPT2_PATTERN)),), byte_level=True)
        notes.append("merges.txt carries no pre-tokenizer: GPT-2's split pattern assumed (override with --pretokenizer)")
    return Tokenizer(format="merges-txt", source=str(path), sha256=bytes_sha256(data), vocab=vocab, merges=merges,
                     pretokenizer=rules, special_tokens=specials, listed_merges=len(merges),
                     recognised_encoding=known.name if known else None, pretokenizer_source=source, notes=notes)
