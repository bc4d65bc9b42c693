"""GPT-2's byte-to-unicode table, used by byte-level `tokenizer.json`, `vocab.json` and `merges.txt`.

Byte-level files spell each byte as one printable character (space is ``Ġ``, newline ``Ċ``); we convert
those spellings to raw bytes on reading, and back when showing tokens.

>>> BYTE_TO_CHAR[ord(" ")], decode_token("Ġthe")
('Ġ', b' the')
"""

from __future__ import annotations


def _byte_to_char() -> dict[int, str]:
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_TO_CHAR: dict[int, str] = _byte_to_char()
CHAR_TO_BYTE: dict[str, int] = {c: b for b, c in BYTE_TO_CHAR.items()}


def decode_token(spelled: str) -> bytes:
    """Raw bytes of a byte-level token spelling; raises KeyError on a character outside the table.

    >>> decode_token("ĠĊ")
    b' \\n'
    """
    return bytes(CHAR_TO_BYTE[ch] for ch in spelled)


def encode_token(raw: bytes) -> str:
    """Byte-level spelling of raw bytes.

    >>> encode_token(b" a")
    'Ġa'
    """
    return "".join(BYTE_TO_CHAR[b] for b in raw)


def is_byte_level_spelling(tokens) -> bool:
    """True when every token is spelled only with byte-level characters and all 256 bytes appear.

    >>> is_byte_level_spelling([BYTE_TO_CHAR[b] for b in range(256)])
    True
    """
    singles = set()
    for token in tokens:
        if any(ch not in CHAR_TO_BYTE for ch in token):
            return False
        if len(token) == 1:
            singles.add(token)
    return len(singles) == 256
