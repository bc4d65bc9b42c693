"""Simple baselines from Hayase et al. 2024, for comparison with the linear program.

Token classification: each merge's token goes to the category where it was most frequent (normalised
by the category's pair count) when it was made; a category's share is the share of tokens it gets.

>>> from forensics.counting.categories import count_categories
>>> from forensics.inference.program import build_program
>>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en")}
>>> counts = count_categories("fixtures/tokenizers/gpt2/vocab.bpe.gz", langs, merges=300, workers=1)
>>> token_classification(build_program(list(counts.traces.values()))).round(2)
array([0.27, 0.73])
"""

from __future__ import annotations

import numpy as np

from forensics.inference.program import MixtureProgram


def token_classification(program: MixtureProgram) -> np.ndarray:
    """Share of the window's (seen) merges whose token is most frequent in each category.

    >>> from forensics.counting.categories import count_categories
    >>> from forensics.inference.program import build_program
    >>> langs = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in ("de", "en")}
    >>> counts = count_categories("fixtures/tokenizers/gpt2/vocab.bpe.gz", langs, merges=300, workers=1)
    >>> float(token_classification(build_program(list(counts.traces.values()))).sum())
    1.0
    """
    merged = program.merged[program.active]
    winners = merged.argmax(axis=1)
    shares = np.bincount(winners, minlength=program.num_categories).astype(np.float64)
    return shares / max(shares.sum(), 1.0)
