"""Corpus scans end to end: shares, resume after an interruption, ranks + merge, backends, CLI."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from forensics.composition import scan as scan_module
from forensics.composition.classify import classify_texts
from forensics.composition.results import merge_scan
from forensics.composition.mixture import DIRECTION_SCALE, estimate_mixture
from forensics.composition.profiles import Profiles
from forensics.composition.scan import scan_corpus
from forensics.composition.synthetic import write_synthetic_corpus
from forensics.corpus.categories import load_categories
from forensics.corpus.readers import iter_documents
from forensics.counting.pairs import count_pairs
from forensics.errors import ForensicsError

from conftest import NINE_CODE as CODE
from conftest import NINE_LANGS as LANGS


@pytest.fixture(scope="module")
def profiles(nine_profiles):
    return nine_profiles


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """About 400 KB in 6 shards (.jsonl, .jsonl.gz, .jsonl.zst) from the COUNT split, known make-up."""
    root = tmp_path_factory.mktemp("corpus")
    sets = [load_categories("languages", split="count", categories=LANGS),
            load_categories("code", split="count", categories=CODE)]
    truth = write_synthetic_corpus(root / "shards", sets, total_bytes=400_000, shards=6, seed=3)
    return root / "shards", truth


def _counts(result):
    return (result.partial.documents.tolist(), result.partial.bytes.tolist(), result.partial.pair_hist.tolist())


def test_scan_measures_known_composition(corpus, profiles, tmp_path):
    shards, truth = corpus
    result = scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, unit_mb=0.1)
    assert len(result.plan["units"]) >= 3
    assert result.partial.documents.sum() == sum(truth["documents"].values())
    assert result.partial.bytes.sum() == sum(truth["bytes"].values())
    shares = result.shares["bytes"]
    assert abs(sum(shares.values()) - 1) < 1e-9
    # the scan's counts are exactly those of classifying every document on its own
    docs = list(iter_documents([shards]))
    expected = dict.fromkeys(result.labels, 0)
    for doc, label in zip(docs, classify_texts([d.text for d in docs], profiles)):
        expected[label.label] += len(doc.text.encode("utf-8"))
    assert result.partial.bytes.tolist() == [expected[n] for n in result.labels]
    # the unknown documents' bytes, by the category each looked most like
    best_of_unknown = dict.fromkeys(result.names, 0)
    for doc, label in zip(docs, classify_texts([d.text for d in docs], profiles)):
        if label.label == "unknown":
            best_of_unknown[label.best] += len(doc.text.encode("utf-8"))
    assert result.partial.unknown_best.tolist() == [best_of_unknown[n] for n in result.names]
    assert abs(sum(result.unknown_best_guess().values()) - shares["unknown"]) < 1e-9
    error = sum(abs(shares.get(n, 0) - truth["byte_shares"].get(n, 0)) for n in result.labels)
    assert error < 0.2, error  # accuracy itself is measured in benchmarks/bench_scan.py
    # the pair histogram is exactly count_pairs over the documents, and the estimate is fitted to it
    assert np.array_equal(result.partial.pair_hist, count_pairs(texts=[d.text for d in docs]).histogram())
    fitted = estimate_mixture(result.partial.pair_hist, profiles.pair_probs, bin_weights=profiles.pair_weights(result.partial.pair_hist.sum()),
                              components=profiles.component_directions(), component_scale=DIRECTION_SCALE)
    assert list(result.estimate.values()) == fitted.tolist()
    estimate_error = sum(abs(result.estimate[n] - truth["byte_shares"].get(n, 0)) for n in result.names)
    assert estimate_error < 0.3, estimate_error
    # the pair weighting was chosen on held-back training text: the floor with the least error there
    validation = profiles.info["pair_weight_validation"]
    assert str(profiles.info["pair_weight_floor"]) == min(validation, key=validation.get)
    assert result.profile_info["pair_directions"] == profiles.pair_components.shape[1] == 8
    # 90% intervals, their scale fitted on held-back training text: they hold the truth of most categories
    # and are far narrower than the [0, 1] that would hold it trivially
    intervals = result.estimate_interval()
    inside = [low <= truth["byte_shares"].get(n, 0) <= high for n, (low, high) in intervals.items()]
    widths = [high - low for low, high in intervals.values()]
    assert sum(inside) >= 7 and max(widths) < 0.15, (inside, widths)  # 9 of 9 and 0.02-0.08 when written
    scales = profiles.info["estimate_sd_scale"]
    assert [size for size, _ in scales] == [1e4, 1e5, 1e6, 1e7] and all(0 < scale < 1 for _, scale in scales)
    assert result.to_dict()["estimate_interval"] == intervals
    # documents unlike every category are unknown (counted apart too); the known text here has next to none
    novel = result.to_dict()["novel"]
    assert novel == {"documents": 0, "bytes": 0, "byte_share": 0.0, "checked": False}  # off by default
    summary = result.to_dict()
    assert set(summary["shares"]) == {"documents", "bytes"}
    assert summary["provenance"]["command"] == "scan"
    assert sorted(summary["provenance"]["inputs"]) == summary["provenance"]["input_list"]
    assert summary["units"]["missing"] == []


def test_interrupted_scan_resumes_to_the_same_result(corpus, profiles, tmp_path, monkeypatch):
    shards, _ = corpus
    reference = scan_corpus([shards], profiles=profiles, output=tmp_path / "ref", workers=1, unit_mb=0.1)
    real_run_unit = scan_module.run_unit
    calls = []

    def interrupted(job):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(job[1].index)
        return real_run_unit(job)

    monkeypatch.setattr(scan_module, "run_unit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, unit_mb=0.1)
    assert len(calls) == 2
    with pytest.raises(ForensicsError, match="not finished"):
        merge_scan(tmp_path / "out")
    calls.clear()
    monkeypatch.setattr(scan_module, "run_unit", lambda job: calls.append(job[1].index) or real_run_unit(job))
    resumed = scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, unit_mb=0.1)
    assert len(calls) == len(reference.plan["units"]) - 2  # finished units were not redone
    assert _counts(resumed) == _counts(reference)
    calls.clear()
    scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, unit_mb=0.1)
    assert calls == []  # everything finished: nothing reruns
    scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, unit_mb=0.1, threshold=0.9)
    assert len(calls) == len(reference.plan["units"])  # other settings: stale partials are redone


def test_ranks_merge_to_the_single_scan(corpus, profiles, tmp_path):
    shards, _ = corpus
    single = scan_corpus([shards], profiles=profiles, output=tmp_path / "single", workers=1, unit_mb=0.1)
    for rank in (2, 0, 1):
        assert scan_corpus([shards], profiles=profiles, output=tmp_path / "ranks", workers=1, unit_mb=0.1,
                           rank=rank, world_size=3) is None
    merged = merge_scan(tmp_path / "ranks")
    assert _counts(merged) == _counts(single)
    assert merged.estimate == single.estimate


def test_a_stale_profiles_copy_in_the_output_is_replaced(corpus, profiles, tmp_path):
    """An output directory left by an older version (or a cut-short copy) holds a profiles file this
    version cannot read: the scan writes its own over it instead of failing."""
    shards, _ = corpus
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "profiles.npz").write_bytes(b"not a profiles file")
    result = scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, hash_inputs=False)
    assert result.partial.documents.sum() > 0
    assert Profiles.load(tmp_path / "out" / "profiles.npz").fingerprint == profiles.fingerprint


def test_process_pool_equals_one_worker(corpus, profiles, tmp_path):
    shards, _ = corpus
    one = scan_corpus([shards], profiles=profiles, output=tmp_path / "one", workers=1, unit_mb=0.1, labels=True)
    two = scan_corpus([shards], profiles=profiles, output=tmp_path / "two", workers=2, unit_mb=0.1, labels=True)
    assert _counts(one) == _counts(two)
    from forensics.composition.report import write_report

    paths = write_report(two, tmp_path / "two", labels="jsonl")
    lines = open(paths["labels"], encoding="utf-8").read().splitlines()
    assert len(lines) == two.partial.documents.sum()
    record = json.loads(lines[0])
    assert set(record) >= {"source", "line", "id", "label", "probability", "bytes"}


def test_ray_backend_equals_local(corpus, profiles, tmp_path):
    ray = pytest.importorskip("ray")
    shards, _ = corpus
    local = scan_corpus([shards], profiles=profiles, output=tmp_path / "local", workers=1, unit_mb=0.1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = scan_corpus([shards], profiles=profiles, output=tmp_path / "ray", backend="ray", unit_mb=0.1)
    finally:
        ray.shutdown()
    assert _counts(remote) == _counts(local)


def test_bad_lines_and_truncated_shards_are_reported(profiles, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    good = [json.dumps({"text": "Das ist ein ganz normaler deutscher Satz über das Wetter heute."})] * 5
    (shards / "a.jsonl").write_text("\n".join(good[:2] + ["{not json", json.dumps({"body": "x"})] + good[2:]) + "\n")
    blob = gzip.compress(("\n".join(good) + "\n").encode() * 200)
    (shards / "b.jsonl.gz").write_bytes(blob[: len(blob) // 2])
    python_text = next(load_categories("code", split="count")["python"].texts())
    (shards / "c.txt").write_text(python_text)
    result = scan_corpus([shards], profiles=profiles, workers=1)
    read = result.partial.read
    assert read.skipped_lines == 2 and read.skipped_files == 1
    assert any("a.jsonl:3" in p for p in read.problems) and any("b.jsonl.gz" in p for p in read.problems)
    assert result.partial.documents.sum() >= 5 + 1  # the good lines, the text file, what b had before damage
    assert result.partial.documents[result.names.index("python")] == 1


def test_token_shares_with_a_tokenizer(corpus, profiles, tmp_path, gpt2_hf_json):
    shards, _ = corpus
    result = scan_corpus([shards], profiles=profiles, workers=1, tokenizer=gpt2_hf_json, hash_inputs=False)
    shares = result.shares
    assert set(shares) == {"documents", "bytes", "tokens"}
    assert abs(sum(shares["tokens"].values()) - 1) < 1e-9
    assert result.partial.tokens.sum() > result.partial.bytes.sum() / 8
    assert result.to_dict()["provenance"]["inputs"][str(gpt2_hf_json)]


def test_cli_scan_and_merge(corpus, profiles, tmp_path):
    from cli.main import main

    shards, _ = corpus
    profiles.save(tmp_path / "p.npz")
    out = tmp_path / "out"
    for rank in (0, 1):
        assert main(["scan", str(shards), "--profiles", str(tmp_path / "p.npz"), "-o", str(out), "--workers", "1",
                     "--unit-mb", "0.1", "--rank", str(rank), "--world-size", "2", "--no-progress"]) in (0, None)
    assert main(["merge", str(out), "--json"]) in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["shares"]) == {"documents", "bytes"} and summary["estimate"]
    # the summary names the profiles it used, with each category's accuracy on held-back pieces
    assert summary["profiles"]["fingerprint"] == profiles.fingerprint
    assert set(summary["profiles"]["held_out_accuracy"]) <= set(profiles.names)
    assert all(0 <= v <= 1 for v in summary["profiles"]["held_out_accuracy"].values())
    assert (out / "composition.csv").read_text().startswith("category,group,documents,bytes")
    assert main(["scan", str(tmp_path / "missing"), "--no-progress"]) == 2


def test_import_forensics_loads_no_optional_backend():
    code = "import sys, forensics; forensics.scan_corpus; print('ray' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_scan_rejects_bad_options(corpus, profiles):
    shards, _ = corpus
    with pytest.raises(ForensicsError, match="threshold"):
        scan_corpus([shards], profiles=profiles, threshold=2.0)
    with pytest.raises(ForensicsError, match="--output"):
        scan_corpus([shards], profiles=profiles, world_size=2, rank=1)
    with pytest.raises(ForensicsError, match="backend"):
        scan_corpus([shards], profiles=profiles, backend="spark", hash_inputs=False)
    assert np.isfinite(list(scan_corpus([shards], profiles=profiles, workers=1).estimate.values())).all()


def test_text_unlike_every_category_is_counted_novel(profiles, tmp_path):
    """Korean, Greek and Khmer paragraphs (scripts no profiled category uses) and a plain text file of
    random characters: with --novelty mostly `unknown` as novel, counted apart, marked in the labels;
    without it they get the known categories they score best under."""
    from forensics.composition.synthetic import labelled_paragraphs

    unseen = labelled_paragraphs([load_categories("languages", split="count", categories=["ko", "el", "km"])],
                                 split="count")[:60]
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "unseen.jsonl").write_text("".join(json.dumps({"id": f"u{i}", "text": t}) + "\n"
                                                 for i, (_, t) in enumerate(unseen)), encoding="utf-8")
    rng = np.random.default_rng(1)
    (shards / "junk.txt").write_text("".join(chr(c) for c in rng.integers(33, 127, 3000)), encoding="utf-8")
    result = scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, labels=True,
                         novelty=True)
    assert result.partial.novel_documents >= 31  # over half of the 61 documents
    assert result.partial.novel_bytes <= result.partial.bytes[-1]  # novel documents are unknown ones
    records = [json.loads(line) for line in (tmp_path / "out" / "labels" / "unit-000000.jsonl").read_text().splitlines()]
    assert sum(r.get("novel", False) for r in records) == result.partial.novel_documents
    assert all(r["label"] == "unknown" for r in records if r.get("novel"))
    assert any(r["source"].endswith("junk.txt") and r.get("novel") for r in records)
    off = scan_corpus([shards], profiles=profiles, workers=1)
    assert off.partial.novel_documents == 0 and off.partial.bytes[-1] < result.partial.bytes[-1]


def test_labels_in_parquet(corpus, profiles, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from forensics.composition.report import write_report

    shards, _ = corpus
    result = scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, labels=True)
    paths = write_report(result, tmp_path / "out", labels="parquet")
    table = pq.read_table(paths["labels"])
    assert table.num_rows == result.partial.documents.sum()
    assert {"label", "probability", "bytes"} <= set(table.column_names)


def test_token_counts_agree_between_tokenizer_paths(profiles, tmp_path, gpt2_hf_json):
    """tokenizer.json goes through HF tokenizers, other files through forensics' exact encoder: same counts."""
    shards = tmp_path / "shards"
    shards.mkdir()
    texts = ["Die Würde des Menschen ist unantastbar.", "def f(x):\n    return x  # 2 spaces\n", "すべての人間は"]
    (shards / "a.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in texts) + "\n")
    fast = scan_corpus([shards], profiles=profiles, workers=1, tokenizer=gpt2_hf_json, hash_inputs=False)
    slow = scan_corpus([shards], profiles=profiles, workers=1, hash_inputs=False,
                       tokenizer=Path(__file__).resolve().parents[1] / "fixtures/tokenizers/gpt2/vocab.bpe.gz")
    assert fast.partial.tokens.sum() > 0
    assert fast.partial.tokens.tolist() == slow.partial.tokens.tolist()


def test_png_chart(corpus, profiles, tmp_path):
    pytest.importorskip("matplotlib")
    from forensics.composition.report import write_report

    shards, _ = corpus
    result = scan_corpus([shards], profiles=profiles, output=tmp_path / "out", workers=1, hash_inputs=False)
    paths = write_report(result, tmp_path / "out", png=True)
    assert open(paths["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_cli_profiles_build(tmp_path, capsys):
    """`forensics profiles build` on a directory set (three bundled languages, copied): a loadable file
    and one summary line; a set with one category is refused with exit code 2."""
    import shutil

    from cli.main import main
    from forensics.composition.profiles import Profiles

    bundled = Path(load_categories("languages").path)
    root = tmp_path / "three"
    for name in ("de", "nl", "da"):
        shutil.copytree(bundled / name, root / name)
    out = tmp_path / "p.npz"
    assert main(["profiles", "build", "--categories", str(root), "--bits", "12", "-o", str(out)]) in (0, None)
    profiles = Profiles.load(out)
    assert profiles.names == ["da", "de", "nl"] and profiles.bits == 12
    assert f"fingerprint {profiles.fingerprint}" in capsys.readouterr().err
    shutil.rmtree(root / "nl")
    shutil.rmtree(root / "da")
    assert main(["profiles", "build", "--categories", str(root), "-o", str(tmp_path / "q.npz")]) == 2
    assert not (tmp_path / "q.npz").exists()
