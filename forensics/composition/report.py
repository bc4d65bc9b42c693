"""Report files of a scan: JSON summary, CSV table, per-document labels, PNG chart.

What it does: writes ``summary.json`` (shares, estimate, comparison, provenance), ``composition.csv``
(one row per category), ``labels.jsonl`` or ``labels.parquet`` (the units' label files joined in unit
order; Parquet needs the ``parquet`` extra) and ``composition.png`` (needs the ``plot`` extra), each
atomically.

What it leaves out: terminal tables (the CLI draws them with rich).

For the scan of :mod:`forensics.composition.scan`'s example (run with ``labels=True``):

>>> write_report(result, "/tmp/scan", labels="jsonl", png=True)  # doctest: +SKIP
{'summary': '/tmp/scan/summary.json', 'csv': '/tmp/scan/composition.csv',
 'labels': '/tmp/scan/labels.jsonl', 'png': '/tmp/scan/composition.png'}
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Literal

from forensics._results import atomic_write_bytes, atomic_write_text, write_json
from forensics.composition.partials import labels_path
from forensics.errors import ForensicsError, require

LabelFormat = Literal["jsonl", "parquet"]


def write_csv(result, path: str | os.PathLike) -> None:
    rows = result.rows()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def join_labels(result, path: str | os.PathLike, *, format: LabelFormat = "jsonl") -> int:
    """Join the units' label files into one file; returns the number of documents."""
    if result.work_dir is None or not result.plan["parameters"].get("labels"):
        raise ForensicsError("this scan did not record labels; rerun it with --labels")
    chunks = []
    for unit in result.plan["units"]:
        unit_file = labels_path(result.work_dir, unit["index"])
        if unit_file.is_file():
            chunks.append(unit_file.read_bytes())
    data = b"".join(chunks)
    if format == "jsonl":
        atomic_write_bytes(path, data)
        return data.count(b"\n")
    pa = require("pyarrow", extra="parquet", purpose="labels in Parquet")
    import json

    import pyarrow.parquet as pq

    records = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    table = pa.Table.from_pylist(records)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
    return len(records)


def write_png(result, path: str | os.PathLike, *, top: int = 20) -> None:
    from forensics._plots import figure, save_png

    rows = [r for r in result.rows() if r["bytes"] > 0 or (r["estimate"] or 0) > 0][:top]
    names = [r["category"] for r in rows][::-1]
    fig = figure(figsize=(7, 0.3 * len(rows) + 1.2), purpose="the composition chart")
    ax = fig.subplots()
    y = range(len(rows))
    ax.barh([i + 0.2 for i in y], [r["byte_share"] for r in rows][::-1], height=0.4, label="per-document labels")
    half = result.estimate_half_widths() or {}
    half_widths = [half.get(r["category"], 0.0) for r in rows][::-1]
    ax.barh([i - 0.2 for i in y], [r["estimate"] or 0 for r in rows][::-1], height=0.4,
            label="pair-count estimate" + (" (90% interval)" if any(half_widths) else ""),
            xerr=half_widths if any(half_widths) else None, error_kw={"elinewidth": 0.8, "capsize": 2})
    ax.set_yticks(list(y), names)
    ax.set_xlabel("share of bytes")
    ax.legend(loc="lower right")
    fig.tight_layout()
    save_png(fig, path)


def write_report(result, output: str | os.PathLike, *, labels: LabelFormat | None = None,
                 png: bool = False) -> dict[str, str]:
    """Write the summary, the CSV and (optionally) labels and chart into ``output``; returns the paths."""
    output = Path(output)
    paths = {"summary": output / "summary.json", "csv": output / "composition.csv"}
    write_json(paths["summary"], result.to_dict())
    write_csv(result, paths["csv"])
    if labels:
        paths["labels"] = output / f"labels.{labels}"
        join_labels(result, paths["labels"], format=labels)
    if png:
        paths["png"] = output / "composition.png"
        write_png(result, paths["png"])
    return {k: os.fspath(v) for k, v in paths.items()}
