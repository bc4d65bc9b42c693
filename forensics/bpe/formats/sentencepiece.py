"""SentencePiece ``.model`` files of BPE type: character-level merges with byte fallback.

The file is a protobuf ``ModelProto``; we read the few fields we need with a small wire-format
parser (no protobuf dependency). Pieces are ranked by score; each multi-character piece gets the one
merge SentencePiece's BPE applies to make it (recovered from the ranking), so the redundant merges that
converted merge lists carry never appear. Characters are the base symbols; ``<0xNN>`` pieces are the
byte fallback.

What it leaves out: Unigram models (refused with a clear error), the precompiled normalisation map
(approximated by NFKC when the model asks for an NFKC-type rule), user-defined symbols inside text.

>>> tok = load_tokenizer("fixtures/tokenizers/sentencepiece/botchan_en_bpe_1000.model")  # doctest: +SKIP
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from forensics._results import bytes_sha256
from forensics.bpe.model import Tokenizer
from forensics.bpe.pretokenize import METASPACE, PreTokenizer
from forensics.bpe.ranks import merges_from_ranks
from forensics.errors import ForensicsError, input_error

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}
_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


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
            return result, pos
        shift += 7
        if shift > 70:
            raise _WireError("varint too long")


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
        if number == 0:
            raise _WireError("field number 0")
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


@dataclass
class SentencePieceModel:
    pieces: list[tuple[str, float, int]] = field(default_factory=list)
    model_type: int = 1
    byte_fallback: bool = False
    split_by_whitespace: bool = True
    split_digits: bool = False
    treat_whitespace_as_suffix: bool = False
    normalizer_name: str = ""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    has_charsmap: bool = False


def parse_model(buf: bytes) -> SentencePieceModel:
    """The fields of a ``ModelProto`` that matter for BPE.

    >>> parse_model(b"").pieces
    []
    """
    model = SentencePieceModel()
    for number, wire, value in parse_message(buf):
        if number == 1 and wire == 2:
            piece, score, kind = "", 0.0, NORMAL
            for n, w, v in parse_message(value):  # type: ignore[arg-type]
                if n == 1 and w == 2:
                    piece = v.decode("utf-8")  # type: ignore[union-attr]
                elif n == 2 and w == 5:
                    score = struct.unpack("<f", v)[0]  # type: ignore[arg-type]
                elif n == 3 and w == 0:
                    kind = int(v)  # type: ignore[arg-type]
            model.pieces.append((piece, score, kind))
        elif number == 2 and wire == 2:
            for n, w, v in parse_message(value):  # type: ignore[arg-type]
                if w != 0:
                    continue
                if n == 3:
                    model.model_type = int(v)  # type: ignore[arg-type]
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
                    model.has_charsmap = len(v) > 0  # type: ignore[arg-type]
                elif n == 3 and w == 0:
                    model.add_dummy_prefix = bool(v)
                elif n == 4 and w == 0:
                    model.remove_extra_whitespaces = bool(v)
                elif n == 5 and w == 0:
                    model.escape_whitespaces = bool(v)
    return model


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
    except (_WireError, UnicodeDecodeError) as exc:
        raise input_error(path, f"corrupt or truncated SentencePiece model ({exc})", "download it again") from None
    if not model.pieces:
        raise input_error(path, "SentencePiece model without pieces", "the file is corrupt")
    if model.model_type != 2:
        raise ForensicsError(f"{path}: SentencePiece model of type {MODEL_TYPES.get(model.model_type, '?')}, "
                             f"not BPE; only BPE tokenizers have a merge list")
    notes: list[str] = []
    vocab: dict[bytes, int] = {}
    byte_fallback: dict[int, int] = {}
    specials: dict[str, int] = {}
    unk_id = None
    ranked: list[tuple[float, int, bytes]] = []
    for piece_id, (piece, score, kind) in enumerate(model.pieces):
        if kind == BYTE and (match := _BYTE_PIECE.match(piece)):
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
