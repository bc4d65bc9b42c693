"""Mistral's tekken JSON: ``config`` (split pattern, vocabulary size, number of special tokens) and a
``vocab`` list of ``{rank, token_bytes (base64), token_str}``.

Token ids are ranks shifted by the number of special tokens, and only the first
``default_vocab_size - default_num_special_tokens`` ranks are in use.

>>> from forensics import load_tokenizer
>>> tok = load_tokenizer("fixtures/tokenizers/tekken/tekken_240911.first6000.json.gz")
>>> tok.format, len(tok.special_tokens), tok.num_merges
('tekken', 1000, 5744)
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from forensics.bpe.formats._common import shown, token_id, tokenizer_from_ranks, unique_ranks
from forensics.errors import input_error

MAX_SPECIAL_TOKENS = 1 << 16  # Mistral reserves 1000; each gets a placeholder entry


def sniff(name: str, data: bytes, parsed: object) -> bool:
    return (isinstance(parsed, dict) and isinstance(parsed.get("config"), dict)
            and isinstance(parsed.get("vocab"), list) and "pattern" in parsed["config"])


def read(path: Path, data: bytes, parsed: object, *, format_name: str, pretokenizer=None):
    if not sniff(format_name, data, parsed):
        raise input_error(path, "not a tekken file (needs 'config.pattern' and a 'vocab' list)")
    assert isinstance(parsed, dict)
    config = parsed["config"]
    num_special = token_id(path, config.get("default_num_special_tokens", 0), "config.default_num_special_tokens")
    if num_special > MAX_SPECIAL_TOKENS:
        raise input_error(path, f"config declares {num_special} special tokens (more than {MAX_SPECIAL_TOKENS})",
                          "the file is corrupt")
    vocab_size = token_id(path, config.get("default_vocab_size", len(parsed["vocab"]) + num_special),
                          "config.default_vocab_size")
    in_use = vocab_size - num_special
    entries = parsed["vocab"][:max(in_use, 0)]

    def ranked():
        for number, entry in enumerate(entries, start=1):
            try:
                yield base64.b64decode(entry["token_bytes"], validate=True), entry["rank"], number
            except (KeyError, TypeError, binascii.Error, ValueError) as exc:
                raise input_error(path, f"vocab entry {number} is malformed ({shown(exc)})",
                                  "the file is corrupt") from None

    ranks = unique_ranks(path, ranked(), unit="vocab entry")
    notes = []
    if len(entries) < in_use:
        notes.append(f"file lists {len(entries)} of the {in_use} ranks its config declares")
    tok = tokenizer_from_ranks(path, data, ranks, format_name="tekken", pattern=config["pattern"],
                               special_tokens={}, override=pretokenizer, pattern_name="tekken", notes=notes)
    # ids are ranks shifted past the special tokens
    tok.vocab = {token: rank + num_special for token, rank in tok.vocab.items()}
    tok.special_tokens = {f"<special_{i}>": i for i in range(num_special)}
    for special in parsed.get("special_tokens") or []:
        if isinstance(special, dict) and isinstance(special.get("token_str"), str) and "rank" in special:
            rank = token_id(path, special["rank"], f"rank of special token {shown(special['token_str'])}")
            tok.special_tokens.pop(f"<special_{rank}>", None)
            tok.special_tokens[special["token_str"]] = rank
    return tok
