"""Tokenizer parity on real multilingual text: translated program messages from the system's locale files."""

from __future__ import annotations

import gettext
import json
from pathlib import Path

import pytest

from cli.main import main
from forensics import ForensicsError, recommend_parity

LOCALE = Path("/usr/share/locale")
DOMAIN = "coreutils"  # GNU coreutils message catalogues: real translations, GPL-3.0+
LANGUAGES = ("de", "ru", "ja")


def _messages(language: str, limit: int) -> str:
    path = LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with open(path, "rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    return "\n".join(v for k, v in catalog.items() if isinstance(k, str) and k)[:limit]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    if not all((LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file() for lang in LANGUAGES):
        pytest.skip(f"{DOMAIN} translations not installed under {LOCALE}")
    with open(LOCALE / "de" / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as handle:
        english = "\n".join(k for k in gettext.GNUTranslations(handle)._catalog if isinstance(k, str) and k)
    # Unequal sample sizes, so the proportional mixture is far from parity.
    return {"en": english[:40_000], "de": _messages("de", 8_000), "ru": _messages("ru", 30_000),
            "ja": _messages("ja", 8_000)}


def test_parity_improves_on_the_proportional_mixture(texts):
    rec = recommend_parity(texts, vocab_size=600, iterations=4)
    assert rec.proportional_parity == rec.history[0].parity
    assert rec.parity < rec.proportional_parity
    assert rec.parity < 1.15
    assert sum(rec.weights.values()) == pytest.approx(1.0)
    # The category with the most tokens per byte under the proportional mixture gains weight.
    worst = max(rec.proportional_tokens_per_byte, key=rec.proportional_tokens_per_byte.get)
    assert rec.weights[worst] > rec.proportional_weights[worst]


def test_unequal_target(texts):
    two = {"en": texts["en"], "ja": texts["ja"]}
    rec = recommend_parity(two, target={"en": 1.0, "ja": 1.5}, vocab_size=500, iterations=3)
    ratio = rec.tokens_per_byte["ja"] / rec.tokens_per_byte["en"]
    assert abs(ratio - 1.5) < abs(rec.proportional_tokens_per_byte["ja"] / rec.proportional_tokens_per_byte["en"]
                                  - 1.5) + 1e-9


def test_directory_and_path_inputs(texts, tmp_path):
    for name in ("en", "de"):
        (tmp_path / f"{name}.txt").write_text(texts[name], encoding="utf-8")
    from_dir = recommend_parity(tmp_path, vocab_size=400, iterations=1)
    from_paths = recommend_parity({"en": tmp_path / "en.txt", "de": tmp_path / "de.txt"}, vocab_size=400,
                                  iterations=1)
    assert from_dir.proportional_tokens_per_byte == pytest.approx(from_paths.proportional_tokens_per_byte)


def test_invalid_inputs(texts):
    with pytest.raises(ForensicsError, match="at least two categories"):
        recommend_parity({"en": texts["en"]})
    with pytest.raises(ForensicsError, match="no samples for"):
        recommend_parity(texts, categories=["en", "xx"])
    with pytest.raises(ForensicsError, match="target has no value"):
        recommend_parity(texts, target={"en": 1.0})
    with pytest.raises(ForensicsError, match="too small"):
        recommend_parity({"en": "hello", "de": "hallo"})


def test_cli_parity(texts, tmp_path, capsys):
    for name in ("en", "ru"):
        (tmp_path / f"{name}.txt").write_text(texts[name][:12_000], encoding="utf-8")
    out = tmp_path / "parity.json"
    assert main(["recommend", "parity", str(tmp_path), "--vocab-size", "400", "--iterations", "2",
                 "-o", str(out), "--csv", str(tmp_path / "w.csv")]) == 0
    assert "tokens per byte" in capsys.readouterr().out
    payload = json.loads(out.read_text())
    assert set(payload["weights"]) == {"en", "ru"} and payload["provenance"]["command"] == "recommend parity"
    assert (tmp_path / "w.csv").read_text().startswith("category,weight,proportional_weight\n")


def _bundled(set_name: str, wanted: tuple[str, ...]) -> list[str]:
    try:
        from forensics.corpus.categories import load_categories

        names = load_categories(set_name).names
    except Exception:  # the set is missing or being rebuilt
        names = []
    present = [n for n in wanted if n in names]
    if len(present) < 2:
        pytest.skip(f"bundled category set {set_name!r} with {wanted} not available")
    return present


@pytest.mark.parametrize("set_name, wanted", [("code", ("python", "rust", "go")),
                                              ("languages", ("en", "de", "ja", "ru", "ar", "cs"))])
def test_bundled_category_sets(set_name, wanted):
    names = _bundled(set_name, wanted)[:3]
    rec = recommend_parity(set_name, categories=names, vocab_size=500, iterations=3, max_bytes=40_000)
    assert set(rec.weights) == set(names)
    assert rec.parity <= rec.proportional_parity
