"""Controlled experiments: build training text of a known mixture and train a reference BPE on it.

Used by the accuracy harness (`benchmarks/controlled.py`), `make demo` and the tests: the truth is the
actual byte share of each category in the text the tokenizer was trained on.

>>> from forensics.corpus.categories import load_categories
>>> langs = load_categories("languages", categories=["en", "de"])
>>> texts, truth = mixture_text({c.name: c.texts() for c in langs}, np.array([0.7, 0.3]), budget=1e6)
>>> truth.round(2)
array([0.7, 0.3])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np


def take_documents(documents: Iterable[str], limit_bytes: float) -> tuple[list[str], int]:
    """Documents from the start of ``documents`` until ``limit_bytes`` of UTF-8 are reached.

    >>> take_documents(["ab", "cd", "ef"], 3)
    (['ab', 'cd'], 4)
    """
    taken, size = [], 0
    for doc in documents:
        if size >= limit_bytes:
            break
        taken.append(doc)
        size += len(doc.encode("utf-8"))
    return taken, size


def mixture_text(sources: Mapping[str, Iterable[str]] | Mapping[str, list[str]], weights: np.ndarray, *,
                 budget: float) -> tuple[dict[str, list[str]], np.ndarray]:
    """Documents of each category in proportion ``weights`` of ``budget`` bytes, and the true byte shares.

    The budget shrinks when a category has too little text for its share, so the proportions hold.

    >>> parts, truth = mixture_text({"a": ["x" * 10] * 10, "b": ["y" * 10] * 10}, np.array([0.5, 0.5]), budget=100)
    >>> truth.tolist()
    [0.5, 0.5]
    """
    materialised = {name: list(docs) for name, docs in sources.items()}
    available = {name: sum(len(d.encode("utf-8")) for d in docs) for name, docs in materialised.items()}
    budget = min(budget, min(available[n] / max(w, 1e-12) for n, w in zip(materialised, weights)))
    parts, sizes = {}, []
    for (name, docs), weight in zip(materialised.items(), weights):
        parts[name], size = take_documents(docs, weight * budget)
        sizes.append(size)
    return parts, np.array(sizes, dtype=float) / max(sum(sizes), 1)


def train_reference_bpe(texts: Iterable[str], merges: int, path: str | os.PathLike) -> None:
    """Train a byte-level BPE (GPT-2 style) with HF `tokenizers` and save it as tokenizer.json.

    >>> train_reference_bpe(["some text"], 10, "/tmp/tok.json")
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=256 + merges, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    tok.save(str(path))
