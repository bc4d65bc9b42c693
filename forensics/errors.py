"""User-facing errors.

Every problem caused by the user's input (a corrupt file, an unknown format, an empty category, an
infeasible program) is raised as :class:`ForensicsError`. The CLI prints its message as one line and
exits with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os


class ForensicsError(Exception):
    """An input problem the user can fix; the message names the file and what to do.

    >>> raise ForensicsError("tok.json: not a tokenizer file; pass --format")
    Traceback (most recent call last):
    ...
    forensics.errors.ForensicsError: tok.json: not a tokenizer file; pass --format
    """

    exit_code = 2


class MissingDependencyError(ForensicsError):
    """An optional dependency is needed; the message carries the install hint."""


def input_error(path: str | os.PathLike | None, problem: str, hint: str | None = None) -> ForensicsError:
    """Build a one-line error naming the file, the problem and what to do.

    >>> str(input_error("a.json", "truncated JSON", "re-download it"))
    'a.json: truncated JSON; re-download it'
    """
    message = f"{os.fspath(path)}: {problem}" if path is not None else problem
    if hint:
        message += f"; {hint}"
    return ForensicsError(message)


def require(module: str, *, extra: str, purpose: str):
    """Import an optional dependency lazily or fail with an install hint.

    >>> np = require("numpy", extra="core", purpose="arrays")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{purpose} needs the optional package '{module}' ({exc}); "
            f"install it with: pip install 'forensics[{extra}]'"
        ) from None
