"""Mixture recommendations: turn measurements and past training runs into mixture weights.

Four ways in, one module each: :mod:`~forensics.recommend.heuristics` (from the tokens available per
category: proportional, temperature, UniMax with epoch caps), :mod:`~forensics.recommend.match` (weights
over sources whose measured composition comes closest to a target mixture; both take ``forensics scan`` outputs
per source through :mod:`~forensics.recommend.sources`), :mod:`~forensics.recommend.runs` (learn metric ~
mixture from a table of past runs, RegMix-style, with the models of :mod:`~forensics.recommend.run_models` chosen
on the region-shift folds of :mod:`~forensics.recommend.validation`, and search the capped simplex; intervals in
:mod:`~forensics.recommend.intervals`, the distance from the runs in :mod:`~forensics.recommend.distance`; also
the next runs to make) and
:mod:`~forensics.recommend.cpt` (the D-CPT Law for a continual pre-training domain ratio: the runs table
in ``cpt_table``, the law's fit in ``cpt_law``, the ratio in ``cpt_recommend``, reports and charts in
``cpt_output``); :mod:`~forensics.recommend.parity` proposes a tokenizer training mixture that evens out
tokens per byte across languages. Tables of runs and ``{name: number}`` files are read in one place
(:mod:`~forensics.recommend._tables`).
"""
