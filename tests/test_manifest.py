"""`forensics categories build --from MANIFEST`: category sets from local shards and hf:// datasets (issue 17).

Shards are written in tmp_path from the bundled language samples; the hub is a local directory behind
fakes of ``huggingface_hub.HfApi`` and ``hf_hub_download`` (no network)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from cli.main import group, main
from forensics.corpus.categories import load_categories
from forensics.corpus.cleaning import Doc, normalise_for_dedup
from forensics.corpus.manifest import (
    GROUP_DOCUMENTS, BudgetSample, CategoryEntry, clean_pieces, document_key, load_manifest, shipped_manifests,
)
from forensics.corpus.readers import iter_documents

ROOT = Path(__file__).resolve().parents[1]
GPT2 = os.fspath(ROOT / "fixtures/tokenizers/gpt2/vocab.bpe.gz")
SHA = "5f0e1c8d9b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
MB = 0.06  # 30 KB per split: the bundled samples hold about 200 KB per language
TARGET = int(MB * 1e6 / 2)


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    cats = load_categories("languages")
    return {lang: [d.text for d in cats[lang].documents()] for lang in ("de", "fr", "es", "en")}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", os.fspath(tmp_path / "cache"))


def write_jsonl(path: Path, records: list[dict], compression: str = "gzip") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    if compression == "gzip":
        data = gzip.compress(data, mtime=0)
    elif compression == "zstd":
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def write_parquet(path: Path, records: list[dict]) -> Path:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


def shards(root: Path, lang: str, docs: list[str], parts: int = 4) -> None:
    for i in range(parts):
        write_jsonl(root / "shards" / lang / f"part-{i}.jsonl.gz", [{"text": t} for t in docs[i::parts]])


def build(manifest: Path, out: Path, *extra: str) -> int:
    return main(["categories", "build", "--from", os.fspath(manifest), "--out", os.fspath(out),
                 "--mb-per-category", str(MB), *extra])


def split_docs(out: Path, name: str, split: str) -> list[dict]:
    with gzip.open(out / name / f"{split}.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def tree(path: Path) -> list[str]:
    return sorted(os.fspath(p.relative_to(path)) for p in path.rglob("*"))


# --- local shards -----------------------------------------------------------------------------------

def test_smallest_manifest_builds_a_set_count_and_infer_read(tmp_path, texts, capsys):
    shards(tmp_path, "de", texts["de"])
    shards(tmp_path, "fr", texts["fr"])
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.de]\ngroup = "language"\nsources = ["shards/de/*.jsonl.gz"]\n\n'
                        '[categories.fr]\ngroup = "language"\nsources = ["shards/fr"]\n')
    out = tmp_path / "out"
    assert build(manifest, out) == 0
    printed = capsys.readouterr().out
    assert "2 categories" in printed and "de " in printed
    assert sorted(p.name for p in out.iterdir()) == ["categories.toml", "de", "fr", "provenance.json"]
    cats = load_categories(out, split="train")
    assert cats.names == ["de", "fr"] and cats["de"].group == "language"
    assert cats.metadata["built_by"].startswith("forensics categories build --from")
    runner = CliRunner()
    counted = runner.invoke(group, ["count", GPT2, "--categories", os.fspath(out), "--out", os.fspath(tmp_path / "t"),
                                    "--merges", "200", "--workers", "1", "--json"])
    assert counted.exit_code == 0, counted.output
    assert sorted(r["name"] for r in json.loads(counted.stdout)["categories"]) == ["de", "fr"]
    inferred = runner.invoke(group, ["infer", GPT2, "--categories", os.fspath(out), "--merges", "200",
                                     "--workers", "1", "--json"])
    assert inferred.exit_code == 0, inferred.output
    shares = json.loads(inferred.stdout[inferred.stdout.index("{"):])["shares"]
    assert set(shares) == {"de", "fr"} and abs(sum(shares.values()) - 1) < 1e-6
    profiles = os.fspath(tmp_path / "p.npz")
    made = runner.invoke(group, ["profiles", "build", "--categories", os.fspath(out), "-o", profiles])
    assert made.exit_code == 0, made.output
    scanned = runner.invoke(group, ["scan", os.fspath(tmp_path / "shards/fr"), "--profiles", profiles,
                                    "-o", os.fspath(tmp_path / "scan")])
    assert scanned.exit_code == 0, scanned.output
    assert "fr " in scanned.output


def reference_split(out: Path, base: Path, name: str, split: str, seed: int, entry: CategoryEntry) -> list[str]:
    """The sample of one split computed plainly: every document of the split's files, keyed, sorted, cut."""
    prov = json.loads((out / "provenance.json").read_text())
    keyed = {}
    for unit, info in prov["sources"].items():
        if info["category"] == name and info["split"] == split:
            for doc in iter_documents([base / unit], whole_text_files=False):
                for piece in clean_pieces(doc.text, entry):
                    key = document_key(seed, name, normalise_for_dedup(piece))
                    keyed.setdefault(key, piece)
    chosen, total = [], 0
    for key in sorted(keyed):
        if total >= TARGET:
            break
        chosen.append(keyed[key])
        total += len(keyed[key].encode())
    return chosen


