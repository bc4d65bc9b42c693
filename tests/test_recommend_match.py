"""Target matching: LP (L1) and QP (L2) over capped sources; the `recommend match` command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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


# ------------------------------------------------------------------------------------------ from scan outputs
ROOT = Path(__file__).resolve().parents[1]
SCAN_SOURCES = {"english": [("languages", "en")], "european": [("languages", "de"), ("languages", "fr")],
                "code": [("code", "python")]}


def build_scans(root: Path, tokenizer: Path) -> dict[str, Path]:
    """Real `forensics scan` outputs of three sources made of bundled count-split text (profiles from the train
    split of their 4 categories), token counts by GPT-2; also `english_bytes`, scanned without a tokenizer."""
    from forensics.composition.profiles import build_profiles
    from forensics.corpus.categories import load_categories

    sets = [load_categories("languages", split="train", categories=["de", "en", "fr"]),
            load_categories("code", split="train", categories=["python"])]
    build_profiles(sets, bits=16, group_refinement=False).save(root / "profiles.npz")
    scans = {}
    for name, members in SCAN_SOURCES.items():
        text = root / "text" / name
        text.mkdir(parents=True)
        for category_set, category in members:
            shutil.copyfile(ROOT / "fixtures/categories" / category_set / category / "count.jsonl.gz",
                            text / f"{category}.jsonl.gz")
        scans[name] = root / "scans" / name
        assert main(["scan", str(text), "--profiles", str(root / "profiles.npz"), "--tokenizer", str(tokenizer),
                     "--out", str(scans[name]), "--workers", "1", "--no-progress", "--json"]) == 0
    scans["english_bytes"] = root / "scans" / "english_bytes"
    assert main(["scan", str(root / "text" / "english"), "--profiles", str(root / "profiles.npz"),
                 "--out", str(scans["english_bytes"]), "--workers", "1", "--no-progress", "--json"]) == 0
    return scans


@pytest.fixture(scope="module")
def scans(tmp_path_factory, gpt2_hf_json):
    return build_scans(tmp_path_factory.mktemp("scans"), gpt2_hf_json)


@pytest.fixture(scope="module")
def infer_target(tmp_path_factory):
    """`forensics infer -o` of GPT-2 (first 300 merges) over the four categories of the scans."""
    root = tmp_path_factory.mktemp("infer")
    for category_set, category in [m for members in SCAN_SOURCES.values() for m in members]:
        shutil.copytree(ROOT / "fixtures/categories" / category_set / category, root / "categories" / category)
    out = root / "gpt2.json"
    assert main(["infer", str(ROOT / "fixtures/tokenizers/gpt2/vocab.bpe.gz"), "--categories",
                 str(root / "categories"), "--merges", "300", "--workers", "1", "--no-cache", "-o", str(out)]) == 0
    return out


def test_read_scan_output(scans, tmp_path):
    from forensics.recommend.sources import read_scan, source_sizes

    summary = json.loads((scans["european"] / "summary.json").read_text())
    european = read_scan(scans["european"])
    assert european.name == "european" and european.tokens == summary["totals"]["tokens"] > 0
    assert european.bytes == summary["totals"]["bytes"] and european.composition["de"] > 0.4
    assert european.composition["fr"] > 0.4 and sum(european.composition.values()) == pytest.approx(1.0)
    assert "unknown" in european.composition
    # without summary.json the partials are merged: the same composition
    partials_only = tmp_path / "partials_only"
    shutil.copytree(scans["european"], partials_only)
    (partials_only / "summary.json").unlink()
    assert read_scan(partials_only).composition == pytest.approx(european.composition)
    with pytest.raises(ForensicsError, match=r"empty: not a scan output \(no summary.json or scan-plan.json\)"):
        (tmp_path / "empty").mkdir()
        read_scan(tmp_path / "empty")
    sizes = source_sizes({"a": european, "b": read_scan(scans["english_bytes"])})
    assert sizes.unit == "bytes" and sizes.sizes["a"] == european.bytes and "b counted no tokens" in sizes.warnings[0]


def _token_weight_reference(composition, ratio, goal, caps, steps=200):
    """Brute force over a grid of token weights (3 sources): the smallest L1 distance of the byte mixture."""
    best = np.inf
    for i in range(steps + 1):
        for j in range(steps + 1 - i):
            w = np.array([i, j, steps - i - j]) / steps
            if (w > caps + 1e-12).any():
                continue
            v = w * ratio / (w * ratio).sum()
            best = min(best, np.abs(composition @ v - goal).sum())
    return best


def test_match_scans_to_an_infer_result(scans, infer_target):
    from forensics.recommend.sources import read_scans

    sources = {name: scans[name] for name in SCAN_SOURCES}
    rec = recommend_match(infer_target, scans=sources, budget=60_000, max_epochs=2)
    measured = read_scans(sources)
    target = json.loads(infer_target.read_text())["shares"]
    assert rec.unit == "tokens" and rec.target == pytest.approx({**target, "unknown": 0.0})
    assert sum(rec.weights.values()) == pytest.approx(1.0)
    for name, scan in measured.items():  # epoch caps in tokens hold
        assert rec.tokens[name] <= 2 * scan.tokens * (1 + 1e-6) and rec.epochs[name] <= 2 + 1e-6
        assert rec.caps[name] == pytest.approx(min(1.0, 2 * scan.tokens / 60_000))
    # token weights -> byte weights by each source's bytes per token; the achieved mixture is by bytes
    ratio = np.array([measured[n].bytes / measured[n].tokens for n in sources])
    w = np.array([rec.weights[n] for n in sources])
    v = w * ratio / (w * ratio).sum()
    assert [rec.byte_weights[n] for n in sources] == pytest.approx(v.tolist(), abs=1e-9)
    categories = list(rec.target)
    composition = np.array([[measured[n].composition.get(c, 0.0) for n in sources] for c in categories])
    assert [rec.achieved[c] for c in categories] == pytest.approx((composition @ v).tolist(), abs=1e-9)
    assert rec.residual == pytest.approx({c: rec.achieved[c] - rec.target[c] for c in categories})
    # optimal: no grid point of token weights under the caps comes closer
    goal = np.array([rec.target[c] for c in categories])
    caps = np.array([rec.caps[n] for n in sources])
    assert rec.distance <= _token_weight_reference(composition, ratio, goal, caps) + 1e-9
    assert rec.not_in_target == ["unknown"] and rec.sources["english"]["tokens"] == measured["english"].tokens


def test_categories_on_one_side_only_are_explicit(scans):
    sources = {name: scans[name] for name in SCAN_SOURCES}
    rec = recommend_match({"en": 0.6, "de": 0.2, "ja": 0.2}, scans=sources)
    assert rec.not_in_sources == ["ja"] and set(rec.not_in_target) == {"fr", "python", "unknown"}
    assert rec.residual["ja"] == pytest.approx(-0.2) and set(rec.residual) == {"en", "de", "ja", "fr", "python",
                                                                              "unknown"}
    assert any("no source contains ja" in w for w in rec.warnings)
    assert any("the target has no share of fr" in w for w in rec.warnings)  # the european source brings fr
    l2 = recommend_match({"en": 0.6, "de": 0.2, "ja": 0.2}, scans=sources, norm="l2", budget=50_000, max_epochs=1)
    assert sum(l2.weights.values()) == pytest.approx(1.0) and all(e <= 1 + 1e-6 for e in l2.epochs.values())


def test_mixed_units_fall_back_to_bytes(scans):
    rec = recommend_match({"en": 0.5, "python": 0.5}, scans={"english": scans["english_bytes"], "code": scans["code"]},
                          budget=300_000, max_epochs=1)
    assert rec.unit == "bytes" and rec.byte_weights is None
    assert any("english counted no tokens" in w for w in rec.warnings)
    code_bytes = json.loads((scans["code"] / "summary.json").read_text())["totals"]["bytes"]
    assert rec.caps["code"] == pytest.approx(min(1.0, code_bytes / 300_000))


def test_cli_match_with_sources_from_scans(scans, infer_target, capsys, tmp_path):
    options = [o for name in SCAN_SOURCES for o in ("--source", f"{name}={scans[name]}")]
    assert main(["recommend", "match", str(infer_target), *options, "--budget", "60k", "--max-epochs", "2",
                 "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["unit"] == "tokens" and set(payload["weights"]) == set(SCAN_SOURCES)
    assert {f"source:{n}" for n in SCAN_SOURCES} <= set(payload["provenance"]["inputs"])
    assert payload["provenance"]["parameters"]["scans"] == {n: str(scans[n]) for n in SCAN_SOURCES}
    assert main(["recommend", "match", str(infer_target), *options, "--budget", "60k", "--max-epochs", "2"]) == 0
    table = capsys.readouterr().out
    assert "source weights (shares of the tokens)" in table and "not in the target" in table
    cases = [(["--source", "english"], "expected NAME=SCAN_DIR"),
             (["--source", f"x={tmp_path}"], "not a scan output"),
             (["--source", f"x={tmp_path / 'nowhere'}"], "no such scan directory"),
             ([*options, "--max-epochs", "2"], "epoch caps need a budget"),
             ([*options, "--sources", str(infer_target)], "drop --sources and --available")]
    for args, message in cases:
        assert main(["recommend", "match", str(infer_target), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
