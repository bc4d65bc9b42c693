"""Tokenizer file formats: a registry of readers, chosen by content rather than by file name.

Each reader module exposes ``sniff(head: bytes, data_json: object | None) -> bool`` and
``read(path, data: bytes, *, pretokenizer) -> Tokenizer``. :func:`load_tokenizer` decompresses
(gzip/zstd by magic bytes), asks every reader whether the content is theirs, and reads it.

>>> tok = load_tokenizer("fixtures/tokenizers/tiktoken/r50k_base.tiktoken.gz")  # doctest: +SKIP
>>> tok.format, tok.num_merges  # doctest: +SKIP
('tiktoken', 50000)
"""

from __future__ import annotations

import gzip
import importlib
import json
import os
import zlib
from pathlib import Path

from forensics.bpe.model import Tokenizer
from forensics.bpe.pretokenize import PreTokenizer
from forensics.errors import ForensicsError, input_error

# format name -> module; the order is the order in which content is sniffed
FORMATS: dict[str, str] = {
    "hf-json": "forensics.bpe.formats.hf_json",
    "tiktoken-json": "forensics.bpe.formats.tiktoken_ranks",
    "tekken": "forensics.bpe.formats.tekken",
    "tiktoken": "forensics.bpe.formats.tiktoken_ranks",
    "sentencepiece": "forensics.bpe.formats.sentencepiece",
    "merges-txt": "forensics.bpe.formats.gpt2_merges",
}


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """A file's bytes, decompressed when it is gzip or zstd; corrupt archives raise a clear error.

    >>> read_file_bytes("fixtures/tokenizers/gpt2/vocab.bpe.gz")[:8]  # doctest: +SKIP
    b'#version'
    """
    path = Path(path)
    if path.is_dir():
        for name in ("tokenizer.json", "tekken.json", "tokenizer.model", "merges.txt", "vocab.bpe"):
            if (path / name).exists():
                return read_file_bytes(path / name)
        raise input_error(path, "is a directory with no tokenizer file in it",
                          "pass the tokenizer file itself (tokenizer.json, *.tiktoken, merges.txt, *.model)")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise input_error(path, "no such file", "check the path") from None
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise input_error(path, f"truncated or corrupt gzip data ({exc})", "download the file again") from None
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        import zstandard

        try:
            return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        except zstandard.ZstdError as exc:
            raise input_error(path, f"truncated or corrupt zstd data ({exc})", "download the file again") from None
    return raw


def _parse_json(path: Path, data: bytes) -> object | None:
    stripped = data.lstrip()
    if not stripped[:1] in (b"{", b"["):
        return None
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise input_error(path, "JSON file is not valid UTF-8", "the file is corrupt; download it again") from None
    except json.JSONDecodeError as exc:
        raise input_error(path, f"corrupt or truncated JSON ({exc.msg} at line {exc.lineno})",
                          "download the file again") from None


def load_tokenizer(path: str | os.PathLike, *, format: str | None = None,
                   pretokenizer: str | PreTokenizer | None = None) -> Tokenizer:
    """Read any supported BPE tokenizer file into a :class:`Tokenizer`.

    ``format`` forces a reader (see :data:`FORMATS`); ``pretokenizer`` (a preset name, a regex or a
    :class:`PreTokenizer`) replaces the file's own rules, and is needed for rank files of unknown
    encodings.

    >>> load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz").num_merges  # doctest: +SKIP
    50000
    """
    path = Path(path)
    if isinstance(pretokenizer, str):
        pretokenizer = PreTokenizer.from_option(pretokenizer)
    data = read_file_bytes(path)
    if path.is_dir():
        path = next(p for p in (path / n for n in ("tokenizer.json", "tekken.json", "tokenizer.model",
                                                    "merges.txt", "vocab.bpe")) if p.exists())
    if not data.strip():
        raise input_error(path, "is empty", "pass a tokenizer file")
    parsed = _parse_json(path, data)
    if format is not None:
        if format not in FORMATS:
            raise ForensicsError(f"unknown tokenizer format '{format}'; known formats: {', '.join(FORMATS)}")
        candidates = [format]
    else:
        candidates = list(FORMATS)
    for name in candidates:
        module = importlib.import_module(FORMATS[name])
        if format is not None or module.sniff(name, data, parsed):
            return module.read(path, data, parsed, format_name=name, pretokenizer=pretokenizer)
    if isinstance(parsed, dict) and parsed and all(isinstance(v, int) for v in list(parsed.values())[:100]):
        raise input_error(path, "is a vocabulary (vocab.json) without merges",
                          "pass the merges.txt file; a vocab.json beside it is read automatically")
    raise input_error(path, "not a recognised BPE tokenizer file",
                      f"supported formats: {', '.join(FORMATS)}; pass --format to force one")
