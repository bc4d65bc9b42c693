"""Result files: atomic writes, input hashes and the provenance block every JSON result carries."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any


def file_sha256(path: str | os.PathLike, *, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes.

    >>> file_sha256("README.md")  # doctest: +SKIP
    '3f2a...'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def bytes_sha256(data: bytes) -> str:
    """Hex sha256 of a byte string.

    >>> bytes_sha256(b"")[:8]
    'e3b0c442'
    """
    return hashlib.sha256(data).hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    >>> atomic_write_bytes("/tmp/x.bin", b"abc")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Atomic text write (UTF-8).

    >>> atomic_write_text("/tmp/x.txt", "hello")
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def _default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "backslashreplace")
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def to_json(obj: Any, *, indent: int | None = 2) -> str:
    """Serialise plain data, dataclasses and numpy scalars/arrays to JSON.

    >>> to_json({"a": 1}, indent=None)
    '{"a": 1}'
    """
    return json.dumps(obj, default=_default, indent=indent, ensure_ascii=False)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write a JSON result atomically.

    >>> write_json("/tmp/r.json", {"a": 1})
    """
    atomic_write_text(path, to_json(obj) + "\n")


def provenance(*, command: str, parameters: dict[str, Any], inputs: dict[str, str] | None = None,
               seed: int | None = None) -> dict[str, Any]:
    """The block every result file carries: tool version, parameters, seed and input hashes.

    >>> provenance(command="inspect", parameters={"path": "x"})["tool"]
    'forensics'
    """
    from forensics import __version__

    return {
        "tool": "forensics",
        "version": __version__,
        "command": command,
        "parameters": parameters,
        "seed": seed,
        "inputs": inputs or {},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
