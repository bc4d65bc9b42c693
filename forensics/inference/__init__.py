"""Mixture inference: which categories, in what shares, explain a tokenizer's merge order.

Data flows: the category traces (``forensics.counting``) -> :mod:`~forensics.inference.program` (the
linear program of Hayase et al. 2024: at every merge step, the pair merged must have been at least as
frequent as every pair still standing, under the mixture, with slack) -> :mod:`~forensics.inference.solve`
(row generation over the millions of (step, pair) constraints; LP solvers in
:mod:`~forensics.inference.lp_solvers`) -> :mod:`~forensics.inference.estimators` (the exact LP, or the
default refit without categories under a minimum share) -> :mod:`~forensics.inference.infer`
(:func:`~forensics.inference.infer.infer_mixture`: shares by bytes, bootstrap intervals, and the
evidence and warnings of :mod:`~forensics.inference.evidence` that say when the answer is weak).

Beside it: the paper's simpler baselines (:mod:`~forensics.inference.baselines`) and controlled
experiments with a known truth (:mod:`~forensics.inference.experiments`).
"""
