"""Tokenizer file formats: a registry of readers, chosen by content rather than by file name.

Each reader module exposes ``sniff(head: bytes, data_json: object | None) -> bool`` and
``read(path, data: bytes, *, pretokenizer) -> Tokenizer``. :func:`load_tokenizer` decompresses
(gzip/zstd by magic bytes), asks every reader whether the content is theirs, and reads it.

What it refuses: anything but a regular file (pipes and devices would block or never end), files over
:data:`MAX_TOKENIZER_BYTES` before or after decompression, and archives that end inside a gzip member
or zstd frame.

>>> tok = load_tokenizer("fixtures/tokenizers/tiktoken/r50k_base.tiktoken.gz")
>>> tok.format, tok.num_merges
('tiktoken', 50000)
"""

from __future__ import annotations

import importlib
import os
import stat
from pathlib import Path

from forensics.bpe.formats._common import parse_json
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
# file names looked for, in this order, when a directory is passed
TOKENIZER_NAMES = ("tokenizer.json", "tekken.json", "tokenizer.model", "merges.txt", "vocab.bpe")
# real tokenizer files are tens of MB; this bounds what is read and what is decompressed
MAX_TOKENIZER_BYTES = 512 << 20


def tokenizer_file(path: str | os.PathLike) -> Path:
    """The tokenizer file itself: ``path``, or the first known tokenizer file inside a directory.

    >>> Path("/tmp/forensics-tok-dir").mkdir(exist_ok=True); Path("/tmp/forensics-tok-dir/tokenizer.json").touch()
    >>> tokenizer_file("/tmp/forensics-tok-dir").name
    'tokenizer.json'
    """
    path = Path(path)
    if not path.is_dir():
        return path
    for name in TOKENIZER_NAMES:
        for suffix in ("", ".gz", ".zst"):  # read compressed too, as a file path is
            if (path / f"{name}{suffix}").exists():
                return path / f"{name}{suffix}"
    raise input_error(path, "is a directory with no tokenizer file in it",
                      "pass the tokenizer file itself (tokenizer.json, *.tiktoken, merges.txt, *.model)")


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """A file's bytes, decompressed when it is gzip or zstd; corrupt, truncated or oversized files raise a
    clear error.

    >>> read_file_bytes("fixtures/tokenizers/gpt2/vocab.bpe.gz")[:8]
    b'#version'
    """
    path = tokenizer_file(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise input_error(path, "no such file", "check the path") from None
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        # a pipe would block and a device such as /dev/zero never ends
        raise input_error(path, "is not a regular file (a pipe, device or socket)",
                          "save the tokenizer to a file and pass that")
    if info.st_size > MAX_TOKENIZER_BYTES:
        raise _too_large(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_TOKENIZER_BYTES + 1)
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_TOKENIZER_BYTES:
        raise _too_large(path)
    return _decompressed(path, raw)


def _too_large(path: Path, *, decompressed: bool = False) -> ForensicsError:
    where = " once decompressed" if decompressed else ""
    return input_error(path, f"is larger than {MAX_TOKENIZER_BYTES >> 20} MiB{where}",
                       "tokenizer files are tens of MB; check that this is a tokenizer file "
                       "(the limit is forensics.bpe.formats.MAX_TOKENIZER_BYTES)")


def _decompressed(path: Path, raw: bytes) -> bytes:
    """``raw`` itself, or its gzip/zstd content checked to end exactly at a member or frame end (as
    ``gzip -t`` and ``zstd -t`` do) and refused once it grows past :data:`MAX_TOKENIZER_BYTES`."""
    from forensics.compression import SizeLimitExceeded, decompress_bytes, decompress_errors, sniff

    try:
        return decompress_bytes(raw, limit=MAX_TOKENIZER_BYTES)
    except SizeLimitExceeded:
        raise _too_large(path, decompressed=True) from None
    except decompress_errors() as exc:
        raise input_error(path, f"truncated or corrupt {sniff(raw)} data ({exc})",
                          "download the file again") from None


def load_tokenizer(path: str | os.PathLike, *, format: str | None = None,
                   pretokenizer: str | PreTokenizer | None = None) -> Tokenizer:
    """Read any supported BPE tokenizer file into a :class:`Tokenizer`.

    ``format`` forces a reader (see :data:`FORMATS`); ``pretokenizer`` (a preset name, a regex or a
    :class:`PreTokenizer`) replaces the file's own rules, and is needed for rank files of unknown
    encodings.

    >>> load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz").num_merges
    50000
    """
    if isinstance(pretokenizer, str):
        pretokenizer = PreTokenizer.from_option(pretokenizer)
    path = tokenizer_file(path)
    data = read_file_bytes(path)
    if not data.strip():
        raise input_error(path, "is empty", "pass a tokenizer file")
    parsed = parse_json(path, data)
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
