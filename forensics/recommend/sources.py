"""Candidate sources measured by ``forensics scan``: each one's composition and size, read from its output.

``recommend match`` and ``recommend heuristic`` take ``--source NAME=SCAN_DIR`` (one per source). From a scan's
``summary.json`` (or, when only the partials are there, from merging them: :func:`~forensics.composition.results.
merge_scan`) a source gets:

- its composition: the byte shares per category of the per-document classification (``shares["bytes"]``),
  ``unknown`` included as a category of its own (text the scan could not place: a target has no share of it, so
  whatever a mixture takes of it shows as residual instead of being spread silently over the others);
- its size: tokens when the scan counted them (``--tokenizer``), else bytes; with tokens, its bytes per token,
  which turn byte shares (what ``forensics infer`` and the compositions measure) into token weights (what a
  budget and epoch caps count) in :func:`~forensics.recommend.match.recommend_match`.

Sizes are in tokens only when every source was scanned with the same tokenizer; otherwise all are in bytes and
a warning says why. Leaves out: the pair-count estimate of a scan (``estimate``; the per-document shares are what
the weights move) and scans split over ranks that were not merged yet (run ``forensics merge`` first).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensics.errors import ForensicsError, input_error

__all__ = ["ScanSource", "SourceSizes", "parse_source_options", "read_scan", "read_scans", "source_sizes",
           "byte_mixture"]

SUMMARY = "summary.json"
PLAN = "scan-plan.json"
UNKNOWN = "unknown"


@dataclass
class ScanSource:
    """One source as its scan measured it: byte shares per category (``unknown`` included) and its size."""

    name: str
    path: str
    composition: dict[str, float]
    bytes: int
    tokens: int | None
    documents: int
    tokenizer: str | None
    sha256: str | None = None

    @property
    def unknown(self) -> float:
        return self.composition.get(UNKNOWN, 0.0)


def parse_source_options(values: Sequence[str], *, option: str = "--source") -> dict[str, str]:
    """``("web=scans/web", "code=scans/code")`` -> ``{"web": "scans/web", "code": "scans/code"}``.

    >>> parse_source_options(["web=out/web", " code = out/code"])
    {'web': 'out/web', 'code': 'out/code'}
    """
    parsed: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise ForensicsError(f"{option} {value!r}: expected NAME=SCAN_DIR (the --out directory of forensics scan)")
        if name in parsed:
            raise ForensicsError(f"{option}: source {name!r} given twice; give each source one scan")
        parsed[name] = path
    return parsed


def _summary(path: Path) -> tuple[dict, Path]:
    """A scan's JSON summary and the file it came from (the partials merged when only they are there)."""
    from forensics._results import read_json

    hint = "pass the --out directory of `forensics scan` (or its summary.json)"
    if path.is_dir():
        if (path / SUMMARY).is_file():
            return read_json(path / SUMMARY, what="scan summary", hint=hint), path / SUMMARY
        if (path / PLAN).is_file():
            from forensics.composition.results import merge_scan

            return merge_scan(path).to_dict(), path / PLAN
        raise input_error(path, f"not a scan output (no {SUMMARY} or {PLAN})", hint)
    if not path.exists():
        raise input_error(path, "no such scan directory", hint)
    return read_json(path, what="scan summary", hint=hint), path


def read_scan(path: str | os.PathLike, *, name: str | None = None) -> ScanSource:
    """Read one scan's composition and size (see the module docstring)."""
    from forensics._results import file_sha256

    location = Path(path)
    summary, source_file = _summary(location)
    shares = summary.get("shares") if isinstance(summary, dict) else None
    totals = summary.get("totals") if isinstance(summary, dict) else None
    by_bytes = shares.get("bytes") if isinstance(shares, dict) else None
    if not isinstance(by_bytes, dict) or not by_bytes or not isinstance(totals, dict):
        raise input_error(source_file, "not a scan summary (no byte shares per category or totals)",
                          "rerun `forensics scan ... --out DIR` and pass DIR")
    composition = {}
    for category, share in by_bytes.items():
        if not isinstance(share, (int, float)) or not np.isfinite(share) or share < 0:
            raise input_error(source_file, f"byte share of {category!r} is {share!r}, not a share",
                              "rerun the scan")
        composition[str(category)] = float(share)
    total = sum(composition.values())
    size = totals.get("bytes")
    if not total > 0 or not isinstance(size, (int, float)) or not size > 0:
        raise input_error(source_file, "the scan read no bytes", "scan a source that holds text")
    tokens = totals.get("tokens")
    parameters = (summary.get("provenance") or {}).get("parameters") or {}
    return ScanSource(name or location.name, os.fspath(location), {c: s / total for c, s in composition.items()},
                      int(size), int(tokens) if isinstance(tokens, (int, float)) and tokens > 0 else None,
                      int(totals.get("documents") or 0), parameters.get("tokenizer"),
                      file_sha256(source_file) if source_file.is_file() else None)


