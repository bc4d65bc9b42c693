"""Size heuristics: proportional, temperature sampling, UniMax; the `recommend heuristic` command."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from forensics import ForensicsError, recommend_heuristic
from forensics.recommend.heuristics import _unimax

SIZES = {"en": 1_000_000.0, "de": 200_000.0, "sw": 5_000.0, "yo": 500.0}


def test_proportional_is_shares_and_one_epoch_at_full_budget():
    rec = recommend_heuristic(SIZES, method="proportional")
    total = sum(SIZES.values())
    assert rec.weights == pytest.approx({k: v / total for k, v in SIZES.items()})
    assert rec.epochs == pytest.approx({k: 1.0 for k in SIZES})
    assert rec.budget == total


def test_temperature_matches_formula_and_upsamples_small_categories():
    rec = recommend_heuristic(SIZES, method="temperature", alpha=0.3, max_epochs=None)
    total = sum(SIZES.values())
    raw = {k: (v / total) ** 0.3 for k, v in SIZES.items()}
    norm = sum(raw.values())
    assert rec.weights == pytest.approx({k: v / norm for k, v in raw.items()})
    assert rec.epochs["yo"] > rec.epochs["sw"] > 1 > rec.epochs["en"]
    assert recommend_heuristic(SIZES, method="temperature", alpha=1.0).weights == pytest.approx(
        recommend_heuristic(SIZES, method="proportional").weights)


def test_temperature_warns_about_heavy_repetition():
    rec = recommend_heuristic(SIZES, method="temperature", alpha=0.3, max_epochs=4)
    assert rec.warnings and "yo" in rec.warnings[0]


def test_unimax_uniform_with_epoch_cap():
    rec = recommend_heuristic(SIZES, method="unimax", budget=400_000, max_epochs=4)
    # yo and sw are capped at 4 epochs; en and de share the rest equally.
    assert rec.tokens["yo"] == pytest.approx(2_000)
    assert rec.tokens["sw"] == pytest.approx(20_000)
    assert rec.tokens["en"] == pytest.approx(rec.tokens["de"]) == pytest.approx((400_000 - 22_000) / 2)
    assert sum(rec.weights.values()) == pytest.approx(1.0)
    assert max(rec.epochs.values()) <= 4 + 1e-9
    assert not rec.warnings


def test_unimax_budget_beyond_caps_warns_and_caps_everything():
    weights, short = _unimax({"a": 10.0, "b": 30.0}, budget=1000.0, max_epochs=2.0)
    assert short == pytest.approx(920.0)
    assert weights == pytest.approx({"a": 0.25, "b": 0.75})
    rec = recommend_heuristic({"a": 10.0, "b": 30.0}, method="unimax", budget=1000, max_epochs=2)
    assert rec.warnings and rec.epochs == pytest.approx({"a": 2.0, "b": 2.0})


@pytest.mark.parametrize("bad, message", [
    ({"a": 1.0, "b": 0.0}, "no tokens"),
    ({"a": 1.0, "b": -3.0}, "non-negative"),
    ({"a": 1.0, "b": float("nan")}, "finite"),
    ({}, "non-empty"),
])
def test_invalid_sizes(bad, message):
    with pytest.raises(ForensicsError, match=message):
        recommend_heuristic(bad)


def test_unknown_method_lists_methods():
    with pytest.raises(ForensicsError, match="proportional, temperature, unimax"):
        recommend_heuristic(SIZES, method="square")  # type: ignore[arg-type]


def test_reads_json_and_csv_files(tmp_path):
    (tmp_path / "scan.json").write_text(json.dumps({"tokens": SIZES}))
    (tmp_path / "sizes.csv").write_text("category,tokens\n" + "".join(f"{k},{v}\n" for k, v in SIZES.items()))
    a = recommend_heuristic(tmp_path / "scan.json", method="unimax", budget=1e5)
    b = recommend_heuristic(str(tmp_path / "sizes.csv"), method="unimax", budget=1e5)
    assert a.weights == pytest.approx(b.weights)
    (tmp_path / "bad.json").write_text('{"tokens": {"en": "many"}}')
    with pytest.raises(ForensicsError, match="bad.json"):
        recommend_heuristic(tmp_path / "bad.json")


def test_cli_json_has_provenance_and_csv(tmp_path, capsys):
    sizes = tmp_path / "sizes.json"
    sizes.write_text(json.dumps(SIZES))
    out_csv = tmp_path / "w.csv"
    assert main(["recommend", "heuristic", str(sizes), "--method", "all", "--budget", "400K", "--json",
                 "--csv", str(out_csv)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in payload["recommendations"]] == ["proportional", "temperature", "unimax"]
    assert payload["provenance"]["inputs"][str(sizes)]
    assert payload["provenance"]["parameters"]["budget"] == "400K"
    assert out_csv.read_text().splitlines()[0] == "category,proportional_weight,temperature_weight,unimax_weight"


def test_cli_table_and_error(tmp_path, capsys):
    sizes = tmp_path / "sizes.json"
    sizes.write_text(json.dumps(SIZES))
    assert main(["recommend", "heuristic", str(sizes)]) == 0
    assert "unimax w" in capsys.readouterr().out
    assert main(["recommend", "heuristic", str(sizes), "--budget", "lots"]) == 2
    assert "error: --budget 'lots'" in capsys.readouterr().err


def test_heuristic_reads_a_scan_summary(tmp_path):
    """`forensics recommend heuristic` takes a `forensics scan` summary.json (sizes by tokens, else bytes)."""
    import json

    from forensics.recommend._tables import read_mapping

    summary = {"shares": {"bytes": {"en": 0.75, "de": 0.25}}, "totals": {"tokens": None},
               "rows": [{"category": "en", "bytes": 300, "tokens": None}, {"category": "de", "bytes": 100,
                                                                            "tokens": None},
                        {"category": "unknown", "bytes": 7, "tokens": None}]}
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    assert read_mapping(path, what="sizes") == {"en": 300.0, "de": 100.0}
    for row, tokens in zip(summary["rows"], (90, 30, 2)):
        row["tokens"] = tokens
    path.write_text(json.dumps(summary))
    assert read_mapping(path, what="sizes") == {"en": 90.0, "de": 30.0}


# ------------------------------------------------------------------------------------------ from scan outputs
@pytest.fixture(scope="module")
def scans(tmp_path_factory, gpt2_hf_json):
    from test_recommend_match import build_scans

    return build_scans(tmp_path_factory.mktemp("scans"), gpt2_hf_json)


def test_heuristic_over_sources_from_scans(scans):
    from forensics.recommend.sources import read_scans

    sources = {name: scans[name] for name in ("english", "european", "code")}
    measured = read_scans(sources)
    rec = recommend_heuristic(scans=sources, method="unimax", budget=100_000, max_epochs=2)
    assert rec.unit == "tokens" and rec.available == {n: float(s.tokens) for n, s in measured.items()}
    assert all(rec.epochs[n] <= 2 + 1e-9 for n in sources) and sum(rec.weights.values()) == pytest.approx(1.0)
    # the category mixture by bytes: token weights times bytes per token, through each source's composition
    mass = {n: rec.weights[n] * measured[n].bytes / measured[n].tokens for n in sources}
    total = sum(mass.values())
    en = sum(mass[n] / total * measured[n].composition.get("en", 0.0) for n in sources)
    assert rec.mixture["en"] == pytest.approx(en) and sum(rec.mixture.values()) == pytest.approx(1.0)
    in_bytes = recommend_heuristic(scans={"english": scans["english_bytes"], "code": scans["code"]},
                                   method="proportional")
    assert in_bytes.unit == "bytes" and in_bytes.available["english"] == measured["english"].bytes
    assert any("english counted no tokens" in w for w in in_bytes.warnings)
    with pytest.raises(ForensicsError, match="one of them"):
        recommend_heuristic({"a": 1.0}, scans=sources)


def test_cli_heuristic_with_sources_from_scans(scans, capsys, tmp_path):
    options = [o for name in ("english", "european", "code") for o in ("--source", f"{name}={scans[name]}")]
    out_csv = tmp_path / "w.csv"
    assert main(["recommend", "heuristic", *options, "--budget", "100k", "--max-epochs", "2", "--method", "all",
                 "--json", "--csv", str(out_csv)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [r["unit"] for r in payload["recommendations"]] == ["tokens"] * 3
    assert {"source:english", "source:code"} <= set(payload["provenance"]["inputs"])
    assert out_csv.read_text().splitlines()[0].startswith("source,")
    assert main(["recommend", "heuristic", *options, "--budget", "100k"]) == 0
    assert "category mixture by bytes" in capsys.readouterr().out
    for args, message in [([], "give SIZES"), (["--source", "x"], "expected NAME=SCAN_DIR"),
                          ([*options, "--source", f"english={scans['code']}"], "given twice")]:
        assert main(["recommend", "heuristic", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
