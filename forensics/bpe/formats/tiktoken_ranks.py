"""tiktoken rank files (``base64-token rank`` per line) and JSON rank files with a ``pat_str``.

The JSON variant is the layout of js-tiktoken and of Anthropic's ``claude.json``: ``bpe_ranks`` is a
string of lines ``<name> <first rank> <token> <token> ...`` with base64 tokens of consecutive ranks.
Rank files carry no pre-tokenizer: well-known encodings are recognised by content hash; otherwise the
caller passes ``--pretokenizer``. A rank given twice is refused, as tiktoken refuses it, and so is a token
given twice.

>>> from forensics import load_tokenizer
>>> tok = load_tokenizer("fixtures/tokenizers/tiktoken/r50k_base.tiktoken.gz")
>>> tok.format, tok.recognised_encoding
('tiktoken', 'r50k_base')
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from forensics.bpe.formats._common import id_map, tokenizer_from_ranks, unique_ranks
from forensics.errors import input_error


def sniff(name: str, data: bytes, parsed: object) -> bool:
    if name == "tiktoken-json":
        return isinstance(parsed, dict) and "bpe_ranks" in parsed
    if parsed is not None:
        return False
    first = data.split(b"\n", 1)[0].strip().split(b" ")
    return len(first) == 2 and first[1].isdigit() and _is_base64(first[0])


def _is_base64(token: bytes) -> bool:
    try:
        base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _rank(field: bytes | str) -> int | None:
    """The rank a field spells in ASCII digits, or None (also for more digits than a 32-bit rank has)."""
    return int(field) if field.isascii() and field.isdigit() and len(field) <= 10 else None


def parse_tiktoken(path: Path, data: bytes) -> dict[bytes, int]:
    """Ranks from a ``.tiktoken`` file.

    >>> parse_tiktoken(Path("x"), b"IQ== 0\\nIg== 1\\n")
    {b'!': 0, b'"': 1}
    """
    def entries():
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            rank = _rank(parts[1]) if len(parts) == 2 else None
            if rank is None:
                raise input_error(path, f"line {number} is not 'base64-token rank'", "the file is corrupt or truncated")
            try:
                yield base64.b64decode(parts[0], validate=True), rank, number
            except (binascii.Error, ValueError):
                raise input_error(path, f"line {number} has invalid base64", "the file is corrupt") from None

    return unique_ranks(path, entries(), unit="line")


def parse_compressed_ranks(path: Path, text: str) -> dict[bytes, int]:
    """Ranks from js-tiktoken's compressed ``bpe_ranks`` string.

    >>> parse_compressed_ranks(Path("x"), "! 5 IQ== Ig==")
    {b'!': 5, b'"': 6}
    """
    def entries():
        for number, line in enumerate(text.split("\n"), start=1):
            if not line:
                continue
            fields = line.split(" ")
            start = _rank(fields[1]) if len(fields) >= 2 else None
            if start is None:
                raise input_error(path, f"bpe_ranks line {number} has no start rank", "the file is corrupt")
            for offset, encoded in enumerate(fields[2:]):
                try:
                    yield base64.b64decode(encoded, validate=True), start + offset, number
                except (binascii.Error, ValueError):
                    raise input_error(path, f"bpe_ranks line {number} has invalid base64",
                                      "the file is corrupt") from None

    return unique_ranks(path, entries(), unit="bpe_ranks line")


def read(path: Path, data: bytes, parsed: object, *, format_name: str, pretokenizer=None):
    if format_name == "tiktoken-json" or isinstance(parsed, dict):
        if not isinstance(parsed, dict) or not isinstance(parsed.get("bpe_ranks"), str):
            raise input_error(path, "JSON rank file without a 'bpe_ranks' string", "is this a js-tiktoken rank file?")
        ranks = parse_compressed_ranks(path, parsed["bpe_ranks"])
        specials = id_map(path, parsed.get("special_tokens") or {}, "special_tokens")
        return tokenizer_from_ranks(path, data, ranks, format_name="tiktoken-json",
                                    pattern=parsed.get("pat_str"), special_tokens=specials,
                                    override=pretokenizer, pattern_name="pat_str")
    ranks = parse_tiktoken(path, data)
    return tokenizer_from_ranks(path, data, ranks, format_name="tiktoken", pattern=None, override=pretokenizer)
