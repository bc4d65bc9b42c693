"""Simple baselines from Hayase et al. 2024, for comparison with the linear program.

Token classification: each merge's token goes to the category where it was most frequent (normalised
by the category's pair count) when it was made; a category's share is the share of tokens it gets.

>>> token_classification(program)  # doctest: +SKIP
array([0.4, 0.1, ...])
"""

from __future__ import annotations

import numpy as np

from forensics.inference.program import MixtureProgram


def token_classification(program: MixtureProgram) -> np.ndarray:
    """Share of the window's (seen) merges whose token is most frequent in each category.

    >>> token_classification(program).sum()  # doctest: +SKIP
    1.0
    """
    merged = program.merged[program.active]
    winners = merged.argmax(axis=1)
    shares = np.bincount(winners, minlength=program.num_categories).astype(np.float64)
    return shares / max(shares.sum(), 1.0)
