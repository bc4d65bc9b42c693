"""The build: category samples in, :class:`~forensics.composition.profiles.model.Profiles` out.

What it does: reads one or more category sets, counts each category's byte n-gram and word-token
buckets and its byte pairs, holds back every ``HELD_OUT_EVERY``-th source unit (up to
``HELD_OUT_MAX_SHARE`` of the text) and scores its pieces under tables of the kept text to fit the
novelty model, the group models and the calibration, then picks the pair-weight floor and the
estimate's standard-error scale on mixtures of held-back text. With 5 MB category sets it takes a
few minutes, mostly fitting the group models.

What it leaves out: the arithmetic of each part (``tables.py`` ... ``pairs.py``), the file format
(``model.py``) and caching (``cache.py``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from forensics.composition.profiles.calibration import DEFAULT_CALIBRATION, _fit_calibration, held_out_accuracy
from forensics.composition.profiles.groups import (GROUP_MODEL_BITS, GROUP_MODEL_TEXT, REFIT_ITERATIONS, GroupModels,
                                                   _first_bytes, confused_groups, fit_group_model)
from forensics.composition.profiles.model import Profiles
from forensics.composition.profiles.novelty import byte_score_per_byte, fit_novelty, novel_documents
from forensics.composition.profiles.pairs import (PAIR_ALPHA, _unit_of, calibrate_estimate_sd,
                                                  choose_pair_weight_floor, pair_components, pair_fold_variance,
                                                  pooled_spread, unit_names, unit_pair_histograms)
from forensics.composition.profiles.scoring import score_with_tables
from forensics.composition.profiles.tables import (SCALE, _log_prob_table, background_column, pack_texts, smoothed,
                                                   split_pieces)
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
HELD_OUT_EVERY = 5  # every 5th training unit calibrates the probabilities...
HELD_OUT_MAX_SHARE = 0.3  # ...up to 30% of a category's text (10-30% in practice)
CALIBRATION_PIECE_BYTES = (200, 800, 3200)  # and whole documents


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

    >>> from forensics.corpus.categories import load_categories
    >>> build_profiles(load_categories("code", categories=["python", "rust"]), group_refinement=False).names
    ['python', 'rust']
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

