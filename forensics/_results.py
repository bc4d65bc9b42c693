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

    >>> file_sha256("fixtures/text/udhr-sample.txt")
    '70962f7685435af30aadf159a512ac396d7b7c32fabe1d95877bdce5d0381981'
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


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


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
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; a result file gets the usual mode
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


def read_json(path: str | os.PathLike, *, what: str = "JSON file", hint: str = "check the file") -> Any:
    """A JSON file's content, or one clear error: missing, unreadable, not UTF-8, not JSON, nested too deep.

    >>> write_json("/tmp/forensics-doctest.json", {"a": 1}); read_json("/tmp/forensics-doctest.json")
    {'a': 1}
    """
    from forensics.errors import input_error

    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise input_error(path, "no such file", "check the path") from None
    except IsADirectoryError:
        raise input_error(path, f"is a directory, not a {what}", hint) from None
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror or exc})", hint) from None
    except UnicodeDecodeError:
        raise input_error(path, f"not a {what} (not UTF-8 text)", hint) from None
    except json.JSONDecodeError as exc:
        raise input_error(path, f"not a {what} (invalid JSON: {exc.msg} at line {exc.lineno})", hint) from None
    except RecursionError:
        raise input_error(path, f"not a {what} (JSON nested too deeply)", hint) from None


def check_output_directory(path: str | os.PathLike, *, what: str = "output directory") -> Path:
    """Fail now, with one line, when ``path`` could not be created or written, without creating anything
    (so that a long job does not find out at its end, and a job refused for another reason leaves nothing).

    >>> check_output_directory("/tmp/forensics-doctest-not-yet/sub").name
    'sub'
    """
    from forensics.errors import input_error

    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link
            raise input_error(path, f"{existing} is a broken symbolic link", f"choose another {what}")
        existing = existing.parent
    if not existing.is_dir():
        raise input_error(path, f"{existing} is a file, not a directory", f"choose another {what}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise input_error(path, f"cannot be written ({existing} is not writable)",
                          f"choose another {what} or fix its permissions")
    return path


def output_directory(path: str | os.PathLike, *, what: str = "output directory") -> Path:
    """Create ``path`` (and its parents) for writing, or fail with one line that says why.

    >>> import os, tempfile
    >>> output_directory(os.path.join(tempfile.mkdtemp(), "out", "deeper")).is_dir()
    True
    """
    from forensics.errors import input_error

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-")
        probe.close()
    except FileExistsError:
        raise input_error(path, "is a file, not a directory", f"choose another {what}") from None
    except OSError as exc:
        raise input_error(path, f"cannot be written ({exc.strerror or exc})",
                          f"choose another {what} or fix its permissions") from None
    return path


class DirectoryLock:
    """An exclusive lock on a directory that one run writes, so that a second run into it is refused
    with a clear message instead of mixing results. ``shared=True`` takes a shared lock instead (ranks of
    one array job write one directory together; they shut out a single-process run, not each other).
    The operating system releases the lock when the process ends, however it ends.

    >>> import tempfile
    >>> with DirectoryLock(tempfile.mkdtemp(), name=".scan.lock"): pass
    """

    def __init__(self, directory: str | os.PathLike, *, name: str = ".lock", shared: bool = False,
                 what: str = "run") -> None:
        self.path = Path(directory) / name
        self.shared = shared
        self.what = what
        self.handle = None

    def __enter__(self) -> "DirectoryLock":
        import fcntl

        from forensics.errors import input_error

        self.handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self.handle, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            self.handle = None
            raise input_error(self.path.parent, f"another {self.what} is writing here ({holder})",
                              "wait for it to finish or choose another output directory") from None
        if not self.shared:
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.write(f"pid {os.getpid()} on {platform.node()}\n")
            self.handle.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock
            self.handle = None


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
