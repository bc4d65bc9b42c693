"""Tests of category sets: the directory format, the registry, the bundled sets, the quality report, the CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import zstandard

from forensics.corpus import categories as categories_module
from forensics.corpus.categories import (
    BUNDLED_DIR, category_set_names, list_category_sets, load_categories, register_category_set,
)
from forensics.corpus.quality import quality_report, script_of_char, script_purity
from forensics.errors import ForensicsError

BUNDLED = ("languages", "languages-wide", "code", "domains")
needs_bundled = pytest.mark.skipif(not all((BUNDLED_DIR / s).is_dir() for s in BUNDLED),
                                   reason="bundled category sets not built")


def _jsonl(records: list[dict]) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


@pytest.fixture()
def set_dir(tmp_path: Path) -> Path:
    root = tmp_path / "myset"
    root.mkdir()
    (root / "plain.txt").write_text("plain text category\n")
    (root / "zipped.txt.gz").write_bytes(gzip.compress("gzipped text".encode()))
    (root / "records.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(_jsonl([{"text": "z1"},
                                                                                          {"text": "z2"}])))
    split = root / "split"
    split.mkdir()
    (split / "train.jsonl.gz").write_bytes(gzip.compress(_jsonl([{"id": "a", "text": "train doc"}])))
    (split / "count.jsonl.gz").write_bytes(gzip.compress(_jsonl([{"id": "b", "text": "count doc"}])))
    (split / "extra.txt").write_text("in both splits")
    (root / "flat.train.jsonl.gz").write_bytes(gzip.compress(_jsonl([{"text": "flat train"}])))
    (root / "flat.count.jsonl.gz").write_bytes(gzip.compress(_jsonl([{"text": "flat count"}])))
    (root / "notes.md").write_text("not a category")
    (root / "categories.toml").write_text(
        '[set]\ndescription = "test"\ngroup = "domain"\n\n'
        '[categories.split]\ngroup = "language"\nscript = "Latn"\nlicence = "MIT"\n')
    return root


def test_directory_format_and_splits(set_dir: Path) -> None:
    everything = load_categories(set_dir)
    assert everything.names == ["flat", "plain", "records", "split", "zipped"]
    assert everything["split"].group == "language" and everything["plain"].group == "domain"
    assert everything["split"].metadata == {"group": "language", "script": "Latn", "licence": "MIT"}
    assert everything.metadata["description"] == "test"
    train = load_categories(set_dir, split="train")
    assert [p.name for p in train["split"].files] == ["extra.txt", "train.jsonl.gz"]
    assert [p.name for p in train["flat"].files] == ["flat.train.jsonl.gz"]
    assert train["plain"].files == everything["plain"].files  # unsplit: the same files for every split
    count = load_categories(set_dir, split="count")
    assert list(count["split"].texts()) == ["count doc", "in both splits"]
    assert list(count["records"].texts()) == ["z1", "z2"]
    assert count["zipped"].read_text() == "gzipped text"
    assert load_categories(set_dir, categories=["plain", "flat"]).names == ["plain", "flat"]


def test_json_metadata_and_bad_input(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "categories.json").write_text(json.dumps({"categories": {"a": {"group": "code"}}}))
    assert load_categories(tmp_path)["a"].group == "code"
    (tmp_path / "categories.json").write_text(json.dumps({"categories": {"a": {"group": "planet"}}}))
    with pytest.raises(ForensicsError, match="categories.json: category 'a' has unknown group"):
        load_categories(tmp_path)
    (tmp_path / "categories.json").unlink()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ForensicsError, match="no category files"):
        load_categories(empty)
    with pytest.raises(ForensicsError, match="is a directory"):
        load_categories(tmp_path / "a.txt")
    with pytest.raises(ForensicsError, match="unknown split"):
        load_categories(tmp_path, split="test")  # type: ignore[arg-type]
    with pytest.raises(ForensicsError, match="has no category"):
        load_categories(tmp_path, categories=["zz"])


def test_file_and_directory_of_one_name_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "train.txt").write_text("y")
    with pytest.raises(ForensicsError, match="both as a file and as a directory"):
        load_categories(tmp_path)


def test_registry_lists_names_in_unknown_name_error(set_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORENSICS_CATEGORIES", str(set_dir.parent))
    assert "myset" in category_set_names()
    assert load_categories("myset").path == set_dir
    with pytest.raises(ForensicsError) as info:
        load_categories("no-such-set")
    assert "myset" in str(info.value)
    monkeypatch.setattr(categories_module, "_REGISTERED", {})
    register_category_set("alias", set_dir)
    assert load_categories("alias").name == "alias"
    assert any(s.name == "alias" and s.categories == 5 for s in list_category_sets())


@needs_bundled
def test_bundled_sets_are_complete() -> None:
    sizes = {s.name: s for s in list_category_sets()}
    assert set(BUNDLED) <= set(sizes)
    languages = load_categories("languages")
    assert len(languages) >= 30 and {"en", "de", "ja", "ru", "zh"} <= set(languages.names)
    assert len(load_categories("code")) >= 10 and {"python", "rust", "c"} <= set(load_categories("code").names)
    assert len(load_categories("domains")) >= 5
    assert len(load_categories("languages-wide")) >= 300
    for name in BUNDLED:
        cat_set = load_categories(name)
        for cat in cat_set:
            assert cat.metadata.get("licence") and cat.metadata.get("source"), (name, cat.name)
            assert cat.group in ("language", "code", "domain")
        train = load_categories(name, split="train")
        count = load_categories(name, split="count")
        assert train.names == count.names == cat_set.names
        for cat in train:
            assert not set(cat.files) & set(count[cat.name].files)
    assert sum(p.stat().st_size for p in BUNDLED_DIR.rglob("*") if p.is_file()) < 9_000_000


@needs_bundled
def test_bundled_splits_share_no_document() -> None:
    for name, cats in (("languages", ["de", "ja"]), ("code", ["python", "go"]), ("domains", ["bible", "legal"])):
        for cat in cats:
            train = {d.id for d in load_categories(name, split="train")[cat].documents()}
            count = {d.id for d in load_categories(name, split="count")[cat].documents()}
            units = {i.split("#")[0] for i in train}
            assert train and count and not units & {i.split("#")[0] for i in count}, (name, cat)


def test_scripts() -> None:
    assert [script_of_char(c) for c in "aЖλ漢かカ한ع"] == ["Latn", "Cyrl", "Grek", "Hani", "Hira", "Kana",
                                                         "Hang", "Arab"]
    assert script_purity("日本語のテキスト", "Jpan") == 1.0
    assert script_purity("abc", "Cyrl") == 0.0
    assert script_purity("123 ...", "Latn") == 0.0


def test_quality_report_on_a_small_set(tmp_path: Path) -> None:
    english = "The quick brown fox jumps over the lazy dog while the farmer watches the fields.\n" * 30
    russian = "Съешь же ещё этих мягких французских булок, да выпей чаю, сказал старый мельник.\n" * 30
    code = "def add(a, b):\n    return a + b  # sum of two numbers\n\nfor i in range(10):\n    print(add(i, i))\n" * 30
    for name, text, _script in (("en", english, "Latn"), ("ru", russian, "Cyrl"), ("py", code, "Latn")):
        (tmp_path / name).mkdir()
        half = len(text) // 2
        (tmp_path / name / "train.txt").write_text(text[:half])
        (tmp_path / name / "count.txt").write_text(text[half:] + text[:200])
    (tmp_path / "categories.toml").write_text(
        '[categories.en]\nscript = "Latn"\n[categories.ru]\nscript = "Cyrl"\n[categories.py]\nscript = "Latn"\n')
    report = quality_report(tmp_path, sample_bytes=10_000, vocab_size=400)
    rows = {r.name: r for r in report.categories}
    assert rows["ru"].script_purity > 0.99 and rows["en"].script_purity == 1.0
    assert rows["en"].shared_documents == 0 and rows["en"].train_documents == 1
    assert report.own_best_share == 1.0


def test_cli_list_show_quality(set_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from cli.main import main

    monkeypatch.setenv("FORENSICS_CATEGORIES", str(set_dir.parent))
    assert main(["categories", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert any(s["name"] == "myset" and s["categories"] == 5 for s in listed)
    assert main(["categories", "show", "myset", "--split", "train", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in shown["categories"]] == ["flat", "plain", "records", "split", "zipped"]
    assert main(["categories", "show", "nothing-here"]) == 2
    assert "unknown category set" in capsys.readouterr().err
    out = set_dir.parent / "q.json"
    assert main(["categories", "quality", "myset", "--sample-bytes", "1000", "--vocab-size", "300",
                 "-o", str(out)]) == 0
    report = json.loads(out.read_text())
    assert "provenance" in report and len(report["categories"]) == 5
    assert main(["categories", "build", "--source", "nope", "--out", str(set_dir.parent / "o")]) == 2


def test_a_whitespace_only_category_is_refused_everywhere(tmp_path: Path) -> None:
    """A category with nothing but whitespace would take shares it cannot have earned (issue 19, item 10)."""
    from forensics.composition.profiles import build_profiles
    from forensics.counting.categories import count_categories
    from forensics.corpus.categories import load_categories

    root = tmp_path / "ws"
    root.mkdir()
    bundled = Path(__file__).resolve().parents[1] / "fixtures/categories/languages"
    for name in ("en", "de"):
        (root / f"{name}.txt").write_text(gzip.open(bundled / name / "count.jsonl.gz", "rt").read()[:20000])
    (root / "blank.txt").write_text("   \n\n  \t \n" * 100)
    with pytest.raises(ForensicsError, match="category 'blank' has no text"):
        count_categories(Path(__file__).resolve().parents[1] / "fixtures/tokenizers/gpt2/vocab.bpe.gz", root,
                         merges=50, cache=False, workers=1)
    with pytest.raises(ForensicsError, match="category 'blank' has no text"):
        build_profiles([load_categories(root)], bits=12)
    (root / "blank.txt").write_text("")
    with pytest.raises(ForensicsError, match="category 'blank' has no text"):
        build_profiles([load_categories(root)], bits=12)
