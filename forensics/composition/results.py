"""A scan's result: counts, shares, the pair-count mixture estimate and provenance, from partials.

What it does: :func:`merge_scan` adds up every finished unit's partial of a scan directory (from one
run, or from the ranks of an array job) into a :class:`ScanResult`, which fits the pair-count mixture
estimate and presents shares, rows, intervals and the JSON summary.

What it leaves out: scanning (``scan.py``), storing partials (``partials.py``), report files (``report.py``).

For the output directory of :mod:`forensics.composition.scan`'s example:

>>> result = merge_scan("/tmp/scan")  # doctest: +SKIP
>>> round(result.shares["bytes"]["de"], 3)  # doctest: +SKIP
0.011
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensics.composition.classify import UNKNOWN
from forensics.composition.partials import Partial, read_partial, read_plan
from forensics.corpus.readers import ReadStats
from forensics.errors import ForensicsError


def _shares(values: np.ndarray, names: list[str]) -> dict[str, float]:
    total = values.sum()
    return {name: (float(v) / float(total) if total else 0.0) for name, v in zip(names, values)}


# A category whose held-back pieces (200-1000 bytes) are right less often than this gets a note in the
# CLI: with the bundled samples that is mostly code (benchmarks/results/scan.md: 75% vs 90% with 8x text).
WEAK_ACCURACY = 0.9
ESTIMATE_Z = 1.645  # the estimate's intervals are 90% two-sided: their sd is calibrated to cover 90% of held-back errors


@dataclass
class ScanResult:
    """A scan's counts, shares, pair-count mixture estimate and provenance."""

    names: list[str]
    groups: list[str]
    partial: Partial
    estimate: dict[str, float]
    estimate_method: str
    plan: dict[str, Any]
    work_dir: Path | None = None
    missing_units: list[int] = field(default_factory=list)
    profile_info: dict[str, Any] = field(default_factory=dict)
    estimate_sd: dict[str, float] | None = None  # calibrated standard errors of the estimate (NNLS only)

    @classmethod
    def from_partial(cls, partial: Partial, *, plan: dict[str, Any], work_dir: Path | None,
                     missing_units: list[int]) -> "ScanResult":
        from forensics.composition.mixture import DIRECTION_SCALE
        from forensics.composition.profiles import Profiles

        profiles = Profiles.load(plan["profiles_path"])
        method = plan.get("estimate_method", "nnls")
        weights, sd = profiles.estimate(partial.pair_hist, method=method, sd=True)
        info = {"fingerprint": profiles.fingerprint, "orders": [profiles.min_order, profiles.max_order],
                "bits": profiles.bits, "pair_weight_floor": profiles.info.get("pair_weight_floor"),
                "pair_directions": 0 if profiles.pair_components is None else int(profiles.pair_components.shape[1]),
                "pair_direction_scale": DIRECTION_SCALE if method == "nnls" else None,
                "train_bytes": dict(zip(profiles.names, map(int, profiles.train_bytes))),
                "held_out_accuracy": profiles.info.get("held_out_accuracy", {}),
                "refined_groups": profiles.info.get("refined_groups", []),
                "estimate_sd_scale": profiles.info.get("estimate_sd_scale"),
                "estimate_sd_validation": profiles.info.get("estimate_sd_validation")}
        return cls(list(profiles.names), list(profiles.groups), partial,
                   dict(zip(profiles.names, map(float, weights))), method, plan, work_dir, missing_units, info,
                   None if sd is None else dict(zip(profiles.names, map(float, sd))))

    def estimate_half_widths(self) -> dict[str, float] | None:
        """Half the width of each category's 90% interval on the estimate (``1.645 sd``); None
        without standard errors (EM, or profiles with no held-back text)."""
        if self.estimate_sd is None:
            return None
        return {n: ESTIMATE_Z * sd for n, sd in self.estimate_sd.items()}

    def estimate_interval(self) -> dict[str, list[float]] | None:
        """The estimate's 90% intervals (``estimate +- 1.645 sd``, clipped to [0, 1]), or None."""
        half = self.estimate_half_widths()
        if half is None:
            return None
        return {n: [max(0.0, w - half[n]), min(1.0, w + half[n])] for n, w in self.estimate.items()}

    def unknown_best_guess(self) -> dict[str, float]:
        """The ``unknown`` documents' bytes by the category they looked most like, as shares of all
        bytes (largest first; categories with none left out): ambiguity between close categories
        (pt/pt-PT) reads differently from text that fits none."""
        total = float(self.partial.bytes.sum())
        pairs = [(n, float(b) / total) for n, b in zip(self.names, self.partial.unknown_best) if b and total]
        return dict(sorted(pairs, key=lambda kv: -kv[1]))

    def weak_categories(self, below: float = WEAK_ACCURACY) -> dict[str, float]:
        """Categories whose held-back training pieces of 200-1000 bytes were right less often than
        ``below``: their short documents are the least reliable (more sample text is the cure)."""
        accuracy = self.profile_info.get("held_out_accuracy", {})
        return {name: value for name, value in sorted(accuracy.items(), key=lambda kv: kv[1]) if value < below}

    @property
    def labels(self) -> list[str]:
        return self.names + [UNKNOWN]

    @property
    def shares(self) -> dict[str, dict[str, float]]:
        """Shares by ``documents``, ``bytes`` (and ``tokens`` with a tokenizer), ``unknown`` included."""
        out = {"documents": _shares(self.partial.documents, self.labels),
               "bytes": _shares(self.partial.bytes, self.labels)}
        if self.plan.get("tokenizer"):
            out["tokens"] = _shares(self.partial.tokens, self.labels)
        return out

    def comparison(self) -> dict[str, Any]:
        """Per-document byte shares (over labelled bytes) against the pair-count estimate."""
        known = self.partial.bytes[:-1]
        by_docs = _shares(known, self.names)
        l1 = sum(abs(by_docs[n] - self.estimate[n]) for n in self.names)
        return {"l1_bytes_vs_estimate": l1, "unknown_byte_share": self.shares["bytes"][UNKNOWN],
                "per_category": {n: {"documents_bytes": by_docs[n], "estimate": self.estimate[n]}
                                 for n in self.names if by_docs[n] > 0 or self.estimate[n] >= 1e-4}}

    def group_shares(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, group in zip(self.names, self.groups):
            out[group] = out.get(group, 0.0) + self.shares["bytes"][name]
        out[UNKNOWN] = self.shares["bytes"][UNKNOWN]
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One row per label with counts, shares and the estimate, largest byte share first."""
        shares = self.shares
        groups = dict(zip(self.names, self.groups)) | {UNKNOWN: ""}
        rows = []
        for i, name in enumerate(self.labels):
            row = {"category": name, "group": groups[name], "documents": int(self.partial.documents[i]),
                   "bytes": int(self.partial.bytes[i]), "document_share": shares["documents"][name],
                   "byte_share": shares["bytes"][name], "estimate": self.estimate.get(name),
                   "estimate_sd": None if self.estimate_sd is None else self.estimate_sd.get(name)}
            if "tokens" in shares:
                row["tokens"] = int(self.partial.tokens[i])
                row["token_share"] = shares["tokens"][name]
            rows.append(row)
        return sorted(rows, key=lambda r: (-r["bytes"], r["category"]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary (with provenance)."""
        from forensics._results import provenance

        part = self.partial
        seconds = self.plan.get("wall_seconds")
        record = {
            "shares": self.shares,
            "estimate": self.estimate,
            "estimate_method": self.estimate_method,
            "estimate_sd": self.estimate_sd,
            "estimate_interval": self.estimate_interval(),
            "comparison": self.comparison(),
            "groups": self.group_shares(),
            "totals": {"documents": int(part.documents.sum()), "bytes": int(part.bytes.sum()),
                       "tokens": int(part.tokens.sum()) if self.plan.get("tokenizer") else None,
                       "scored_bytes": part.scored_bytes, "pairs": int(part.pair_hist.sum())},
            "rows": self.rows(),
            "read": {"files": part.read.files, "documents": part.read.documents, "bytes": part.read.bytes,
                     "skipped_lines": part.read.skipped_lines, "skipped_files": part.read.skipped_files,
                     "invalid_utf8_sequences": part.read.invalid_utf8_sequences,
                     "binary_files": part.read.binary_files, "skipped_links": part.read.skipped_links,
                     "problems": part.read.problems[:100]},
            "units": {"total": len(self.plan["units"]), "merged": len(part.units),
                      "missing": self.missing_units},
            "threshold": self.plan["settings"]["threshold"],
            "unknown_best_guess": self.unknown_best_guess(),
            "novel": {"documents": part.novel_documents, "bytes": part.novel_bytes,
                      "byte_share": part.novel_bytes / max(int(part.bytes.sum()), 1),
                      "checked": bool(self.plan["settings"].get("novelty"))},
            "markup": {"documents": part.markup_documents, "bytes": part.markup_bytes,
                       "handling": self.plan["settings"].get("markup", "keep")},
            "profiles": self.profile_info,
            "seconds": {"wall": seconds, "worker_sum": part.seconds, "worker_cpu_sum": part.cpu_seconds},
            "peak_worker_rss_mb": round(part.peak_rss / 2**20, 1),
            "provenance": provenance(command="scan", parameters=self.plan["parameters"],
                                     inputs=dict(sorted(part.input_hashes.items()))
                                     | self.plan.get("extra_inputs", {})),
        }
        record["provenance"]["input_list"] = self.plan["shards"]
        return record


def merge_scan(work_dir: str | os.PathLike, *, allow_missing: bool = False):
    """Add up every unit's partial of a scan directory into a ScanResult.

    Raises when units are missing (naming them) unless ``allow_missing``.

    >>> result = merge_scan("/tmp/scan")  # doctest: +SKIP
    """
    plan = read_plan(work_dir)
    units = plan["units"]
    total = Partial.empty(plan["names"])
    missing = []
    for unit in units:
        part = read_partial(work_dir, unit["index"], unit["fingerprint"])
        if part is None:
            missing.append(unit["index"])
            continue
        total = total + part
    if missing and not allow_missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise ForensicsError(f"{work_dir}: {len(missing)} of {len(units)} units are not finished (units {shown}); "
                             f"run the remaining ranks (or `forensics scan` again with the same arguments) "
                             f"and merge again")
    total.read = total.read + ReadStats(**plan.get("listing", {}))  # symlinks the listing left out
    if not total.documents.sum():
        raise ForensicsError(_nothing_read(plan, total.read))
    return ScanResult.from_partial(total, plan=plan, work_dir=Path(work_dir), missing_units=missing)


def _nothing_read(plan: dict[str, Any], read: ReadStats) -> str:
    """The one-line error for a scan that read no document, with what reading saw."""
    inputs = ", ".join(plan.get("parameters", {}).get("inputs", [])) or "the inputs"
    settings = plan.get("settings", {})
    seen = (f"{read.files} files, {read.skipped_files} skipped ({read.binary_files} binary), "
            f"{read.skipped_lines} lines skipped, {read.skipped_links} symlinks out of the inputs left out"
            + (f"; first problem: {read.problems[0]}" if read.problems else ""))
    return (f"{inputs}: no documents were read ({seen}); check --format (it was {settings.get('format', 'infer')}) "
            f"and --text-key (it was {settings.get('text_key', 'text')!r})")
