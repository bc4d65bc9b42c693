"""Reading and checking the small tables the recommenders take: run CSVs, mixtures, sizes and caps.

One CSV reader (:func:`_read_rows`: UTF-8 with or without a BOM, blank lines skipped) serves two views of a
table: :func:`read_table`, every column a plain number (mixture and metric tables for ``recommend runs``), and
:func:`read_columns`, named columns whose cells may carry k/M/B/T suffixes and may be missing (the runs table of
``recommend cpt``). Every problem is a :class:`~forensics.errors.ForensicsError` whose one-line message names
the file, the row or line and column, and what to do.

Leaves out: large or streaming tables (run tables have hundreds of rows, not millions) and checks of what the
numbers mean (ranges, signs): the recommender that reads a table checks its own columns.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensics.errors import ForensicsError, input_error

# Mixture weights in published run tables are rounded (RegMix rows sum to 0.996..1.003).
SUM_TOLERANCE = 0.01
_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_COUNT_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtT]?)\s*$")
_MISSING_CELLS = frozenset({"nan", "na", "n/a", "null", "none", "inf", "-inf"})  # read as NaN by read_columns


def parse_count(text: str | float | int) -> float:
    """A number with an optional k/M/B/T suffix.

    >>> parse_count("1.8B"), parse_count("5e9"), parse_count(300)
    (1800000000.0, 5000000000.0, 300.0)
    """
    if isinstance(text, (int, float)):
        return float(text)
    match = _COUNT_RE.match(text)
    if not match:
        raise ValueError(f"not a number: {text!r} (examples: 1.8B, 500M, 2e10)")
    return float(match.group(1)) * _SUFFIXES.get(match.group(2).lower(), 1.0)


def _read_records(path: str | os.PathLike) -> list[tuple[int, list[str]]]:
    """The non-blank records of a UTF-8 CSV (a BOM is dropped), each with its 1-based record number."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise input_error(path, "no such file") from None
    except OSError as exc:
        raise input_error(path, f"cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise input_error(path, "not UTF-8 text", "save the table as a UTF-8 CSV") from None
    try:
        return [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text)), start=1)
                if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise input_error(path, f"not a readable CSV ({exc})") from None


def _read_rows(path: str | os.PathLike, *, what: str = "rows") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (names stripped) and the data rows with their line numbers; errors when either is missing."""
    records = _read_records(path)
    if not records:
        raise input_error(path, "empty file", "expected a CSV with a header row")
    if len(records) < 2:
        raise input_error(path, f"no {what} below the header", "add one row per training run")
    return [cell.strip() for cell in records[0][1]], records[1:]


@dataclass(frozen=True)
class Table:
    """A numeric CSV: column names, a float64 matrix (rows x columns) and where it came from."""

    columns: list[str]
    values: np.ndarray
    path: str

    def column(self, name: str) -> np.ndarray:
        """The values of one column; a clear error lists the columns when ``name`` is missing."""
        return self.values[:, self.index(name)]

    def index(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise input_error(self.path, f"no column {name!r}",
                              f"columns are: {_listing(self.columns)}") from None


def _listing(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def read_table(path: str | os.PathLike) -> Table:
    """Read a CSV whose cells are all numbers; NaNs, blanks and text cells are errors.

    >>> read_table("runs.csv").columns[:2]  # doctest: +SKIP
    ['index', 'train_the_pile_arxiv']
    """
    path = os.fspath(path)
    header, rows = _read_rows(path)
    if len(set(header)) != len(header):
        duplicated = sorted({name for name in header if header.count(name) > 1})
        raise input_error(path, f"duplicate column names {duplicated}")
    values = np.empty((len(rows), len(header)), dtype=np.float64)
    for r, (_, row) in enumerate(rows):
        if len(row) != len(header):
            raise input_error(path, f"row {r + 1} has {len(row)} cells, the header has {len(header)}")
        for c, cell in enumerate(row):
            try:
                value = float(cell)
            except ValueError:
                raise input_error(path, f"row {r + 1}, column {header[c]!r}: {cell!r} is not a number") from None
            if not math.isfinite(value):
                raise input_error(path, f"row {r + 1}, column {header[c]!r} is {cell.strip() or 'empty'}",
                                  "remove the row or fill in the value")
            values[r, c] = value
    return Table(header, values, path)


@dataclass(frozen=True)
class Columns:
    """Named columns of a CSV as float64 arrays (NaN where a cell is missing) and each row's line in the file."""

    values: dict[str, np.ndarray]
    lines: list[int]
    path: str


