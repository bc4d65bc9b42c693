"""Shared by the format readers: building a :class:`Tokenizer` from ranks, and pre-tokenizer choice."""

from __future__ import annotations

from pathlib import Path

from forensics._results import bytes_sha256
from forensics.bpe.known import recognise
from forensics.bpe.model import Tokenizer
from forensics.bpe.pretokenize import PreTokenizer, Split
from forensics.bpe.ranks import merges_from_ranks
from forensics.errors import input_error


def regex_pretokenizer(name: str, pattern: str, *, normalizer: str | None = None) -> PreTokenizer:
    """A byte-level pre-tokenizer from a file's own split pattern.

    >>> regex_pretokenizer("x", r"\\S+|\\s+").split("a b")
    ['a', ' ', 'b']
    """
    return PreTokenizer(name=name, normalizer=normalizer, steps=(("split", Split(pattern)),), byte_level=True)


def tokenizer_from_ranks(path: Path, data: bytes, ranks: dict[bytes, int], *, format_name: str,
                         pattern: str | None, special_tokens: dict[str, int] | None = None,
                         override: PreTokenizer | None = None, byte_level: bool = True,
                         pattern_name: str | None = None, notes: list[str] | None = None) -> Tokenizer:
    """Recover merges from ranks and pick the pre-tokenizer (override, file pattern, or recognised hash).

    >>> tok = tokenizer_from_ranks(Path("x"), b"", {bytes([b]): b for b in range(256)}, format_name="t",
    ...                            pattern=r"\\S+|\\s+")
    >>> tok.num_merges
    0
    """
    if byte_level:
        missing = [b for b in range(256) if bytes([b]) not in ranks]
        if missing:
            raise input_error(path, f"rank list lacks {len(missing)} of the 256 single bytes (e.g. {missing[0]})",
                              "the file is truncated or not a byte-level BPE tokenizer")
    known = recognise(ranks) if byte_level else None
    notes = list(notes or [])
    source = "file"
    if override is not None:
        pretokenizer, source = override, "option"
    elif pattern:
        pretokenizer = regex_pretokenizer(pattern_name or format_name, pattern)
    elif known is not None:
        pretokenizer = PreTokenizer.preset(known.preset)
        source = "recognised"
        notes.append(f"recognised as {known.name} by content hash; using its published split pattern")
    else:
        raise input_error(path, "rank file of an unknown encoding carries no pre-tokenizer",
                          "pass --pretokenizer with a preset name (gpt2, cl100k, o200k, ...) or a regex")
    if special_tokens is None:
        special_tokens = dict(known.special_tokens) if known else {}
    ordered = sorted(ranks, key=ranks.__getitem__)
    recovered = merges_from_ranks(ordered, byte_level=byte_level)
    return Tokenizer(
        format=format_name, source=str(path), sha256=bytes_sha256(data), vocab=dict(ranks),
        merges=recovered.merges, pretokenizer=pretokenizer, special_tokens=special_tokens,
        listed_merges=0, unreachable_tokens=recovered.unreachable,
        recognised_encoding=known.name if known else None, pretokenizer_source=source, notes=notes,
    )
