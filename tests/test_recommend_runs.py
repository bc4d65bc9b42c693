"""Learning from run tables (RegMix), the mixture search, suggest_runs, and their commands."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from cli.main import main
from forensics import ForensicsError, recommend_from_runs, suggest_runs
from forensics.recommend.runs import (
    Candidate,
    RunTable,
    apply_caps,
    candidates,
    cross_validate,
    fit_explaw,
    fit_ridge,
    load_runs,
    sample_capped,
)

REGMIX = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "regmix"
TARGET = "metric/the_pile_pile_cc_val_loss"
needs_regmix = pytest.mark.skipif(not (REGMIX / "train_mixture_1m.csv").is_file(),
                                  reason="RegMix tables (../shared/data/regmix) not present")


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def _synthetic(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(4), n)
    loss = 2.0 + 1.5 * np.exp(w @ np.array([-1.0, 0.5, 1.0, -0.3]))
    return w, loss


@pytest.fixture(scope="module")
def regmix():
    if not (REGMIX / "train_mixture_1m.csv").is_file():
        pytest.skip("RegMix tables (../shared/data/regmix) not present")
    train = load_runs(REGMIX / "train_mixture_1m.csv", metrics=REGMIX / "train_pile_loss_1m.csv", target=TARGET)
    test_1m = load_runs(REGMIX / "test_mixture_1m.csv", metrics=REGMIX / "test_pile_loss_1m.csv", target=TARGET)
    test_60m = load_runs(REGMIX / "test_mixture_1m.csv", metrics=REGMIX / "test_pile_loss_60m.csv", target=TARGET)
    return train, test_1m, test_60m


# ------------------------------------------------------------------------------------------ tables
@needs_regmix
def test_regmix_tables_load_with_detected_weight_columns(regmix):
    train, test_1m, _ = regmix
    assert train.weights.shape == (512, 17) and test_1m.weights.shape == (256, 17)
    assert train.sources[0] == "train_the_pile_arxiv" and "index" not in train.sources
    assert np.allclose(train.weights.sum(axis=1), 1.0)
    prefixed = load_runs(REGMIX / "train_mixture_1m.csv", metrics=REGMIX / "train_pile_loss_1m.csv",
                         target=TARGET, weights="train_the_pile_")
    assert prefixed.sources == train.sources


def test_weights_not_summing_to_one(tmp_path):
    path = _write(tmp_path / "runs.csv", ["a", "b", "loss"], [[0.5, 0.5, 3.0]] * 5 + [[0.5, 0.3, 3.1]])
    with pytest.raises(ForensicsError, match=r"runs.csv: row 6: weights over 2 columns sum to 0.8"):
        load_runs(path, target="loss")


def test_missing_target_column_lists_columns(tmp_path):
    path = _write(tmp_path / "runs.csv", ["a", "b", "loss"], [[0.5, 0.5, 3.0]] * 6)
    with pytest.raises(ForensicsError, match=r"runs.csv: no column 'acc'; columns are: a, b, loss"):
        load_runs(path, target="acc")
    with pytest.raises(ForensicsError, match=r"runs.csv: no column 'c'"):
        load_runs(path, target="loss", weights=["a", "c"])
    with pytest.raises(ForensicsError, match=r"no column starts with 'w_'"):
        load_runs(path, target="loss", weights="w_")


@pytest.mark.parametrize("cell", ["nan", "", "inf"])
def test_nan_or_blank_cells(tmp_path, cell):
    rows = [[0.5, 0.5, 3.0]] * 5 + [[0.5, 0.5, cell]]
    path = _write(tmp_path / "runs.csv", ["a", "b", "loss"], rows)
    with pytest.raises(ForensicsError, match=r"runs.csv: row 6, column 'loss'"):
        load_runs(path, target="loss")


def test_text_cells_negative_weights_and_too_few_runs(tmp_path):
    path = _write(tmp_path / "t.csv", ["a", "b", "loss"], [[0.5, 0.5, "high"]] * 6)
    with pytest.raises(ForensicsError, match=r"t.csv: row 1, column 'loss': 'high' is not a number"):
        load_runs(path, target="loss")
    path = _write(tmp_path / "n.csv", ["a", "b", "loss"], [[1.2, -0.2, 3.0]] * 6)
    with pytest.raises(ForensicsError, match=r"n.csv: row 1: weight of 'b' is negative"):
        load_runs(path, target="loss", weights=["a", "b"])
    path = _write(tmp_path / "few.csv", ["a", "b", "loss"], [[0.5, 0.5, 3.0]] * 3)
    with pytest.raises(ForensicsError, match=r"few.csv: only 3 runs"):
        load_runs(path, target="loss")


def test_metrics_join_must_match_keys(tmp_path):
    mix = _write(tmp_path / "mix.csv", ["index", "a", "b"], [[i, 0.5, 0.5] for i in range(6)])
    loss = _write(tmp_path / "loss.csv", ["index", "loss"], [[i + 1, 3.0] for i in range(6)])
    with pytest.raises(ForensicsError, match=r"loss.csv: keys in 'index' do not match"):
        load_runs(mix, metrics=loss, target="loss")


def test_weighted_sum_target(tmp_path):
    rows = [[w, 1 - w, 2 + w, 3 - w] for w in np.linspace(0.1, 0.9, 6)]
    path = _write(tmp_path / "r.csv", ["a", "b", "l1", "l2"], rows)
    runs = load_runs(path, target={"l1": 0.5, "l2": 2.0})
    assert runs.sources == ["a", "b"]
    assert runs.target == pytest.approx([0.5 * r[2] + 2.0 * r[3] for r in rows])


# ------------------------------------------------------------------------------------------ models
def test_explaw_recovers_a_noiseless_law():
    w, loss = _synthetic()
    predict = fit_explaw(w, loss)
    assert np.abs(predict(w) - loss).max() < 1e-3
    assert predict.coefficients["t"][0] - predict.coefficients["t"][2] == pytest.approx(-2.0, abs=1e-2)


def test_ridge_ranks_synthetic_runs():
    w, loss = _synthetic(200)
    held_w, held_loss = _synthetic(100, seed=1)
    assert spearmanr(fit_ridge(w[:100], loss[:100])(held_w), held_loss)[0] > 0.98


def test_cross_validation_never_sees_the_fold():
    w, loss = _synthetic(40)
    score = cross_validate(w, loss, Candidate("ridge", {"eps": 0.01, "penalty": 0.1}), folds=5)
    assert 0.9 < score.cv_spearman <= 1.0
    shuffled = cross_validate(w, np.random.default_rng(0).permutation(loss),
                              Candidate("ridge", {"eps": 0.01, "penalty": 0.1}))
    assert shuffled.cv_spearman < 0.5


@needs_regmix
@pytest.mark.parametrize("n_runs, floor", [(512, 0.98), (64, 0.93)])
def test_regmix_held_out_ranking(regmix, n_runs, floor):
    """Targets of issue 7: ridge/explaw chosen by 5-fold CV on the training runs only (no trees needed)."""
    train, test_1m, test_60m = regmix
    subset = RunTable(train.sources, train.weights[:n_runs], train.target[:n_runs], train.target_name, train.path)
    rec = recommend_from_runs(subset, models=["explaw", "ridge"], candidates_count=2000, bootstrap=0,
                              predict=test_1m.weights)
    predicted = np.array(rec.predictions)
    assert spearmanr(predicted, test_1m.target)[0] >= floor
    assert spearmanr(predicted, test_60m.target)[0] >= floor
    assert rec.cv[0].cv_spearman == max(s.cv_spearman for s in rec.cv)


# ------------------------------------------------------------------------------------------ search
def test_apply_caps_keeps_simplex_and_zeros():
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.full(5, 0.3), 500)
    w[:, 4] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    caps = np.array([0.3, 0.3, 0.5, 1.0, 1.0])
    capped = apply_caps(w, caps)
    assert np.allclose(capped.sum(axis=1), 1.0)
    assert (capped <= caps + 1e-12).all() and (capped >= 0).all()
    assert (capped[:, 4] == 0).mean() > 0.9  # excess goes to sources that already had weight


def test_sample_capped_respects_caps():
    caps = np.array([0.1, 0.5, 1.0])
    draws = sample_capped(np.array([0.6, 0.3, 0.1]), 1000, caps, rng=np.random.default_rng(0))
    assert draws.shape == (1000, 3)
    assert (draws <= caps + 1e-9).all() and np.allclose(draws.sum(axis=1), 1.0)


def test_recommendation_on_synthetic_law_finds_the_best_source():
    w, loss = _synthetic(80)
    runs = RunTable(["a", "b", "c", "d"], w, loss, "loss", "synthetic")
    rec = recommend_from_runs(runs, models=["explaw"], candidates_count=5000, bootstrap=5, extrapolate=True)
    assert max(rec.weights, key=rec.weights.get) == "a"
    assert rec.predicted < loss.min()
    assert set(rec.weights_spread) == {"a", "b", "c", "d"}
    capped = recommend_from_runs(runs, models=["explaw"], candidates_count=5000, bootstrap=0, caps={"a": 0.3},
                                 extrapolate=True)
    assert capped.weights["a"] <= 0.3 + 1e-9
    assert sum(capped.weights.values()) == pytest.approx(1.0)


def test_maximize_flips_direction():
    w, loss = _synthetic(80)
    runs = RunTable(["a", "b", "c", "d"], w, -loss, "accuracy", "synthetic")
    rec = recommend_from_runs(runs, models=["explaw"], maximize=True, candidates_count=3000, bootstrap=0,
                              extrapolate=True)
    assert max(rec.weights, key=rec.weights.get) == "a"
    assert rec.best_run["value"] == pytest.approx((-loss).max())


def test_warning_outside_covered_region():
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(3), 40) * 0.5 + np.array([0.0, 0.25, 0.25])  # a never exceeds 0.5
    loss = 3.0 - w[:, 0] + rng.normal(0, 0.01, 40)
    runs = RunTable(["a", "b", "c"], w, loss, "loss", "synthetic")
    inside = recommend_from_runs(runs, models=["ridge"], candidates_count=3000, bootstrap=0)
    assert inside.weights["a"] <= w[:, 0].max() + 1e-9
    outside = recommend_from_runs(runs, models=["ridge"], candidates_count=3000, bootstrap=0, extrapolate=True)
    assert outside.weights["a"] > w[:, 0].max()
    assert any("outside" in message for message in outside.warnings)


# ------------------------------------------------------------------------------------------ suggest-runs
def test_suggest_runs_are_capped_distinct_and_sum_to_one():
    s = suggest_runs({"web": 0.6, "code": 0.3, "books": 0.1}, n=20, caps={"books": 0.15}, min_distance=0.1)
    rows = np.array(s.mixtures)
    assert rows.shape == (20, 3)
    assert np.allclose(rows.sum(axis=1), 1.0, atol=1e-9)
    assert (rows[:, 2] <= 0.15 + 1e-9).all()
    distances = np.abs(rows[:, None] - rows[None]).sum(axis=2) + np.eye(20) * 9
    assert distances.min() >= 0.1 - 1e-9
    assert np.allclose(rows, np.round(rows, 3))
    existing = rows[:5]
    again = suggest_runs({"web": 0.6, "code": 0.3, "books": 0.1}, n=5, existing=existing, min_distance=0.1, seed=1)
    assert min(np.abs(existing - r).sum(axis=1).min() for r in np.array(again.mixtures)) >= 0.1 - 1e-9


def test_suggest_runs_impossible_spacing():
    with pytest.raises(ForensicsError, match="lower --min-distance"):
        suggest_runs(["a", "b"], n=50, min_distance=0.5)


# ------------------------------------------------------------------------------------------ commands
@needs_regmix
def test_cli_runs_predict_and_provenance(tmp_path, capsys):
    out = tmp_path / "rec.json"
    args = ["recommend", "runs", str(REGMIX / "train_mixture_1m.csv"), "--metrics",
            str(REGMIX / "train_pile_loss_1m.csv"), "--target", TARGET, "--models", "ridge", "--bootstrap", "3",
            "--candidates", "2000", "--predict", str(REGMIX / "test_mixture_1m.csv"), "-o", str(out)]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "recommended mixture" in table and "90% interval" in table and "distance from the runs (TV)" in table
    payload = json.loads(out.read_text())
    assert len(payload["predictions"]) == 256
    test = load_runs(REGMIX / "test_mixture_1m.csv", metrics=REGMIX / "test_pile_loss_1m.csv", target=TARGET)
    assert spearmanr(payload["predictions"], test.target)[0] >= 0.98
    assert len(payload["prediction_intervals"]) == len(payload["prediction_distances"]) == 256
    assert payload["distance"]["validated"]["by"] == "region" and payload["interval"]["replicates"] == 3
    assert payload["alternatives"] and "predicted_interval" in payload
    assert len(payload["provenance"]["inputs"]) == 3
    assert payload["model"] == "ridge" and abs(sum(payload["weights"].values()) - 1) < 1e-9


def test_cli_runs_single_csv_and_errors(tmp_path, capsys):
    w, loss = _synthetic(30)
    rows = [[i + 1, *wi.round(6), li] for i, (wi, li) in enumerate(zip(w, loss))]
    path = _write(tmp_path / "runs.csv", ["index", "w_a", "w_b", "w_c", "w_d", "loss"], rows)
    assert main(["recommend", "runs", str(path), "--target", "loss", "--weights", "w_", "--models", "explaw",
                 "--bootstrap", "2", "--candidates", "1000", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["sources"] == ["w_a", "w_b", "w_c", "w_d"] and payload["predictions"] is None
    assert main(["recommend", "runs", str(path), "--target", "acc"]) == 2
    assert "runs.csv: no column 'acc'" in capsys.readouterr().err
    assert main(["recommend", "runs", str(path), "--target", "loss", "--models", "forest"]) == 2
    assert "explaw, ridge, trees" in capsys.readouterr().err
    bad = _write(tmp_path / "mix.csv", ["w_a", "w_b", "w_c"], [[0.2, 0.2, 0.6]])
    assert main(["recommend", "runs", str(path), "--target", "loss", "--predict", str(bad)]) == 2
    assert "mix.csv: missing weight columns ['w_d']" in capsys.readouterr().err


def test_cli_suggest_runs(tmp_path, capsys):
    out = tmp_path / "next.csv"
    record = tmp_path / "next.json"
    assert main(["suggest-runs", "--sources", "web,code,books", "-n", "8", "--cap", "books=0.2", "-o", str(out),
                 "--json", str(record)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "index,web,code,books" and len(lines) == 9
    for line in lines[1:]:
        values = [float(x) for x in line.split(",")[1:]]
        assert abs(sum(values) - 1) < 1e-9 and values[2] <= 0.2
    assert json.loads(record.read_text())["provenance"]["command"] == "suggest-runs"
    runs_csv = tmp_path / "runs.csv"
    runs_csv.write_text(out.read_text())
    assert main(["suggest-runs", "--from-runs", str(runs_csv), "-n", "4"]) == 0
    assert capsys.readouterr().out.startswith("index,web,code,books\n")
    assert main(["suggest-runs", "-n", "4"]) == 2


def test_undetectable_weight_columns_ask_for_weights(tmp_path):
    rows = [[w, 1 - w, 0.6 + w / 10, 3.0] for w in np.linspace(0.1, 0.9, 6)]
    path = _write(tmp_path / "runs.csv", ["a", "b", "accuracy", "loss"], rows)
    with pytest.raises(ForensicsError, match=r"runs.csv: the columns with values in \[0, 1\] \(a, b, accuracy\) do "
                                             r"not sum to 1.*--weights"):
        load_runs(path, target="loss")
    assert load_runs(path, target="loss", weights=["a", "b"]).sources == ["a", "b"]
    assert load_runs(path, target="accuracy").sources == ["a", "b"]


def test_core_path_without_lightgbm(monkeypatch):
    import sys

    import forensics.recommend.runs as runs_module

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm now raises ImportError
    assert {c.model for c in runs_module.candidates("auto", 500)} == {"explaw", "ridge"}
    w, loss = _synthetic(30)
    with pytest.raises(ForensicsError, match=r"pip install 'forensics\[trees\]'"):
        runs_module.fit_trees(w, loss)


def test_trees_when_installed():
    pytest.importorskip("lightgbm", exc_type=ImportError)
    w, loss = _synthetic(200)
    held_w, held_loss = _synthetic(100, seed=1)
    from forensics.recommend.runs import fit_trees

    assert spearmanr(fit_trees(w, loss, iterations=300, learning_rate=0.05)(held_w), held_loss)[0] > 0.8


def test_prior_and_caps_validation():
    w, loss = _synthetic(30)
    runs = RunTable(["a", "b", "c", "d"], w, loss, "loss", "synthetic")
    with pytest.raises(ForensicsError, match="unknown sources \\['x'\\]"):
        recommend_from_runs(runs, models=["ridge"], prior={"a": 1.0, "x": 1.0}, bootstrap=0)
    with pytest.raises(ForensicsError, match="caps sum to 0.4"):
        recommend_from_runs(runs, models=["ridge"], caps={"a": 0.1, "b": 0.1, "c": 0.1, "d": 0.1}, bootstrap=0)
    rec = recommend_from_runs(runs, models=["ridge"], prior={"a": 0.7, "b": 0.1, "c": 0.1, "d": 0.1},
                              candidates_count=500, bootstrap=0)
    assert sum(rec.weights.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("option", [{"candidates_count": 0}, {"top_k": 0}, {"bootstrap": -3}])
def test_search_sizes_must_be_positive(tmp_path, option):
    rows = [[w, 1 - w, 3 - w] for w in np.linspace(0.1, 0.9, 8)]
    path = _write(tmp_path / "r.csv", ["a", "b", "loss"], rows)
    with pytest.raises(ForensicsError, match="--candidates and --top-k must be at least 1"):
        recommend_from_runs(path, target="loss", **option)


# ------------------------------------------------------------------------------------------ region-shift validation
def _regmix_subset(regmix, n_runs):
    train = regmix[0]
    return RunTable(train.sources, train.weights[:n_runs], train.target[:n_runs], train.target_name, train.path)


@needs_regmix
def test_region_folds_are_disjoint_deterministic_and_hold_out_their_region(regmix):
    from forensics.recommend.validation import entropy, nearest_fold, region_folds

    w = regmix[0].weights
    folds = region_folds(w)
    assert [f.describe() for f in folds] == [f.describe() for f in region_folds(w.copy())]
    assert {f.kind for f in folds} == {"far", "high_entropy", "low_entropy", "source_max"}
    assert len([f for f in folds if f.kind == "source_max"]) == w.shape[1]
    for fold in folds:
        assert not set(fold.train) & set(fold.test)
        assert sorted([*fold.train, *fold.test]) == list(range(len(w)))
    by_name = {f.name: f for f in folds}
    h = entropy(w)
    assert h[by_name["high_entropy"].test].min() >= h[by_name["high_entropy"].train].max()
    assert h[by_name["low_entropy"].test].max() <= h[by_name["low_entropy"].train].min()
    far = np.abs(w - w.mean(axis=0)).sum(axis=1)
    assert far[by_name["far"].test].min() >= far[by_name["far"].train].max()
    for j in range(w.shape[1]):  # every held-out run has more of source j than every remaining run
        fold = by_name[f"source_max[{j + 1}/{w.shape[1]}]"]
        assert w[fold.test, j].min() > w[fold.train, j].max()
    near = nearest_fold(w, w[0], 50)
    assert 0 in near.test and len(near.test) == 50 and not set(near.train) & set(near.test)


def test_rank_average_orders_by_mean_rank():
    from forensics.recommend.validation import rank_average

    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 30.0, 20.0, 40.0])
    mixed = rank_average([a, b])
    assert np.argsort(mixed).tolist() == [0, 1, 2, 3] or np.argsort(mixed).tolist() == [0, 2, 1, 3]
    assert sorted(mixed.tolist()) == sorted(((a + b) / 2).tolist())
    assert rank_average([np.array([2.0]), np.array([4.0])]).tolist() == [3.0]


@needs_regmix
def test_region_choice_is_the_best_region_score_and_kfold_reproduces_the_old_choice(regmix):
    runs = _regmix_subset(regmix, 200)
    kwargs = dict(models=["explaw", "ridge"], candidates_count=1000, bootstrap=0)
    rec = recommend_from_runs(runs, **kwargs)
    assert rec.select == "region" and rec.ranking[0].model == rec.model
    assert rec.ranking[0].parameters == rec.model_parameters
    assert rec.ranking[0].region_spearman == max(s.region_spearman for s in rec.ranking)
    assert set(rec.ranking[0].region) == {"far", "high_entropy", "low_entropy", "source_max", "near_optimum"}
    assert rec.cv[0].cv_spearman == max(s.cv_spearman for s in rec.cv)
    document = json.loads(json.dumps(dataclasses.asdict(rec)))
    assert document["ranking"][0]["region"] == rec.ranking[0].region and document["folds"]
    old = recommend_from_runs(runs, select="kfold", **kwargs)
    best = max(rec.cv, key=lambda s: (s.cv_spearman, -s.cv_rmse))
    assert (old.model, old.model_parameters) == (best.model, best.parameters)
    assert old.ranking[0].region_spearman is None and old.folds == []
    # the old selection, spelled out: K-fold over the same candidates
    scores = [cross_validate(runs.weights, runs.target, c, folds=5, seed=0) for c in candidates(kwargs["models"], 200)]
    scores.sort(key=lambda s: (-s.cv_spearman, s.cv_rmse))
    assert (old.model, old.model_parameters) == (scores[0].model, scores[0].parameters)
    with pytest.raises(ForensicsError, match="unknown select"):
        recommend_from_runs(runs, select="best", **kwargs)


def test_ensemble_is_scored_and_chosen_only_when_best():
    from forensics.recommend.validation import RankEnsemble, select_model

    w, loss = _synthetic(80)
    loss = loss + np.random.default_rng(1).normal(0, 0.02, len(loss))
    pool = np.random.default_rng(2).dirichlet(np.ones(4), 500)
    chosen = select_model(w, loss, [Candidate("explaw", {}), Candidate("ridge", {"eps": 1e-2, "penalty": 1e-1})],
                          pool=pool, margin=1.0)
    ensembles = [s for s in chosen.scores if s.model == "ensemble"]
    assert len(ensembles) == 1 and ensembles[0].parameters["members"] == ["explaw", "ridge(eps=0.01, penalty=0.1)"]
    assert chosen.scores[0].region_spearman == max(s.region_spearman for s in chosen.scores)
    assert (chosen.chosen.model == "ensemble") == (chosen.scores[0].model == "ensemble")
    if isinstance(chosen.chosen, RankEnsemble):
        assert chosen.model(w).shape == (80,)
    none = select_model(w, loss, [Candidate("explaw", {}), Candidate("ridge", {"eps": 1e-2, "penalty": 1e-1})],
                        pool=pool, margin=-1.0)
    assert all(s.model != "ensemble" for s in none.scores)


@needs_regmix
def test_validate_runs_choose_the_model(regmix, tmp_path):
    runs = _regmix_subset(regmix, 150)
    test_1m = regmix[1]
    rec = recommend_from_runs(runs, models=["ridge"], candidates_count=500, bootstrap=0, validate=test_1m)
    assert rec.select == "validate"
    assert rec.ranking[0].validate_spearman == max(s.validate_spearman for s in rec.ranking) > 0.9
    assert rec.distance["validated"]["by"] == "validate" and rec.distance["validated"]["held_out_runs"] == 256
    out = tmp_path / "rec.json"
    assert main(["recommend", "runs", str(REGMIX / "train_mixture_1m.csv"), "--metrics",
                 str(REGMIX / "train_pile_loss_1m.csv"), "--target", TARGET, "--models", "ridge",
                 "--candidates", "300", "--bootstrap", "0", "-o", str(out),
                 "--validate", str(REGMIX / "test_mixture_1m.csv"),
                 "--validate-metrics", str(REGMIX / "test_pile_loss_1m.csv")]) == 0
    payload = json.loads(out.read_text())
    assert payload["select"] == "validate" and payload["ranking"][0]["validate_spearman"] > 0.98
    assert payload["provenance"]["parameters"]["validate"].endswith("test_mixture_1m.csv")


# ------------------------------------------------------------------------------------------ distance and intervals
@pytest.fixture(scope="module")
def regmix_ridge(regmix):
    """The default path on all 512 runs with ridge only (fast), 10 refits, predicting the 256 held-out runs."""
    train, test_1m, _ = regmix
    return recommend_from_runs(train, models=["ridge"], candidates_count=3000, bootstrap=10, predict=test_1m.weights)


@needs_regmix
def test_regmix_distance_from_the_runs_and_the_reach_of_the_folds(regmix, regmix_ridge):
    from forensics.recommend.distance import total_variation
    from forensics.recommend.validation import region_folds

    train = regmix[0]
    rec = regmix_ridge
    point = np.array([rec.weights[s] for s in train.sources])
    tv = np.abs(train.weights - point).sum(axis=1) / 2
    d = rec.distance
    assert d["nearest_run"] == pytest.approx(tv.min()) and d["centre"] == pytest.approx(
        np.abs(train.weights.mean(axis=0) - point).sum() / 2)
    assert [r["row"] for r in d["nearest_runs"]] == (np.argsort(tv, kind="stable")[:5] + 1).tolist()
    assert all(r["run"] == f"{r['row']:g}" for r in d["nearest_runs"])  # RegMix's index column counts from 1
    reach = d["validated"]
    assert reach["by"] == "region" and 0.3 < reach["nearest_run"] < 0.6 and 0.7 < reach["centre"] < 0.95
    # the reach is the 90th percentile with every fold kind weighted equally: check it on the far fold alone
    far = next(f for f in region_folds(train.weights) if f.kind == "far")
    far_nearest = total_variation(train.weights[far.test], train.weights[far.train]).min(axis=1)
    assert np.quantile(far_nearest, 0.9) < reach["nearest_run"] < far_nearest.max() + 0.5
    assert not d["beyond"] and not any("tested" in w for w in rec.warnings)
    assert len(rec.prediction_distances) == 256 and min(rec.prediction_distances) >= 0


@needs_regmix
def test_regmix_intervals_cover_the_held_out_runs(regmix, regmix_ridge):
    test_1m = regmix[1]
    rec = regmix_ridge
    low, high = np.array(rec.prediction_intervals).T
    assert (low < np.array(rec.predictions)).all() and (np.array(rec.predictions) < high).all()
    inside = np.mean((test_1m.target >= low) & (test_1m.target <= high))
    assert 0.85 <= inside <= 0.97  # 0.906 with 20 refits (benchmarks/results/recommend.md)
    calibration = rec.interval["calibration"]
    assert calibration["scale"] >= 1.0 and calibration["coverage"] >= 0.89 and rec.interval["replicates"] == 10
    assert rec.predicted_interval[0] < rec.predicted < rec.predicted_interval[1]
    assert 0.15 < rec.predicted_interval[1] - rec.predicted_interval[0] < 0.4
    assert rec.alternatives and rec.alternatives[-1]["label"].startswith("best run (row 203")
    for alt in rec.alternatives:
        assert alt["distance"] >= 0.1 - 1e-9 and 0.0 <= alt["recommended_better"] <= 1.0
        assert alt["interval"][0] < alt["predicted"] < alt["interval"][1]
        assert set(alt["weights"]) == set(rec.sources)
    assert rec.comparison.startswith("cannot be told apart")
    json.dumps(dataclasses.asdict(rec))


def test_reach_warning_when_the_optimum_lies_beyond_the_folds():
    """Runs crowd around the centre; the law pulls the optimum to a corner the folds never held out."""
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.full(3, 30.0), 60)
    loss = 3.0 - 2.0 * w[:, 0] + rng.normal(0, 0.005, 60)
    runs = RunTable(["a", "b", "c"], w, loss, "loss", "synthetic")
    rec = recommend_from_runs(runs, models=["ridge"], candidates_count=3000, bootstrap=5, extrapolate=True)
    d = rec.distance
    assert rec.weights["a"] > 0.8 and d["beyond"] and "nearest_run" in d["beyond_by"]
    assert d["nearest_run"] > d["validated"]["nearest_run"]
    assert any("not tested that far out" in message for message in rec.warnings)
    inside = recommend_from_runs(runs, models=["ridge"], candidates_count=3000, bootstrap=0)
    assert not inside.distance["beyond"] and inside.distance["nearest_runs"][0]["run"] is None
    kfold = recommend_from_runs(runs, models=["ridge"], candidates_count=3000, bootstrap=0, select="kfold")
    assert kfold.distance["validated"]["by"] == "kfold"


def test_validated_reach_weighs_fold_kinds_equally():
    from forensics.recommend.distance import validated_reach
    from forensics.recommend.validation import Fold

    w = np.array([[1.0, 0.0], [0.9, 0.1], [0.5, 0.5], [0.45, 0.55], [0.0, 1.0], [0.05, 0.95]])
    near = Fold("a", "a", np.array([0, 2, 4]), np.array([1, 3, 5]))  # each held-out run 0.05-0.1 from a training run
    far = Fold("b", "b", np.array([2, 3, 4, 5]), np.array([0]))  # 0.5 out
    many_near = [near] * 10
    reach = validated_reach(w, many_near + [far], by="region", quantile=0.9)
    assert reach.nearest_run == pytest.approx(0.5)  # kind b weighs half however many folds kind a has
    assert validated_reach(w, many_near, by="region").nearest_run == pytest.approx(0.1)
    assert validated_reach(w, [], by="region") is None


def test_intervals_bootstrap_ensemble_members_and_calibration():
    from forensics.recommend.intervals import Replicates, bootstrap_runs, calibrate, intervals
    from forensics.recommend.validation import RankEnsemble

    w, loss = _synthetic(60)
    ensemble = RankEnsemble((Candidate("explaw", {}), Candidate("ridge", {"eps": 0.01, "penalty": 0.1})))
    reps = bootstrap_runs(w, loss, ensemble, replicates=6, seed=1)
    assert set(reps.members) == {"explaw", "ridge(eps=0.01, penalty=0.1)"}  # resampled within the ensemble
    assert reps.residuals.shape == (6, 60) and np.isnan(reps.residuals).any()
    # intervals too narrow for the K-fold errors get widened until 90% of the runs fall inside
    flat = Replicates([lambda x: np.zeros(len(x))] * 2, ["m", "m"], np.array([[0.1, -0.1, np.nan], [0.1, -0.1, 0.05]]))
    runs = np.zeros((3, 2))
    truth = np.array([0.0, 0.0, 0.0])
    oof = np.array([0.3, -0.3, 0.0])  # errors of 0.3 against raw half-widths under 0.1
    calibration = calibrate(flat, runs, truth, oof)
    assert calibration.scale > 3 and calibration.raw_coverage == pytest.approx(1 / 3) and calibration.coverage >= 0.9
    low, high = intervals(flat, runs[:1], np.array([0.0]), scale=calibration.scale)
    assert low[0] < -0.29 and high[0] > 0.29


def test_maximize_intervals_and_no_bootstrap():
    w, loss = _synthetic(60)
    runs = RunTable(["a", "b", "c", "d"], w, -loss, "accuracy", "synthetic")
    rec = recommend_from_runs(runs, models=["ridge"], maximize=True, candidates_count=1000, bootstrap=8,
                              predict=w[:5])
    low, high = rec.predicted_interval
    assert low < rec.predicted < high
    for (lo, hi), p in zip(rec.prediction_intervals, rec.predictions):
        assert lo < p < hi
    none = recommend_from_runs(runs, models=["ridge"], maximize=True, candidates_count=1000, bootstrap=0,
                               predict=w[:5])
    assert none.predicted_interval is None and none.prediction_intervals is None
    assert "at least 2 bootstrap" in none.interval["note"] and none.comparison is None
