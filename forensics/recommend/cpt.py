"""Continual pre-training ratio: fit the D-CPT Law to a table of runs and recommend the domain ratio.

The D-CPT Law (Que et al. 2024, arXiv 2406.01375) predicts a validation loss of a continual pre-training run
from the model size ``N``, the training tokens ``D`` and a mixture ratio ``r``::

    L(N, D, r) = E + A / N**alpha + B * r**eta / D**beta + C / (r + epsilon)**gamma

One law is fitted to the domain loss with ``r`` the domain ratio, another to the general loss with ``r`` the
general ratio ``1 - r_domain``; the recommended domain ratio minimises the predicted domain loss while the
general loss stays within ``max_general_increase`` of a baseline, for a planned run, for limited domain data
and for a compute budget.

This module is the public face; the work is done in four modules, each importing only the ones before it:

- :mod:`~forensics.recommend.cpt_table`: the runs table (read through :mod:`~forensics.recommend._tables`).
- :mod:`~forensics.recommend.cpt_law`: the law, its Huber fit in log space and leave-one-out scores.
- :mod:`~forensics.recommend.cpt_recommend`: the three recommendations and the table along r.
- :mod:`~forensics.recommend.cpt_output`: the JSON report, the long-format CSV and the PNG.

Left out: the Cross-Domain D-CPT Law (the domain-specific learnable coefficient K), multiple domains at once,
learning-rate schedules and repeated (multi-epoch) domain data. Importing it pulls in neither scipy nor
matplotlib.

>>> runs = example_runs()  # 9 runs of one model at domain ratios 0.1 .. 0.9
>>> laws = fit_dcpt_law(runs, n_starts=1, leave_one_out=False)
>>> round(laws.domain.r2, 4), laws.domain.fixed  # one N and one D: the size and token terms are fixed
(1.0, ['A', 'alpha', 'beta'])
>>> round(recommend_cpt_ratio(laws).tradeoff.domain_ratio, 2)  # the general loss limit binds
0.57
"""

from __future__ import annotations

from forensics.recommend import cpt_law as _law
from forensics.recommend._tables import parse_count
from forensics.recommend.cpt_law import PARAM_NAMES, CptLaws, DcptFit, DcptParams, fit_dcpt_law, fit_law
from forensics.recommend.cpt_output import cpt_csv_rows, cpt_report, plot_cpt_ratio, write_cpt_csv
from forensics.recommend.cpt_recommend import CptChoice, CptRecommendation, RatioPoint, recommend_cpt_ratio
from forensics.recommend.cpt_table import DEFAULT_COLUMNS, CptRuns, cpt_runs, example_runs, read_cpt_runs

_Problem = _law._Problem  # the fit's objective, which tests check against finite differences

__all__ = [
    "cpt_csv_rows",
    "cpt_report",
    "cpt_runs",
    "CptChoice",
    "CptLaws",
    "CptRecommendation",
    "CptRuns",
    "DcptFit",
    "DcptParams",
    "DEFAULT_COLUMNS",
    "example_runs",
    "fit_dcpt_law",
    "fit_law",
    "PARAM_NAMES",
    "parse_count",
    "plot_cpt_ratio",
    "RatioPoint",
    "read_cpt_runs",
    "recommend_cpt_ratio",
    "write_cpt_csv",
]
