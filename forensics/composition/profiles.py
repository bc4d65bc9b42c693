"""Category profiles: what a scan compares every document (and the whole corpus) against.

What it does: from category samples (a bundled set name or a directory; the ``train`` split by
default) builds, per category, (1) naive Bayes tables of hashed byte n-gram log-probabilities
(3-grams by default) and of word-token log-probabilities (words, line starts, punctuation; see
``ngrams.py``), quantized to int16 at ``SCALE`` units per nat, for classifying documents, multinomial
logistic regressions over groups of categories that naive Bayes confuses on held-back text, with a
calibration of the top label's probability fitted on held-back training documents, and (2) the
category's byte-pair distribution (65,536 bins, counted with :func:`forensics.count_pairs`) for the
pair-count mixture estimate. Profiles save to one ``.npz`` file and are cached under
``$FORENSICS_CACHE/profiles`` keyed by the sample files' hashes and the parameters.

What it leaves out: token-pair profiles (a scan's token shares come from per-document labels), and
categories not in the samples (a scan labels what fits none of them ``unknown``).

>>> profiles = load_profiles(["languages", "code"])  # doctest: +SKIP
>>> profiles.names[:3]  # doctest: +SKIP
['ar', 'as', 'ca']
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
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from forensics._results import atomic_write_bytes, file_sha256
from forensics.errors import ForensicsError, input_error

DEFAULT_SETS: tuple[str, ...] = ("languages", "code")
DEFAULT_BITS = 17  # 2**17 rows x categories x int16 stays in cache: measured 1.5x faster than 18
# Byte 3-grams alone: measured (benchmarks/results/scan.md) as accurate as 1..4-grams on languages and
# 1-2% behind 3..4-grams on code, at 2-3x the speed of 3..4 and 5x that of 1..4.
DEFAULT_MIN_ORDER = 3
DEFAULT_MAX_ORDER = 3
DEFAULT_ALPHA = 0.05
# Word tokens (ngrams.py) beside the byte n-grams: measured +3 points on code and +0.3 on languages at
# 200+ bytes (benchmarks/results/scan.md). Their log-probabilities count TOKEN_WEIGHT times; 0 turns them off.
DEFAULT_TOKEN_BITS = 17
DEFAULT_TOKEN_WEIGHT = 2.0
TOKEN_GATE = 50.0  # nats per 256 bytes of top-two byte margin above which tokens are not scored
# Group refinement: categories that naive Bayes confuses on held-back pieces (pairs confused both ways together
# on at least GROUP_MIN_CONFUSION of their pieces, joined into groups of at most MAX_GROUP_SIZE; the worst
# MAX_GROUPS) get a multinomial logistic regression on presence features (ngrams.presence_features), which
# picks among the group when a document's top two are both in it.
MAX_GROUPS = 8
MAX_GROUP_SIZE = 16
GROUP_MIN_CONFUSION = 0.005
GROUP_MODEL_BITS = 17
GROUP_MODEL_L2 = 1e-4
GROUP_MODEL_TEXT = 3_000_000  # bytes of kept training text per category used to fit a group model, at most
GROUP_NB_WEIGHT = 0.01  # naive Bayes' log-probabilities (nats) added to a group model's logits
# Top-two margin (nats per 256 bytes) above which the group models are not asked: measured to keep the
# accuracy of asking them everywhere (within 0.01 points) at about 1.2x the speed (benchmarks/results/scan.md)
GROUP_GATE = 200.0
REFIT_ITERATIONS = 30  # L-BFGS iterations of the refit on all the training text, from the first fit
SCALE = 64.0  # int16 table units per nat
PAIR_ALPHA = 0.01  # add-alpha smoothing of byte-pair distributions (small: a sample may be only 20 KB)
PAIR_FOLDS = 8  # parts of each category's sample (by source unit) whose spread weights the pairs
# Candidate floors (fractions of the mean variance added to every pair's; None: unweighted). The build
# picks the one whose estimate errs least on mixtures of held-back training text: with large samples
# a small floor halves the error, with 20-100 KB samples the spread is too noisy and a large one wins.
PAIR_WEIGHT_FLOORS: tuple[float | None, ...] = (1e-2, 1e-1, 0.3, 1.0, 3.0, 10.0, None)
PROFILE_VERSION = 23
PAIR_COMPONENTS = 8  # directions in which a category's byte-pair distribution varies most between its source units
HELD_OUT_EVERY = 5  # every 5th training unit calibrates the probabilities...
HELD_OUT_MAX_SHARE = 0.3  # ...up to 30% of a category's text (10-30% in practice)
CALIBRATION_PIECE_BYTES = (200, 800, 3200)  # and whole documents
# Corpus sizes (byte pairs) at which the estimate's standard errors are calibrated on held-back text;
# the scale needed falls with size (counting noise) and is flat above about 10 MB
ESTIMATE_SD_SIZES = (1e4, 1e5, 1e6, 1e7)
NOVELTY_MIN_BYTES = 200  # shorter documents are never called novel: their scores are too noisy
# The novelty check (off by default; benchmarks/results/scan.md): a document is novel when its byte score
# lies NOVELTY_SD standard deviations below its category's own held-back texts, or when its category
# explains it NOVELTY_RATIO nats per byte worse than the categories' mean n-gram probabilities do. The
# ratio's cut: 0.02% of the large sets' held-back pieces fall under it.
NOVELTY_SD = 10.0
NOVELTY_RATIO = 0.8


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

        >>> p = load_profiles("code"); p.estimate(np.ones(65536)).shape == (len(p.names),)  # doctest: +SKIP
        True
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


def pack_texts(texts: Sequence[str | bytes]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of all texts in one uint8 array, and the start offsets (plus the total).

    >>> pack_texts(["ab", "c"])[1].tolist()
    [0, 2, 3]
    """
    encoded = [t if isinstance(t, bytes) else t.encode("utf-8", "surrogatepass") for t in texts]
    starts = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=starts[1:])
    return np.frombuffer(b"".join(encoded), np.uint8), starts