def test_sample_equals_the_plain_reference_and_meets_the_budget(tmp_path, texts):
    docs = texts["de"] + texts["de"][:5]  # five duplicates, in other files
    shards(tmp_path, "de", docs, parts=6)
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.de]\ngroup = "language"\nsources = ["shards/de/*.jsonl.gz"]\n')
    out = tmp_path / "out"
    assert build(manifest, out, "--seed", "3") == 0
    entry = load_manifest(manifest).categories[0]
    got = {s: [d["text"] for d in split_docs(out, "de", s)] for s in ("train", "count")}
    ref = {s: reference_split(out, tmp_path, "de", s, 3, entry) for s in ("train", "count")}
    assert got["train"] == ref["train"]
    assert got["count"] == [t for t in ref["count"] if t not in set(ref["train"])]
    biggest = max(len(t.encode()) for t in docs)
    for split in ("train", "count"):  # each split reaches its target; the last document may pass it
        size = sum(len(t.encode()) for t in ref[split])
        assert TARGET <= size < TARGET + biggest
        assert len(set(got[split])) == len(got[split])  # de-duplicated
    assert not set(got["train"]) & set(got["count"])


def test_same_seed_same_bytes_other_seed_other_sample(tmp_path, texts):
    shards(tmp_path, "de", texts["de"], parts=5)
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.de]\ngroup = "language"\nsources = ["shards/de"]\n')
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert build(manifest, tmp_path / name, "--seed", seed) == 0
    for split in ("train", "count"):
        a, b, c = ((tmp_path / n / "de" / f"{split}.jsonl.gz").read_bytes() for n in "abc")
        assert a == b and a != c
    assert (tmp_path / "a/categories.toml").read_bytes() == (tmp_path / "b/categories.toml").read_bytes()


def test_train_and_count_never_share_a_file(tmp_path, texts):
    shards(tmp_path, "es", texts["es"], parts=7)
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.es]\ngroup = "language"\nread_factor = 1\nsources = ["shards/es/*.jsonl.gz"]\n')
    out = tmp_path / "out"
    assert build(manifest, out) == 0
    files = {s: {d["id"].rsplit(":", 1)[0] for d in split_docs(out, "es", s)} for s in ("train", "count")}
    assert files["train"] and files["count"] and not files["train"] & files["count"]
    prov = json.loads((out / "provenance.json").read_text())
    assert {u for u, v in prov["sources"].items() if v["split"] == "train"} >= files["train"]
    assert len(prov["sources"]) < 7  # read_factor 1: each split stops once it has read its target


