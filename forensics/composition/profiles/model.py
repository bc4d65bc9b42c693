"""The profiles: one container of every category's tables, models and pair statistics, and its file.

What it does: :class:`Profiles` holds the naive Bayes tables, the group models, the calibration,
the novelty model and the byte-pair distributions with their spread and directions; it estimates a
corpus' mixture from its pair histogram, hashes what changes a classification (``fingerprint``) and
saves to / loads from one ``.npz`` file (``PROFILE_VERSION`` checked on load; ``compress=False``
for a scan's working copy, 1.4 s faster per scan on the 5 MB sets).

What it leaves out: building profiles (``build.py``), finding them in the cache (``cache.py``) and
the arithmetic of each part (``tables.py`` ... ``pairs.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from forensics._results import atomic_write_bytes
from forensics.composition.profiles.groups import GroupModels
from forensics.composition.profiles.novelty import novel_documents
from forensics.composition.profiles.pairs import _pair_weights
from forensics.errors import ForensicsError, input_error

PROFILE_VERSION = 23


@dataclass
class Profiles:
    """Per-category classification weights and byte-pair distributions.

    ``table[bucket, c]`` is category ``c``'s quantized log-probability of an n-gram bucket;
    ``pair_probs[c]`` its byte-pair distribution; ``pair_spread`` how much each pair's frequency
    varies between parts of one category's sample (variance, pooled over categories),
    from which :meth:`pair_weights` weights the mixture estimate; ``calibration`` the weights of
    :func:`label_probability`.
    """

    names: list[str]
    groups: list[str]
    table: np.ndarray
    pair_probs: np.ndarray
    pair_spread: np.ndarray
    min_order: int
    max_order: int
    calibration: list[float]
    train_bytes: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    token_table: np.ndarray | None = None  # (2**token_bits, categories) int16, weight included; None: bytes only
    group_models: "GroupModels | None" = None
    pair_components: np.ndarray | None = None  # (categories, PAIR_COMPONENTS, 65536) float16, rows scaled to 1
    pair_component_norms: np.ndarray | None = None  # (categories, PAIR_COMPONENTS) float32: each row's scale
    background: np.ndarray | None = None  # (buckets, 1) int16: log of the categories' mean n-gram probability

    def component_directions(self) -> np.ndarray | None:
        """``pair_components`` in pair-frequency units (float32), or None."""
        if self.pair_components is None:
            return None
        return self.pair_components.astype(np.float32) * self.pair_component_norms[:, :, None]

    @property
    def bits(self) -> int:
        return int(self.table.shape[0]).bit_length() - 1

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of everything that changes a classification (computed once: it reads every table)."""
        digest = hashlib.sha256()
        digest.update(json.dumps([self.names, self.min_order, self.max_order, self.calibration]).encode())
        digest.update(self.table.tobytes())
        if self.token_table is not None:
            digest.update(self.token_table.tobytes())
        if self.group_models is not None:
            for members, weights, bias in zip(*self._group_arrays()):
                digest.update(members.tobytes() + weights.tobytes() + bias.tobytes())
        digest.update(self.pair_probs.tobytes())
        digest.update(self.pair_spread.tobytes())
        if self.background is not None:
            digest.update(self.background.tobytes())
        if self.pair_components is not None:
            digest.update(self.pair_components.tobytes() + self.pair_component_norms.tobytes())
        return digest.hexdigest()[:16]

    def pair_weights(self, total_pairs: float) -> np.ndarray:
        """Weights of the byte pairs in the mixture estimate of a corpus of ``total_pairs`` pairs.

        ``1 / sd`` of each pair's frequency, where the variance is the spread within categories
        (``pair_spread``) plus the corpus' own counting noise, plus a floor (a fraction of the mean,
        chosen when the profiles were built: ``info["pair_weight_floor"]``; all ones when it is None).
        """
        return _pair_weights(self.pair_probs, self.pair_spread, total_pairs, self.info.get("pair_weight_floor"))

    def estimate(self, pair_hist: np.ndarray, *, method: str = "nnls", components: bool = True,
                 rows: Sequence[int] | None = None, sd: bool = False) -> Any:
        """The pair-count mixture estimate of a corpus' byte-pair histogram (see :mod:`mixture`).

        NNLS is weighted by :meth:`pair_weights` and, with ``components``, discounts the directions in
        which each category varies (:func:`pair_components`); ``rows`` restricts it to some categories.
        With ``sd`` it returns ``(weights, sd)``: standard errors of the weights, the fit's own
        scaled by :func:`calibrate_estimate_sd`'s factor for the corpus' size (``sd`` is None for EM
        and for profiles without held-back text to calibrate on).

        >>> from forensics.composition.profiles import build_profiles
        >>> from forensics.corpus.categories import load_categories
        >>> profiles = build_profiles(load_categories("languages", categories=["de", "en"]), group_refinement=False)
        >>> profiles.estimate(np.ones(65536)).round(2)
        array([0.84, 0.16])
        """
        from forensics.composition.mixture import estimate_mixture

        picked = list(range(len(self.names))) if rows is None else list(rows)
        directions = self.component_directions() if components and method == "nnls" else None
        total = float(np.sum(pair_hist))
        scales = self.info.get("estimate_sd_scale")
        want_sd = sd and method == "nnls" and bool(scales)
        fitted = estimate_mixture(pair_hist, self.pair_probs[picked], method=method,  # type: ignore[arg-type]
                                  bin_weights=self.pair_weights(total) if method == "nnls" else None,
                                  components=None if directions is None else directions[picked], covariance=want_sd)
        if not sd:
            return fitted
        if not want_sd:
            return fitted, None
        weights, covariance = fitted
        sizes, factors = np.log10([s for s, _ in scales]), [f for _, f in scales]
        factor = float(np.interp(np.log10(max(total, 1.0)), sizes, factors))
        return weights, factor * np.sqrt(np.clip(np.diag(covariance), 0, None))

    def novel(self, byte_scores: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Which documents are unlike every category (:func:`novel_documents`); ``byte_scores`` from
        ``score_array(..., byte_scores=True)``, ``labels`` each document's best category."""
        if self.background is None:
            return np.zeros(len(labels), bool)
        return novel_documents(self.info.get("novelty") or [None] * len(self.names), byte_scores, labels, lengths)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ForensicsError(f"no category {name!r} in the profiles; they have: {', '.join(self.names)}") from None

    def save(self, path: str | os.PathLike, *, compress: bool = True) -> None:
        """Write the profiles to one ``.npz`` file (atomically); ``compress=False`` writes and reads
        back faster (a scan's working copy: compressing 5 MB-set profiles took 1.4 s of every scan)."""
        buffer = io.BytesIO()
        meta = {"version": PROFILE_VERSION, "names": self.names, "groups": self.groups,
                "min_order": self.min_order, "max_order": self.max_order, "calibration": self.calibration,
                "info": self.info}
        write = np.savez_compressed if compress else np.savez
        write(buffer, table=self.table, pair_probs=self.pair_probs, pair_spread=self.pair_spread,
              train_bytes=self.train_bytes,
              **({} if self.token_table is None else {"token_table": self.token_table}),
              **({} if self.background is None else {"background": self.background}),
              **self._group_arrays_by_key(),
              **({} if self.pair_components is None else {"pair_components": self.pair_components,
                                                          "pair_component_norms": self.pair_component_norms}),
              meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike, *, pair_directions: bool = True) -> "Profiles":
        """Read profiles written by :meth:`save`; ``pair_directions=False`` leaves out what only the
        mixture estimate reads (a scan's workers: 62 MB for the large sets)."""
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                if meta.get("version") != PROFILE_VERSION:
                    raise input_error(path, f"profiles version {meta.get('version')} (this tool reads "
                                      f"{PROFILE_VERSION})", "rebuild it with `forensics profiles build`")
                arrays = {k: data[k] for k in ("table", "pair_probs", "pair_spread", "train_bytes")}
                token_table = np.ascontiguousarray(data["token_table"]) if "token_table" in data.files else None
                background = np.ascontiguousarray(data["background"]) if "background" in data.files else None
                group_models = None
                components = (data["pair_components"], data["pair_component_norms"]) \
                    if pair_directions and "pair_components" in data.files else (None, None)
                if "group_model_bits" in data.files:
                    count = sum(1 for key in data.files if key.startswith("group_members_"))
                    group_models = GroupModels(
                        [data[f"group_members_{g}"] for g in range(count)],
                        [np.ascontiguousarray(data[f"group_weights_{g}"], np.float32) for g in range(count)],
                        [data[f"group_bias_{g}"] for g in range(count)], int(data["group_model_bits"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise input_error(path, f"not a profiles file ({exc})",
                              "build one with `forensics profiles build`") from None
        return cls(names=meta["names"], groups=meta["groups"], table=np.ascontiguousarray(arrays["table"]),
                   pair_probs=arrays["pair_probs"], pair_spread=arrays["pair_spread"], min_order=meta["min_order"], max_order=meta["max_order"],
                   calibration=meta["calibration"],
                   train_bytes=arrays["train_bytes"], info=meta["info"], token_table=token_table,
                   group_models=group_models, pair_components=components[0], pair_component_norms=components[1],
                   background=background)

    def _group_arrays(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        models = self.group_models
        return ([], [], []) if models is None else (models.members, models.weights, models.bias)

    def _group_arrays_by_key(self) -> dict[str, np.ndarray]:
        if self.group_models is None:
            return {}
        arrays = {"group_model_bits": np.array(self.group_models.bits)}
        for g, (members, weights, bias) in enumerate(zip(*self._group_arrays())):
            arrays.update({f"group_members_{g}": members, f"group_weights_{g}": weights.astype(np.float16),
                           f"group_bias_{g}": bias})
        return arrays

