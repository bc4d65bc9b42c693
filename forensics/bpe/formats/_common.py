"""Shared by the format readers: parsing and checking JSON, ids, ranks and split patterns; building a
:class:`Tokenizer` from ranks, and pre-tokenizer choice.

The checks follow the reference libraries: HF tokenizers and tiktoken store ids and ranks as unsigned 32-bit
integers, and tiktoken refuses a rank given twice.
"""

from __future__ import annotations

import json
import reprlib
from pathlib import Path
from typing import Iterable

import regex

from forensics._results import bytes_sha256
from forensics.bpe.known import recognise
from forensics.bpe.model import Tokenizer
from forensics.bpe.pretokenize import PreTokenizer, Split
from forensics.bpe.ranks import merges_from_ranks
from forensics.errors import input_error

MAX_ID = 2**32 - 1
_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
               bool: "a boolean", type(None): "null"}
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40


def shown(value: object) -> str:
    """A short one-line repr of any value from a file, for error messages.

    >>> shown("x" * 100)
    "'xxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxx'"
    """
    return _SHORT.repr(value)


def json_type(value: object) -> str:
    """What a JSON value is, in words.

    >>> json_type([1])
    'a list'
    """
    return _JSON_TYPES.get(type(value), type(value).__name__)


def parse_json(path: Path, data: bytes) -> object | None:
    """The parsed JSON when ``data`` starts like JSON (``{`` or ``[``), else None; corrupt JSON raises.

    >>> parse_json(Path("x"), b'{"a": 1}')
    {'a': 1}
    """
    if data.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise input_error(path, "JSON file is not valid UTF-8", "the file is corrupt; download it again") from None
    except json.JSONDecodeError as exc:
        raise input_error(path, f"corrupt or truncated JSON ({exc.msg} at line {exc.lineno})",
                          "download the file again") from None
    except RecursionError:
        raise input_error(path, "JSON nested too deeply", "the file is corrupt or not a tokenizer") from None
    except ValueError as exc:  # a number of more than 4300 digits
        raise input_error(path, f"JSON value out of range ({exc})", "the file is corrupt") from None


def is_token_id(value: object) -> bool:
    """Whether ``value`` is an id or rank: an integer from 0 to 2**32 - 1 (a bool is not).

    >>> is_token_id(7), is_token_id(-5), is_token_id("7")
    (True, False, False)
    """
    return type(value) is int and 0 <= value <= MAX_ID


def token_id(path: Path, value: object, what: str) -> int:
    """``value`` when it is an id or rank; else an error naming ``what``.

    >>> token_id(Path("x"), 7, "id of 'a'")
    7
    """
    if not is_token_id(value):
        raise input_error(path, f"{what} is {shown(value)}, not an integer from 0 to {MAX_ID}", "the file is corrupt")
    return value  # type: ignore[return-value]


def id_map(path: Path, value: object, what: str) -> dict[str, int]:
    """``value`` when it is a JSON object of token -> id.

    >>> id_map(Path("x"), {"a": 0}, "vocab")
    {'a': 0}
    """
    if not isinstance(value, dict):
        raise input_error(path, f"{what} is {json_type(value)}, not an object of token ids", "the file is corrupt")
    bad = next((token for token, token_id_ in value.items() if not is_token_id(token_id_)), None)
    if bad is not None:
        token_id(path, value[bad], f"{what}: id of {shown(bad)}")  # raises, naming the token
    return value


def unique_ranks(path: Path, entries: Iterable[tuple[bytes, int, int]], *, unit: str) -> dict[bytes, int]:
    """Ranks from ``(token, rank, number of the entry)``; a rank or a token given twice is refused (tiktoken
    refuses the first; the second makes the merge order ambiguous).

    >>> unique_ranks(Path("x"), [(b"a", 0, 1), (b"b", 1, 2)], unit="line")
    {b'a': 0, b'b': 1}
    """
    ranks: dict[bytes, int] = {}
    given_at: dict[int, int] = {}
    for token, rank, number in entries:
        if not is_token_id(rank):
            token_id(path, rank, f"{unit} {number}: rank")  # raises, naming the entry
        if rank in given_at:
            raise input_error(path, f"rank {rank} is given twice ({unit} {given_at[rank]} and {number})",
                              "the file is corrupt")
        if token in ranks:
            raise input_error(path, f"token {shown(token)} is given twice ({unit} {number}, ranks {ranks[token]} "
                              f"and {rank})", "the file is corrupt")
        ranks[token] = rank
        given_at[rank] = number
    return ranks


def split_pattern(path: Path, pattern: object, what: str) -> str:
    """``pattern`` when it is a regular expression that compiles.

    >>> split_pattern(Path("x"), "a+", "pat_str")
    'a+'
    """
    if not isinstance(pattern, str):
        raise input_error(path, f"{what} is {json_type(pattern)}, not a regular expression", "the file is corrupt")
    try:
        regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise input_error(path, f"{what} is not a valid regular expression ({exc})", "the file is corrupt") from None
    return pattern


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
        pattern = split_pattern(path, pattern, f"{pattern_name or format_name} split pattern")
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
