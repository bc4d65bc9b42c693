"""`forensics compare`: how two tokenizers' merge lists relate.

Finds the length of the common merge prefix, the merges and tokens both share, whether one extends the
other (Llama 3 kept cl100k's first 100,000 merges and appended its own) and where they first diverge.

>>> c = compare_tokenizers("cl100k_base.tiktoken", "llama3/tokenizer.json")  # doctest: +SKIP
>>> c.common_prefix, c.b_extends_a, c.summary  # doctest: +SKIP
(100000, True, 'B extends A: B keeps all 100000 merges of A and appends 27066')
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from forensics.bpe.inspect import _as_tokenizer
from forensics.bpe.model import Tokenizer


@dataclass
class TokenizerComparison:
    a_source: str
    b_source: str
    a_merges: int
    b_merges: int
    common_prefix: int
    shared_merges: int
    shared_tokens: int
    a_tokens: int
    b_tokens: int
    a_extends_b: bool
    b_extends_a: bool
    same_pretokenizer: bool
    same_byte_level: bool
    divergence: dict | None
    summary: str


def compare_tokenizers(a: Tokenizer | str | os.PathLike, b: Tokenizer | str | os.PathLike) -> TokenizerComparison:
    """Compare two tokenizers (loaded or paths).

    >>> compare_tokenizers("fixtures/tokenizers/gpt2/vocab.bpe.gz",
    ...                    "fixtures/tokenizers/tiktoken/r50k_base.tiktoken.gz").common_prefix
    50000
    """
    ta, tb = _as_tokenizer(a), _as_tokenizer(b)
    prefix = 0
    for ma, mb in zip(ta.merges, tb.merges):
        if ma != mb:
            break
        prefix += 1
    shared_merges = len(set(ta.merges) & set(tb.merges))
    shared_tokens = len(set(ta.vocab) & set(tb.vocab))
    a_extends_b = prefix == tb.num_merges and ta.num_merges > tb.num_merges
    b_extends_a = prefix == ta.num_merges and tb.num_merges > ta.num_merges
    divergence = None
    if prefix < min(ta.num_merges, tb.num_merges):
        divergence = {"index": prefix, "a": [ta.display(x) for x in ta.merges[prefix]],
                      "b": [tb.display(x) for x in tb.merges[prefix]]}
    if ta.merges == tb.merges:
        summary = "identical merge lists"
    elif a_extends_b:
        summary = f"A extends B: A keeps all {tb.num_merges} merges of B and appends {ta.num_merges - prefix}"
    elif b_extends_a:
        summary = f"B extends A: B keeps all {ta.num_merges} merges of A and appends {tb.num_merges - prefix}"
    elif prefix:
        summary = f"shared first {prefix} merges, then diverge"
    else:
        summary = "different from the first merge"
    return TokenizerComparison(
        a_source=ta.source, b_source=tb.source, a_merges=ta.num_merges, b_merges=tb.num_merges,
        common_prefix=prefix, shared_merges=shared_merges, shared_tokens=shared_tokens,
        a_tokens=len(ta.vocab), b_tokens=len(tb.vocab), a_extends_b=a_extends_b, b_extends_a=b_extends_a,
        same_pretokenizer=ta.pretokenizer.to_dict()["steps"] == tb.pretokenizer.to_dict()["steps"],
        same_byte_level=ta.byte_level == tb.byte_level, divergence=divergence, summary=summary,
    )
