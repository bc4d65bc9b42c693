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

The modules, each importing only from those above it::

    tables       packing text; smoothed, quantized tables; top two and margins
      |-- groups       group models over confused categories
      |     '-- scoring    naive Bayes scores, token gate, group refinement
      |-- calibration  the top label's probability; held-out accuracy
      |-- novelty      documents unlike every category
      '-- pairs        byte-pair histograms, spread, weights, directions, estimate sd
    model        Profiles: the container, its estimate and its .npz file (groups, novelty, pairs)
    build        build_profiles: samples -> Profiles (all of the above)
    cache        load_profiles: a file, or built once and cached (model, build)

This package re-exports every name the single ``profiles.py`` module had; a tuned constant is read
where it is defined (patch ``profiles.groups.MAX_GROUP_SIZE``, not the re-export).

>>> from forensics.corpus.categories import load_categories
>>> profiles = build_profiles(load_categories("languages", categories=["de", "en"]), group_refinement=False)
>>> profiles.names
['de', 'en']
"""

from __future__ import annotations

from forensics.composition.profiles.build import (CALIBRATION_PIECE_BYTES, DEFAULT_ALPHA, DEFAULT_BITS,
                                                  DEFAULT_MAX_ORDER, DEFAULT_MIN_ORDER, DEFAULT_SETS,
                                                  DEFAULT_TOKEN_BITS, DEFAULT_TOKEN_WEIGHT, HELD_OUT_EVERY,
                                                  HELD_OUT_MAX_SHARE, _hold_out, _resolve_sets, build_profiles)
from forensics.composition.profiles.cache import _cache_key, load_profiles, profiles_cache_dir
from forensics.composition.profiles.calibration import (DEFAULT_CALIBRATION, _calibration_features, _fit_calibration,
                                                        held_out_accuracy, label_probability)
from forensics.composition.profiles.groups import (GROUP_GATE, GROUP_MIN_CONFUSION, GROUP_MODEL_BITS, GROUP_MODEL_L2,
                                                   GROUP_MODEL_TEXT, GROUP_NB_WEIGHT, MAX_GROUP_SIZE, MAX_GROUPS,
                                                   REFIT_ITERATIONS, GroupModels, _first_bytes, confused_groups,
                                                   fit_group_model)
from forensics.composition.profiles.model import PROFILE_VERSION, Profiles
from forensics.composition.profiles.novelty import (NOVELTY_MIN_BYTES, NOVELTY_RATIO, NOVELTY_SD, background_ratio,
                                                    byte_score_per_byte, fit_novelty, novel_documents, novelty_z)
from forensics.composition.profiles.pairs import (ESTIMATE_SD_SIZES, PAIR_ALPHA, PAIR_COMPONENTS, PAIR_FOLDS,
                                                  PAIR_WEIGHT_FLOORS, _held_mixtures, _pair_weights, _unit_of,
                                                  calibrate_estimate_sd, choose_pair_weight_floor, pair_components,
                                                  pair_fold_variance, pooled_spread, unit_names, unit_pair_histograms)
from forensics.composition.profiles.scoring import TOKEN_GATE, _refine_scores, score_with_tables
from forensics.composition.profiles.tables import (SCALE, _log_prob_table, _quantized, background_column,
                                                   margin_per_256, pack_texts, scored_lengths, smoothed, split_pieces,
                                                   top_two, top_two_indices)

__all__ = [
    # the container, building and loading
    "Profiles", "build_profiles", "load_profiles", "profiles_cache_dir", "PROFILE_VERSION", "DEFAULT_SETS",
    "DEFAULT_BITS", "DEFAULT_MIN_ORDER", "DEFAULT_MAX_ORDER", "DEFAULT_ALPHA", "DEFAULT_TOKEN_BITS",
    "DEFAULT_TOKEN_WEIGHT", "HELD_OUT_EVERY", "HELD_OUT_MAX_SHARE", "CALIBRATION_PIECE_BYTES",
    # tables and scoring
    "SCALE", "TOKEN_GATE", "pack_texts", "split_pieces", "smoothed", "background_column", "top_two",
    "top_two_indices", "scored_lengths", "margin_per_256", "score_with_tables",
    # group models
    "GroupModels", "confused_groups", "fit_group_model", "MAX_GROUPS", "MAX_GROUP_SIZE", "GROUP_MIN_CONFUSION",
    "GROUP_MODEL_BITS", "GROUP_MODEL_L2", "GROUP_MODEL_TEXT", "GROUP_NB_WEIGHT", "GROUP_GATE", "REFIT_ITERATIONS",
    # calibration and novelty
    "DEFAULT_CALIBRATION", "label_probability", "held_out_accuracy", "NOVELTY_MIN_BYTES", "NOVELTY_SD",
    "NOVELTY_RATIO", "byte_score_per_byte", "fit_novelty", "novelty_z", "background_ratio", "novel_documents",
    # pair statistics
    "PAIR_ALPHA", "PAIR_FOLDS", "PAIR_WEIGHT_FLOORS", "PAIR_COMPONENTS", "ESTIMATE_SD_SIZES", "unit_names",
    "unit_pair_histograms", "pair_fold_variance", "pooled_spread", "pair_components", "choose_pair_weight_floor",
    "calibrate_estimate_sd",
    # private helpers the single module had (tests import _hold_out; _cache_key names cached files)
    "_hold_out", "_resolve_sets", "_cache_key", "_calibration_features", "_fit_calibration", "_first_bytes",
    "_held_mixtures", "_pair_weights", "_unit_of", "_refine_scores", "_log_prob_table", "_quantized",
]
