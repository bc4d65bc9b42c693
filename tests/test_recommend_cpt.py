"""Tests for forensics.recommend.cpt: D-CPT Law fitting and continual pre-training ratio recommendations.

Synthetic tables come from known laws (3 model sizes x 4 token counts x 5-7 domain ratios) with
multiplicative log-normal noise; the recovered law must give the true parameters back (exactly
without noise, within stated tolerances with noise) and a recommended ratio within 0.03 of the ratio
the true law recommends.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from forensics.errors import ForensicsError
from forensics.recommend import cpt as m

DOMAIN = m.DcptParams(E=1.2, A=80.0, alpha=0.3, B=60.0, beta=0.25, eta=0.6, C=0.25, gamma=0.5, epsilon=0.05)
GENERAL = m.DcptParams(E=1.8, A=120.0, alpha=0.3, B=20.0, beta=0.25, eta=0.3, C=0.08, gamma=0.9, epsilon=0.02)
SIZES = (0.5e9, 1.8e9, 4e9)
TOKENS = (1e9, 3e9, 1e10, 3e10)
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
RATIO_TOLERANCE = 0.03  # recovered vs true recommended domain ratio, absolute


def grid(ratios=(0.1, 0.3, 0.5, 0.7, 0.9), sizes=SIZES, tokens=TOKENS):
    n, d, r = (a.ravel() for a in np.meshgrid(sizes, tokens, ratios, indexing="ij"))
    return n, d, r


def synthetic_runs(*, noise: float, seed: int, ratios=(0.1, 0.3, 0.5, 0.7, 0.9), sizes=SIZES,
                   tokens=TOKENS) -> m.CptRuns:
    n, d, r = grid(ratios, sizes, tokens)
    rng = np.random.default_rng(seed)
    return m.cpt_runs(model_size=n, tokens=d, domain_ratio=r,
                      domain_loss=DOMAIN.loss(n, d, r) * np.exp(rng.normal(0, noise, n.size)),
                      general_loss=GENERAL.loss(n, d, 1 - r) * np.exp(rng.normal(0, noise, n.size)))


def true_laws() -> m.CptLaws:
    def law(params, target):
        return m.DcptFit(target=target, ratio=target, params=params, r2=1.0, huber=0.0, rmse=0.0, loo_r2=None,
                         loo_huber=None, loo_rmse=None, n_runs=60, huber_delta=1e-3, fixed=[],
                         model_size_range=(min(SIZES), max(SIZES)), tokens_range=(min(TOKENS), max(TOKENS)),
                         domain_ratio_range=(0.1, 0.9))

    return m.CptLaws(domain=law(DOMAIN, "domain"), general=law(GENERAL, "general"), source="truth", n_runs=60,
                     model_sizes=list(SIZES))


def write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def runs_csv(path, runs: m.CptRuns):
    rows = zip(runs.model_size, runs.tokens, runs.domain_ratio, runs.general_loss, runs.domain_loss)
    return write_csv(path, list(m.DEFAULT_COLUMNS.values()), [[repr(float(v)) for v in row] for row in rows])


# --- the law and its gradient ----------------------------------------------------------------


def test_law_formula_by_hand():
    p = DOMAIN
    n, d, r = 1.8e9, 1e10, 0.4
    expected = p.E + p.A / n**p.alpha + p.B * r**p.eta / d**p.beta + p.C / (r + p.epsilon) ** p.gamma
    assert float(p.loss(n, d, r)) == pytest.approx(expected, rel=1e-12)


def test_general_law_uses_general_ratio():
    laws = true_laws()
    assert float(laws.general.predict(1e9, 1e9, 0.3)) == pytest.approx(float(GENERAL.loss(1e9, 1e9, 0.7)))


def test_gradient_matches_finite_differences():
    runs = synthetic_runs(noise=0.01, seed=3)
    problem = m._Problem(runs.model_size, runs.tokens, runs.domain_ratio, runs.domain_loss, delta=1e-3,
                         n_ref=1e9, d_ref=5e9)
    x = np.array([0.1, -0.5, 0.35, -1.0, 0.3, 0.7, -1.2, 0.6, 0.04])
    value, grad = problem.objective(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = 1e-6
        numeric = (problem.objective(x + step)[0] - problem.objective(x - step)[0]) / 2e-6
        assert grad[i] == pytest.approx(numeric, rel=1e-4, abs=1e-6 * max(1.0, value))


# --- recovering known laws ---------------------------------------------------------------------


def test_recovers_parameters_exactly_without_noise():
    laws = m.fit_dcpt_law(synthetic_runs(noise=0.0, seed=0), n_starts=4, leave_one_out=False)
    for fit, truth in ((laws.domain, DOMAIN), (laws.general, GENERAL)):
        for name in m.PARAM_NAMES:
            assert getattr(fit.params, name) == pytest.approx(getattr(truth, name), rel=1e-3), (fit.target, name)
        assert fit.r2 == pytest.approx(1.0, abs=1e-9)
        assert fit.fixed == []


# Tolerances with 0.05% noise on 84 runs: the exponents and E are well identified; the coefficients
# A and B trade off against their exponents (a 4% error in alpha moves A by ~30% at N ~ 1e9), and
# C, epsilon and gamma trade off against each other.
NOISY_TOLERANCE = {"E": 0.05, "alpha": 0.15, "beta": 0.15, "eta": 0.15, "gamma": 0.15, "C": 0.2,
                   "A": 0.5, "B": 0.5, "epsilon": 0.4}


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_parameters_with_noise(seed):
    runs = synthetic_runs(noise=0.0005, seed=seed, ratios=(0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9))
    laws = m.fit_dcpt_law(runs, n_starts=4, leave_one_out=False)
    for fit, truth in ((laws.domain, DOMAIN), (laws.general, GENERAL)):
        for name, tolerance in NOISY_TOLERANCE.items():
            assert getattr(fit.params, name) == pytest.approx(getattr(truth, name), rel=tolerance), (fit.target, name)
        n, d, r = grid()
        predicted = fit.predict(n, d, r)
        exact = true_laws().domain.predict(n, d, r) if fit.target == "domain" else GENERAL.loss(n, d, 1 - r)
        assert np.max(np.abs(predicted / exact - 1)) < 0.002


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recommended_ratio_near_true_optimum_with_noise(seed):
    # 0.3% loss noise, about what a validation set of a few million tokens gives
    runs = synthetic_runs(noise=0.003, seed=seed)
    options = {"model_size": 1.8e9, "tokens": 1e10, "domain_tokens": 2e9, "compute_budget": 1e20}
    fitted = m.recommend_cpt_ratio(m.fit_dcpt_law(runs, n_starts=4, leave_one_out=False), **options)
    truth = m.recommend_cpt_ratio(true_laws(), **options)
    # the true optima are interior: the tolerance binds (a, c); domain data runs out (b)
    assert 0.5 < truth.tradeoff.domain_ratio < 0.6 and 0.5 < truth.limited_domain.domain_ratio < 0.6
    for use in ("tradeoff", "limited_domain", "budget"):
        got, want = getattr(fitted, use), getattr(truth, use)
        assert abs(got.domain_ratio - want.domain_ratio) <= RATIO_TOLERANCE, use
        assert got.within_tolerance
    assert fitted.budget.model_size == truth.budget.model_size


def test_true_limited_domain_optimum_is_brute_force_minimum():
    rec = m.recommend_cpt_ratio(true_laws(), model_size=1.8e9, tokens=1e10, domain_tokens=2e9,
                                max_general_increase=None)
    r = np.linspace(0.001, 0.999, 99801)
    best = r[np.argmin(DOMAIN.loss(1.8e9, 2e9 / r, r))]
    assert abs(rec.limited_domain.domain_ratio - best) <= 0.001
    assert rec.limited_domain.domain_tokens == pytest.approx(2e9)
    assert rec.limited_domain.tokens == pytest.approx(2e9 / rec.limited_domain.domain_ratio)


def test_tradeoff_meets_tolerance_at_its_boundary():
    rec = m.recommend_cpt_ratio(true_laws(), model_size=1.8e9, tokens=1e10, max_general_increase=0.03)
    choice = rec.tradeoff
    baseline = float(GENERAL.loss(1.8e9, 1e10, 1 - 0.1))  # general loss at the smallest run ratio
    assert choice.general_baseline == pytest.approx(baseline)
    assert choice.general_loss <= 1.03 * baseline
    # one grid step further breaks the tolerance: the constraint binds
    assert float(GENERAL.loss(1.8e9, 1e10, 1 - (choice.domain_ratio + 0.001))) > 1.03 * baseline
    assert rec.warnings == []


def test_given_baseline_and_infeasible_tolerance():
    rec = m.recommend_cpt_ratio(true_laws(), model_size=1.8e9, tokens=1e10, general_baseline=1.0)
    assert not rec.tradeoff.within_tolerance
    assert rec.tradeoff.general_baseline == 1.0
    assert any("no ratio keeps the general loss" in w for w in rec.warnings)
    assert "given by the user" in rec.baseline_rule


def test_budget_split_over_candidate_sizes():
    rec = m.recommend_cpt_ratio(true_laws(), compute_budget=6e20, candidate_model_sizes=[1e9, 4e9])
    assert [c.model_size for c in rec.budget_candidates] == [1e9, 4e9]
    for choice in rec.budget_candidates:
        assert 6 * choice.model_size * choice.tokens == pytest.approx(6e20)
        assert choice.domain_tokens + choice.general_tokens == pytest.approx(choice.tokens)
    assert rec.budget.domain_loss == min(c.domain_loss for c in rec.budget_candidates)


def test_leave_one_out_scores():
    runs = synthetic_runs(noise=0.003, seed=5, sizes=(0.5e9, 4e9), tokens=(1e9, 1e10))
    laws = m.fit_dcpt_law(runs, n_starts=3, leave_one_out=True)
    for fit in (laws.domain, laws.general):
        assert fit.loo_r2 is not None and 0.9 < fit.loo_r2 <= fit.r2
        assert fit.loo_huber >= fit.huber
        assert fit.loo_rmse >= fit.rmse


def test_single_model_size_drops_the_size_term():
    runs = synthetic_runs(noise=0.0, seed=0, sizes=(1.8e9,))
    laws = m.fit_dcpt_law(runs, n_starts=4, leave_one_out=False)
    assert laws.domain.fixed == ["A", "alpha"] and laws.domain.params.A == 0.0
    assert any("one model size" in w for w in laws.warnings)
    n, d, r = grid(sizes=(1.8e9,))
    assert np.max(np.abs(laws.domain.predict(n, d, r) / DOMAIN.loss(n, d, r) - 1)) < 1e-3


def test_warns_outside_the_runs_range():
    laws = true_laws()
    rec = m.recommend_cpt_ratio(laws, model_size=70e9, tokens=1e12)
    assert any("model size 7e+10 is outside" in w for w in rec.warnings)
    assert any("1e+12 training tokens is outside" in w for w in rec.warnings)
    inside = m.recommend_cpt_ratio(laws, model_size=1e9, tokens=5e9)
    assert not any("outside the runs' range" in w for w in inside.warnings)


def test_too_few_runs_or_ratios():
    with pytest.raises(ForensicsError, match="distinct ratios"):
        m.fit_dcpt_law(synthetic_runs(noise=0.0, seed=0, ratios=(0.2, 0.8)), leave_one_out=False)
    with pytest.raises(ForensicsError, match="cannot fit"):
        m.fit_dcpt_law(synthetic_runs(noise=0.0, seed=0, ratios=(0.2, 0.5, 0.8), sizes=(1e9, 2e9),
                                      tokens=(1e9,)), leave_one_out=False)


# --- reading and validating tables --------------------------------------------------------------


def test_read_csv_with_suffixes_and_aliases(tmp_path):
    path = write_csv(tmp_path / "runs.csv", ["N", "D", "r", "gl", "dl"],
                     [["1.8B", "20B", "0.25", "2.1", "1.7"], ["500M", "2e10", ".5", "2.2", "1.6"]])
    runs = m.read_cpt_runs(path, model_size_column="N", tokens_column="D", ratio_column="r",
                           general_column="gl", domain_column="dl")
    assert runs.model_size.tolist() == [1.8e9, 5e8]
    assert runs.tokens.tolist() == [2e10, 2e10]
    assert runs.domain_ratio.tolist() == [0.25, 0.5]
    assert m.parse_count("3k") == 3000.0 and m.parse_count("1T") == 1e12


HEADER = list(m.DEFAULT_COLUMNS.values())
GOOD = ["1e9", "1e10", "0.5", "2.0", "1.5"]


@pytest.mark.parametrize("row, fragment", [
    (["1e9", "1e10", "0", "2.0", "1.5"], "outside (0, 1)"),
    (["1e9", "1e10", "1", "2.0", "1.5"], "outside (0, 1)"),
    (["1e9", "1e10", "1.2", "2.0", "1.5"], "outside (0, 1)"),
    (["1e9", "1e10", "-0.1", "2.0", "1.5"], "outside (0, 1)"),
    (["-1e9", "1e10", "0.5", "2.0", "1.5"], "not positive"),
    (["1e9", "0", "0.5", "2.0", "1.5"], "not positive"),
    (["1e9", "1e10", "0.5", "0", "1.5"], "not positive"),
    (["1e9", "1e10", "0.5", "nan", "1.5"], "non-finite"),
    (["1e9", "1e10", "0.5", "2.0", ""], "non-finite"),
    (["1e9", "1e10", "0.5", "2.0"], "non-finite"),
    (["1e9", "lots", "0.5", "2.0", "1.5"], "not a number"),
])
def test_invalid_rows_are_one_line_errors_naming_the_file(tmp_path, row, fragment):
    path = write_csv(tmp_path / "bad_runs.csv", HEADER, [GOOD, row])
    with pytest.raises(ForensicsError) as info:
        m.read_cpt_runs(path)
    message = str(info.value)
    assert str(path) in message and fragment in message and "line 3" in message
    assert "\n" not in message


def test_renamed_columns_are_checked_by_role_and_lines_count_blank_lines(tmp_path):
    path = tmp_path / "renamed.csv"
    path.write_text("N,D,r,gl,dl\n1e9,1e10,0.5,2.0,1.5\n\n1e9,1e10,1.5,2.0,1.5\n")
    with pytest.raises(ForensicsError, match=r"renamed\.csv: line 4: column 'r' is 1\.5, outside \(0, 1\)"):
        m.read_cpt_runs(path, model_size_column="N", tokens_column="D", ratio_column="r", general_column="gl",
                        domain_column="dl")


def test_fit_errors_name_the_file(tmp_path):
    runs = synthetic_runs(noise=0.0, seed=0, ratios=(0.2, 0.8))
    with pytest.raises(ForensicsError, match=r"two_ratios\.csv: domain law: runs at 2 distinct ratios"):
        m.fit_dcpt_law(runs_csv(tmp_path / "two_ratios.csv", runs), leave_one_out=False)


def test_missing_column_lists_what_exists(tmp_path):
    path = write_csv(tmp_path / "runs.csv", ["model_size", "tokens", "ratio", "general_loss", "domain_loss"], [GOOD])
    with pytest.raises(ForensicsError, match=r"runs\.csv: missing column\(s\) domain_ratio; found model_size, "
                                             r"tokens, ratio") as info:
        m.read_cpt_runs(path)
    assert "--ratio-column" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("content, fragment", [
    ("", "empty file"),
    (",".join(HEADER) + "\n", "no runs"),
])
def test_empty_tables(tmp_path, content, fragment):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(ForensicsError, match=fragment):
        m.read_cpt_runs(path)


def test_missing_file(tmp_path):
    with pytest.raises(ForensicsError, match="nope.csv: no such file"):
        m.fit_dcpt_law(tmp_path / "nope.csv")


def test_array_input_is_validated_too():
    with pytest.raises(ForensicsError, match="outside"):
        m.cpt_runs(model_size=[1e9], tokens=[1e9], domain_ratio=[1.0], general_loss=[2.0], domain_loss=[2.0])


def test_bad_recommendation_options():
    with pytest.raises(ForensicsError, match="max_general_increase"):
        m.recommend_cpt_ratio(true_laws(), max_general_increase=-0.1)
    with pytest.raises(ForensicsError, match="model_size"):
        m.recommend_cpt_ratio(true_laws(), model_size=0)


# --- public API, CLI and outputs ----------------------------------------------------------------


def test_public_names():
    import forensics

    assert forensics.fit_dcpt_law is m.fit_dcpt_law
    assert forensics.recommend_cpt_ratio is m.recommend_cpt_ratio


def test_module_import_pulls_in_no_plotting():
    code = "import sys, forensics.recommend.cpt; print('matplotlib' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.fixture(scope="module")
def cli_outputs(tmp_path_factory):
    from click.testing import CliRunner

    from cli._recommend_cpt import cpt

    tmp = tmp_path_factory.mktemp("cpt")
    path = runs_csv(tmp / "runs.csv", synthetic_runs(noise=0.003, seed=0))
    plot = ["--plot", str(tmp / "out.png")] if HAVE_MATPLOTLIB else []
    result = CliRunner().invoke(cpt, [str(path), "--model-size", "1.8B", "--tokens", "10B", "--domain-tokens", "2B",
                                      "--compute-budget", "1e20", "--starts", "3", "--no-loo", "--json",
                                      str(tmp / "out.json"), "--csv", str(tmp / "out.csv"), "--tokens", "50B",
                                      *plot], catch_exceptions=False)
    return tmp, path, result


def test_cli_tables_and_warnings(cli_outputs):
    _, _, result = cli_outputs
    assert result.exit_code == 0, result.output
    assert "D-CPT Law fits" in result.output and "(b) limited domain" in result.output
    assert "Predicted losses along r" in result.output
    assert "warning: planned run: 5e+10 training tokens is outside" in result.output


def test_cli_json_has_provenance(cli_outputs):
    tmp, path, _ = cli_outputs
    data = json.loads((tmp / "out.json").read_text())
    from forensics._results import file_sha256

    assert data["provenance"]["inputs"] == {str(path): file_sha256(path)}
    assert data["provenance"]["command"] == "recommend cpt"
    assert data["provenance"]["parameters"]["tokens"] == 5e10
    assert set(data["laws"]["domain"]["params"]) == set(m.PARAM_NAMES)
    assert 0 < data["tradeoff"]["domain_ratio"] < 1 and data["limited_domain"]["domain_tokens"] == 2e9
    assert data["warnings"]


def test_cli_csv_and_png(cli_outputs):
    tmp, path, _ = cli_outputs
    with open(tmp / "out.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    sections = {row["section"] for row in rows}
    assert {"provenance", "law_domain", "law_general", "tradeoff", "limited_domain", "budget", "curve"} <= sections
    assert any(row["name"] == f"input:{path}" for row in rows)
    curve = [row for row in rows if row["section"] == "curve" and row["name"] == "domain_loss"]
    assert len(curve) >= 19 and all(0 < float(row["domain_ratio"]) < 1 for row in curve)
    if HAVE_MATPLOTLIB:  # the 'plot' extra
        assert (tmp / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_table_raises_forensics_error(tmp_path):
    from click.testing import CliRunner

    from cli._recommend_cpt import cpt

    path = write_csv(tmp_path / "bad.csv", HEADER, [["1e9", "1e10", "1.5", "2.0", "1.5"]])
    result = CliRunner().invoke(cpt, [str(path)])
    assert isinstance(result.exception, ForensicsError) and "bad.csv" in str(result.exception)
    bad_size = CliRunner().invoke(cpt, [str(path), "--model-size", "big"])
    assert bad_size.exit_code == 2 and "not a number" in bad_size.output


def test_json_stdout_has_no_tables(cli_outputs):
    from click.testing import CliRunner

    from cli._recommend_cpt import cpt

    _, path, _ = cli_outputs
    result = CliRunner().invoke(cpt, [str(path), "--starts", "2", "--no-loo", "--json", "-",
                                      "--max-general-increase", "inf"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["max_general_increase"] is None and math.isfinite(data["tradeoff"]["domain_ratio"])
