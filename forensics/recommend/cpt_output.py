"""Writing a D-CPT recommendation: the JSON report, a long-format CSV and a PNG of the losses along r.

Leaves out: the terminal tables (``cli/_recommend_cpt.py`` prints those). The PNG needs the ``plot`` extra
(matplotlib), imported only when plotting.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

import numpy as np

from forensics.recommend._tables import write_csv
from forensics.recommend.cpt_law import PARAM_NAMES
from forensics.recommend.cpt_recommend import CptRecommendation


def cpt_report(rec: CptRecommendation, *, provenance: dict) -> dict:
    """The JSON result: the provenance block, then the recommendation as plain data.

    >>> from forensics.recommend.cpt_recommend import recommend_cpt_ratio
    >>> from forensics.recommend.cpt_table import example_runs
    >>> rec = recommend_cpt_ratio(example_runs(), n_starts=1, leave_one_out=False)
    >>> report = cpt_report(rec, provenance={"command": "recommend cpt"})
    >>> list(report)[:4], round(report["tradeoff"]["domain_ratio"], 2)
    (['provenance', 'laws', 'model_size', 'tokens'], 0.57)
    """
    return {"provenance": provenance, **dataclasses.asdict(rec)}


def cpt_csv_rows(rec: CptRecommendation, *, provenance: dict | None = None) -> list[tuple[str, str, str, str]]:
    """Long-format rows ``(section, name, domain_ratio, value)`` for the CSV output.

    >>> from forensics.recommend.cpt_recommend import recommend_cpt_ratio
    >>> from forensics.recommend.cpt_table import example_runs
    >>> rows = cpt_csv_rows(recommend_cpt_ratio(example_runs(), n_starts=1, leave_one_out=False))
    >>> rows[9], [row for row in rows if row[0] == "tradeoff"][-1]
    (('law_domain', 'ratio', '', 'domain'), ('tradeoff', 'within_tolerance', '', 'True'))
    """
    rows: list[tuple[str, str, str, str]] = []
    if provenance is not None:
        for key, value in provenance.items():
            if key == "inputs":
                rows += [("provenance", f"input:{name}", "", digest) for name, digest in value.items()]
            else:
                text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
                rows.append(("provenance", key, "", text))
    for fit in (rec.laws.domain, rec.laws.general):
        section = f"law_{fit.target}"
        rows += [(section, name, "", repr(getattr(fit.params, name))) for name in PARAM_NAMES]
        rows.append((section, "ratio", "", fit.ratio))
        for name in ("r2", "huber", "rmse", "loo_r2", "loo_huber", "loo_rmse", "n_runs", "huber_delta"):
            value = getattr(fit, name)
            rows.append((section, name, "", "" if value is None else repr(value)))
    for choice in (rec.tradeoff, rec.limited_domain, rec.budget):
        if choice is None:
            continue
        for name in ("domain_ratio", "model_size", "tokens", "domain_tokens", "general_tokens", "domain_loss",
                     "general_loss", "general_baseline", "general_increase", "within_tolerance"):
            rows.append((choice.use, name, "", repr(getattr(choice, name))))
    for point in rec.curve:
        ratio = f"{point.domain_ratio:.6g}"
        rows += [("curve", name, ratio, repr(getattr(point, name)))
                 for name in ("domain_loss", "general_loss", "general_increase")]
    rows += [("warning", str(i), "", text) for i, text in enumerate(rec.warnings)]
    return rows


def write_cpt_csv(path: str | os.PathLike, rec: CptRecommendation, *, provenance: dict | None = None) -> None:
    """Write :func:`cpt_csv_rows` atomically with a header row.

    >>> write_cpt_csv("cpt.csv", rec, provenance=prov)  # doctest: +SKIP
    """
    write_csv(path, ("section", "name", "domain_ratio", "value"), cpt_csv_rows(rec, provenance=provenance))


def plot_cpt_ratio(rec: CptRecommendation, path: str | os.PathLike) -> None:
    """PNG of the predicted domain and general loss along r at the planned N and D (needs ``plot``).

    >>> plot_cpt_ratio(rec, "cpt.png")  # doctest: +SKIP
    """
    from forensics._plots import figure as new_figure
    from forensics._plots import save_png

    ratios = np.linspace(0.01, 0.99, 197)
    domain = rec.laws.domain.predict(rec.model_size, rec.tokens, ratios)
    general = rec.laws.general.predict(rec.model_size, rec.tokens, ratios)
    figure = new_figure(figsize=(7, 4.2), purpose="plotting the D-CPT curve")
    axes = figure.subplots()
    axes.plot(ratios, domain, label="domain loss", color="tab:blue")
    axes.plot(ratios, general, label="general loss", color="tab:orange")
    lo, hi = rec.laws.domain.domain_ratio_range
    axes.axvspan(lo, hi, color="0.92", zorder=0, label="ratios of the runs")
    if rec.max_general_increase is not None and math.isfinite(rec.max_general_increase):
        limit = rec.tradeoff.general_baseline * (1.0 + rec.max_general_increase)
        axes.axhline(limit, color="tab:orange", linestyle=":",
                     label=f"general limit (+{rec.max_general_increase:.1%})")
    axes.axvline(rec.tradeoff.domain_ratio, color="black", linestyle="--",
                 label=f"recommended r = {rec.tradeoff.domain_ratio:g}")
    # The general loss explodes as the general ratio nears 0; scale the axis to the runs' ratios.
    inside = (ratios >= lo - 0.05) & (ratios <= hi + 0.05)
    shown = np.concatenate([domain[inside], general[inside]])
    margin = 0.05 * float(shown.max() - shown.min())
    axes.set_ylim(float(shown.min()) - margin, float(shown.max()) + margin)
    axes.set_xlabel("domain ratio r")
    axes.set_ylabel("predicted validation loss")
    axes.set_title(f"D-CPT Law at N = {rec.model_size:.3g}, D = {rec.tokens:.3g} tokens")
    axes.legend(fontsize=8)
    save_png(figure, path, bbox_inches="tight")