def test_a_single_file_is_split_into_document_groups(tmp_path, texts):
    lines = [{"text": line} for t in texts["fr"] for line in t.split("\n") if len(line) >= 40]
    write_jsonl(tmp_path / "fr.jsonl", lines, compression="none")
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.fr]\ngroup = "language"\nsources = ["fr.jsonl"]\n')
    out = tmp_path / "out"
    assert build(manifest, out, "--layout", "flat") == 0
    assert (out / "fr.train.jsonl.gz").is_file()
    groups = {}
    for split in ("train", "count"):
        with gzip.open(out / f"fr.{split}.jsonl.gz", "rt") as handle:
            ids = [json.loads(line)["id"] for line in handle]
        groups[split] = {(int(i.rsplit(":", 1)[1].split("#")[0]) - 1) // GROUP_DOCUMENTS for i in ids}
    assert groups["train"] and groups["count"] and not groups["train"] & groups["count"]
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["categories"][0]["split_by"] == "group"
    assert prov["sources"]["fr.jsonl"]["split"].startswith("train ")


def test_every_format_is_read_with_its_text_field(tmp_path, texts):
    docs = texts["en"]
    write_jsonl(tmp_path / "a/x.jsonl.zst", [{"text": t} for t in docs[0::5]], compression="zstd")
    write_jsonl(tmp_path / "a/y.jsonl", [{"body": t, "id": i} for i, t in enumerate(docs[1::5])], compression="none")
    (tmp_path / "a/z.txt").write_text("\n".join(docs[2::5]), encoding="utf-8")
    (tmp_path / "a/w.txt.gz").write_bytes(gzip.compress("\n".join(docs[3::5]).encode(), mtime=0))
    sources = ['"a/x.jsonl.zst"', '{path = "a/y.jsonl", text_field = "body", licence = "CC0-1.0"}', '"a/*.txt*"']
    try:
        write_parquet(tmp_path / "a/v.parquet", [{"content": t} for t in docs[4::5]])
        sources.append('{path = "a/v.parquet", text_field = "content"}')
    except pytest.skip.Exception:
        pass
    manifest = tmp_path / "m.toml"
    manifest.write_text('[set]\nlicence = "MIT"\n\n[categories.en]\ngroup = "domain"\nlanguage = "en"\n'
                        f'sources = [{", ".join(sources)}]\n')
    out = tmp_path / "out"
    assert build(manifest, out) == 0
    prov = json.loads((out / "provenance.json").read_text())
    read = prov["sources"]
    assert len(read) == len(sources) + 1  # the glob names two files
    assert all(v["documents"] > 0 for v in read.values())
    assert read["a/y.jsonl"]["licence"] == "CC0-1.0" and read["a/x.jsonl.zst"]["licence"] == "MIT"
    for unit, info in read.items():
        data = (tmp_path / unit).read_bytes()
        assert info["sha256"] == hashlib.sha256(data).hexdigest() == prov["provenance"]["inputs"][unit]
        assert info["bytes"] == len(data)
    assert prov["provenance"]["inputs"]["manifest:" + os.fspath(manifest)] == hashlib.sha256(
        manifest.read_bytes()).hexdigest() == prov["manifest"]["sha256"]
    assert prov["provenance"]["seed"] == 0 and prov["provenance"]["version"]
    meta = load_categories(out)["en"].metadata
    assert meta["licence"] == "MIT; CC0-1.0" and meta["group"] == "domain" and meta["language"] == "en"


# --- the sampler ------------------------------------------------------------------------------------

def test_budget_sample_is_the_key_ordered_prefix_whatever_the_stream():
    rng = random.Random(7)
    for _ in range(200):
        target = rng.randint(1, 400)
        stream = [(rng.randrange(60), rng.randint(1, 50)) for _ in range(rng.randint(0, 80))]
        sample = BudgetSample(target)
        for key, size in stream:
            sample.offer(key, Doc("u", str(key), "x" * size), nbytes=size, dedup_key=str(key).encode())
        firsts = {}
        for seq, (key, size) in enumerate(stream):
            firsts.setdefault(key, (key, seq, size))
        expected, total = [], 0
        for key, _, size in sorted(firsts.values()):
            if total >= target:
                break
            expected.append((str(key), size))
            total += size
        assert [(d.id, len(d.text)) for d in sample.documents()] == expected


def test_budget_sample_memory_is_bounded_by_the_target():
    sample = BudgetSample(1_000)
    rng = random.Random(1)
    for i in range(50_000):
        sample.offer(rng.getrandbits(64), Doc("u", str(i), "y" * 10), nbytes=10)
        assert len(sample._heap) <= 101


# --- bad manifests ------------------------------------------------------------------------------------

BAD = {
    "toml syntax": ('[categories.de\ngroup = "language"\n', "invalid TOML"),
    "unknown category key": ('[categories.de]\nsorces = ["shards/de"]\n', "unknown key 'sorces'"),
    "unknown set key": ('[set]\nseed = 3\n[categories.de]\nsources = ["shards/de"]\n', "unknown key 'seed'"),
    "unknown source key": ('[categories.de]\nsources = [{path = "shards/de", field = "x"}]\n', "unknown key 'field'"),
    "unknown table": ('[categoris.de]\nsources = ["shards/de"]\n', "unknown table or key 'categoris'"),
    "no categories": ('[set]\ndescription = "x"\n', "no categories"),
    "missing path": ('[categories.de]\nsources = ["shards/nl/a.jsonl"]\n', "does not exist"),
    "glob matches nothing": ('[categories.de]\nsources = ["shards/*/*.parquet"]\n', "no file matches"),
    "empty directory": ('[categories.de]\nsources = ["empty"]\n', "holds no files"),
    "no text field": ('[categories.de]\nsources = ["other/content.jsonl"]\n', "no string field 'text'"),
    "not json lines": ('[categories.de]\nsources = ["other/plain.jsonl"]\n', "is not JSON Lines"),
    "duplicate category": ('[categories.de]\nsources = ["shards/de"]\n[categories.de]\nsources = ["shards/de"]\n',
                           "'de' is declared twice"),
    "same name up to case": ('[categories.de]\nsources = ["shards/de"]\n[categories.DE]\nsources = ["shards/de"]\n',
                             "same name up to case"),
    "no text": ('[categories.de]\nsources = ["other/short.jsonl"]\n', "has no text"),
    "no sources": ('[categories.de]\nsources = []\n', "has no sources"),
    "sources not a list": ('[categories.de]\nsources = "shards/de"\n', "sources must be a list"),
    "bad type": ('[categories.de]\nmin_chars = "20"\nsources = ["shards/de"]\n', "must be an integer"),
    "bad group": ('[categories.de]\ngroup = "lang"\nsources = ["shards/de"]\n', "is not allowed"),
    "bad read factor": ('[categories.de]\nread_factor = 0.5\nsources = ["shards/de"]\n', "read_factor must be"),
    "bad name": ('[categories."d e"]\nsources = ["shards/de"]\n', "name 'd e' is not allowed"),
    "hub models": ('[categories.de]\nsources = ["hf://models/a/b/x.parquet"]\n', "not supported"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_manifest_is_one_error_line_exit_2_nothing_written(case, tmp_path, texts, capsys):
    text, expected = BAD[case]
    shards(tmp_path, "de", texts["de"][:8], parts=2)
    (tmp_path / "empty").mkdir()
    write_jsonl(tmp_path / "other/content.jsonl", [{"content": "Ein Satz mit genug Zeichen darin."}], "none")
    (tmp_path / "other/plain.jsonl").write_text("just some words\nand more words\n")
    write_jsonl(tmp_path / "other/short.jsonl", [{"text": "kurz"}, {"text": "  "}], "none")
    manifest = tmp_path / "m.toml"
    manifest.write_text(text)
    before = tree(tmp_path)
    assert build(manifest, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {manifest}: ") and expected in err[0], err
    assert "; " in err[0]  # <problem>; <what to do>
    assert tree(tmp_path) == before


def test_error_hints_name_the_allowed_keys_and_the_field_to_use(tmp_path, capsys):
    write_jsonl(tmp_path / "c.jsonl", [{"id": 1, "content": "Eine Zeile mit genug Zeichen."}], "none")
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.de]\nsorces = ["c.jsonl"]\n')
    assert build(manifest, tmp_path / "out") == 2
    assert "allowed keys: chunk_chars, dedup, description, drop_english, group" in capsys.readouterr().err
    manifest.write_text('[categories.de]\nsources = ["c.jsonl"]\n')
    assert build(manifest, tmp_path / "out") == 2
    assert 'fields: id, content); set text_field = "content"' in capsys.readouterr().err


def test_parquet_without_the_column_is_refused(tmp_path, capsys):
    write_parquet(tmp_path / "p.parquet", [{"body": "Ein Satz mit genug Zeichen darin."}])
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.de]\nsources = ["p.parquet"]\n')
    assert build(manifest, tmp_path / "out") == 2
    assert "no column 'text' (columns: body)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, expected", [
    (["--source", "domains", "--from", "m.toml"], "exactly one of --source"),
    (["--mb-per-category", "1"], "exactly one of --source"),
    (["--from", "nope-manifest"], "not a shipped manifest (shipped: fineweb2-languages"),
    (["--from", "m.toml", "--only", "de,xx"], "no category xx; the manifest has: de"),
    (["--from", "m.toml", "--mb-per-category", "0"], "must be positive"),
])
def test_bad_command_lines(argv, expected, tmp_path, texts, capsys, monkeypatch):
    shards(tmp_path, "de", texts["de"][:8], parts=2)
    (tmp_path / "m.toml").write_text('[categories.de]\nsources = ["shards/de"]\n')
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    assert main(["categories", "build", "--out", "out", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert tree(tmp_path) == before


# --- the hub -----------------------------------------------------------------------------------------

class RepositoryNotFoundError(Exception):
    pass


class RevisionNotFoundError(Exception):
    pass


class EntryNotFoundError(Exception):
    pass


class FakeHub:
    """``HfApi`` and ``hf_hub_download`` over ``root/OWNER/NAME/...`` (one commit, ``SHA``, reachable by name)."""

    def __init__(self, root: Path, refs: dict[str, str]) -> None:
        self.root, self.refs, self.downloads = root, refs, []

    def HfApi(self, endpoint=None, token=None):  # stands in for the class
        return SimpleNamespace(dataset_info=self.dataset_info, list_repo_tree=self.list_repo_tree)

    def _repo(self, repo_id: str) -> Path:
        if not (self.root / repo_id).is_dir():
            raise RepositoryNotFoundError(repo_id)
        return self.root / repo_id

    def dataset_info(self, repo_id, *, revision=None, **_):
        self._repo(repo_id)
        if revision not in self.refs:
            raise RevisionNotFoundError(revision)
        return SimpleNamespace(sha=self.refs[revision])

    def list_repo_tree(self, repo_id, path_in_repo=None, *, recursive=False, revision=None, repo_type=None, **_):
        from huggingface_hub.hf_api import RepoFile, RepoFolder

        assert repo_type == "dataset" and recursive and revision == SHA
        base = self._repo(repo_id) / (path_in_repo or "")
        if not base.exists():
            raise EntryNotFoundError(path_in_repo)
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(self._repo(repo_id)).as_posix()
            if path.is_dir():
                yield RepoFolder(path=rel, oid="tree")
            else:
                data = path.read_bytes()
                yield RepoFile(path=rel, size=len(data), oid="blob",
                               lfs={"size": len(data), "oid": hashlib.sha256(data).hexdigest(), "pointerSize": 130})

    def hf_hub_download(self, repo_id, filename, *, repo_type=None, revision=None, cache_dir=None, **_):
        assert repo_type == "dataset" and revision == SHA
        source = self._repo(repo_id) / filename
        target = Path(cache_dir) / f"datasets--{repo_id.replace('/', '--')}" / "snapshots" / revision / filename
        self.downloads.append(filename)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return os.fspath(target)


@pytest.fixture
def hub(tmp_path, texts, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    fake = FakeHub(tmp_path / "hub", {"main": SHA, "v1": SHA, SHA: SHA})
    docs = texts["fr"] + texts["es"]
    for i in range(12):
        write_jsonl(fake.root / "acme/corpus/data/fr" / f"train-{i:05d}.jsonl.gz", [{"text": t} for t in docs[i::12]])
    write_jsonl(fake.root / "acme/corpus/README.jsonl", [{"text": "not data"}], "none")
    monkeypatch.setattr(huggingface_hub, "HfApi", fake.HfApi)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake.hf_hub_download)
    return fake


def test_hub_source_pins_the_revision_and_fetches_only_the_shards_needed(tmp_path, hub):
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.fr]\ngroup = "language"\nlicence = "CC-BY-4.0"\nread_factor = 1\n'
                        'sources = ["hf://datasets/acme/corpus@v1/data/fr/*.jsonl.gz"]\n')
    out = tmp_path / "out"
    assert build(manifest, out) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["hub"] == {"acme/corpus@v1": {"repo": "acme/corpus", "requested": "v1", "revision": SHA}}
    read = prov["sources"]
    assert 2 <= len(read) < 12 and len(set(hub.downloads)) == len(read)
    assert {f"hf://datasets/acme/corpus@{SHA}/{p}" for p in hub.downloads} == set(read)
    for info in read.values():
        cached = tmp_path / "cache/hub/datasets--acme--corpus/snapshots" / SHA / info["hub"]["path"]
        assert info["sha256"] == info["hub"]["lfs_sha256"] == hashlib.sha256(cached.read_bytes()).hexdigest()
        assert info["licence"] == "CC-BY-4.0" and info["hub"]["revision"] == SHA
    hub.downloads.clear()  # a rebuild reads the same shards from the cache, at the same commit
    assert build(manifest, tmp_path / "again") == 0
    assert (tmp_path / "again/fr/train.jsonl.gz").read_bytes() == (out / "fr/train.jsonl.gz").read_bytes()


def test_hub_default_read_factor_still_leaves_shards_unfetched(tmp_path, hub):
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.fr]\nsources = ["hf://datasets/acme/corpus/data/**/*.jsonl.gz"]\n')
    assert main(["categories", "build", "--from", os.fspath(manifest), "--out", os.fspath(tmp_path / "out"),
                 "--mb-per-category", "0.04"]) == 0
    assert 2 <= len(set(hub.downloads)) < 12 and "README.jsonl" not in hub.downloads