def read_columns(path: str | os.PathLike, columns: Mapping[str, str], *, what: str = "rows",
                 hint: str | None = None) -> Columns:
    """Read the columns named by ``columns`` (``{key: name in the file}``); other columns are ignored.

    Cells are numbers with an optional k/M/B/T suffix (:func:`parse_count`); blank, short-row and NA-like
    cells ("nan", "n/a", "null", "inf", ...) become NaN for the caller to reject with the row's line.
    ``hint`` says how to choose other columns; ``what`` names the rows ("no runs below the header").

    >>> read_columns("runs.csv", {"n": "model_size"}, what="runs").values["n"]  # doctest: +SKIP
    array([1.8e+09, 5.0e+08])
    """
    path = os.fspath(path)
    header, rows = _read_rows(path, what=what)
    missing = [name for name in columns.values() if name not in header]
    if missing:
        raise input_error(path, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}", hint)
    doubled = sorted({name for name in columns.values() if header.count(name) > 1})
    if doubled:
        raise input_error(path, f"column(s) {', '.join(doubled)} appear more than once", "rename the copies")
    index = {key: header.index(name) for key, name in columns.items()}
    values: dict[str, list[float]] = {key: [] for key in columns}
    for line, row in rows:
        for key, name in columns.items():
            cell = row[index[key]].strip() if index[key] < len(row) else ""
            try:
                values[key].append(parse_count(cell) if cell else math.nan)
            except ValueError:
                if cell.lower() not in _MISSING_CELLS:
                    raise input_error(path, f"line {line}: column '{name}' is {cell!r}, not a number",
                                      "fix the cell or drop the run") from None
                values[key].append(math.nan)
    return Columns({key: np.asarray(column, dtype=np.float64) for key, column in values.items()},
                   [line for line, _ in rows], path)


def join_tables(left: Table, right: Table, *, on: str) -> Table:
    """Join two tables on a key column (rows in ``left``'s order); every key must appear in both.

    >>> mixtures = Table(["index", "web", "code"], np.array([[1, .7, .3], [2, .4, .6]]), "mix.csv")
    >>> losses = Table(["index", "loss"], np.array([[2, 3.1], [1, 2.9]]), "loss.csv")
    >>> join_tables(mixtures, losses, on="index").values.tolist()
    [[1.0, 0.7, 0.3, 2.9], [2.0, 0.4, 0.6, 3.1]]
    """
    keys_left, keys_right = left.column(on), right.column(on)
    position = {key: i for i, key in enumerate(keys_right)}
    if len(position) != len(keys_right):
        raise input_error(right.path, f"column {on!r} has repeated keys; it cannot be used to join")
    missing = [key for key in keys_left if key not in position]
    if missing or len(keys_left) != len(keys_right):
        raise input_error(right.path, f"keys in {on!r} do not match {left.path}'s "
                          f"({len(missing)} of {len(keys_left)} rows unmatched)")
    order = np.array([position[key] for key in keys_left])
    keep = [c for c in right.columns if c != on and c not in left.columns]
    extra = right.values[order][:, [right.index(c) for c in keep]]
    return Table(left.columns + keep, np.hstack([left.values, extra]), left.path)


