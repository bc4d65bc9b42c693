"""Mixture inference: exact recovery on training text, a known mixture recovered from disjoint count text,
solver agreement, every (step, pair) row satisfied, and clear errors for degenerate input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forensics import ForensicsError, load_tokenizer
from forensics.corpus.categories import load_categories
from forensics.counting.categories import count_categories
from forensics.inference.infer import INTERVAL_FLOOR, INTERVAL_SCALE, infer_mixture, pair_to_byte_shares
from forensics.inference.program import build_program
from forensics.inference.solve import SolveOptions, solve_program

LANGS = ["de", "en", "es", "fr", "ru", "ja"]


def _mixture_setup(tmp_path, weights: np.ndarray, merges: int, budget: int = 120_000):
    """Train an HF byte-level BPE on a known mixture of bundled train text; write each category's part."""
    from forensics.inference.experiments import mixture_text, train_reference_bpe

    cats = load_categories("languages", split="train")
    parts, truth = mixture_text({n: cats[n].texts() for n in LANGS}, weights, budget=budget)
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    for name, docs in parts.items():
        (train_dir / f"{name}.jsonl").write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    path = tmp_path / "tokenizer.json"
    train_reference_bpe([d for docs in parts.values() for d in docs], merges, path)
    return load_tokenizer(path), train_dir, truth


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    weights = np.array([0.35, 0.25, 0.05, 0.15, 0.12, 0.08])
    tmp = tmp_path_factory.mktemp("mix")
    return _mixture_setup(tmp, weights, merges=1500)


def test_exact_recovery_when_counting_the_training_text(mixture, tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path / "cache"))
    tok, train_dir, truth = mixture
    estimate = infer_mixture(tok, train_dir, merges=None, workers=1)
    got = np.array([estimate.shares[n] for n in LANGS])
    assert estimate.diagnostics["status"] == "optimal"
    assert np.log10(np.mean((got - truth) ** 2)) < -10  # exact up to float error


def test_known_mixture_recovered_from_disjoint_count_text(mixture, tmp_path, monkeypatch):
    """Count on the bundled *count* split (documents never used for training): stated tolerance 0.05 per share."""
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path / "cache"))
    tok, _, truth = mixture
    cats = load_categories("languages", split="count")
    estimate = infer_mixture(tok, {n: [str(f) for f in cats[n].files] for n in LANGS}, merges=1000, workers=2)
    got = np.array([estimate.shares[n] for n in LANGS])
    assert np.abs(got - truth).max() < 0.05, (got.round(3), truth.round(3))
    assert np.log10(np.mean((got - truth) ** 2)) < -3.0
    baseline = np.array([estimate.baselines["token_classification"][n] for n in LANGS])
    assert np.mean((got - truth) ** 2) < np.mean((baseline - truth) ** 2)


def _program(mixture, tmp_path, steps):
    tok, train_dir, _ = mixture
    counts = count_categories(tok, train_dir, merges=steps, cache=False, workers=1)
    cats = load_categories("languages", split="count")
    noisy = count_categories(tok, {n: [str(f) for f in cats[n].files] for n in LANGS}, merges=steps, cache=False,
                             workers=1)
    return counts, noisy


