"""`forensics inspect`: what a tokenizer file holds, as plain data.

Reports the format, sizes, byte level or not, pre-tokenizer and normaliser, special tokens, merges
removed as redundant or unreachable, the longest tokens, the share of tokens per Unicode script and how
digits are grouped.

>>> report = inspect_tokenizer("fixtures/tokenizers/tekken/tekken_240911.first6000.json.gz")
>>> report.num_merges, report.digit_handling
(5744, 'single digits')
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from forensics.bpe.model import Tokenizer
from forensics.bpe.scripts import token_script


@dataclass
class TokenizerReport:
    """The facts `inspect` shows."""

    source: str
    sha256: str
    format: str
    vocab_size: int
    num_merges: int
    byte_level: bool
    pretokenizer: str
    pretokenizer_source: str
    pretokenizer_rules: dict
    normalizer: str | None
    num_special_tokens: int
    listed_merges: int
    redundant_merges_removed: int
    unreachable_tokens: int
    recognised_encoding: str | None
    byte_fallback: bool
    longest_tokens: list[dict] = field(default_factory=list)
    script_shares: dict[str, float] = field(default_factory=dict)
    digit_handling: str = ""
    digit_tokens: int = 0
    longest_digit_token: int = 0
    notes: list[str] = field(default_factory=list)


def _as_tokenizer(tokenizer: Tokenizer | str | os.PathLike, **load_options) -> Tokenizer:
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    from forensics.bpe.formats import load_tokenizer

    return load_tokenizer(tokenizer, **load_options)


def inspect_tokenizer(tokenizer: Tokenizer | str | os.PathLike, *, top: int = 10,
                      format: str | None = None, pretokenizer: str | None = None) -> TokenizerReport:
    """Summarise a tokenizer (a loaded one or a path).

    >>> inspect_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz").vocab_size
    50257
    """
    tok = _as_tokenizer(tokenizer, format=format, pretokenizer=pretokenizer)
    scripts: Counter[str] = Counter()
    digit_tokens = 0
    longest_digits = 0
    for token in tok.vocab:
        text = token.decode("utf-8", "replace")
        if "\ufffd" in text and tok.byte_level:
            scripts["Partial bytes"] += 1
            continue
        script = token_script(text)
        scripts[script] += 1
        if script == "Digits":
            digit_tokens += 1
            longest_digits = max(longest_digits, len(text.strip().replace("\u2581", "")))
    total = sum(scripts.values()) or 1
    by_length = sorted(tok.vocab, key=lambda t: (-len(t), tok.vocab[t]))[:top]
    longest = [{"token": tok.display(t), "bytes": len(t), "id": tok.vocab[t]} for t in by_length]
    return TokenizerReport(
        source=tok.source, sha256=tok.sha256, format=tok.format, vocab_size=tok.vocab_size,
        num_merges=tok.num_merges, byte_level=tok.byte_level, pretokenizer=tok.pretokenizer.describe(),
        pretokenizer_source=tok.pretokenizer_source, pretokenizer_rules=tok.pretokenizer.to_dict(),
        normalizer=tok.pretokenizer.normalizer, num_special_tokens=len(tok.special_tokens),
        listed_merges=tok.listed_merges, redundant_merges_removed=tok.redundant_merges_removed,
        unreachable_tokens=len(tok.unreachable_tokens), recognised_encoding=tok.recognised_encoding,
        byte_fallback=bool(tok.byte_fallback), longest_tokens=longest,
        script_shares={k: round(v / total, 6) for k, v in scripts.most_common()},
        digit_handling=tok.pretokenizer.digit_handling(), digit_tokens=digit_tokens,
        longest_digit_token=longest_digits, notes=list(tok.notes),
    )
