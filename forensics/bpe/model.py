"""The one tokenizer model of the library: an ordered merge list, its vocabulary and its pre-tokenizer.

Every format reader produces a :class:`Tokenizer`. Tokens are raw byte strings: for byte-level
tokenizers the bytes BPE works on; for character-level (SentencePiece-style) tokenizers the UTF-8 bytes
of the piece's characters (including the ``▁`` metaspace), with byte-fallback tokens kept apart. Merge
``i`` joins ``merges[i][0]`` and ``merges[i][1]`` into a token of the vocabulary; merge order is
priority order, which is what mixture inference reads.

What it leaves out: decoding, special-token parsing inside text, model-specific post-processing.

>>> from forensics import load_tokenizer
>>> tok = load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
>>> tok.num_merges, tok.vocab_size, tok.byte_level
(50000, 50257, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

import numpy as np

from forensics.bpe.bytelevel import encode_token
from forensics.bpe.pretokenize import PreTokenizer


@dataclass
class Tokenizer:
    """A BPE tokenizer as data: merges in priority order, vocabulary ids, pre-tokenizer, specials.

    >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
    >>> tok.merges[0]
    (b' ', b't')
    """

    format: str
    source: str
    sha256: str
    vocab: dict[bytes, int]
    merges: list[tuple[bytes, bytes]]
    pretokenizer: PreTokenizer
    special_tokens: dict[str, int] = field(default_factory=dict)
    byte_fallback: dict[int, int] = field(default_factory=dict)
    unk_id: int | None = None
    listed_merges: int = 0
    redundant_merges_removed: int = 0
    unreachable_tokens: list[bytes] = field(default_factory=list)
    recognised_encoding: str | None = None
    ignore_merges: bool = False
    pretokenizer_source: str = "file"
    notes: list[str] = field(default_factory=list)

    # ----- derived facts -----------------------------------------------------------------------
    @property
    def byte_level(self) -> bool:
        return self.pretokenizer.byte_level

    @property
    def training_pretokenizer(self) -> PreTokenizer:
        """The word splitting the tokenizer's trainer saw.

        Equal to :attr:`pretokenizer`, except for character-level tokenizers that encode whole texts
        (SentencePiece): their trainer split words before each ``▁``, so merge replay does too.
        """
        rules = self.pretokenizer
        if rules.byte_level or any(kind == "metaspace" for kind, _ in rules.steps):
            return rules
        from dataclasses import replace

        return replace(rules, steps=rules.steps + (("metaspace", True),), name=rules.name + "+words")

    @property
    def vocab_size(self) -> int:
        ids = set(self.vocab.values()) | set(self.special_tokens.values()) | set(self.byte_fallback.values())
        if self.unk_id is not None:
            ids.add(self.unk_id)
        return len(ids)

    @property
    def num_merges(self) -> int:
        return len(self.merges)

    def symbols(self, token: bytes) -> list[bytes]:
        """The base symbols of a token: bytes (byte-level) or UTF-8 characters (character-level).

        >>> Tokenizer.symbols_of(b"ab", byte_level=True)
        [b'a', b'b']
        """
        return Tokenizer.symbols_of(token, byte_level=self.byte_level)

    @staticmethod
    def symbols_of(token: bytes, *, byte_level: bool) -> list[bytes]:
        if byte_level:
            return [bytes([b]) for b in token]
        return [ch.encode("utf-8") for ch in token.decode("utf-8", "surrogatepass")]

    @cached_property
    def merge_ranks(self) -> dict[tuple[int, int], tuple[int, int]]:
        """(left id, right id) -> (priority, new id).

        >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
        >>> tok.merge_ranks[(tok.vocab[b" "], tok.vocab[b"t"])]
        (0, 256)
        """
        vocab = self.vocab
        return {(vocab[a], vocab[b]): (rank, vocab[a + b]) for rank, (a, b) in enumerate(self.merges)}

    def merge_table(self) -> np.ndarray:
        """Merges as an int64 array of shape (T, 3): left id, right id, new id.

        >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
        >>> tok.merge_table().shape
        (50000, 3)
        """
        vocab = self.vocab
        table = np.empty((len(self.merges), 3), dtype=np.int64)
        for i, (a, b) in enumerate(self.merges):
            table[i] = (vocab[a], vocab[b], vocab[a + b])
        return table

    @cached_property
    def id_to_token(self) -> dict[int, bytes]:
        return {i: t for t, i in self.vocab.items()}

    def token_bytes(self, token_id: int) -> bytes:
        """Raw bytes a token id stands for (byte-fallback ids give their byte).

        >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
        >>> tok.token_bytes(tok.vocab[b"the"])
        b'the'
        """
        if token_id in self.id_to_token:
            return self.id_to_token[token_id]
        for byte, fallback_id in self.byte_fallback.items():
            if fallback_id == token_id:
                return bytes([byte])
        raise KeyError(token_id)

    def display(self, token: bytes) -> str:
        """Human-readable spelling: byte-level tokens in GPT-2's spelling when not valid UTF-8.

        >>> Tokenizer.display_token(b"\\xff", byte_level=True)
        'ÿ'
        """
        return Tokenizer.display_token(token, byte_level=self.byte_level)

    @staticmethod
    def display_token(token: bytes, *, byte_level: bool) -> str:
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            return encode_token(token) if byte_level else repr(token)
        return text

    # ----- encoding (the reference path; used for the exactness proof) ------------------------
    def initial_ids(self, word: str) -> list[int]:
        """Ids of a word's base symbols before any merge.

        >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
        >>> tok.initial_ids("hi")
        [71, 72]
        """
        vocab = self.vocab
        if self.byte_level:
            return [vocab[bytes([b])] for b in word.encode("utf-8", "surrogatepass")]
        ids: list[int] = []
        for ch in word:
            key = ch.encode("utf-8", "surrogatepass")
            token_id = vocab.get(key)
            if token_id is not None:
                ids.append(token_id)
            elif self.byte_fallback:
                ids.extend(self.byte_fallback[b] for b in key)
            elif self.unk_id is not None:
                ids.append(self.unk_id)
            else:
                raise KeyError(f"character {ch!r} is not in the vocabulary and the tokenizer has no fallback")
        return ids

    def encode_word(self, word: str) -> list[int]:
        """BPE on one pre-tokenized word: repeatedly apply the highest-priority merge present.

        >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
        >>> tok.encode_word(" hello")
        [23748]
        """
        if self.ignore_merges:
            whole = self.vocab.get(word.encode("utf-8", "surrogatepass"))
            if whole is not None:
                return [whole]
        ids = self.initial_ids(word)
        ranks = self.merge_ranks
        while len(ids) > 1:
            best = None
            best_pos = -1
            for pos in range(len(ids) - 1):
                found = ranks.get((ids[pos], ids[pos + 1]))
                if found is not None and (best is None or found[0] < best[0]):
                    best, best_pos = found, pos
            if best is None:
                break
            new_id = best[1]
            merged: list[int] = []
            pos = 0
            while pos < len(ids):
                if pos < len(ids) - 1 and ids[pos] == ids[best_pos] and ids[pos + 1] == ids[best_pos + 1]:
                    merged.append(new_id)
                    pos += 2
                else:
                    merged.append(ids[pos])
                    pos += 1
            ids = merged
        if self.unk_id is not None and not self.byte_fallback and not self.byte_level:
            # SentencePiece emits one unknown token for a run of unknown characters
            ids = [t for i, t in enumerate(ids) if not (t == self.unk_id and i and ids[i - 1] == self.unk_id)]
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens are recognised inside it).

        >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
        >>> tok.encode("Hello world")
        [15496, 995]
        """
        cache = self._word_cache
        out: list[int] = []
        for word in self.pretokenizer.split(text):
            ids = cache.get(word)
            if ids is None:
                ids = self.encode_word(word)
                if len(cache) < 500_000:
                    cache[word] = ids
            out.extend(ids)
        return out

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        """Encode several texts.

        >>> import forensics; tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz")
        >>> tok.encode_batch(["a", "b"])
        [[64], [65]]
        """
        return [self.encode(text) for text in texts]

    @cached_property
    def _word_cache(self) -> dict[str, list[int]]:
        return {}
