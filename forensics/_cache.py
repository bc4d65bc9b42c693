"""The cache root, in one place: ``$FORENSICS_CACHE`` or ``~/.cache/forensics``.

Word counts and traces live in ``counts/``, profiles in ``profiles/``, downloaded packages in
``packages/`` (or ``$FORENSICS_PACKAGE_CACHE``), large test tokenizers in ``tokenizers/``. Every entry is
keyed by the hashes of what it was made from, so a stale entry is never read; a damaged one is
removed and rebuilt.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(name: str) -> Path:
    """``$FORENSICS_CACHE/<name>`` (default ``~/.cache/forensics/<name>``); not created here.

    >>> cache_dir("counts").name
    'counts'
    """
    root = os.environ.get("FORENSICS_CACHE") or Path.home() / ".cache" / "forensics"
    return Path(root) / name