def read_scans(scans: Mapping[str, str | os.PathLike | ScanSource]) -> dict[str, ScanSource]:
    """Read every source's scan (values may be paths or :class:`ScanSource`)."""
    if not scans:
        raise ForensicsError("no sources: give at least one --source NAME=SCAN_DIR")
    return {name: scan if isinstance(scan, ScanSource) else read_scan(scan, name=name) for name, scan in scans.items()}


@dataclass
class SourceSizes:
    """Sizes per source in ``unit`` (tokens or bytes), bytes per token (with tokens) and why not tokens."""

    unit: str
    sizes: dict[str, float]
    bytes_per_token: dict[str, float] | None
    warnings: list[str]


def source_sizes(scans: Mapping[str, ScanSource]) -> SourceSizes:
    """Tokens when every scan counted them with one tokenizer, else bytes (with a warning saying why).

    >>> a = ScanSource("a", "a", {"en": 1.0}, 400, 100, 1, "gpt2")
    >>> b = ScanSource("b", "b", {"de": 1.0}, 300, None, 1, None)
    >>> s = source_sizes({"a": a, "b": b}); s.unit, s.sizes, s.warnings[0][:38]
    ('bytes', {'a': 400.0, 'b': 300.0}, 'sizes are in bytes: b counted no token')
    """
    warnings = []
    untokenized = [name for name, scan in scans.items() if scan.tokens is None]
    tokenizers = sorted({str(scan.tokenizer) for scan in scans.values() if scan.tokens is not None})
    if untokenized and len(untokenized) < len(scans):
        warnings.append(f"sizes are in bytes: {', '.join(untokenized)} counted no tokens (scan every source with "
                        "the same --tokenizer to plan in tokens)")
    elif not untokenized and len(tokenizers) > 1:
        warnings.append("sizes are in bytes: the scans counted tokens with different tokenizers "
                        f"({', '.join(tokenizers)})")
    if untokenized or len(tokenizers) > 1:
        return SourceSizes("bytes", {n: float(s.bytes) for n, s in scans.items()}, None, warnings)
    return SourceSizes("tokens", {n: float(s.tokens or 0) for n, s in scans.items()},
                       {n: s.bytes / float(s.tokens or 1) for n, s in scans.items()}, warnings)


def byte_mixture(weights: Mapping[str, float], scans: Mapping[str, ScanSource],
                 bytes_per_token: Mapping[str, float] | None = None) -> dict[str, float]:
    """The category mixture (byte shares) that ``weights`` over the sources give; weights are token shares when
    ``bytes_per_token`` is given (each source's bytes are its tokens times its bytes per token).

    >>> scans = {"a": ScanSource("a", "a", {"en": 1.0}, 400, 100, 1, "t"),
    ...          "b": ScanSource("b", "b", {"ja": 1.0}, 300, 300, 1, "t")}
    >>> byte_mixture({"a": 0.5, "b": 0.5}, scans, {"a": 4.0, "b": 1.0})
    {'en': 0.8, 'ja': 0.2}
    """
    mass = {name: weights[name] * (bytes_per_token[name] if bytes_per_token else 1.0) for name in scans}
    total = sum(mass.values()) or 1.0
    mixture: dict[str, float] = {}
    for name, scan in scans.items():
        for category, share in scan.composition.items():
            mixture[category] = mixture.get(category, 0.0) + mass[name] / total * share
    return mixture