@pytest.mark.parametrize("source, expected", [
    ("hf://datasets/acme/corpus/data/de/*.parquet", "no file of acme/corpus at 5f0e1c8d9b7a matches"),
    ("hf://datasets/acme/corpus@v9/data/fr/*.jsonl.gz", "has no such revision"),
    ("hf://datasets/acme/missing/data/*.jsonl.gz", "no dataset acme/missing on the hub"),
    ("hf://datasets/acme/corpus/README.jsonl", "no string field 'body'"),
])
def test_hub_errors_are_one_line_and_write_nothing(source, expected, tmp_path, hub, capsys):
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[categories.fr]\ntext_field = "body"\nsources = ["{source}"]\n'
                        if "README" in source else f'[categories.fr]\nsources = ["{source}"]\n')
    assert build(manifest, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {manifest}: ") and expected in err[0], err
    assert not (tmp_path / "out").exists()


def test_shipped_fineweb2_manifest_builds_from_a_hub_laid_out_like_fineweb2(tmp_path, texts, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    fake = FakeHub(tmp_path / "hub", {"main": SHA})
    for i in range(3):
        write_parquet(fake.root / "HuggingFaceFW/fineweb-2/data/deu_Latn/train" / f"000_0000{i}.parquet",
                      [{"text": t, "id": str(n)} for n, t in enumerate(texts["de"][i::3])])
    monkeypatch.setattr(huggingface_hub, "HfApi", fake.HfApi)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake.hf_hub_download)
    out = tmp_path / "out"
    assert main(["categories", "build", "--from", "fineweb2-languages", "--only", "de", "--out", os.fspath(out),
                 "--mb-per-category", str(MB)]) == 0
    cat = load_categories(out)["de"]
    assert cat.script == "Latn" and cat.metadata["licence"].startswith("ODC-By-1.0")
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["provenance"]["parameters"]["from"] == "fineweb2-languages"
    assert prov["hub"]["HuggingFaceFW/fineweb-2"]["revision"] == SHA


def test_shipped_manifests_parse_and_are_named_in_the_help():
    names = sorted(shipped_manifests())
    assert names == ["fineweb2-languages", "pile-domains", "the-stack-code", "wikipedia-languages"]
    from forensics.corpus.hub import parse_hf_url

    for name in names:
        manifest = load_manifest(name)
        assert manifest.categories and all(s.is_hub for c in manifest.categories for s in c.sources)
        for cat in manifest.categories:
            for source in cat.sources:
                assert parse_hf_url(source.spec).pattern
    assert {c.name for c in load_manifest("pile-domains").categories} == {
        "web", "books", "academic", "code", "encyclopedic", "legal", "forums"}
    help_text = CliRunner().invoke(group, ["categories", "build", "--help"]).output
    assert all(name in " ".join(help_text.split()) for name in names)


def test_hub_extra_missing_gives_the_install_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.fr]\nsources = ["hf://datasets/acme/corpus/data/*.jsonl"]\n')
    assert build(manifest, tmp_path / "out") == 2
    assert "pip install 'forensics[hub]'" in capsys.readouterr().err


