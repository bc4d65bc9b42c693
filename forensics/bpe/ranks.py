"""Recover a merge list from token ranks (tiktoken, claude.json, tekken, SentencePiece, llama3-style JSON).

Rank-only formats list tokens in the order BPE created them. The merge that created the token of rank r
is found by running BPE on its base symbols using only tokens of lower rank: the last two parts left are
the pair BPE merged. Tokens that cannot be reached this way are reported, not invented.

What it leaves out: choosing the base alphabet (the caller says which tokens are base symbols).

>>> merges_from_ranks([b"a", b"b", b"ab", b"abb"], byte_level=True).merges
[(b'a', b'b'), (b'ab', b'b')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


@dataclass
class RecoveredMerges:
    """Merges recovered from ranks, plus the tokens no merge can make."""

    merges: list[tuple[bytes, bytes]] = field(default_factory=list)
    unreachable: list[bytes] = field(default_factory=list)


def _split_symbols(token: bytes, byte_level: bool) -> list[bytes]:
    if byte_level:
        return [token[i:i + 1] for i in range(len(token))]
    return [ch.encode("utf-8", "surrogatepass") for ch in token.decode("utf-8", "surrogatepass")]


def bpe_parts(token: bytes, ranks: dict[bytes, int], max_rank: int, *, byte_level: bool) -> list[bytes]:
    """Run BPE on ``token``'s symbols with merges limited to tokens ranked below ``max_rank``.

    >>> bpe_parts(b"abc", {b"ab": 0, b"bc": 1, b"abc": 2}, 2, byte_level=True)
    [b'ab', b'c']
    """
    parts = _split_symbols(token, byte_level)
    while len(parts) > 2:
        best_rank = max_rank
        best_pos = -1
        for pos in range(len(parts) - 1):
            rank = ranks.get(parts[pos] + parts[pos + 1])
            if rank is not None and rank < best_rank:
                best_rank, best_pos = rank, pos
        if best_pos < 0:
            break
        parts = parts[:best_pos] + [parts[best_pos] + parts[best_pos + 1]] + parts[best_pos + 2:]
    return parts


def merges_from_ranks(ranked_tokens: Iterable[bytes], *, byte_level: bool,
                      base: set[bytes] | None = None) -> RecoveredMerges:
    """Recover merges from tokens listed in rank order.

    ``base`` is the set of base symbols (default: every token that is a single symbol). Base symbols
    never need a merge, wherever they sit in the ranking.

    >>> merges_from_ranks([b"x", b"y", b"xy"], byte_level=True).merges
    [(b'x', b'y')]
    """
    tokens = list(ranked_tokens)
    ranks = {token: rank for rank, token in enumerate(tokens)}
    result = RecoveredMerges()
    for rank, token in enumerate(tokens):
        symbols = _split_symbols(token, byte_level)
        if len(symbols) <= 1 or (base is not None and token in base):
            continue
        if len(symbols) == 2:
            parts = symbols
        else:
            parts = bpe_parts(token, ranks, rank, byte_level=byte_level)
        if len(parts) != 2 or parts[0] not in ranks or parts[1] not in ranks:
            result.unreachable.append(token)
            continue
        result.merges.append((parts[0], parts[1]))
    return result
