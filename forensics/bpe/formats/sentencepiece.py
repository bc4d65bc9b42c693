"""SentencePiece ``.model`` files of BPE type: character-level merges with byte fallback.

The file is a protobuf ``ModelProto``; we read the few fields we need with a small wire-format
parser (no protobuf dependency). Pieces are ranked by score; each multi-character piece gets the one
merge SentencePiece's BPE applies to make it (recovered from the ranking), so the redundant merges that
converted merge lists carry never appear. Characters are the base symbols; ``<0xNN>`` pieces are the
byte fallback.

A model SentencePiece (0.2.3) refuses to load is refused here too: the wire format is parsed as strictly
as protobuf parses it, and the checks SentencePiece makes when loading are repeated (pieces empty, too
long or given twice, the unknown piece, the 256 byte pieces, the precompiled map's double-array trie).

What it leaves out: Unigram models (refused with a clear error), the precompiled normalisation map
(approximated by NFKC when the model asks for an NFKC-type rule), user-defined symbols inside text.

>>> from forensics import load_tokenizer
>>> tok = load_tokenizer("fixtures/tokenizers/sentencepiece/botchan_en_bpe_1000.model")
>>> tok.format, tok.num_merges, tok.byte_level
('sentencepiece', 928, False)
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forensics._results import bytes_sha256
from forensics.bpe.formats._common import shown
from forensics.bpe.model import Tokenizer
from forensics.bpe.pretokenize import METASPACE, PreTokenizer
from forensics.bpe.ranks import merges_from_ranks
from forensics.errors import ForensicsError, input_error

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}
_BYTE_PIECE = re.compile(r"<0x([0-9A-F]{2})>")  # exactly as SentencePiece writes them (fullmatch)
MAX_PIECE_BYTES = 8000  # SentencePiece refuses longer pieces


class _WireError(ValueError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise _WireError("varint longer than 10 bytes")


def parse_message(buf: bytes) -> list[tuple[int, int, object]]:
    """Fields of one protobuf message as (number, wire type, value); nested messages stay bytes.

    >>> parse_message(b"\\x08\\x96\\x01")
    [(1, 0, 150)]
    """
    fields: list[tuple[int, int, object]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or key > 0xFFFFFFFF:
            raise _WireError(f"invalid field key {key}")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise _WireError("truncated fixed64")
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise _WireError("truncated length-delimited field")
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            if pos + 4 > len(buf):
                raise _WireError("truncated fixed32")
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise _WireError(f"unsupported wire type {wire}")
        fields.append((number, wire, value))
    return fields


def _int32(value: int) -> int:
    """A varint read as protobuf reads an int32 or enum field: its low 32 bits, signed."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


@dataclass
class SentencePieceModel:
    pieces: list[tuple[bytes, float, int]] = field(default_factory=list)
    model_type: int = 1
    byte_fallback: bool = False
    split_by_whitespace: bool = True
    split_digits: bool = False
    treat_whitespace_as_suffix: bool = False
    normalizer_name: str = ""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    charsmap: bytes = b""
    denormalizer_charsmap: bytes = b""

    @property
    def has_charsmap(self) -> bool:
        return bool(self.charsmap)


def parse_model(buf: bytes) -> SentencePieceModel:
    """The fields of a ``ModelProto`` that matter for BPE; every sub-message is parsed, as protobuf does,
    and enum values protobuf does not know are ignored, as protobuf ignores them.

    >>> parse_model(b"").pieces
    []
    """
    model = SentencePieceModel()
    for number, wire, value in parse_message(buf):
        if number == 1 and wire == 2:
            piece, score, kind = b"", 0.0, NORMAL
            for n, w, v in parse_message(value):  # type: ignore[arg-type]
                if n == 1 and w == 2:
                    piece = v  # type: ignore[assignment]
                elif n == 2 and w == 5:
                    score = struct.unpack("<f", v)[0]  # type: ignore[arg-type]
                elif n == 3 and w == 0 and NORMAL <= _int32(v) <= BYTE:  # type: ignore[arg-type]
                    kind = _int32(v)  # type: ignore[arg-type]
            model.pieces.append((piece, score, kind))
        elif number == 2 and wire == 2:
            for n, w, v in parse_message(value):  # type: ignore[arg-type]
                if w != 0:
                    continue
                if n == 3 and _int32(v) in MODEL_TYPES:  # type: ignore[arg-type]
                    model.model_type = _int32(v)  # type: ignore[arg-type]
                elif n == 35:
                    model.byte_fallback = bool(v)
                elif n == 22:
                    model.split_by_whitespace = bool(v)
                elif n == 25:
                    model.split_digits = bool(v)
                elif n == 24:
                    model.treat_whitespace_as_suffix = bool(v)
        elif number == 3 and wire == 2:
            for n, w, v in parse_message(value):  # type: ignore[arg-type]
                if n == 1 and w == 2:
                    model.normalizer_name = v.decode("utf-8", "replace")  # type: ignore[union-attr]
                elif n == 2 and w == 2:
                    model.charsmap = v  # type: ignore[assignment]
                elif n == 3 and w == 0:
                    model.add_dummy_prefix = bool(v)
                elif n == 4 and w == 0:
                    model.remove_extra_whitespaces = bool(v)
                elif n == 5 and w == 0:
                    model.escape_whitespaces = bool(v)
        elif number == 5 and wire == 2:
            for n, w, v in parse_message(value):  # type: ignore[arg-type]
                if n == 2 and w == 2:
                    model.denormalizer_charsmap = v  # type: ignore[assignment]
    if model.byte_fallback:
        # SentencePiece treats a "\0" piece as unused when bytes fall back (conversion scripts add one)
        model.pieces = [(p, s, UNUSED if p == b"\0" else k) for p, s, k in model.pieces]
    return model