def test_manifest_module_imports_no_hub_library():
    code = ("import sys, forensics.corpus.manifest, cli.categories; "
            "assert 'huggingface_hub' not in sys.modules and 'pyarrow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_categories_too_small_for_two_splits_are_skipped_and_all_skipped_is_an_error(tmp_path, texts, capsys):
    shards(tmp_path, "de", texts["de"])
    write_jsonl(tmp_path / "tiny/a.jsonl", [{"text": texts["fr"][0][:300]}], "none")
    write_jsonl(tmp_path / "tiny/b.jsonl", [{"text": texts["fr"][1][:300]}], "none")
    manifest = tmp_path / "m.toml"
    manifest.write_text('[categories.de]\nsources = ["shards/de"]\n\n[categories.fr]\nsources = ["tiny"]\n')
    out = tmp_path / "out"
    assert build(manifest, out) == 0
    assert "fr: skipped, too little text for two splits" in capsys.readouterr().err
    assert load_categories(out).names == ["de"]
    assert "fr" in json.loads((out / "provenance.json").read_text())["skipped"]
    assert build(manifest, tmp_path / "none", "--only", "fr") == 2
    err = capsys.readouterr().err.strip().splitlines()  # the progress lines, then one error line
    assert [line for line in err if line.startswith("error: ")] == err[-1:]
    assert "no category has text enough for two splits" in err[-1]
    assert not (tmp_path / "none").exists()


# --- jobs: backends, ranks, resume -------------------------------------------------------------------

def snapshot(out: Path) -> dict[str, object]:
    """Every file under ``out`` by relative path: its bytes, or for provenance.json its content less the time."""
    files: dict[str, object] = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            files[path.relative_to(out).as_posix()] = path.read_bytes()
    prov = json.loads(files.pop("provenance.json"))
    del prov["provenance"]["created"]
    return {**files, "provenance.json": prov}


@pytest.fixture
def three(tmp_path, texts) -> Path:
    for lang in ("de", "es", "fr"):
        shards(tmp_path, lang, texts[lang], parts=3)
    manifest = tmp_path / "m.toml"
    manifest.write_text("".join(f'[categories.{lang}]\ngroup = "language"\nsources = ["shards/{lang}"]\n\n'
                                for lang in ("de", "es", "fr")))
    return manifest


def test_workers_backends_and_ranks_write_the_same_bytes(tmp_path, three, capsys):
    from forensics.corpus.manifest import build_from_manifest

    serial = build_from_manifest(three, tmp_path / "serial", mb_per_category=MB, seed=2, workers=1)
    assert [c.name for c in serial.categories] == ["de", "es", "fr"] and serial.resumed == []
    reference = snapshot(tmp_path / "serial")
    assert sorted(reference) == ["categories.toml", "de/count.jsonl.gz", "de/train.jsonl.gz", "es/count.jsonl.gz",
                                 "es/train.jsonl.gz", "fr/count.jsonl.gz", "fr/train.jsonl.gz", "provenance.json"]
    pool = build_from_manifest(three, tmp_path / "pool", mb_per_category=MB, seed=2, workers=3)
    assert snapshot(tmp_path / "pool") == reference and pool.categories == serial.categories
    ranked = tmp_path / "ranked"
    for rank in (1, 0):
        assert build(three, ranked, "--seed", "2", "--rank", str(rank), "--world-size", "2") == 0
        assert "run the same command without --rank and --world-size" in capsys.readouterr().err
    assert not (ranked / "categories.toml").exists()
    assert sorted(p.name for p in (ranked / ".build").glob("*.json")) == ["de.json", "es.json", "fr.json"]
    assert build(three, ranked, "--seed", "2") == 0  # the assembly: every category found finished
    assert capsys.readouterr().err.count("finished earlier, kept") == 3
    assert snapshot(ranked) == reference and not (ranked / ".build").exists()


def test_rerun_after_a_failed_category_builds_only_it_and_equals_an_uninterrupted_build(tmp_path, three,
                                                                                        monkeypatch):
    from forensics.corpus import manifest as module

    module.build_from_manifest(three, tmp_path / "whole", mb_per_category=MB, workers=1)
    sample = module.sample_category
    sampled: list[str] = []

    def failing(plan, **kwargs):
        if plan.category.name == "es":
            raise RuntimeError("worker died")
        sampled.append(plan.category.name)
        return sample(plan, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr(module, "sample_category", failing)
    with pytest.raises(RuntimeError, match="worker died"):
        module.build_from_manifest(three, out, mb_per_category=MB, workers=1)
    assert sampled == ["de"] and not (out / "categories.toml").exists()
    assert sorted(p.name for p in (out / ".build").glob("*.json")) == ["de.json"]
    (out / "es").mkdir()
    (out / "es/train.jsonl.gz").write_bytes(b"half")  # as if the failed worker had started writing
    sampled.clear()
    monkeypatch.setattr(module, "sample_category", lambda plan, **kw: sampled.append(plan.category.name) or
                        sample(plan, **kw))
    again = module.build_from_manifest(three, out, mb_per_category=MB, workers=1)
    assert sampled == ["es", "fr"] and again.resumed == ["de"]
    assert snapshot(out) == snapshot(tmp_path / "whole")
    pooled = tmp_path / "pooled"  # a worker process failing: the pool stops, the rerun finishes the set
    monkeypatch.setattr(module, "sample_category", failing)
    with pytest.raises(RuntimeError, match="worker died"):
        module.build_from_manifest(three, pooled, mb_per_category=MB, workers=3)
    monkeypatch.setattr(module, "sample_category", sample)
    assert "es" not in module.build_from_manifest(three, pooled, mb_per_category=MB, workers=3).resumed
    assert snapshot(pooled) == snapshot(tmp_path / "whole")


def test_a_category_whose_files_inputs_or_parameters_changed_is_built_again(tmp_path, three, texts):
    from forensics.corpus.manifest import build_from_manifest

    out, fresh = tmp_path / "out", tmp_path / "fresh"
    for rank in (0, 1):
        build_from_manifest(three, out, mb_per_category=MB, rank=rank, world_size=2, workers=1)
    train = out / "de/train.jsonl.gz"
    train.write_bytes(train.read_bytes()[:-9])  # a file cut short after its record was written
    shards(tmp_path, "fr", texts["fr"][::-1], parts=3)  # new inputs: other files
    assert build_from_manifest(three, out, mb_per_category=MB, workers=1).resumed == ["es"]
    build_from_manifest(three, fresh, mb_per_category=MB, workers=1)
    assert snapshot(out) == snapshot(fresh)
    build_from_manifest(three, out, mb_per_category=MB, rank=0, world_size=2, workers=1)
    assert build_from_manifest(three, out, mb_per_category=MB, resume=False, workers=1).resumed == []
    build_from_manifest(three, out, mb_per_category=MB, rank=0, world_size=2, workers=1)
    other_seed = build_from_manifest(three, out, mb_per_category=MB, seed=5, workers=1)
    assert other_seed.resumed == []  # records of seed 0 do not count for seed 5
    build_from_manifest(three, fresh, mb_per_category=MB, seed=5, workers=1)
    assert snapshot(out) == snapshot(fresh)


def test_bad_rank_is_one_error_line_and_writes_nothing(tmp_path, three, capsys):
    before = tree(tmp_path)
    assert build(three, tmp_path / "out", "--rank", "2", "--world-size", "2") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --rank must be in 0..world size - 1"), err
    assert tree(tmp_path) == before


@pytest.mark.slow
def test_ray_backend_writes_the_same_bytes(tmp_path, three):
    ray = pytest.importorskip("ray")
    from forensics.corpus.manifest import build_from_manifest

    build_from_manifest(three, tmp_path / "local", mb_per_category=MB, workers=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = build_from_manifest(three, tmp_path / "ray", mb_per_category=MB, backend="ray")
    finally:
        ray.shutdown()
    assert [c.name for c in report.categories] == ["de", "es", "fr"]
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")
