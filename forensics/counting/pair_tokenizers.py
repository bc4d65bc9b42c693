"""Tokenizers for pair counting and corpus scans: every tokenizer file the project reads, as real token ids.

What it does: :func:`load_pair_tokenizer` opens a tokenizer file (or passes a tokenizer object through).
A Hugging Face ``tokenizer.json`` goes through HF ``tokenizers`` (fast); every other format that
:func:`forensics.load_tokenizer` reads (tiktoken rank files, GPT-2 merges.txt + vocab.json, SentencePiece
models, tekken, tiktoken JSON; gzip/zstd; a directory holding one) goes through the project's own exact
BPE model, wrapped in :class:`ModelTokenizer`. Either way the ids are the tokenizer's own ids.
:func:`encode_texts` turns texts into uint32 id arrays (the one place that calls a tokenizer; no special
tokens are added), :func:`token_text` gives a token's text for display (byte-level tokens in GPT-2's
spelling, ``Ġthe``, as HF shows them).

Measured on the UDHR fixture (68 KB in 15 languages, each distinct word encoded once; 2 busy cores): HF
``tokenizers`` with GPT-2's tokenizer.json 1.4 MB/s; the model in pure Python 0.3 MB/s with GPT-2's
merges.txt or r50k, 0.17 MB/s with cl100k or o200k, 1-2 MB/s with the SentencePiece models.

What it leaves out: pre-tokenization rules of its own, and batching (callers choose how many texts to
encode at once). ``tokenizers`` is imported only when a file is loaded.

>>> from tokenizers import Tokenizer, models, pre_tokenizers
>>> tok = Tokenizer(models.WordLevel({"ab": 0, "c": 1}, unk_token="c"))
>>> tok.pre_tokenizer = pre_tokenizers.Whitespace()
>>> encode_texts(load_pair_tokenizer(tok), ["ab c ab", "zz"]), token_text(tok, 0)
([array([0, 1, 0], dtype=uint32), array([1], dtype=uint32)], 'ab')
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from forensics.bpe.model import Tokenizer as BpeModel

METASPACE = "\u2581"  # ▁, SentencePiece's mark of a space
# before a ▁ that follows another character: where SentencePiece's tokens never reach across
_METASPACE_WORDS = re.compile(f"(?<=[^{METASPACE}])(?={METASPACE})")
_WORD_CACHE_SIZE = 500_000  # distinct words whose ids are kept (as in forensics.bpe.model)


def load_pair_tokenizer(spec: Any, *, pretokenizer: Any = None):
    """A tokenizer for :func:`encode_texts` from a tokenizer file (any supported format), or ``spec`` itself.

    A file whose content HF ``tokenizers`` reads (a tokenizer.json, compressed or not) gives an HF
    ``Tokenizer``; any other file, or any file when ``pretokenizer`` (a preset name, regex or
    :class:`~forensics.PreTokenizer`, as in :func:`forensics.load_tokenizer`) replaces the file's rules,
    gives a :class:`ModelTokenizer`. A :class:`forensics.Tokenizer` object is wrapped; other objects
    pass through.

    >>> import pathlib, tempfile
    >>> from tokenizers import Tokenizer, models
    >>> path = pathlib.Path(tempfile.mkdtemp(), "tokenizer.json")
    >>> Tokenizer(models.WordLevel({"a": 0}, unk_token="a")).save(str(path))
    >>> load_pair_tokenizer(path).get_vocab()
    {'a': 0}
    >>> load_pair_tokenizer("fixtures/tokenizers/tiktoken/r50k_base.tiktoken.gz").encode_batch(["Hello world"])
    [[15496, 995]]
    """
    from forensics.bpe.model import Tokenizer as BpeModel

    if isinstance(spec, BpeModel):
        return ModelTokenizer(spec)
    if not isinstance(spec, (str, os.PathLike)):
        return spec
    from forensics.bpe.formats import load_tokenizer, read_file_bytes

    if pretokenizer is None:
        data = read_file_bytes(spec)  # a directory's tokenizer file, decompressed; missing or huge files refused
        if data.lstrip()[:1] == b"{":
            from tokenizers import Tokenizer

            try:
                return Tokenizer.from_str(data.decode("utf-8"))
            except Exception:  # tekken, tiktoken JSON, a corrupt file: the reader below says which
                pass
    return ModelTokenizer(load_tokenizer(spec, pretokenizer=pretokenizer))


class ModelTokenizer:
    """The project's BPE model (:func:`forensics.load_tokenizer`) behind the calls pair counting makes.

    ``encode`` gives the ids of :meth:`forensics.Tokenizer.encode`, faster for SentencePiece-style
    models: their pre-tokenizer leaves a whole text as one word, and BPE over one long word is slow, so a
    word is cut before each ``▁`` that follows another character wherever no token of the vocabulary
    holds such a ``▁`` (then no merge can reach across the cut and the ids are the same; SentencePiece's
    default ``split_by_whitespace`` models are like that).

    >>> import forensics
    >>> tok = ModelTokenizer(forensics.load_tokenizer("fixtures/tokenizers/sentencepiece/botchan_en_bpe_1000.model"))
    >>> ids = tok.encode("I was a man."); [tok.id_to_token(i) for i in ids]
    ['▁I', '▁was', '▁a', '▁man', '.']
    """

    def __init__(self, model: BpeModel) -> None:
        self.model = model
        self._cache: dict[str, list[int]] = {}

    def __repr__(self) -> str:
        return f"ModelTokenizer({self.model.format} {self.model.source})"

    @cached_property
    def _cuts_words(self) -> bool:
        """Whether words may be cut before a ``▁`` that follows another character (see the class)."""
        model = self.model
        if model.byte_level or model.ignore_merges or METASPACE.encode() not in model.vocab:
            return False
        inside = re.compile(f"[^{METASPACE}]{METASPACE}")
        return not any(inside.search(token.decode("utf-8", "surrogatepass")) for token in model.vocab)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: the model's own, no special tokens."""
        model, cache = self.model, self._cache
        out: list[int] = []
        for piece in model.pretokenizer.split(text):
            for word in _METASPACE_WORDS.split(piece) if self._cuts_words else (piece,):
                ids = cache.get(word)
                if ids is None:
                    ids = model.encode_word(word)
                    if len(cache) < _WORD_CACHE_SIZE:
                        cache[word] = ids
                out.extend(ids)
        return out

    def encode_batch(self, texts: list[str], add_special_tokens: bool = False) -> list[list[int]]:
        """Ids of several texts (the model never adds special tokens; the flag is HF's signature)."""
        return [self.encode(text) for text in texts]

    @cached_property
    def _names(self) -> dict[int, str]:
        """Display names of the ids outside the merge vocabulary: special tokens, byte fallback, unknown."""
        model = self.model
        names = {i: f"<0x{byte:02X}>" for byte, i in model.byte_fallback.items()}
        if model.unk_id is not None and model.unk_id not in model.id_to_token:
            names[model.unk_id] = "<unk>"
        return names | {i: name for name, i in model.special_tokens.items()}

    def id_to_token(self, token: int) -> str | None:
        """A token's text as the tokenizer spells it (GPT-2's spelling for byte-level tokens), or None.

        >>> import forensics
        >>> tok = ModelTokenizer(forensics.load_tokenizer("fixtures/tokenizers/tiktoken/r50k_base.tiktoken.gz"))
        >>> tok.id_to_token(262), tok.id_to_token(50256), tok.id_to_token(10**9)
        ('Ġthe', '<|endoftext|>', None)
        """
        if token in self._names:
            return self._names[token]
        raw = self.model.id_to_token.get(token)
        if raw is None:
            return None
        if self.model.byte_level:
            from forensics.bpe.bytelevel import encode_token

            return encode_token(raw)
        return self.model.display(raw)


