"""Shard lists: files, directories and glob patterns expanded into one sorted, deterministic list.

What it does: :func:`expand_inputs` walks directories and patterns itself (``**`` included) so that a
symlink loop ends and links that lead out of a directory (or out of a pattern's fixed leading folders)
are left out and counted unless ``follow_links``; a file named explicitly is always listed.

What it leaves out: opening or reading the shards (:mod:`forensics.corpus.readers`); remote file systems.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from forensics.errors import input_error

if TYPE_CHECKING:  # the stats type only; readers imports this module
    from forensics.corpus.readers import ReadStats



def expand_inputs(inputs: Sequence[str | os.PathLike] | str | os.PathLike, *,
                  glob_pattern: str | None = None, follow_links: bool = False,
                  stats: ReadStats | None = None) -> list[Path]:
    """Expand files, directories (recursively) and glob patterns into a sorted list of files.

    A file named explicitly is always listed. Inside a directory (or under a pattern's fixed leading
    folders) symlinked directories are not entered and symlinked files that lead out of it are left
    out, each counted in ``stats.skipped_links`` with a problem line; ``follow_links=True`` follows
    every link, entering each real directory once, so link loops end.

    >>> expand_inputs(["fixtures/categories/languages/de"])  # doctest: +NORMALIZE_WHITESPACE
    [PosixPath('fixtures/categories/languages/de/count.jsonl.gz'),
     PosixPath('fixtures/categories/languages/de/train.jsonl.gz')]
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found: set[Path] = set()
    skipped: list[tuple[Path, str, Path]] = []  # (link, its real target, the folder it leads out of)
    for item in inputs:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            base, parts, dots = path, tuple(p for p in (glob_pattern or "**/*").split("/") if p), False
        elif path.is_file():
            found.add(path)
            continue
        elif _is_pattern(text):
            (base, parts), dots = _split_pattern(text), True
        else:
            raise input_error(text, "no such file or directory", "check the path")
        matched = 0
        for child, rel, outside in _walk_files(base, parts, follow_links=follow_links, explicit_dots=dots,
                                               skipped=skipped):
            if (dots or not child.name.startswith(".")) and _match(parts, rel, explicit_dots=dots):
                matched += 1
                if outside is None:
                    found.add(child)
                else:
                    skipped.append((child, outside, base))
        if dots and not matched:
            raise input_error(text, "no file matches this pattern", "check the path")
    if skipped and not found:
        link, target, root = skipped[0]
        raise input_error(root, f"every file found is a symlink that leads out of it ({len(skipped)}, e.g. "
                                f"{link} -> {target})", "pass follow_links=True (--follow-links) to read them")
    if stats is not None:
        for link, target, root in skipped:
            stats.skipped_links += 1
            stats.problem(f"{link}: a symlink to {target}, outside {root}; skipped (pass follow_links=True, "
                          f"--follow-links, to read it)", on_error="skip")
    return sorted(found)


def _is_pattern(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _split_pattern(text: str) -> tuple[Path, tuple[str, ...]]:
    """The fixed leading folders of a glob pattern and the pattern parts below them.

    >>> _split_pattern("data/*/x/*.jsonl")
    (PosixPath('data'), ('*', 'x', '*.jsonl'))
    """
    parts = text.split("/")
    first = next(i for i, part in enumerate(parts) if _is_pattern(part))
    base = "/".join(parts[:first]) or ("/" if text.startswith("/") else ".")
    return Path(base), tuple(p for p in parts[first:] if p)


def _match(pattern: tuple[str, ...], parts: tuple[str, ...], *, explicit_dots: bool) -> bool:
    """Whether relative path ``parts`` matches glob ``pattern`` parts (``**`` = any folders, even none).

    With ``explicit_dots`` (the ``glob`` module's rule) a name starting with a dot matches only a
    pattern part starting with one, and ``**`` enters no hidden folder.

    >>> _match(("**", "*.txt"), ("a", "b.txt"), explicit_dots=True)
    True
    """
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        for skip in range(len(parts)):
            if _match(rest, parts[skip:], explicit_dots=explicit_dots):
                return True
            if explicit_dots and parts[skip].startswith("."):
                return False
        return False
    if not parts or (explicit_dots and parts[0].startswith(".") and not head.startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], head) and _match(rest, parts[1:], explicit_dots=explicit_dots)


def _inside(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def _walk_files(root: Path, pattern: tuple[str, ...], *, follow_links: bool, explicit_dots: bool,
                skipped: list[tuple[Path, str, Path]]) -> Iterator[tuple[Path, tuple[str, ...], str | None]]:
    """Files under ``root``, deep enough for ``pattern``: (path, relative parts, real target when the
    file is a symlink leading out of ``root`` and ``follow_links`` is off, else None).

    Without ``follow_links`` symlinked folders are not entered (those leading out of ``root`` go to
    ``skipped``; those inside are walked anyway); with it every real folder is entered once, so a link
    loop (``loop/self -> .``) ends.
    """
    if not root.is_dir():
        return
    root_real = os.path.realpath(root)
    max_depth = None if "**" in pattern else len(pattern)
    dotted = any(part.startswith(".") for part in pattern)
    visited = {root_real}
    stack: list[tuple[str, tuple[str, ...]]] = [(os.fspath(root), ())]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:  # an unreadable folder: pathlib's glob skips it too
            continue
        folders = []
        for entry in entries:
            try:
                link, is_dir = entry.is_symlink(), entry.is_dir()
                is_file = not is_dir and entry.is_file()
            except OSError:
                continue
            if is_file:
                outside = None
                if link and not follow_links:
                    real = os.path.realpath(entry.path)
                    outside = None if _inside(real, root_real) else real
                yield Path(entry.path), rel + (entry.name,), outside
                continue
            if not is_dir or (max_depth is not None and len(rel) + 2 > max_depth):
                continue  # a broken link, a socket; or too deep for the pattern
            if explicit_dots and entry.name.startswith(".") and not dotted:
                continue
            if link and not follow_links:
                real = os.path.realpath(entry.path)
                if not _inside(real, root_real):
                    skipped.append((Path(entry.path), real, root))
                continue
            if follow_links:
                real = os.path.realpath(entry.path)
                if real in visited:
                    continue
                visited.add(real)
            folders.append((entry.path, rel + (entry.name,)))
        stack.extend(reversed(folders))
