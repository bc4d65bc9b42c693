"""Estimators beside LP1_T (trimmed, sparse, weighted), the evidence diagnostics and warnings, combined category sets."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_inference import LANGS, _mixture_setup

from forensics import ForensicsError
from forensics.corpus.categories import load_categories
from forensics.counting.categories import count_categories
from forensics.inference.estimators import estimate, noise_costs
from forensics.inference.evidence import competitor_maximum, evidence, evidence_warnings, fit_ratios
from forensics.inference.infer import infer_mixture, pair_to_byte_shares
from forensics.inference.program import build_program, restrict_program
from forensics.inference.solve import solve_program

EXTRA = "it"  # a candidate with no text in the training mixture


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    weights = np.array([0.35, 0.25, 0.05, 0.15, 0.12, 0.08])
    tmp = tmp_path_factory.mktemp("est")
    tok, train_dir, truth = _mixture_setup(tmp, weights, merges=800)
    exact = count_categories(tok, train_dir, merges=800, cache=False, workers=1)
    cats = load_categories("languages", split="count")
    names = LANGS + [EXTRA]
    noisy = count_categories(tok, {n: [str(f) for f in cats[n].files] for n in names}, merges=800, cache=False,
                             workers=1)
    return {"tok": tok, "train_dir": train_dir, "truth": truth,
            "exact": build_program([exact.traces[n] for n in LANGS], names=LANGS),
            "noisy": build_program([noisy.traces[n] for n in names], names=names),
            "noisy_short": build_program([noisy.traces[n] for n in names], names=names, steps=60)}


@pytest.mark.parametrize("method", ["lp", "trimmed", "sparse", "weighted"])
def test_every_estimator_recovers_the_mixture_from_the_training_text(setup, method):
    result = estimate(setup["exact"], method=method)
    got = pair_to_byte_shares(result.alpha, setup["exact"].bytes_per_pair)
    assert np.log10(np.mean((got - setup["truth"]) ** 2)) < -10
    assert result.solution.objective < 1e-6


def test_slack_costs_of_one_are_lp1t_and_weighted_costs_follow_the_noise(setup):
    program = setup["noisy"]
    plain = solve_program(program)
    ones = solve_program(program, step_costs=np.ones(program.num_steps), pair_costs=np.ones(len(program.pairs)))
    assert np.isclose(plain.objective, ones.objective, rtol=1e-7)
    step_costs, pair_costs = noise_costs(program, np.full(program.num_categories, 1 / program.num_categories),
                                         shift=0.0)
    big, small = np.argmax(program.merged.sum(axis=1)), np.argmin(np.where(program.active,
                                                                           program.merged.sum(axis=1), np.inf))
    assert step_costs[big] < step_costs[small]          # large counts are less noisy per count: cheaper
    assert (pair_costs > 0).all() and np.isfinite(pair_costs).all()
    with pytest.raises(ValueError, match="positive"):
        solve_program(program, step_costs=np.zeros(program.num_steps))


def test_trimmed_sets_an_absent_category_to_zero_and_refits_exactly(setup):
    program = setup["noisy"]
    lp = estimate(program, method="lp")
    trimmed = estimate(program, method="trimmed", min_share=0.01)
    lp_shares = pair_to_byte_shares(lp.alpha, program.bytes_per_pair)
    shares = pair_to_byte_shares(trimmed.alpha, program.bytes_per_pair)
    assert np.isclose(shares.sum(), 1.0)
    assert ((shares == 0) | (shares >= 0.01)).all()
    assert set(trimmed.dropped) == {n for n, s in zip(program.names, shares) if s == 0}
    assert np.allclose(trimmed.untrimmed, lp.alpha)
    if lp_shares[program.names.index(EXTRA)] < 0.01:
        assert EXTRA in trimmed.dropped
    # the refit is LP1_T over the kept categories exactly
    keep = shares > 0
    direct = solve_program(restrict_program(program, keep))
    assert np.allclose(trimmed.alpha[keep], direct.alpha, atol=1e-7)
    # min_share 0 is LP1_T
    assert np.allclose(estimate(program, method="trimmed", min_share=0.0).alpha, lp.alpha)
    with pytest.raises(ForensicsError, match="min-share"):
        estimate(program, method="trimmed", min_share=1.5)
    with pytest.raises(ForensicsError, match="unknown method"):
        estimate(program, method="magic")


def test_allowed_fixes_weights_at_zero_and_keeps_every_step(setup):
    program = setup["noisy"]
    full = solve_program(program)
    allowed = np.array([n != EXTRA for n in program.names])
    fixed = solve_program(program, allowed=allowed)
    assert fixed.alpha[~allowed].sum() == 0
    assert fixed.objective >= full.objective - 1e-6 * max(full.objective, 1)
    assert fixed.steps_used == full.steps_used          # the removed category's steps still count
    with pytest.raises(ValueError, match="one flag per category"):
        solve_program(program, allowed=np.zeros(program.num_categories, dtype=bool))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_warm_resolves_equal_fresh_solves(setup, solver):
    from forensics.inference.solve import ProgramSolver, SolveOptions

    # PuLP rebuilds its model every round: the first 60 merges and one removal; HiGHS: the whole window,
    # removing the largest, a middle and the absent category (each a warm re-solve of several rounds)
    program = setup["noisy" if solver == "highs" else "noisy_short"]
    options = SolveOptions(solver=solver)
    session = ProgramSolver(program, options)
    first = session.solve()
    drops = [0, 3, program.names.index(EXTRA)] if solver == "highs" else [0]
    for drop in drops:                                    # each category removed, warm, against a fresh program
        allowed = np.arange(program.num_categories) != drop
        warm = session.solve(allowed)
        fresh = solve_program(program, options, allowed=allowed)
        assert np.isclose(warm.objective, fresh.objective, rtol=1e-5, atol=1e-3)
        assert warm.alpha[drop] == 0
    back = session.solve(np.ones(program.num_categories, dtype=bool))
    assert np.isclose(back.objective, first.objective, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_stop_above_refuses_exactly_when_the_optimum_exceeds_the_bound(setup, solver):
    """A solve told to stop above a bound stops early only when the full optimum does exceed it (HiGHS within
    its dual simplex, any solver between rounds), and never changes an optimum under the bound."""
    from forensics.inference.solve import ProgramSolver, SolveOptions

    program = setup["noisy" if solver == "highs" else "noisy_short"]
    session = ProgramSolver(program, SolveOptions(solver=solver))
    first = session.solve()
    largest = int(np.argmax(first.alpha))
    without = np.arange(program.num_categories) != largest
    truth = solve_program(program, SolveOptions(solver=solver), allowed=without)
    assert truth.objective > first.objective * 1.02               # the data needs its largest category
    stopped = session.solve(without, stop_above=first.objective * 1.02)
    assert stopped.status == "above bound"
    assert first.objective * 1.02 < stopped.objective <= truth.objective * (1 + 1e-6)
    under = session.solve(without, stop_above=truth.objective * 1.5)
    assert under.status == "optimal" and np.isclose(under.objective, truth.objective, rtol=1e-5)
    back = session.solve(stop_above=first.objective * 1.5)
    assert back.status == "optimal" and np.isclose(back.objective, first.objective, rtol=1e-5)


def test_sparse_removes_only_categories_that_explain_almost_nothing(setup):
    program = setup["noisy"]
    result = estimate(program, method="sparse", drop_share=0.03, drop_cost=0.02)
    shares = pair_to_byte_shares(result.alpha, program.bytes_per_pair)
    assert np.allclose(result.untrimmed, solve_program(program).alpha)
    assert set(result.dropped) == {n for n, s in zip(program.names, shares) if s == 0}
    first = pair_to_byte_shares(result.untrimmed, program.bytes_per_pair)
    if first[program.names.index(EXTRA)] < 0.03:
        assert EXTRA in result.dropped
    kept = shares > 0
    for i in np.flatnonzero(kept & (shares < 0.03)):    # every small category left costs more to remove
        trial = kept.copy()
        trial[i] = False
        assert solve_program(program, allowed=trial).objective > result.solution.objective * 1.02
    for i, name in enumerate(program.names):            # the present categories' true shares are all >= 5%
        if name != EXTRA:
            assert shares[i] > 0
    # the work of every solve is reported, not just the last one's: first solve, refit, each removal tried
    assert 1 + result.tries <= result.work["solves"] <= 2 + result.tries
    assert result.work["rounds"] >= result.work["solves"]
    assert result.work["solver_seconds"] >= result.solution.solve_seconds - 1e-3


def test_competitor_maximum_matches_a_loop_and_training_text_fits(setup):
    for program in (setup["noisy"], setup["exact"]):
        alpha = np.full(program.num_categories, 1 / program.num_categories)
        values = program.segment_counts @ alpha
        reference = np.zeros(program.num_steps)
        for first, last, value in zip(program.segment_first, program.segment_last, values):
            reference[first:last + 1] = np.maximum(reference[first:last + 1], value)
        assert np.allclose(competitor_maximum(program, alpha), reference)
    exact = setup["exact"]
    result = estimate(exact, method="lp")
    # on its own training text every merged pair is the most frequent (ties aside)
    assert np.median(fit_ratios(exact, result.alpha)) >= 1.0 - 1e-9
    report = evidence(exact, result.alpha)
    assert report["merges_with_evidence"] == 1.0 and report["fit_early"] >= 1.0 - 1e-9
    noisy = evidence(setup["noisy"], estimate(setup["noisy"], method="lp").alpha)
    assert noisy["fit_early"] < report["fit_early"]


def test_warnings_name_what_to_do():
    fine = {"merges_with_evidence": 1.0, "fit_early": 0.9, "fit": 0.4, "smallest_sample_bytes": 5_000_000,
            "smallest_sample": "de"}
    assert evidence_warnings(fine) == []
    assert "no category sample" in evidence_warnings({**fine, "merges_with_evidence": 0.5})[0]
    assert "categories build" in evidence_warnings({**fine, "smallest_sample_bytes": 90_000})[0]
    assert "unlike the tokenizer's training text" in evidence_warnings({**fine, "fit_early": 0.3})[0]
    assert "thinly" in evidence_warnings(fine, thin_spread=0.2, dropped=["a", "b"])[0]


def test_infer_reports_evidence_and_combines_category_sets(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path / "cache"))
    tok = setup["tok"]
    estimate_ = infer_mixture(tok, ["languages", "code"], merges=200, workers=1)
    names = set(load_categories("languages").names) | set(load_categories("code").names)
    assert set(estimate_.shares) == names
    assert estimate_.parameters["method"] == "sparse" and estimate_.parameters["min_share"] == 0.005
    assert estimate_.parameters["drop_share"] == 0.03 and estimate_.parameters["drop_cost"] == 0.02
    d = estimate_.diagnostics
    assert {"merges_with_evidence", "fit_early", "fit", "dropped_categories", "thin_spread_removed"} <= set(d)
    assert any("categories build" in w for w in estimate_.warnings)  # bundled samples are ~90 KB
    with pytest.raises(ForensicsError, match="is in both"):
        infer_mixture(tok, ["languages", "languages"], merges=50, workers=1)


def test_cli_takes_several_category_sets_and_prints_warnings(setup, tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    tok = setup["tok"]
    out = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "cli.main", "infer", tok.source, "--categories", "languages",
                           "--categories", "code", "--merges", "150", "--method", "lp", "--output", str(out)],
                          capture_output=True, text=True, cwd=ROOT, env={**__import__("os").environ,
                                                                         "FORENSICS_CACHE": str(tmp_path / "c")})
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert "python" in data["shares"] and "de" in data["shares"]
    assert data["parameters"]["method"] == "lp" and data["provenance"]["parameters"]["categories"] == [
        "languages", "code"]
    assert data["warnings"] and data["diagnostics"]["dropped_categories"] == []
    table = subprocess.run([sys.executable, "-m", "cli.main", "infer", tok.source, "--categories", "languages,code",
                            "--merges", "150", "--group", "code=@code"], capture_output=True, text=True, cwd=ROOT,
                           env={**__import__("os").environ, "FORENSICS_CACHE": str(tmp_path / "c")})
    assert table.returncode == 0, table.stderr
    text = " ".join(table.stdout.split())
    assert "warning: category samples are small" in text and "estimation" in text
    cells = [line.split("│") for line in table.stdout.splitlines() if line.count("│") >= 5]
    zero = sum(1 for c in cells if c[2].strip() == "0.00%")
    folded = re.search(r"(\d+) others", table.stdout)       # the default (sparse) zeros fold into one row
    assert folded and int(folded.group(1)) >= 2 and zero == 0
    code = re.search(r"group code: ([\d.]+)% over 13 categories", text)   # the named group's total
    assert code, text


def test_count_shares_the_category_and_merges_conventions_of_infer(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {**os.environ, "FORENSICS_CACHE": str(tmp_path / "c")}
    tok = str(ROOT / "fixtures" / "tokenizers" / "gpt2" / "vocab.bpe.gz")
    bad = subprocess.run([sys.executable, "-m", "cli.main", "count", tok, "--categories", "domains", "--out",
                          str(tmp_path / "o"), "--merges", "-1"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "--merges" in bad.stderr
    assert not (tmp_path / "o").exists()
    done = subprocess.run([sys.executable, "-m", "cli.main", "count", tok, "--categories", "domains", "--categories",
                           "code", "--out", str(tmp_path / "o"), "--merges", "40", "--json"],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    names = {row["name"] for row in data["categories"]}
    assert {"python", "fiction"} <= names and data["merges"] == 40
    assert data["provenance"]["parameters"]["categories"] == ["domains", "code"]


def test_damaged_cache_entries_are_dropped_and_recomputed(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path / "cache"))
    tok, train_dir = setup["tok"], setup["train_dir"]
    first = infer_mixture(tok, train_dir, merges=200, workers=1, method="lp")
    entries = sorted((tmp_path / "cache" / "counts").glob("*.npz"))
    assert any(p.name.startswith("trace-") for p in entries) and any(p.name.startswith("words-") for p in entries)
    for path in entries:                       # cut every cached file short
        path.write_bytes(path.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="damaged cache entry"):
        again = infer_mixture(tok, train_dir, merges=200, workers=1, method="lp")
    assert again.shares == first.shares
    assert not any(row["cached"] for row in again.categories)
    third = infer_mixture(tok, train_dir, merges=200, workers=1, method="lp")   # the rewritten entries read back
    assert all(row["cached"] for row in third.categories) and third.shares == first.shares


@pytest.mark.parametrize("option, message", [({"confidence": 1.5}, "--confidence"), ({"confidence": -0.5}, "--confidence"),
                                             ({"bootstrap": -3}, "--bootstrap")])
def test_interval_options_are_checked_before_any_work(option, message):
    from conftest import TOKENIZERS

    with pytest.raises(ForensicsError, match=message):
        infer_mixture(TOKENIZERS / "gpt2" / "vocab.bpe.gz", "domains", merges=50, **option)