def check_model(path: Path, model: SentencePieceModel) -> None:
    """Refuse what SentencePiece refuses when it loads a BPE model (all pieces share one namespace)."""
    def refuse(problem: str) -> ForensicsError:
        return input_error(path, f"corrupt SentencePiece model: {problem}", "SentencePiece refuses it too; "
                           "download it again")

    seen: set[bytes] = set()
    unknown: int | None = None
    fallback_bytes: set[str] = set()
    for number, (piece, _, kind) in enumerate(model.pieces):
        if len(piece) >= MAX_PIECE_BYTES:
            raise refuse(f"piece {number} is {len(piece)} bytes long (SentencePiece's limit is {MAX_PIECE_BYTES})")
        if not piece:
            raise refuse(f"piece {number} is empty")
        if piece == b"\0" and kind == UNUSED:
            continue
        if b"\0" in piece:
            raise refuse(f"piece {number} {shown(piece)} contains a null byte")
        if piece in seen:
            raise refuse(f"piece {number} {shown(piece)} is defined twice")
        seen.add(piece)
        if kind == UNKNOWN:
            if unknown is not None:
                raise refuse(f"pieces {unknown} and {number} are both the unknown piece")
            unknown = number
        if kind == BYTE:
            match = _BYTE_PIECE.fullmatch(piece.decode("latin-1"))
            if not model.byte_fallback or match is None:
                problem = "byte_fallback is off" if not model.byte_fallback else "it is not spelled <0xNN>"
                raise refuse(f"piece {number} {shown(piece)} is a byte piece, but {problem}")
            fallback_bytes.add(match.group(1))
    if unknown is None and not model.byte_fallback:
        raise refuse("no unknown piece")
    if model.byte_fallback and len(fallback_bytes) < 256:
        raise refuse(f"byte_fallback is on but only {len(fallback_bytes)} of the 256 byte pieces exist")
    for blob, what in ((model.charsmap, "normaliser"), (model.denormalizer_charsmap, "denormaliser")):
        if blob and (problem := charsmap_problem(blob)):
            raise refuse(f"the {what}'s precompiled_charsmap {problem}")