def check_weights(weights: np.ndarray, names: Sequence[str], path: str | None) -> np.ndarray:
    """Check mixture rows (in [0, 1], summing to 1 within 0.01) and return them renormalised to sum 1."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != len(names):
        raise input_error(path, "mixture weights must be a table of rows over the sources")
    if not np.isfinite(weights).all():
        raise input_error(path, "mixture weights contain NaN or infinite values")
    low = np.argwhere(weights < 0)
    if len(low):
        r, c = low[0]
        raise input_error(path, f"row {r + 1}: weight of {names[c]!r} is negative ({weights[r, c]:g})")
    sums = weights.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if len(bad):
        r = bad[0]
        raise input_error(path, f"row {r + 1}: weights over {len(names)} columns sum to {sums[r]:.4g}, not 1 "
                          f"({len(bad)} rows off)", "check the weight columns (--weights)")
    return weights / sums[:, None]


def pick_weight_columns(table: Table, spec: str | Sequence[str] | None, *, exclude: Sequence[str] = ()) -> list[str]:
    """The weight columns: named (a list), by prefix (a string), or detected.

    Detection keeps every column not in ``exclude`` whose values lie in [0, 1]; those must sum to 1 per row.

    >>> table = Table(["web_a", "web_b", "loss"], np.array([[.7, .3, 2.9], [.4, .6, 3.1]]), "runs.csv")
    >>> pick_weight_columns(table, "web_"), pick_weight_columns(table, None, exclude=["loss"])
    (['web_a', 'web_b'], ['web_a', 'web_b'])
    """
    if isinstance(spec, str):
        names = [c for c in table.columns if c.startswith(spec)]
        if not names:
            raise input_error(table.path, f"no column starts with {spec!r}",
                              f"columns are: {_listing(table.columns)}")
    elif spec is not None:
        names = list(spec)
        for name in names:
            table.index(name)
    else:
        names = [c for i, c in enumerate(table.columns) if c not in exclude
                 and table.values[:, i].min() >= 0 and table.values[:, i].max() <= 1]
        if len(names) < 2:
            raise input_error(table.path, "cannot find the mixture weight columns (columns in [0, 1] summing to 1)",
                              "name them with --weights PREFIX or --weights a,b,c")
        sums = table.values[:, [table.index(n) for n in names]].sum(axis=1)
        # Most rows off means the detected columns are wrong (a metric in [0, 1], say), not the data.
        if (np.abs(sums - 1.0) <= SUM_TOLERANCE).mean() < 0.5:
            raise input_error(table.path, f"the columns with values in [0, 1] ({_listing(names, 6)}) do not sum to 1 "
                              "per row, so the weight columns cannot be detected",
                              "name them with --weights PREFIX or --weights a,b,c")
    if len(names) < 2:
        raise input_error(table.path, f"a mixture needs at least two weight columns, got {names}")
    return names


def read_mapping(path: str | os.PathLike, *, what: str,
                 keys: Sequence[str] = ("weights", "mixture", "tokens", "sizes", "counts")) -> dict[str, float]:
    """Read ``{name: number}`` from JSON (top level, or under one of ``keys``) or a two-column CSV.

    >>> read_mapping("sizes.json", what="token counts")  # doctest: +SKIP
    {'en': 1.2e9, 'de': 3.1e8}
    """
    path = os.fspath(path)
    if not Path(path).is_file():
        raise input_error(path, "no such file")
    if path.endswith(".csv"):
        rows = [row for _, row in _read_records(path)]
        if rows and len(rows[0]) >= 2:
            try:
                float(rows[0][1])
            except ValueError:
                rows = rows[1:]  # a header
        data = {}
        for r, row in enumerate(rows):
            if len(row) < 2:
                raise input_error(path, f"row {r + 1}: expected 'name,value'")
            data[row[0].strip()] = row[1]
    else:
        from forensics._results import read_json

        data = read_json(path, what=f"{what} file", hint="expected a JSON object {name: number} or a CSV")
        data = _find_mapping(data, keys)
        if data is None:
            raise input_error(path, f"no {what} found", f"expected a JSON object {{name: number}} or one under "
                              f"a key among {list(keys)}")
    return as_mapping(data, what=what, path=path)


def _find_mapping(data, keys: Sequence[str]):
    if isinstance(data, dict) and data and all(isinstance(v, (int, float)) for v in data.values()):
        return data
    if isinstance(data, dict) and isinstance(data.get("rows"), list) and "shares" in data:
        # a `forensics scan` summary: sizes per category, by tokens when it counted them, else by bytes
        rows = [r for r in data["rows"] if isinstance(r, dict) and r.get("category") not in (None, "unknown")]
        unit = "tokens" if rows and all(isinstance(r.get("tokens"), (int, float)) for r in rows) else "bytes"
        if rows and all(isinstance(r.get(unit), (int, float)) for r in rows):
            return {r["category"]: r[unit] for r in rows}
    if isinstance(data, dict):
        for key in keys:
            if key in data:
                found = _find_mapping(data[key], keys)
                if found is not None:
                    return found
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        # [{"name": ..., "tokens": ...}, ...]
        for value_key in keys:
            if all("name" in item and value_key in item for item in data):
                return {item["name"]: item[value_key] for item in data}
    return None


def as_mapping(data: Mapping[str, object], *, what: str, path: str | None = None,
               positive: bool = False) -> dict[str, float]:
    """Check a ``{name: number}`` mapping: numbers, finite, non-negative (or positive)."""
    if not isinstance(data, Mapping) or not data:
        raise input_error(path, f"{what} must be a non-empty mapping of names to numbers")
    result = {}
    for name, value in data.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise input_error(path, f"{what}: value of {name!r} is not a number ({value!r})") from None
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            need = "positive" if positive else "non-negative"
            raise input_error(path, f"{what}: value of {name!r} must be finite and {need} (got {value!r})")
        result[str(name)] = number
    return result


def normalise(weights: Mapping[str, float], *, what: str = "weights", path: str | None = None) -> dict[str, float]:
    """Scale non-negative numbers to sum to 1.

    >>> normalise({"a": 3, "b": 1})
    {'a': 0.75, 'b': 0.25}
    """
    weights = as_mapping(weights, what=what, path=path)
    total = sum(weights.values())
    if total <= 0:
        raise input_error(path, f"{what} sum to zero")
    return {name: value / total for name, value in weights.items()}


def epoch_caps(available: Mapping[str, float], *, budget: float, max_epochs: float) -> dict[str, float]:
    """The largest weight each source can take in ``budget`` tokens without repeating it more than ``max_epochs``.

    >>> epoch_caps({"a": 100, "b": 10}, budget=100, max_epochs=2)
    {'a': 1.0, 'b': 0.2}
    """
    if budget <= 0 or max_epochs <= 0:
        raise ForensicsError(f"budget and max_epochs must be positive (got {budget}, {max_epochs})")
    return {name: min(1.0, max_epochs * size / budget) for name, size in available.items()}


def parse_assignments(items: Sequence[str], *, what: str) -> dict[str, float]:
    """Parse CLI ``NAME=VALUE`` options into a mapping (the last ``=`` splits, so names may contain ``=``).

    >>> parse_assignments(["en=0.5", "de=0.25"], what="--cap")
    {'en': 0.5, 'de': 0.25}
    """
    result = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        if not sep or not name:
            raise ForensicsError(f"{what} {item!r}: expected NAME=VALUE")
        try:
            result[name] = float(value)
        except ValueError:
            raise ForensicsError(f"{what} {item!r}: {value!r} is not a number") from None
    return result


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Write a CSV atomically."""
    from forensics._results import atomic_write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