def encode_texts(tokenizer: Any, texts: list[str]) -> list[np.ndarray]:
    """Token ids (uint32 arrays) of each text: the one place that calls the tokenizer.

    Accepts HF ``tokenizers.Tokenizer`` (no special tokens added), a :class:`forensics.Tokenizer`, or
    anything whose ``encode_batch`` returns id lists.

    >>> class Chars:  # any object with encode_batch will do
    ...     def encode_batch(self, texts):
    ...         return [[ord(c) for c in t] for t in texts]
    >>> encode_texts(Chars(), ["hi", ""])
    [array([104, 105], dtype=uint32), array([], dtype=uint32)]
    """
    tokenizer = _adapted(tokenizer)
    try:
        encoded = tokenizer.encode_batch(texts, add_special_tokens=False)
    except TypeError:
        encoded = tokenizer.encode_batch(texts)
    return [np.asarray(getattr(e, "ids", e), dtype=np.uint32) for e in encoded]


def token_text(tokenizer: Any, token: int) -> str | None:
    """A token's text for display, or None when the tokenizer cannot say.

    >>> token_text(object(), 5) is None
    True
    """
    tokenizer = _adapted(tokenizer)
    for method in ("id_to_token", "decode"):
        fn = getattr(tokenizer, method, None)
        if fn is not None:
            try:
                return fn(token) if method == "id_to_token" else fn([token])
            except Exception:
                continue
    return None


def _adapted(tokenizer: Any) -> Any:
    """A :class:`forensics.Tokenizer` wrapped in :class:`ModelTokenizer`; anything else as it is."""
    from forensics.bpe.model import Tokenizer as BpeModel

    return ModelTokenizer(tokenizer) if isinstance(tokenizer, BpeModel) else tokenizer