def split_pieces(text: str, *, min_bytes: int) -> list[str]:
    """Cut a text at line ends into pieces of at least ``min_bytes`` UTF-8 bytes (a short tail is dropped).

    >>> split_pieces("aa\\nbb\\ncc", min_bytes=4)
    ['aa\\nbb']
    """
    pieces, current, size = [], [], 0
    for line in text.split("\n"):
        current.append(line)
        size += len(line.encode("utf-8", "surrogatepass")) + 1
        if size > min_bytes:
            pieces.append("\n".join(current))
            current, size = [], 0
    return pieces


@dataclass
class GroupModels:
    """Multinomial logistic regressions over groups of easily confused categories.

    ``members[g]`` are group ``g``'s category indices; ``weights[g]`` its weights (``2 << bits``
    presence features x members) and ``bias[g]`` its intercepts.
    """

    members: list[np.ndarray]
    weights: list[np.ndarray]  # float32
    bias: list[np.ndarray]
    bits: int

    def refine(self, scores: np.ndarray, data: np.ndarray, starts: np.ndarray, limit: int) -> np.ndarray:
        """Where a document's top two categories are both in one modelled group and naive Bayes'
        margin is under ``GROUP_GATE``, the group's model (its logits plus ``GROUP_NB_WEIGHT`` times
        naive Bayes' log-probabilities, a tie-breaker) picks among the group, and the pick swaps scores
        with naive Bayes' first: the label follows the model, the margin (which the calibration reads)
        stays naive Bayes' own. Changes ``scores`` in place.
        """
        from forensics.composition import _ngrams_numba as kernels

        if not len(scores) or scores.shape[1] < 2 or not self.members:
            return scores
        first, second = top_two_indices(scores)
        rows = np.arange(len(scores))
        margin = margin_per_256(scores[rows, first], scores[rows, second], scored_lengths(starts, limit))
        for members, weights, bias in zip(self.members, self.weights, self.bias):
            inside = np.zeros(scores.shape[1], bool)
            inside[members] = True
            docs = np.flatnonzero(inside[first] & inside[second] & (margin < GROUP_GATE))
            if not docs.size:
                continue
            logits = kernels.presence_scores(data, starts, docs, weights, self.bits, limit) + bias
            logits += GROUP_NB_WEIGHT / SCALE * scores[docs][:, members]
            pick = members[logits.argmax(axis=1)]
            moved = pick != first[docs]
            docs, pick, top = docs[moved], pick[moved], first[docs][moved]
            scores[docs, top], scores[docs, pick] = scores[docs, pick], scores[docs, top]
        return scores


