"""Scoring: naive Bayes scores of packed documents against the tables, refined where in doubt.

What it does: scores every document on the byte n-gram table, adds the word-token table's scores
only where the bytes leave doubt (top-two margin under ``TOKEN_GATE``: about 10% of paragraphs, at
under 0.01 points of accuracy; benchmarks/results/scan.md), then lets the group models pick among
their groups; optionally keeps the byte scores alone (with the background column's) for the
novelty check.

What it leaves out: building the tables (``tables.py``, ``build.py``), turning scores into
probabilities (``calibration.py``) or novelty calls (``novelty.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.composition.profiles.groups import GroupModels
from forensics.composition.profiles.tables import margin_per_256, scored_lengths, top_two

TOKEN_GATE = 50.0  # nats per 256 bytes of top-two byte margin above which tokens are not scored


def score_with_tables(data: np.ndarray, starts: np.ndarray, table: np.ndarray, token_table: np.ndarray | None,
                      min_order: int, max_order: int, limit: int,
                      group_models: GroupModels | None = None, *, keep_byte_scores: bool = False,
                      background: np.ndarray | None = None) -> Any:
    """Naive Bayes scores (documents x categories): byte n-grams, plus word tokens for the documents
    the bytes leave in doubt (top-two margin under ``TOKEN_GATE`` nats per 256 bytes).

    The gate skips the token pass for about 90% of paragraphs and changes the accuracy by under
    0.01 points (benchmarks/results/scan.md): those documents are settled by their bytes. Then
    ``group_models`` pick among a group where the top two are both in it (:class:`GroupModels`).
    ``keep_byte_scores`` returns ``(scores, byte_scores)``: the byte n-grams' scores alone as well
    (what the novelty check reads), with the ``background`` column's score appended when given.
    """
    from forensics.composition import _ngrams_numba as kernels

    scores = kernels.score_documents(data, starts, table, min_order, max_order, limit)
    if keep_byte_scores:
        byte_scores = scores if background is None else np.hstack(
            [scores, kernels.score_documents(data, starts, background, min_order, max_order, limit)])
        return _refine_scores(scores.copy(), data, starts, token_table, limit, group_models), byte_scores
    return _refine_scores(scores, data, starts, token_table, limit, group_models)



def _refine_scores(scores: np.ndarray, data: np.ndarray, starts: np.ndarray, token_table: np.ndarray | None,
                   limit: int, group_models: GroupModels | None) -> np.ndarray:
    """Byte scores plus word tokens where they leave doubt, then the group models (in place)."""
    from forensics.composition import _ngrams_numba as kernels

    if token_table is None or not len(scores):
        return scores if group_models is None else group_models.refine(scores, data, starts, limit)
    if scores.shape[1] > 1:
        top2 = top_two(scores)
        doubtful = np.flatnonzero(margin_per_256(top2[:, 1], top2[:, 0], scored_lengths(starts, limit)) < TOKEN_GATE)
    else:
        doubtful = np.zeros(0, np.int64)
    if doubtful.size:
        scores[doubtful] += kernels.score_tokens(data, starts, token_table, limit, doubtful.astype(np.int64))
    return scores if group_models is None else group_models.refine(scores, data, starts, limit)

