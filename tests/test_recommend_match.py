"""Target matching: LP (L1) and QP (L2) over capped sources; the `recommend match` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli.main import main
from forensics import ForensicsError, recommend_match

TARGET = {"en": 0.5, "de": 0.3, "fr": 0.2}
SOURCES = {
    "web": {"en": 0.7, "de": 0.2, "fr": 0.1},
    "wiki_de": {"de": 1.0},
    "europarl": {"en": 0.3, "de": 0.3, "fr": 0.4},
}


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_reachable_target_is_matched_exactly(norm):
    rec = recommend_match(TARGET, norm=norm)
    assert rec.weights == pytest.approx(TARGET, abs=1e-6)
    assert rec.distance == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_mixture_of_sources_reproduces_a_reachable_target(norm):
    true = np.array([0.5, 0.2, 0.3])
    comp = np.array([[SOURCES[s].get(c, 0.0) for s in SOURCES] for c in TARGET])
    target = dict(zip(TARGET, comp @ true))
    rec = recommend_match(target, sources=SOURCES, norm=norm)
    assert list(rec.weights.values()) == pytest.approx(true.tolist(), abs=1e-5)
    assert max(abs(r) for r in rec.residual.values()) < 1e-6


def test_caps_bind_and_residual_reports_the_gap():
    rec = recommend_match(TARGET, caps={"en": 0.4})
    assert rec.weights["en"] == pytest.approx(0.4)
    assert rec.residual["en"] == pytest.approx(-0.1)
    assert sum(rec.residual.values()) == pytest.approx(0.0, abs=1e-9)
    assert rec.distance == pytest.approx(0.2)
    l2 = recommend_match(TARGET, caps={"en": 0.4}, norm="l2")
    # L2 spreads the missing 0.1 evenly over de and fr.
    assert l2.weights == pytest.approx({"en": 0.4, "de": 0.35, "fr": 0.25}, abs=1e-5)


def test_epoch_caps_from_available_tokens():
    rec = recommend_match(TARGET, available={"en": 1e9, "de": 1e9, "fr": 1e7}, budget=1e9, max_epochs=4)
    assert rec.caps["fr"] == pytest.approx(0.04)
    assert rec.weights["fr"] == pytest.approx(0.04)
    assert rec.epochs["fr"] == pytest.approx(4.0)
    assert rec.tokens["fr"] == pytest.approx(4e7)


def test_uncovered_category_warns():
    rec = recommend_match({**TARGET, "code": 0.25}, sources=SOURCES)
    assert any("code" in w for w in rec.warnings)
    assert rec.residual["code"] == pytest.approx(-0.2)  # 0.25 / 1.25 after normalising


@pytest.mark.parametrize("kwargs, message", [
    ({"caps": {"en": 0.2, "de": 0.2, "fr": 0.2}}, "caps sum to 0.6"),
    ({"caps": {"xx": 0.2}}, "unknown source 'xx'"),
    ({"available": {"en": 1.0, "de": 1.0, "fr": 1.0}}, "budget and max_epochs"),
])
def test_invalid_inputs(kwargs, message):
    with pytest.raises(ForensicsError, match=message):
        recommend_match(TARGET, **kwargs)


def test_bad_target_file_names_the_file(tmp_path):
    bad = tmp_path / "target.json"
    bad.write_text('{"mixture": {"en": -1}}')
    with pytest.raises(ForensicsError, match="target.json"):
        recommend_match(bad)
    bad.write_text("{not json")
    with pytest.raises(ForensicsError, match=r"target.json: not a target mixture file \(invalid JSON"):
        recommend_match(bad)


def test_cli_match(tmp_path, capsys):
    target = tmp_path / "target.json"
    target.write_text(json.dumps({"mixture": TARGET}))
    sources = tmp_path / "sources.json"
    sources.write_text(json.dumps(SOURCES))
    assert main(["recommend", "match", str(target), "--sources", str(sources), "--cap", "web=0.3",
                 "--norm", "l2", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["weights"]["web"] <= 0.3 + 1e-9
    assert set(payload["residual"]) == set(TARGET)
    assert payload["provenance"]["command"] == "recommend match"
    assert main(["recommend", "match", str(target), "--cap", "en=0.4"]) == 0
    assert "residual" in capsys.readouterr().out
    assert main(["recommend", "match", str(target), "--cap", "en"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_reads_a_forensics_infer_result(tmp_path):
    infer_json = tmp_path / "infer.json"
    infer_json.write_text(json.dumps({"shares": TARGET, "pair_shares": {"en": 0.9, "de": 0.05, "fr": 0.05},
                                      "intervals": None, "provenance": {"tool": "forensics"}}))
    rec = recommend_match(infer_json)
    assert rec.target == pytest.approx(TARGET)
