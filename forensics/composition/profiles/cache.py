"""The profile cache: profiles by file name, or built once per sample set and parameters.

What it does: :func:`load_profiles` reads a ``.npz`` file, or builds profiles from category set
names or directories and keeps them under ``$FORENSICS_CACHE/profiles`` (default
``~/.cache/forensics/profiles``), keyed by ``PROFILE_VERSION``, the split, the parameters and the
sha256 of every sample file; a stale or damaged entry is rebuilt with a warning.

What it leaves out: building (``build.py``) and the file format (``model.py``); it never evicts
old entries.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from forensics._results import file_sha256
from forensics.composition.profiles.build import (DEFAULT_ALPHA, DEFAULT_BITS, DEFAULT_MAX_ORDER, DEFAULT_MIN_ORDER,
                                                  DEFAULT_SETS, DEFAULT_TOKEN_BITS, DEFAULT_TOKEN_WEIGHT,
                                                  _resolve_sets, build_profiles)
from forensics.composition.profiles.model import PROFILE_VERSION, Profiles
from forensics.errors import ForensicsError, input_error


def profiles_cache_dir() -> Path:
    """``$FORENSICS_CACHE/profiles`` (default ``~/.cache/forensics/profiles``)."""
    from forensics._cache import cache_dir

    return cache_dir("profiles")



def _cache_key(specs: list[Any], split: str, params: dict[str, Any]) -> str:
    from forensics.corpus.categories import CategorySet, load_categories

    digest = hashlib.sha256(json.dumps([PROFILE_VERSION, split, params], sort_keys=True).encode())
    for spec in specs:
        if isinstance(spec, CategorySet):  # loaded already (its own split)
            cat_set = spec
            digest.update(f"split={spec.split}".encode())
        else:
            cat_set = load_categories(spec, split=split)
        for cat in cat_set:
            digest.update(f"{cat_set.name}/{cat.name}/{cat.group}".encode())
            for path in cat.files:
                digest.update(file_sha256(path).encode())
    return digest.hexdigest()[:24]



def load_profiles(spec: Any = DEFAULT_SETS, *, split: str = "train", cache: bool = True, progress: bool = False,
                  **params: Any) -> Profiles:
    """Profiles from a ``.npz`` file, or built (and cached) from category set names or directories.

    >>> from forensics.corpus.categories import load_categories
    >>> profiles = build_profiles(load_categories("languages", categories=["de", "en"]), group_refinement=False)
    >>> profiles.save("/tmp/de-en.npz")
    >>> load_profiles("/tmp/de-en.npz").names
    ['de', 'en']
    """
    if isinstance(spec, Profiles):
        return spec
    if isinstance(spec, (str, os.PathLike)) and os.fspath(spec).endswith(".npz"):
        if not Path(spec).is_file():
            raise input_error(spec, "no such profiles file", "build one with `forensics profiles build`")
        return Profiles.load(spec)
    specs = _resolve_sets(spec)
    params = {"bits": DEFAULT_BITS, "min_order": DEFAULT_MIN_ORDER, "max_order": DEFAULT_MAX_ORDER,
              "alpha": DEFAULT_ALPHA, "token_bits": DEFAULT_TOKEN_BITS, "token_weight": DEFAULT_TOKEN_WEIGHT,
              "group_refinement": True} | params
    if not cache:
        return build_profiles(specs, split=split, progress=progress, **params)
    path = profiles_cache_dir() / f"{_cache_key(specs, split, params)}.npz"
    if path.is_file():
        try:
            return Profiles.load(path)
        except ForensicsError as exc:  # a stale or damaged cache entry is rebuilt
            import warnings

            warnings.warn(f"{exc.args[0].split(';')[0]}: cached profiles unreadable; rebuilding them", stacklevel=2)
            path.unlink(missing_ok=True)
    profiles = build_profiles(specs, split=split, progress=progress, **params)
    profiles.save(path)
    return profiles