def test_optimum_equals_the_full_lp_and_solvers_agree(mixture, tmp_path):
    """Solve the full LP1_T (every (step, pair) row written out) with scipy and compare objectives."""
    tok, _, _ = mixture
    cats = load_categories("languages", split="count")
    small = {}
    for name in LANGS[:4]:  # a few KB per category keeps the written-out LP small enough for scipy
        path = tmp_path / f"{name}.txt"
        path.write_text("\n\n".join(list(cats[name].texts())[:12])[:6000])
        small[name] = [str(path)]
    noisy = count_categories(tok, small, merges=80, cache=False, workers=1)
    traces = [noisy.traces[n] for n in LANGS[:4]]
    program = build_program(traces)
    highs = solve_program(program, SolveOptions(block=4))
    scale = 1e6 / np.array([t.total_pairs for t in traces], dtype=float)
    n = len(traces)
    rows_i, rows_j, rows_v, pair_ids, step_rows = [], [], [], {}, 0
    for t in range(program.num_steps):
        counts = [trace.counts_at(t) for trace in traces]
        a, b, _ = traces[0].merges[t]
        merged_key = (int(a) << 32) | int(b)
        merged = np.array([counts[i].get(merged_key, 0) * scale[i] for i in range(n)])
        if not merged.any():
            continue
        for key in set().union(*counts) - {merged_key}:
            competitor = np.array([counts[i].get(key, 0) * scale[i] for i in range(n)])
            # alpha . (merged - competitor) + v_t + v_p >= 0, written as <= for linprog
            column_p = pair_ids.setdefault(key, len(pair_ids))
            for i in range(n):
                rows_i.append(step_rows), rows_j.append(i), rows_v.append(competitor[i] - merged[i])
            rows_i.append(step_rows), rows_j.append(n + t), rows_v.append(-1.0)
            rows_i.append(step_rows), rows_j.append(n + program.num_steps + column_p), rows_v.append(-1.0)
            step_rows += 1
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    columns = n + program.num_steps + len(pair_ids)
    matrix = coo_matrix((rows_v, (rows_i, rows_j)), shape=(step_rows, columns)).tocsr()
    cost = np.concatenate([np.zeros(n), np.ones(columns - n)])
    equality = np.concatenate([np.ones(n), np.zeros(columns - n)])[None, :]
    result = linprog(cost, A_ub=matrix, b_ub=np.zeros(step_rows), A_eq=equality, b_eq=[1.0], bounds=(0, None),
                     method="highs")
    assert result.status == 0
    assert step_rows > 10 * highs.final_rows  # the range rows really stand for many more rows
    assert abs(result.fun - highs.objective) <= 1e-6 * max(1.0, result.fun)
    cbc = solve_program(program, SolveOptions(solver="cbc"))
    assert abs(cbc.objective - highs.objective) <= 1e-5 * max(1.0, highs.objective)


def test_window_start_and_pair_to_byte_shares(mixture, tmp_path):
    counts, _ = _program(mixture, tmp_path, 600)
    traces = [counts.traces[n] for n in LANGS]
    window = build_program(traces, start=200, steps=300)
    assert window.num_steps == 300 and window.start == 200
    assert solve_program(window).status == "optimal"
    assert np.allclose(pair_to_byte_shares(np.array([0.2, 0.8]), np.array([2.0, 1.0])), [1 / 3, 2 / 3])


def test_degenerate_inputs_fail_clearly(mixture, tmp_path):
    counts, _ = _program(mixture, tmp_path, 100)
    traces = [counts.traces[n] for n in LANGS]
    with pytest.raises(ForensicsError, match="at least two categories"):
        build_program(traces[:1])
    with pytest.raises(ForensicsError, match="clash"):
        build_program(traces[:2], names=["x", "x"])
    with pytest.raises(ForensicsError, match="outside"):
        build_program(traces, start=5000)
    tok, train_dir, _ = mixture
    empty = tmp_path / "cats"
    empty.mkdir()
    (empty / "a.txt").write_text("some text")
    (empty / "b.txt").write_text("")
    with pytest.raises(ForensicsError, match="no text"):
        infer_mixture(tok, empty, merges=50, cache=False, workers=1)


