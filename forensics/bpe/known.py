"""Well-known encodings recognised by content hash, so rank-only files get their published split rules.

The hash is the sha256 of the canonical tiktoken serialisation of the ranks (``base64(token) rank`` per
line), which is the file's own hash for ``.tiktoken`` files and is the same however the ranks were stored.

>>> KNOWN_ENCODINGS["306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"].name
'r50k_base'
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class KnownEncoding:
    name: str
    preset: str
    special_tokens: dict[str, int] = field(default_factory=dict)


_EOT = "<|endoftext|>"
KNOWN_ENCODINGS: dict[str, KnownEncoding] = {
    "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930": KnownEncoding(
        "r50k_base", "r50k", {_EOT: 50256}),
    "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069": KnownEncoding(
        "p50k_base", "p50k", {_EOT: 50256}),
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7": KnownEncoding(
        "cl100k_base", "cl100k", {_EOT: 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                                  "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}),
    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d": KnownEncoding(
        "o200k_base", "o200k", {_EOT: 199999, "<|endofprompt|>": 200018}),
}


def canonical_rank_hash(ranked: dict[bytes, int]) -> str:
    """sha256 of the ranks written as a canonical tiktoken file.

    >>> canonical_rank_hash({b"a": 0})[:12]
    '5cf7e7c1be6c'
    """
    digest = hashlib.sha256()
    for token, rank in sorted(ranked.items(), key=lambda item: item[1]):
        digest.update(base64.b64encode(token) + b" " + str(rank).encode() + b"\n")
    return digest.hexdigest()


def recognise(ranked: dict[bytes, int]) -> KnownEncoding | None:
    """The well-known encoding these ranks are, if any.

    >>> recognise({b"a": 0}) is None
    True
    """
    return KNOWN_ENCODINGS.get(canonical_rank_hash(ranked))