def top_two_indices(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's best and second-best column (the first of equals first).

    >>> [a.tolist() for a in top_two_indices(np.array([[1, 5, 3], [4, 4, 0]]))]
    [[1, 0], [2, 1]]
    """
    rows = np.arange(len(scores))
    first = scores.argmax(axis=1)
    kept = scores[rows, first]
    scores[rows, first] = np.iinfo(np.int64).min  # the runner-up is the best of the rest
    second = scores.argmax(axis=1)
    scores[rows, first] = kept
    return first, second


def confused_groups(scores: np.ndarray, lengths: np.ndarray, labels: np.ndarray, sets: Sequence[str] | None = None,
                    *, max_bytes: int = 1000) -> list[list[int]]:
    """Groups of categories whose short held-back pieces naive Bayes mixes up.

    Pairs confused (both directions together) on at least ``GROUP_MIN_CONFUSION`` of the two
    categories' pieces join, worst first, into groups of at most ``MAX_GROUP_SIZE`` categories of
    one set (``sets[c]`` names category ``c``'s set); a pair across two sets stays a group of two.
    The ``MAX_GROUPS`` groups with the worst pairs are returned, members sorted.

    >>> confused_groups(np.array([[5, 1, 0], [1, 5, 0], [0, 3, 0], [4, 0, 0], [0, 0, 1]]),
    ...                 np.array([300] * 5), np.array([0, 0, 1, 1, 2]))
    [[0, 1]]
    """
    short = lengths < max_bytes
    best = scores.argmax(axis=1)
    pieces = np.bincount(labels[short], minlength=scores.shape[1])
    wrong = short & (best != labels)
    counts: dict[tuple[int, int], int] = {}
    for truth, guess in zip(labels[wrong], best[wrong]):
        key = (int(min(truth, guess)), int(max(truth, guess)))
        counts[key] = counts.get(key, 0) + 1
    rates = {key: n / max(1, pieces[key[0]] + pieces[key[1]]) for key, n in counts.items()}
    sets = [""] * scores.shape[1] if sets is None else list(sets)
    group_of: dict[int, list[int]] = {}
    order: list[list[int]] = []  # groups in the order of their worst pair
    for a, b in sorted(rates, key=lambda k: (-rates[k], k)):
        if rates[(a, b)] < GROUP_MIN_CONFUSION:
            break
        if sets[a] != sets[b]:
            order.append([a, b])
            continue
        ga, gb = group_of.get(a, [a]), group_of.get(b, [b])
        if ga is gb or len(ga) + len(gb) > MAX_GROUP_SIZE:
            continue
        merged = ga + gb
        for member in merged:
            group_of[member] = merged
        at = min((i for i, g in enumerate(order) if g is ga or g is gb), default=len(order))
        order = [g for g in order[:at] if g is not ga and g is not gb] + [merged] + [
            g for g in order[at:] if g is not ga and g is not gb]
    return [sorted(g) for g in order[:MAX_GROUPS]]


def _first_bytes(texts: list[str], limit: int) -> list[str]:
    """The leading texts that together reach ``limit`` characters (all of them when shorter)."""
    out, size = [], 0
    for text in texts:
        if size >= limit:
            break
        out.append(text)
        size += len(text)
    return out


def fit_group_model(samples: Sequence[Sequence[str]], *, bits: int | None = None, l2: float = GROUP_MODEL_L2,
                    start: tuple[np.ndarray, np.ndarray] | None = None,
                    max_iterations: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Weights (``2 << bits`` presence features x classes, float32) and intercepts of a multinomial
    logistic regression telling the samples apart, fitted on their 200- and 400-byte pieces (L-BFGS,
    L2 penalty ``l2``; from ``start`` when given). The caller bounds the samples (``GROUP_MODEL_TEXT``).
    """
    from scipy import sparse
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    from forensics.composition import _ngrams_numba as kernels

    bits = GROUP_MODEL_BITS if bits is None else bits
    pieces, target = [], []
    for label, texts in enumerate(samples):
        for text in texts:
            for k, size in enumerate((200, 400)):
                cut = split_pieces(text, min_bytes=size)[k::2]
                pieces.extend(cut)
                target.extend([label] * len(cut))
    data, starts = pack_texts(pieces)
    indptr, indices = kernels.presence_matrix(data, starts, bits)
    x = sparse.csr_matrix((np.ones(indices.size), indices, indptr), shape=(len(pieces), 2 << bits))
    x_t = x.T.tocsr()
    y = np.array(target)
    rows = np.arange(len(y))
    n_features, n_classes = x.shape[1], len(samples)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = w[:-n_classes].reshape(n_features, n_classes), w[-n_classes:]
        z = x @ weights + bias
        norm = logsumexp(z, axis=1, keepdims=True)
        gap = np.exp(z - norm)
        gap[rows, y] -= 1.0
        gap /= len(y)
        value = float(np.mean(norm[:, 0] - z[rows, y]) + 0.5 * l2 * np.vdot(weights, weights))
        return value, np.concatenate([(x_t @ gap + l2 * weights).ravel(), gap.sum(axis=0)])

    initial = (np.zeros(n_features * n_classes + n_classes) if start is None
               else np.concatenate([start[0].astype(np.float64).ravel(), start[1]]))
    fit = minimize(loss, initial, jac=True, method="L-BFGS-B", options={"maxiter": max_iterations})
    # float16 precision: profiles store the weights as float16 (half the size; they sum over ~100 features)
    weights = fit.x[:-n_classes].reshape(n_features, n_classes).astype(np.float16).astype(np.float32)
    return weights, fit.x[-n_classes:]


def score_with_tables(data: np.ndarray, starts: np.ndarray, table: np.ndarray, token_table: np.ndarray | None,
                      min_order: int, max_order: int, limit: int,
                      group_models: GroupModels | None = None, *, keep_byte_scores: bool = False,
                      background: np.ndarray | None = None) -> Any:
    """Naive Bayes scores (documents x categories): byte n-grams, plus word tokens for the documents
    the bytes leave in doubt (top-two margin under ``TOKEN_GATE`` nats per 256 bytes).

    The gate skips the token pass for about 90% of paragraphs and changes the accuracy by under
    0.01 points (benchmarks/results/scan.md): those documents are settled by their bytes. Then
    ``group_models`` pick among a group where the top two are both in it (:class:`GroupModels`).
    ``keep_byte_scores`` returns ``(scores, byte_scores)``: the byte n-grams' scores alone as well
    (what the novelty check reads), with the ``background`` column's score appended when given.
    """
    from forensics.composition import _ngrams_numba as kernels

    scores = kernels.score_documents(data, starts, table, min_order, max_order, limit)
    if keep_byte_scores:
        byte_scores = scores if background is None else np.hstack(
            [scores, kernels.score_documents(data, starts, background, min_order, max_order, limit)])
        return _refine_scores(scores.copy(), data, starts, token_table, limit, group_models), byte_scores
    return _refine_scores(scores, data, starts, token_table, limit, group_models)


def _refine_scores(scores: np.ndarray, data: np.ndarray, starts: np.ndarray, token_table: np.ndarray | None,
                   limit: int, group_models: GroupModels | None) -> np.ndarray:
    """Byte scores plus word tokens where they leave doubt, then the group models (in place)."""
    from forensics.composition import _ngrams_numba as kernels

    if token_table is None or not len(scores):
        return scores if group_models is None else group_models.refine(scores, data, starts, limit)
    if scores.shape[1] > 1:
        top2 = top_two(scores)
        doubtful = np.flatnonzero(margin_per_256(top2[:, 1], top2[:, 0], scored_lengths(starts, limit)) < TOKEN_GATE)
    else:
        doubtful = np.zeros(0, np.int64)
    if doubtful.size:
        scores[doubtful] += kernels.score_tokens(data, starts, token_table, limit, doubtful.astype(np.int64))
    return scores if group_models is None else group_models.refine(scores, data, starts, limit)


def background_column(counts: np.ndarray, alpha: float) -> np.ndarray:
    """The log of each bucket's mean smoothed probability over the categories (``counts``:
    categories x buckets), quantized as :func:`_log_prob_table` does, as a (buckets, 1) column.

    >>> background_column(np.array([[3, 0], [0, 3]]), 1.0)[:, 0].tolist() == [round(np.log(0.5) * SCALE)] * 2
    True
    """
    return np.ascontiguousarray(_quantized(np.log(smoothed(counts, alpha).mean(axis=0))[:, None]))


def smoothed(counts: np.ndarray, alpha: float) -> np.ndarray:
    """The rows of ``counts`` as add-``alpha`` smoothed distributions (float64).

    >>> smoothed(np.array([[3, 0]]), 1.0).tolist()
    [[0.8, 0.2]]
    """
    totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
    return (counts + alpha) / (totals + alpha * counts.shape[1])


def _quantized(logp: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """Log-probabilities as int16 table units (``SCALE`` per nat, times ``weight``)."""
    return np.clip(np.round(logp * SCALE * weight), -32767, 0).astype(np.int16)


def _log_prob_table(counts: np.ndarray, alpha: float, weight: float = 1.0) -> np.ndarray:
    # C order: the classifier reads one row (all categories of a bucket) per n-gram
    return np.ascontiguousarray(_quantized(np.log(smoothed(counts, alpha)).T, weight))


DEFAULT_CALIBRATION = (0.0, 1.0, 0.0, 0.0)


def top_two(scores: np.ndarray) -> np.ndarray:
    """Per row, the second-best and the best score, in that order (a partition, not a full sort).

    >>> top_two(np.array([[3, 9, 5, 1]])).tolist()
    [[5, 9]]
    """
    return np.partition(scores, scores.shape[1] - 2, axis=1)[:, -2:]


def scored_lengths(starts: np.ndarray, limit: int) -> np.ndarray:
    """Bytes scored per document: its length, at most ``limit`` (no cap when ``limit <= 0``)."""
    return np.diff(starts) if limit <= 0 else np.minimum(np.diff(starts), limit)


def margin_per_256(best: np.ndarray, second: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The gap between the best and the second score, in nats per 256 scored bytes: what the token
    gate, the group gate and the calibration read.

    >>> margin_per_256(np.array([640]), np.array([0]), np.array([512])).tolist()
    [5.0]
    """
    return (best - second) / SCALE / np.maximum(lengths, 1) * 256.0


def _calibration_features(scores: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per document: 1, log(1 + top-two score margin in nats per 256 bytes), log length, their product."""
    top2 = top_two(scores).astype(np.float64) if scores.shape[1] > 1 else np.zeros((len(scores), 2))
    n = np.maximum(lengths, 1).astype(np.float64)
    margin = np.log1p(margin_per_256(top2[:, 1], top2[:, 0], n))
    log_n = np.log(n / 256.0)
    return np.stack([np.ones_like(n), margin, log_n, margin * log_n], axis=1)


def label_probability(scores: np.ndarray, lengths: np.ndarray, calibration: Sequence[float]) -> np.ndarray:
    """Calibrated probability that each document's best-scoring category is right.

    A logistic function of the margin between the two best scores (per 256 bytes), the length and
    their product, fitted on held-back documents: naive Bayes margins grow over-confident with length
    because overlapping n-grams are not independent.

    >>> label_probability(np.array([[64, 0]]), np.array([256]), [0.0, 1.0, 0.0, 0.0]).round(3).tolist()
    [0.667]
    """
    z = _calibration_features(scores, lengths) @ np.asarray(calibration, np.float64)
    return expit(z)


def byte_score_per_byte(byte_scores: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each document's byte n-gram score under category ``labels[i]``, in nats per scored byte.

    >>> byte_score_per_byte(np.array([[-640, -1280]]), np.array([1]), np.array([10])).tolist()
    [-2.0]
    """
    rows = np.arange(len(labels))
    return byte_scores[rows, labels] / (np.maximum(lengths, 1) * SCALE)


def fit_novelty(per_byte: np.ndarray, lengths: np.ndarray, labels: np.ndarray, n_categories: int,
                *, min_pieces: int = 20) -> list[list[float] | None]:
    """Per category ``[median, a, b]`` of its own held-back pieces' byte score per byte (under their
    own category): the median, and a variance ``a + b / length`` fitted to the squared deviations,
    clipped at 3 sd of the fit and refitted (the odd piece of another language does not widen it).
    ``a`` is how much whole texts of a category differ, ``b / length`` the noise of a short piece.
    None for a category with fewer than ``min_pieces`` pieces.

    >>> rng = np.random.default_rng(0); n = rng.integers(200, 4000, 2000)
    >>> [round(x, 2) for x in fit_novelty(-3 + rng.normal(0, np.sqrt(0.01 + 50 / n)), n, np.zeros(2000, int), 1)[0]]
    [-3.01, 0.01, 48.78]
    """
    out: list[list[float] | None] = []
    for c in range(n_categories):
        mine = labels == c
        if mine.sum() < min_pieces:
            out.append(None)
            continue
        squared = (per_byte[mine] - np.median(per_byte[mine])) ** 2
        design = np.column_stack([np.ones(mine.sum()), 1.0 / np.maximum(lengths[mine], 1)])
        limit = np.full(mine.sum(), np.quantile(squared, 0.95))
        for _ in range(4):  # clip at 3 sd of the current fit, refit
            (a, b), *_ = np.linalg.lstsq(design, np.minimum(squared, limit), rcond=None)
            a, b = max(a, 1e-4), max(b, 1.0)
            limit = 9 * (a + b * design[:, 1])
        out.append([float(np.median(per_byte[mine])), float(a), float(b)])
    return out


def novelty_z(model: list[list[float] | None], byte_scores: np.ndarray, labels: np.ndarray,
              lengths: np.ndarray) -> np.ndarray:
    """How far below its category's own texts each document's byte score per byte lies, in standard
    deviations of :func:`fit_novelty`'s ``model`` for its length (0 for documents under
    ``NOVELTY_MIN_BYTES`` scored bytes and for categories without a model).

    >>> scores = np.array([[-1600 * 4 * SCALE]])  # -4 nats per byte over 1,600 bytes
    >>> novelty_z([[-3.0, 0.01, 50.0]], scores, np.array([0]), np.array([1600])).round(1).tolist()
    [-4.9]
    """
    table = np.array([m if m is not None else [0.0, np.inf, 0.0] for m in model], np.float64)
    lengths = np.asarray(lengths, np.float64)
    centre, spread, noise = table[np.asarray(labels)].T
    z = (byte_score_per_byte(byte_scores, labels, lengths) - centre) / np.sqrt(spread + noise / np.maximum(lengths, 1))
    return np.where(lengths >= NOVELTY_MIN_BYTES, z, 0.0)


def background_ratio(byte_scores: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per document, nats per scored byte by which category ``labels[i]`` explains its byte n-grams
    better than the background does (each n-gram's mean probability over the categories: the last
    column of ``byte_scores``). Negative: no one category explains the text as well as a patchwork
    of all of them, as with a language the profiles lack, whose n-grams are spread over its
    relatives. 0 for documents under ``NOVELTY_MIN_BYTES`` scored bytes.

    >>> background_ratio(np.array([[-640 * 300, -320 * 300]]), np.array([0]), np.array([300])).tolist()
    [-5.0]
    """
    lengths = np.asarray(lengths, np.float64)
    ratio = byte_score_per_byte(byte_scores, labels, lengths) - byte_scores[:, -1] / (np.maximum(lengths, 1) * SCALE)
    return np.where(lengths >= NOVELTY_MIN_BYTES, ratio, 0.0)


def novel_documents(model: list[list[float] | None], byte_scores: np.ndarray, labels: np.ndarray,
                    lengths: np.ndarray) -> np.ndarray:
    """Documents unlike every category: their byte n-grams score more than ``NOVELTY_SD`` standard
    deviations below their category's own held-back texts (:func:`novelty_z`: junk, a script no
    category uses), or their category explains them more than ``NOVELTY_RATIO`` nats per byte worse
    than the background does (:func:`background_ratio`: a language the profiles lack).
    ``byte_scores``: the categories' byte scores with the background's as the last column."""
    return ((novelty_z(model, byte_scores, labels, lengths) < -NOVELTY_SD)
            | (background_ratio(byte_scores, labels, lengths) < -NOVELTY_RATIO))


def _fit_calibration(scores: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> list[float]:
    """Logistic regression of "the best category is right" on the calibration features."""
    from scipy.optimize import minimize

    x = _calibration_features(scores, lengths)
    y = (scores.argmax(axis=1) == labels).astype(np.float64)
    if y.min() == y.max():
        return list(DEFAULT_CALIBRATION)

    def loss(w):
        z = x @ w
        # log(1 + e^z) - y z, and its gradient; a little L2 keeps separable data finite
        value = np.logaddexp(0.0, z) - y * z
        grad = x.T @ (expit(z) - y) / len(y) + 1e-4 * w
        return float(value.mean() + 0.5e-4 * w @ w), grad

    fit = minimize(loss, np.array(DEFAULT_CALIBRATION), jac=True, method="L-BFGS-B")
    return [float(v) for v in fit.x]


def held_out_accuracy(scores: np.ndarray, lengths: np.ndarray, labels: np.ndarray, names: list[str], *,
                      max_bytes: int = 1000, min_pieces: int = 20) -> dict[str, float]:
    """Per category, the share of its held-back pieces of under ``max_bytes`` bytes whose best category
    is right (under weights that never saw them): how reliable short documents of it are. Categories
    with fewer than ``min_pieces`` such pieces are left out (too few to say).

    >>> held_out_accuracy(np.array([[5, 1], [0, 3], [4, 2]]), np.array([300, 300, 300]), np.array([0, 0, 1]),
    ...                   ["a", "b"], min_pieces=1)
    {'a': 0.5, 'b': 0.0}
    """
    short = lengths < max_bytes
    right = scores.argmax(axis=1) == labels
    return {name: round(float(right[short & (labels == i)].mean()), 4)
            for i, name in enumerate(names) if (short & (labels == i)).sum() >= min_pieces}


def _hold_out(documents: list[Any]) -> tuple[list[str], list[str], set[str]]:
    """Split training documents into kept and held-out texts by source unit: every 5th unit, then
    others from the end, while the held-out text stays within ``HELD_OUT_MAX_SHARE`` of the bytes.
    Returns the kept texts, the held-out texts and the held-out units.

    Pieces of one source file (ids ``a.py``, ``a.py#1``, ...) stay on one side: calibrating on a
    piece of a file the weights have seen would make the probabilities too confident. A category
    whose units are all too big to hold out keeps everything.
    """
    units = unit_names(documents)
    if len(units) < 2:
        return [d.text for d in documents], [], set()
    size: dict[str, int] = {}
    for d in documents:
        size[_unit_of(d)] = size.get(_unit_of(d), 0) + len(d.text)
    budget = HELD_OUT_MAX_SHARE * sum(size.values())
    every = units[HELD_OUT_EVERY - 1::HELD_OUT_EVERY]
    rest = [u for u in reversed(units) if u not in set(every)]
    held_units: set[str] = set()
    held_size = 0
    for unit in every + rest:
        if held_size >= budget / 2:
            break
        if held_size + size[unit] <= budget:
            held_units.add(unit)
            held_size += size[unit]
    kept = [d.text for d in documents if _unit_of(d) not in held_units]
    held = [d.text for d in documents if _unit_of(d) in held_units]
    return kept, held, held_units


def unit_names(documents: list[Any]) -> list[str]:
    """The sorted source units (files, pages) of documents with text: the row order of
    :func:`unit_pair_histograms`."""
    return sorted({_unit_of(d) for d in documents if d.text})


def _unit_of(document: Any) -> str:
    return (document.id or document.source).split("#", 1)[0]


def unit_pair_histograms(documents: list[Any]) -> Any:
    """Byte-pair counts of each source unit (files, pages) of a category's sample: a sparse
    units x 65,536 matrix, rows in sorted unit order, pairs inside documents only (as
    :func:`forensics.counting.pairs.count_pairs` counts them; one 2-D histogram instead of a kernel
    call per unit, which took 4x as long on the large sets).

    >>> from types import SimpleNamespace as Doc
    >>> h = unit_pair_histograms([Doc(id="a#1", source="", text="ab"), Doc(id="a#2", source="", text="ab")])
    >>> h.shape, int(h[0, ord("a") << 8 | ord("b")]), int(h.sum())
    ((1, 65536), 2, 2)
    """
    import scipy.sparse as sparse

    documents = [d for d in documents if d.text]
    units = unit_names(documents)
    unit_index = {u: i for i, u in enumerate(units)}
    data, starts = pack_texts([d.text for d in documents])
    inside = np.ones(max(data.size - 1, 0), bool)
    inside[starts[1:-1] - 1] = False
    units_of_bytes = np.repeat([unit_index[_unit_of(d)] for d in documents], np.diff(starts))
    codes = data[:-1].astype(np.int64) << 8 | data[1:]
    hists = sparse.csr_matrix((np.ones(int(inside.sum())), (units_of_bytes[:-1][inside], codes[inside])),
                              shape=(len(units), 1 << 16))
    hists.sum_duplicates()
    return hists


def pair_fold_variance(unit_hists: Any) -> np.ndarray | None:
    """How much each byte pair's frequency varies across ``PAIR_FOLDS`` parts of a category's sample.

    Parts are whole source units (rows of :func:`unit_pair_histograms`) dealt round-robin in sorted
    order; None when the sample has fewer than two units.
    """
    if unit_hists.shape[0] < 2:
        return None
    frequencies = []
    for fold in range(min(PAIR_FOLDS, unit_hists.shape[0])):
        hist = np.asarray(unit_hists[fold::PAIR_FOLDS].sum(axis=0)).ravel()
        if hist.sum():
            frequencies.append(hist / hist.sum())
    if len(frequencies) < 2:
        return None
    return np.var(frequencies, axis=0, ddof=1)


def pooled_spread(variances: list[np.ndarray]) -> np.ndarray:
    """The mean over categories of :func:`pair_fold_variance` (zeros without any).

    >>> pooled_spread([np.array([0.0, 1.0]), np.array([0.0, 3.0])]).tolist()
    [0.0, 2.0]
    """
    return np.mean(variances, axis=0) if variances else np.zeros(1 << 16)


def pair_components(hists: Any, *, rank: int = PAIR_COMPONENTS) -> tuple[np.ndarray, np.ndarray]:
    """The ``rank`` directions in which a category's byte-pair distribution varies most between its
    source units (rows of :func:`unit_pair_histograms`), weighted by size: the top eigenvectors of
    the covariance of the sample's pair frequencies, scaled by the square root of their eigenvalues.

    Returns rows scaled to a largest absolute value of 1 (float16) and their scales (float32); rows
    past the number of units are zero. Docstrings in one project and not the next, or one page's
    topic, show up as such a direction; the mixture estimate discounts them.

    >>> from types import SimpleNamespace as Doc
    >>> docs = [Doc(id="a", source="", text="abab"), Doc(id="b", source="", text="cdcd")]
    >>> rows, norms = pair_components(unit_pair_histograms(docs), rank=2)
    >>> rows.shape, bool(norms[0] > 0), float(norms[1])
    ((2, 65536), True, 0.0)
    """
    import scipy.linalg

    sizes = np.asarray(hists.sum(axis=1)).ravel()
    total = sizes.sum()
    out, norms = np.zeros((rank, 1 << 16), np.float16), np.zeros(rank, np.float32)
    n = hists.shape[0]
    if total <= 0 or n < 2:
        return out, norms
    mean = np.asarray(hists.sum(axis=0)).ravel() / total
    # Gram matrix of the rows (h_u - n_u p) / N without forming them densely
    projected = hists @ mean
    gram = ((hists @ hists.T).toarray() - np.outer(projected, sizes) - np.outer(sizes, projected)
            + (mean @ mean) * np.outer(sizes, sizes)) / total ** 2
    values, vectors = scipy.linalg.eigh(gram, subset_by_index=[max(n - rank, 0), n - 1])
    top = np.argsort(values)[::-1]
    vectors = vectors[:, top] * (np.clip(values[top], 0, None) > 1e-30)
    directions = (np.asarray((hists.T @ vectors).T) - np.outer(vectors.T @ sizes, mean)) / total
    for i, row in enumerate(directions):
        peak = np.abs(row).max()
        if peak > 0:
            out[i], norms[i] = (row / peak).astype(np.float16), peak
    return out, norms


def _pair_weights(pair_probs: np.ndarray, spread: np.ndarray, total_pairs: float,
                  floor: float | None) -> np.ndarray:
    if floor is None:
        return np.ones(pair_probs.shape[1])
    variance = spread + pair_probs.mean(axis=0) / max(float(total_pairs), 1.0)
    return 1.0 / np.sqrt(variance + floor * variance.mean())


def choose_pair_weight_floor(kept_pairs: list[np.ndarray], held_pairs: list[np.ndarray | None],
                             spread: np.ndarray, *, mixtures: int = 8,
                             total_pairs: float = 1e7) -> tuple[float | None, dict[str, float]]:
    """The floor of ``PAIR_WEIGHT_FLOORS`` whose mixture estimate errs least on held-back text.

    Profiles of the kept training text are fitted to Dirichlet(1) mixtures (seed 0) of the
    categories' held-back text; returns the best floor and the mean byte-share L1 of each.
    Unweighted (None) when fewer than two categories have held-back text.
    """
    from forensics.composition.mixture import estimate_mixture

    prepared = _held_mixtures(kept_pairs, held_pairs, mixtures)
    if prepared is None:
        return None, {}
    probs, held, usable, truths = prepared
    errors: dict[str, float] = {}
    for floor in PAIR_WEIGHT_FLOORS:
        weights = _pair_weights(probs, spread, total_pairs, floor)
        errors[str(floor)] = float(np.mean([
            np.abs(estimate_mixture(truth[usable] @ held * total_pairs, probs, bin_weights=weights) - truth).sum()
            for truth in truths]))
    best = min(PAIR_WEIGHT_FLOORS, key=lambda f: errors[str(f)])
    return best, errors


def _held_mixtures(kept_pairs: list[np.ndarray], held_pairs: list[np.ndarray | None], mixtures: int,
                   ) -> tuple[np.ndarray, np.ndarray, list[int], list[np.ndarray]] | None:
    """Profiles of the kept training text, the held-back frequencies of the categories that have
    held-back text, their indices, and ``mixtures`` Dirichlet(1) truths over them (seed 0); None
    when fewer than two categories have held-back text."""
    usable = [i for i, h in enumerate(held_pairs) if h is not None and h.sum() > 0]
    if len(usable) < 2:
        return None
    probs = smoothed(np.array(kept_pairs), PAIR_ALPHA)
    held = np.array([held_pairs[i] / held_pairs[i].sum() for i in usable])
    rng = np.random.default_rng(0)
    truths = []
    for _ in range(mixtures):
        truth = np.zeros(len(held_pairs))
        truth[usable] = rng.dirichlet(np.ones(len(usable)))
        truths.append(truth)
    return probs, held, usable, truths


def calibrate_estimate_sd(kept_pairs: list[np.ndarray], held_pairs: list[np.ndarray | None], spread: np.ndarray,
                          floor: float | None, kept_components: np.ndarray | None, *, mixtures: int = 8,
                          sizes: Sequence[float] = ESTIMATE_SD_SIZES,
                          ) -> tuple[list[list[float]] | None, dict[str, Any]]:
    """How much to scale the mixture estimate's model standard errors so that they describe its
    errors on held-back text, by corpus size.

    Profiles of the kept training text (with the kept units' directions) are fitted to Dirichlet(1)
    mixtures of the held-back text, sampled as ``size`` pairs; at each size the scale is the 90th
    percentile of ``|error / model sd|`` over categories and mixtures, divided by 1.645, so that
    ``estimate +- 1.645 sd`` covers 90% of the held-back errors. Returns ``[[size, scale], ...]``
    (None with fewer than two categories of held-back text) and the coverage it measured.
    """
    from forensics.composition.mixture import estimate_mixture

    prepared = _held_mixtures(kept_pairs, held_pairs, mixtures)
    if prepared is None:
        return None, {}
    probs, held, usable, truths = prepared
    rng = np.random.default_rng(1)
    scales, validation = [], {}
    for size in sizes:
        weights = _pair_weights(probs, spread, size, floor)
        ratios, errors = [], []
        for truth in truths:
            mixed = truth[usable] @ held
            counts = rng.multinomial(int(size), mixed / mixed.sum()).astype(np.float64)
            fitted, covariance = estimate_mixture(counts, probs, bin_weights=weights, components=kept_components,
                                                  covariance=True)
            sd = np.sqrt(np.clip(np.diag(covariance), 1e-30, None))
            ratios.append(np.abs(fitted - truth)[usable] / sd[usable])
            errors.append(np.abs(fitted - truth).sum())
        scale = float(np.quantile(np.concatenate(ratios), 0.9) / 1.645)
        scales.append([float(size), scale])
        validation[f"{size:g}"] = {"scale": scale, "l1": float(np.mean(errors)),
                                   "median_abs_z": float(np.median(np.concatenate(ratios)) / scale)}
    return scales, validation


def _resolve_sets(categories: Any) -> list[Any]:
    from forensics.corpus.categories import CategorySet

    if isinstance(categories, (str, os.PathLike, CategorySet)):
        return [categories]
    return list(categories)


def build_profiles(categories: Any = DEFAULT_SETS, *, split: str = "train", bits: int = DEFAULT_BITS,
                   min_order: int = DEFAULT_MIN_ORDER, max_order: int = DEFAULT_MAX_ORDER,
                   alpha: float = DEFAULT_ALPHA, token_bits: int = DEFAULT_TOKEN_BITS,
                   token_weight: float = DEFAULT_TOKEN_WEIGHT, group_refinement: bool = True,
                   progress: bool = False) -> Profiles:
    """Build profiles from one or more category sets (names, directories or loaded sets).

    ``token_weight`` 0 leaves out the word-token features (bytes only); ``group_refinement=False`` the
    models of groups of easily confused categories. ``progress`` shows a progress bar (stderr): with
    5 MB category sets the build takes a few minutes, mostly fitting the group models.

    Category names must be unique across the sets.

    >>> p = build_profiles("code"); len(p.names) >= 10  # doctest: +SKIP
    True
    """
    from forensics.composition import _ngrams_numba as kernels
    from forensics.corpus.categories import CategorySet, load_categories
    if not 8 <= bits <= 24 or not 8 <= token_bits <= 24 or not 1 <= min_order <= max_order <= 5 or token_weight < 0:
        raise ForensicsError("profiles need 8 <= bits, token_bits <= 24, 1 <= min_order <= max_order <= 5 and "
                             "token_weight >= 0")
    use_tokens = token_weight > 0
    kept_texts: list[list[str]] = []
    all_texts: list[list[str]] = []
    group_models: GroupModels | None = None
    token_counts: list[np.ndarray] = []
    held_token_counts: list[np.ndarray] = []
    names, groups, sources = [], [], []
    bucket_counts, held_counts, pair_hists, train_bytes = [], [], [], []
    held_texts: list[str] = []
    held_labels: list[int] = []
    pair_variances: list[np.ndarray] = []
    component_rows: list[np.ndarray] = []
    component_norms: list[np.ndarray] = []
    kept_pairs: list[np.ndarray] = []
    held_pairs: list[np.ndarray | None] = []
    kept_components: list[np.ndarray] = []
    from tqdm import tqdm

    bar = tqdm(desc="profiles: reading categories", unit=" category", disable=not progress, leave=False)
    for spec in _resolve_sets(categories):
        cat_set = spec if isinstance(spec, CategorySet) else load_categories(spec, split=split)
        sources.append(f"{cat_set.name}:{cat_set.split}")
        for cat in cat_set:
            if cat.name in names:
                raise ForensicsError(f"category {cat.name!r} is in two of the sets {sources}; pass sets with "
                                     f"distinct category names")
            documents = [d for d in cat.documents() if d.text]
            if not documents:
                raise input_error(cat.files[0] if cat.files else cat_set.path, f"category {cat.name!r} has no text",
                                  "add sample text or leave the category out")
            texts = [d.text for d in documents]
            data, starts = pack_texts(texts)
            bucket_counts.append(kernels.count_buckets(data, starts, bits, min_order, max_order))
            if use_tokens:
                token_counts.append(kernels.count_token_buckets(data, starts, token_bits))
            kept, held, held_units = _hold_out(documents)
            kept_texts.append(_first_bytes(kept, GROUP_MODEL_TEXT))  # what group models may be fitted on
            all_texts.append(_first_bytes(kept + held, GROUP_MODEL_TEXT))
            kept_data, kept_starts = pack_texts(kept)
            held_counts.append(kernels.count_buckets(kept_data, kept_starts, bits, min_order, max_order))
            if use_tokens:
                held_token_counts.append(kernels.count_token_buckets(kept_data, kept_starts, token_bits))
            for text in held:
                for k, size in enumerate(CALIBRATION_PIECE_BYTES):
                    pieces = split_pieces(text, min_bytes=size)[k::len(CALIBRATION_PIECE_BYTES)]
                    held_texts.extend(pieces)
                    held_labels.extend([len(names)] * len(pieces))
                held_texts.append(text)
                held_labels.append(len(names))
            unit_hists = unit_pair_histograms(documents)
            pair_hists.append(np.asarray(unit_hists.sum(axis=0)).ravel())  # the category's pair histogram
            is_held = np.array([unit in held_units for unit in unit_names(documents)])
            kept_pairs.append(np.asarray(unit_hists[np.flatnonzero(~is_held)].sum(axis=0), np.float64).ravel())
            held_pairs.append(np.asarray(unit_hists[np.flatnonzero(is_held)].sum(axis=0), np.float64).ravel()
                              if is_held.any() else None)
            kept_rows, kept_norms = pair_components(unit_hists[np.flatnonzero(~is_held)])
            kept_components.append(kept_rows.astype(np.float32) * kept_norms[:, None])
            rows, norms = pair_components(unit_hists)
            component_rows.append(rows)
            component_norms.append(norms)
            variance = pair_fold_variance(unit_hists)
            if variance is not None:
                pair_variances.append(variance)
            train_bytes.append(int(data.size))
            names.append(cat.name)
            groups.append(cat.group)
            bar.update()
    if len(names) < 2:
        raise ForensicsError("profiles need at least two categories")
    calibration = list(DEFAULT_CALIBRATION)
    held_accuracy: dict[str, float] = {}
    novelty: list[list[float] | None] = [None] * len(names)
    novelty_validation: dict[str, float] = {}
    if held_texts:
        kept_counts = np.array(held_counts)
        held_table = _log_prob_table(kept_counts, alpha)
        data, starts = pack_texts(held_texts)
        lengths = np.diff(starts)
        held_tokens = _log_prob_table(np.array(held_token_counts), alpha, token_weight) if use_tokens else None
        scores, byte_scores = score_with_tables(data, starts, held_table, held_tokens, min_order, max_order, 0,
                                                keep_byte_scores=True, background=background_column(kept_counts, alpha))
        labels_held = np.array(held_labels)
        novelty = fit_novelty(byte_score_per_byte(byte_scores, labels_held, lengths), lengths, labels_held, len(names))
        false_alarms = novel_documents(novelty, byte_scores, scores.argmax(axis=1), lengths)
        novelty_validation = {"pieces": float(false_alarms.mean()),
                              "bytes": float(lengths[false_alarms].sum() / max(data.size, 1))}
        del byte_scores
        if group_refinement:
            groups_found = [np.array(g, np.int64) for g in confused_groups(scores, np.diff(starts),
                                                                            np.array(held_labels), groups)]
            if groups_found:
                # models that never saw the held-back pieces decide them for the calibration; the models kept
                # are fitted again on all the training text, starting from the first fit
                bar.reset(total=2 * len(groups_found))
                bar.set_description(f"profiles: fitting {len(groups_found)} group models twice")
                fits = []
                for group in groups_found:
                    fits.append(fit_group_model([kept_texts[i] for i in group]))
                    bar.update()
                GroupModels(groups_found, [w for w, _ in fits], [b for _, b in fits],
                            GROUP_MODEL_BITS).refine(scores, data, starts, 0)
                for k, group in enumerate(groups_found):
                    fits[k] = fit_group_model([all_texts[i] for i in group], start=fits[k],
                                              max_iterations=REFIT_ITERATIONS)
                    bar.update()
                group_models = GroupModels(groups_found, [w for w, _ in fits], [b for _, b in fits],
                                           GROUP_MODEL_BITS)
        calibration = _fit_calibration(scores, np.diff(starts), np.array(held_labels))
        held_accuracy = held_out_accuracy(scores, np.diff(starts), np.array(held_labels), names)
    bar.close()
    pair_probs = smoothed(np.array(pair_hists), PAIR_ALPHA)
    pair_spread = pooled_spread(pair_variances)
    floor, validation = choose_pair_weight_floor(kept_pairs, held_pairs, pair_spread)
    sd_scales, sd_validation = calibrate_estimate_sd(kept_pairs, held_pairs, pair_spread, floor,
                                                     np.array(kept_components))
    del kept_components
    info = {"held_out_accuracy": held_accuracy, "pair_weight_floor": floor, "pair_weight_validation": validation,
            "estimate_sd_scale": sd_scales, "estimate_sd_validation": sd_validation, "novelty": novelty,
            "novelty_validation": novelty_validation,
            "sets": sources, "split": split, "bits": bits, "alpha": alpha, "scale": SCALE,
            "token_bits": token_bits if use_tokens else None, "token_weight": token_weight,
            "refined_groups": [] if group_models is None else [[names[i] for i in g] for g in group_models.members],
            "calibration_documents": len(held_texts)}
    counts = np.array(bucket_counts)
    return Profiles(names=names, groups=groups, table=_log_prob_table(counts, alpha),
                    pair_probs=pair_probs, pair_spread=pair_spread,
                    min_order=min_order, max_order=max_order, calibration=calibration,
                    train_bytes=np.array(train_bytes, np.int64), info=info,
                    token_table=_log_prob_table(np.array(token_counts), alpha, token_weight) if use_tokens else None,
                    group_models=group_models, pair_components=np.array(component_rows),
                    pair_component_norms=np.array(component_norms),
                    background=background_column(counts, alpha))


def profiles_cache_dir() -> Path:
    """``$FORENSICS_CACHE/profiles`` (default ``~/.cache/forensics/profiles``)."""
    root = Path(os.environ.get("FORENSICS_CACHE", Path.home() / ".cache" / "forensics"))
    return root / "profiles"


def _cache_key(specs: list[Any], split: str, params: dict[str, Any]) -> str:
    from forensics.corpus.categories import load_categories

    digest = hashlib.sha256(json.dumps([PROFILE_VERSION, split, params], sort_keys=True).encode())
    for spec in specs:
        cat_set = load_categories(spec, split=split)
        for cat in cat_set:
            digest.update(f"{cat_set.name}/{cat.name}/{cat.group}".encode())
            for path in cat.files:
                digest.update(file_sha256(path).encode())
    return digest.hexdigest()[:24]


def load_profiles(spec: Any = DEFAULT_SETS, *, split: str = "train", cache: bool = True, progress: bool = False,
                  **params: Any) -> Profiles:
    """Profiles from a ``.npz`` file, or built (and cached) from category set names or directories.

    >>> load_profiles("profiles.npz")  # doctest: +SKIP
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