def test_cli_infer_json_and_plot(mixture, tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    tok, train_dir, _ = mixture
    out, plot = tmp_path / "r.json", tmp_path / "r.png"
    done = subprocess.run([sys.executable, "-m", "cli.main", "infer", tok.source, "--categories", str(train_dir),
                           "--merges", "400", "--output", str(out), "--plot", str(plot), "--no-cache"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert set(data["shares"]) == set(LANGS) and abs(sum(data["shares"].values()) - 1) < 1e-9
    assert data["diagnostics"]["status"] == "optimal" and data["provenance"]["parameters"]["merges"] == 400
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "-m", "cli.main", "infer", tok.source, "--categories", str(train_dir),
                          "--start", "99999", "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.startswith("error:")


def test_bootstrap_intervals_bracket_the_estimate(mixture, tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path / "cache"))
    tok, train_dir, truth = mixture
    estimate = infer_mixture(tok, train_dir, merges=300, bootstrap=6, seed=1, confidence=0.9, workers=1)
    assert set(estimate.intervals) == set(LANGS)
    raw = estimate.diagnostics["bootstrap_percentile_intervals"]
    widths = []
    for name in LANGS:
        low, high = estimate.intervals[name]
        assert 0 <= low <= estimate.shares[name] <= high <= 1
        raw_low, raw_high = raw[name]
        widths.append(raw_high - raw_low)
        # reported = estimate +- (scale x bootstrap half-width + floor), clipped to [0, 1]
        half = INTERVAL_SCALE * (raw_high - raw_low) / 2 + INTERVAL_FLOOR
        assert np.isclose(high, min(1.0, estimate.shares[name] + half))
    assert max(widths) > 0  # resampling documents moves the estimate
    assert estimate.parameters["bootstrap"] == 6 and estimate.parameters["seed"] == 1


def test_named_groups_report_totals_with_intervals_from_the_same_resamples(mixture, tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path / "cache"))
    tok, train_dir, _ = mixture
    groups = {"latin": ["de", "en", "es", "fr"], "rest": ["*", "-de", "-en", "-es", "-fr"]}
    estimate = infer_mixture(tok, train_dir, merges=300, bootstrap=4, seed=2, groups=groups, workers=1)
    latin, rest = estimate.groups["latin"], estimate.groups["rest"]
    assert latin["categories"] == ["de", "en", "es", "fr"] and rest["categories"] == ["ja", "ru"]
    assert np.isclose(latin["share"], sum(estimate.shares[n] for n in latin["categories"]))
    assert np.isclose(latin["share"] + rest["share"], 1.0)
    assert np.isclose(latin["token_classification"] + rest["token_classification"], 1.0)
    assert latin["interval"][0] <= latin["share"] <= latin["interval"][1]
    # a group and its complement are one number seen from both sides: mirrored raw intervals, equal widths
    assert np.allclose(latin["bootstrap_percentile_interval"], 1 - np.array(rest["bootstrap_percentile_interval"])[::-1])
    assert np.isclose(np.diff(latin["interval"]), np.diff(rest["interval"]))
    assert estimate.parameters["groups"] == groups
    replicates = np.array(estimate.diagnostics["bootstrap_shares"])   # kept: any group's interval, afterwards
    assert replicates.shape == (4, len(LANGS)) and np.allclose(replicates.sum(axis=1), 1.0)
    plain = infer_mixture(tok, train_dir, merges=300, groups={"latin": groups["latin"]}, workers=1)
    assert plain.groups["latin"]["interval"] is None and np.isclose(plain.groups["latin"]["share"], latin["share"])


def test_groups_by_kind_and_a_mistyped_member_fails_before_counting(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path / "cache"))
    tok = "fixtures/tokenizers/gpt2/vocab.bpe.gz"
    with pytest.raises(ForensicsError, match="'pythn' is not one of the categories"):
        infer_mixture(tok, ["languages", "code"], merges=50, groups={"g": ["python", "pythn"]}, workers=1)
    assert not (tmp_path / "cache").exists()  # nothing counted
    estimate = infer_mixture(tok, ["languages", "code"], merges=50, workers=2,
                             groups={"code": ["@code"], "non-English": ["@language", "-en"]})
    code = load_categories("code").names
    assert estimate.groups["code"]["categories"] == code
    assert len(estimate.groups["non-English"]["categories"]) == len(load_categories("languages").names) - 1
    total = estimate.shares["en"] + estimate.groups["code"]["share"] + estimate.groups["non-English"]["share"]
    assert np.isclose(total, 1.0)