def charsmap_problem(blob: bytes) -> str | None:
    """Why SentencePiece refuses a precompiled normalisation map, or None.

    The map is a 4-byte trie size, a Darts-clone double-array trie and null-terminated strings; every unit
    of the trie must point inside it and every leaf inside the strings (SentencePiece >= 0.2.1 checks this).

    >>> charsmap_problem(b"\\x00\\x04\\x00\\x00")
    'is too short'
    """
    if len(blob) <= 4:
        return "is too short"
    trie_bytes = int.from_bytes(blob[:4], "little")
    if trie_bytes >= len(blob) - 4:
        return "declares a trie larger than itself"
    if trie_bytes < 1024 or trie_bytes % 1024:
        return "declares a trie size that is not a multiple of 1024"
    strings = len(blob) - 4 - trie_bytes
    if blob[-1] != 0:
        return "does not end its strings with a null byte"
    units = np.frombuffer(blob, dtype="<u4", count=trie_bytes // 4, offset=4).astype(np.int64)
    size = len(units)
    label = units & ((1 << 31) | 0xFF)
    has_leaf = (units >> 8) & 1 == 1
    child = np.arange(size) ^ ((units >> 10) << ((units & (1 << 9)) >> 6))  # index ^ offset
    if label[0] != 0 or has_leaf[0] or child[0] == 0 or (child[0] | 0xFF) >= size:
        return "has a corrupt trie root"
    inner = label <= 0xFF
    inner[0] = False
    if np.any((child[inner] | 0xFF) >= size):
        return "has a trie unit pointing outside the trie"
    if np.any(label[child[inner & has_leaf]] <= 0xFF):
        return "has a trie leaf that is not a leaf"
    leaves = ~inner
    leaves[0] = False
    if np.any((units[leaves] & 0x7FFFFFFF) >= strings):
        return "has a trie value pointing outside its strings"
    return None


def sniff(name: str, data: bytes, parsed: object) -> bool:
    if parsed is not None or not data[:1] == b"\x0a":
        return False
    try:
        fields = parse_message(data[: min(len(data), 1 << 16)])
    except _WireError:
        # the probe cut the message mid-field: look at what parsed before
        return _looks_like_pieces(data)
    except UnicodeDecodeError:
        return False
    return bool(fields) and fields[0][0] == 1


def _looks_like_pieces(data: bytes) -> bool:
    try:
        length, pos = _varint(data, 1)
        first = parse_message(data[pos:pos + length])
    except (_WireError, UnicodeDecodeError):
        return False
    return any(n == 1 and w == 2 for n, w, _ in first)


def read(path: Path, data: bytes, parsed: object, *, format_name: str, pretokenizer=None) -> Tokenizer:
    try:
        model = parse_model(data)
    except _WireError as exc:
        raise input_error(path, f"corrupt or truncated SentencePiece model ({exc})", "download it again") from None
    if not model.pieces:
        raise input_error(path, "SentencePiece model without pieces", "the file is corrupt")
    check_model(path, model)
    if model.model_type != 2:
        raise ForensicsError(f"{path}: SentencePiece model of type {MODEL_TYPES.get(model.model_type, '?')}, "
                             f"not BPE; only BPE tokenizers have a merge list")
    try:
        pieces = [(piece.decode("utf-8"), score, kind) for piece, score, kind in model.pieces]
    except UnicodeDecodeError as exc:
        raise input_error(path, f"corrupt SentencePiece model (a piece is not UTF-8: {exc})",
                          "download it again") from None
    notes: list[str] = []
    vocab: dict[bytes, int] = {}
    byte_fallback: dict[int, int] = {}
    specials: dict[str, int] = {}
    unk_id = None
    ranked: list[tuple[float, int, bytes]] = []
    for piece_id, (piece, score, kind) in enumerate(pieces):
        if kind == BYTE and (match := _BYTE_PIECE.fullmatch(piece)):
            byte_fallback[int(match.group(1), 16)] = piece_id
        elif kind == UNKNOWN:
            unk_id = piece_id
        elif kind in (CONTROL, USER_DEFINED):
            specials[piece] = piece_id
        elif kind == NORMAL:
            token = piece.encode("utf-8")
            vocab[token] = piece_id
            ranked.append((-score, piece_id, token))
    if not model.byte_fallback:
        byte_fallback = {}
    ranked.sort()
    ordered = [token for _, _, token in ranked]
    base = {token for token in ordered if len(token.decode("utf-8")) == 1}
    recovered = merges_from_ranks(ordered, byte_level=False, base=base)
    if pretokenizer is None:
        pretokenizer = sentencepiece_rules(model, notes)
    return Tokenizer(
        format="sentencepiece", source=str(path), sha256=bytes_sha256(data), vocab=vocab,
        merges=recovered.merges, pretokenizer=pretokenizer, special_tokens=specials, byte_fallback=byte_fallback,
        unk_id=unk_id, listed_merges=len(ordered) - len(base),
        redundant_merges_removed=0, unreachable_tokens=recovered.unreachable,
        pretokenizer_source="file", notes=notes,
    )


def sentencepiece_rules(model: SentencePieceModel, notes: list[str]) -> PreTokenizer:
    """Our PreTokenizer for a SentencePiece model's normaliser (whole text is one word, as SentencePiece
    encodes it; merge replay splits words at the metaspace, as its trainer did).

    >>> sentencepiece_rules(SentencePieceModel(), []).normalize("  a  b ")
    '▁a▁b'
    """
    unicode_form = None
    name = model.normalizer_name
    if model.has_charsmap and "nfkc" in name.lower():
        unicode_form = "NFKC"
        notes.append(f"normaliser {name!r} approximated by NFKC")
    elif model.has_charsmap and name not in ("identity", ""):
        notes.append(f"normaliser {name!r} (precompiled map) not applied")
    text_ops: list[tuple[str, str, str]] = []
    if model.has_charsmap and name.startswith("nmt_"):
        # the NMT rules map control whitespace to a plain space before anything else
        text_ops += [("replace", ch, " ") for ch in ("\r\n", "\t", "\n", "\r")]
    if model.remove_extra_whitespaces:
        text_ops.append(("squeeze", " ", " "))
    if model.escape_whitespaces:
        text_ops.append(("replace", " ", METASPACE))
    if model.add_dummy_prefix:
        text_ops.append(("prepend", METASPACE if model.escape_whitespaces else " ", "always"))
    steps: list[tuple[str, object]] = []
    if model.split_digits:
        steps.append(("digits", True))
    return PreTokenizer(name="sentencepiece", normalizer=unicode_form, text_ops=tuple(text_ops),  # type: ignore[arg-type]
                        steps=tuple(steps), byte_level=False, notes=tuple(notes))
