"""Evidence diagnostics on real category text: similar groups (close relatives explain each other's merges)
and intervals widened when the first merges say the category text is unlike the training text."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.counting.categories import count_categories
from forensics.inference.evidence import LOW_FIT_EARLY, SIMILAR, evidence, similar_groups, similarity
from forensics.inference.infer import (
    INTERVAL_FLOOR, INTERVAL_SCALE, SHIFT_MIN_SHARE, SHIFT_WIDENING, calibrated_intervals,
)
from forensics.inference.program import build_program

NAMES = ["pt", "pt-PT", "en", "de", "ru"]


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    import os

    os.environ.setdefault("FORENSICS_CACHE", str(tmp_path_factory.mktemp("cache")))
    files = {c: f"fixtures/categories/languages/{c}/count.jsonl.gz" for c in NAMES}
    counts = count_categories("fixtures/tokenizers/gpt2/vocab.bpe.gz", files, merges=1000, workers=1)
    return build_program([counts.traces[n] for n in NAMES], start=0, steps=1000, names=NAMES)


def test_close_relatives_form_a_group_and_others_do_not(program):
    sim = similarity(program)
    assert np.allclose(sim, sim.T) and np.allclose(np.diag(sim), 1.0)
    pt, pt_pt, en, de, ru = range(5)
    assert sim[pt, pt_pt] >= SIMILAR > max(sim[en, de], sim[en, ru], sim[pt, ru])
    groups = similar_groups(program, np.full(5, 0.2))
    assert [sorted(program.names[i] for i in g) for g in groups] == [["pt", "pt-PT"]]
    # a relative the estimate does not keep is no part of a group
    assert similar_groups(program, np.array([0.5, 0.0, 0.3, 0.1, 0.1])) == []
    # the group is reported with its members, largest weight first
    report = evidence(program, np.array([0.1, 0.4, 0.3, 0.1, 0.1]))
    assert report["similar_groups"][0]["categories"] == ["pt-PT", "pt"]
    assert report["similar_groups"][0]["similarity"] == pytest.approx(sim[pt, pt_pt])


def test_intervals_widen_when_the_first_merges_fit_poorly():
    shares, raw = {"a": 0.3}, {"a": [0.29, 0.31]}
    plain = calibrated_intervals(shares, raw, 0.9, fit_early=LOW_FIT_EARLY)
    shifted = calibrated_intervals(shares, raw, 0.9, fit_early=LOW_FIT_EARLY - 0.01)
    half = INTERVAL_SCALE * 0.01 + INTERVAL_FLOOR
    assert plain["a"] == pytest.approx([0.3 - half, 0.3 + half])
    shift = SHIFT_WIDENING * (0.3 * 0.7) ** 0.5   # grows with the share: a group's total errs more
    assert shifted["a"] == pytest.approx([0.3 - half - shift, 0.3 + half + shift])
    # a group and its complement (shares s and 1 - s) get the same width; a share estimated at zero still
    # gets the term of SHIFT_MIN_SHARE
    pair = calibrated_intervals({"g": 0.3, "rest": 0.7}, {"g": [0.29, 0.31], "rest": [0.69, 0.71]}, 0.9, fit_early=0.1)
    assert np.diff(pair["g"]) == pytest.approx(np.diff(pair["rest"]))
    zero = calibrated_intervals({"z": 0.0}, {"z": [0.0, 0.0]}, 0.9, fit_early=0.1)["z"]
    assert zero[1] == pytest.approx(INTERVAL_FLOOR + SHIFT_WIDENING * (SHIFT_MIN_SHARE) ** 0.5)
    assert calibrated_intervals(shares, raw, 0.9) == plain   # no fit given: no widening


def test_intervals_below_the_calibrated_range_of_fits_are_flagged_as_lower_bounds():
    from forensics.inference.evidence import LOWEST_CALIBRATED_FIT, evidence_warnings

    base = {"merges_with_evidence": 1.0, "smallest_sample_bytes": 10**7, "smallest_sample": "de"}
    inside = evidence_warnings({**base, "fit_early": LOWEST_CALIBRATED_FIT + 0.01}, intervals=True)
    below = evidence_warnings({**base, "fit_early": 0.22}, intervals=True)
    assert not any("calibrated" in w for w in inside)
    assert any("at 0.22 the text differs more" in w and "lower bound" in w for w in below)
    assert not any("calibrated" in w for w in evidence_warnings({**base, "fit_early": 0.22}))  # no intervals
