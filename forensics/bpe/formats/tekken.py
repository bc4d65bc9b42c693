"""Mistral's tekken JSON: ``config`` (split pattern, vocabulary size, number of special tokens) and a
``vocab`` list of ``{rank, token_bytes (base64), token_str}``.

Token ids are ranks shifted by the number of special tokens, and only the first
``default_vocab_size - default_num_special_tokens`` ranks are in use.

>>> tok = load_tokenizer("fixtures/tokenizers/tekken/tekken_240911.first6000.json.gz")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from forensics.bpe.formats._common import tokenizer_from_ranks
from forensics.errors import input_error


def sniff(name: str, data: bytes, parsed: object) -> bool:
    return (isinstance(parsed, dict) and isinstance(parsed.get("config"), dict)
            and isinstance(parsed.get("vocab"), list) and "pattern" in parsed["config"])


def read(path: Path, data: bytes, parsed: object, *, format_name: str, pretokenizer=None):
    if not sniff(format_name, data, parsed):
        raise input_error(path, "not a tekken file (needs 'config.pattern' and a 'vocab' list)")
    assert isinstance(parsed, dict)
    config = parsed["config"]
    num_special = int(config.get("default_num_special_tokens", 0))
    in_use = int(config.get("default_vocab_size", len(parsed["vocab"]) + num_special)) - num_special
    entries = parsed["vocab"][:max(in_use, 0)]
    ranks: dict[bytes, int] = {}
    try:
        for entry in entries:
            ranks[base64.b64decode(entry["token_bytes"], validate=True)] = int(entry["rank"])
    except (KeyError, TypeError, binascii.Error, ValueError) as exc:
        raise input_error(path, f"malformed vocab entry ({exc})", "the file is corrupt") from None
    notes = []
    if len(entries) < in_use:
        notes.append(f"file lists {len(entries)} of the {in_use} ranks its config declares")
    tok = tokenizer_from_ranks(path, data, ranks, format_name="tekken", pattern=config["pattern"],
                               special_tokens={}, override=pretokenizer, pattern_name="tekken", notes=notes)
    # ids are ranks shifted past the special tokens
    tok.vocab = {token: rank + num_special for token, rank in tok.vocab.items()}
    tok.special_tokens = {f"<special_{i}>": i for i in range(num_special)}
    for special in parsed.get("special_tokens") or []:
        if isinstance(special, dict) and "token_str" in special and "rank" in special:
            tok.special_tokens.pop(f"<special_{special['rank']}>", None)
            tok.special_tokens[special["token_str"]] = int(special["rank"])
    return tok
