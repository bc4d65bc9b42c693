"""The Hugging Face ``tokenizers`` adapter shared by pair counting and corpus scans.

What it does: :func:`load_pair_tokenizer` opens a ``tokenizer.json`` (or passes a tokenizer object
through), :func:`encode_texts` turns texts into uint32 id arrays (the one place that calls a tokenizer;
no special tokens are added), :func:`token_text` gives a token's text for display.

What it leaves out: other tokenizer file formats and merge lists (``forensics.bpe``), pre-tokenization,
and batching (callers choose how many texts to encode at once). ``tokenizers`` is imported only when a
path is loaded.

>>> from tokenizers import Tokenizer, models, pre_tokenizers
>>> tok = Tokenizer(models.WordLevel({"ab": 0, "c": 1}, unk_token="c"))
>>> tok.pre_tokenizer = pre_tokenizers.Whitespace()
>>> encode_texts(load_pair_tokenizer(tok), ["ab c ab", "zz"]), token_text(tok, 0)
([array([0, 1, 0], dtype=uint32), array([1], dtype=uint32)], 'ab')
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from forensics.errors import input_error


def load_pair_tokenizer(spec: Any):
    """A tokenizer object from a ``tokenizer.json`` path (HF ``tokenizers``), or ``spec`` itself.

    >>> import pathlib, tempfile
    >>> from tokenizers import Tokenizer, models
    >>> path = pathlib.Path(tempfile.mkdtemp(), "tokenizer.json")
    >>> Tokenizer(models.WordLevel({"a": 0}, unk_token="a")).save(str(path))
    >>> load_pair_tokenizer(path).get_vocab()
    {'a': 0}
    """
    if isinstance(spec, (str, os.PathLike)):
        from tokenizers import Tokenizer

        try:
            return Tokenizer.from_file(os.fspath(spec))
        except Exception as exc:
            raise input_error(spec, f"not a readable tokenizer.json ({str(exc)[:120]})",
                              "pass a Hugging Face tokenizer.json") from None
    return spec


def encode_texts(tokenizer: Any, texts: list[str]) -> list[np.ndarray]:
    """Token ids (uint32 arrays) of each text: the one place that calls the tokenizer.

    Accepts HF ``tokenizers.Tokenizer`` (no special tokens added) or anything whose ``encode_batch``
    returns id lists.

    >>> class Chars:  # any object with encode_batch will do
    ...     def encode_batch(self, texts):
    ...         return [[ord(c) for c in t] for t in texts]
    >>> encode_texts(Chars(), ["hi", ""])
    [array([104, 105], dtype=uint32), array([], dtype=uint32)]
    """
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
    for method in ("id_to_token", "decode"):
        fn = getattr(tokenizer, method, None)
        if fn is not None:
            try:
                return fn(token) if method == "id_to_token" else fn([token])
            except Exception:
                continue
    return None
