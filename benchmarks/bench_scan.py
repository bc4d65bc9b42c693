"""Benchmark `forensics scan`: accuracy against known make-up, a PyPI language identifier, throughput, 1 GB runs.

Profiles are built from the TRAIN split of the bundled `languages` and `code` sets; every measurement
uses text from their COUNT split (never seen by the profiles).

Sections (``--sections``, comma-separated; default all but ``gb``):
  accuracy    per-paragraph (200+ bytes) accuracy, by group and length; calibration of the probability
  langid      the same language paragraphs through `langid` (PyPI, pip install langid): accuracy and MB/s
  novelty     how many documents the novelty check calls unlike every category: known count-split
              paragraphs, paragraphs of languages the profiles lack, minified JavaScript on this machine
  aggregate   byte-share L1 error on synthetic corpora of known make-up: per-document labels and the
              pair-count mixture estimate (EM and NNLS) with its 90% intervals
  throughput  a 100 MB synthetic corpus through the local backend (2 workers): MB/s wall and per CPU
              second, worker peak memory; and 10 MB for memory that does not grow with corpus size
  gb          the 1 GB corpus (benchmarks/make_synthetic_corpus.py): local, Ray, interrupted + resumed

    python benchmarks/bench_scan.py --sections accuracy,langid,novelty,aggregate,throughput
    python benchmarks/bench_scan.py --sections gb --corpus benchmarks/data/scan-1gb
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
SETS: tuple[str, ...] = ("languages", "code")
LINES: list[str] = []


def out(line: str = "") -> None:
    print(line, flush=True)
    LINES.append(line)


def header() -> None:
    import numba

    from forensics import __version__

    out(f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(load average at start {os.getloadavg()[0]:.1f}), Python {platform.python_version()}, numba "
        f"{numba.__version__}, forensics {__version__}")


def load_profiles(path: str | None):
    from forensics.composition.profiles import load_profiles as load

    started = time.perf_counter()
    profiles = load(path or SETS)
    out(f"- profiles: {len(profiles.names)} categories from the TRAIN split of {', '.join(SETS)} "
        f"(loaded in {time.perf_counter() - started:.1f} s; fingerprint {profiles.fingerprint})")
    return profiles


PER_CATEGORY = 1000  # paragraphs per category at most (a seeded sample), so that large sets stay quick


def paragraphs():
    import random

    from forensics.composition.synthetic import labelled_paragraphs

    by_category: dict[str, list[str]] = {}
    for category, text in labelled_paragraphs(SETS, split="count", min_bytes=200):
        by_category.setdefault(category, []).append(text)
    rng = random.Random(0)
    pairs = []
    for category, texts in by_category.items():
        if len(texts) > PER_CATEGORY:
            texts = rng.sample(texts, PER_CATEGORY)
        pairs.extend((category, t) for t in texts)
    return [c for c, _ in pairs], [t for _, t in pairs]


def section_accuracy(profiles) -> None:
    from forensics.composition.classify import decide, score_array
    from forensics.composition.profiles import pack_texts

    truth, texts = paragraphs()
    truth = np.array(truth)
    data, starts = pack_texts(texts)
    score_array(data[:1000], np.array([0, 1000]), profiles)
    started = time.process_time()
    scores, lengths = score_array(data, starts, profiles)
    labels, prob = decide(scores, lengths, profiles, threshold=0.5)
    seconds = time.process_time() - started
    names = np.array(profiles.names)
    best = names[scores.argmax(axis=1)]
    ok = best == truth
    group = dict(zip(profiles.names, profiles.groups))
    is_code = np.array([group[t] == "code" for t in truth])
    n_lang = len({t for t in truth[~is_code]})
    n_code = len({t for t in truth[is_code]})
    out(f"\n## Per-document accuracy (paragraphs of 200+ bytes, COUNT split, at most {PER_CATEGORY:,} per category)\n")
    out(f"{len(texts):,} paragraphs, {data.size / 1e6:.1f} MB; classification {data.size / seconds / 1e6:.1f} MB per "
        f"CPU second (one core, scoring + calibration)\n")
    out("| documents | categories | paragraphs | accuracy (best category) | labelled at p >= 0.5 "
        "| accuracy of labelled |")
    out("|---|---|---|---|---|---|")
    merged = canonical(best) == canonical(truth)
    variants = sorted(set(VARIANTS) & set(truth))
    rows = [("all", np.ones_like(ok), n_lang + n_code, ok), ("languages", ~is_code, n_lang, ok),
            ("code", is_code, n_code, ok)]
    if variants:
        rows.insert(2, (f"languages, {'/'.join(f'{v}={VARIANTS[v]}' for v in variants)} as one", ~is_code,
                        n_lang - len(variants), merged))
    for title, mask, count, right in rows:
        kept = mask & (labels >= 0)
        out(f"| {title} | {count} | {mask.sum():,} | {right[mask].mean():.2%} | {kept.sum() / mask.sum():.1%} | "
            f"{right[kept].mean():.2%} |")
    out("\nBy paragraph length (all categories):\n")
    out("| bytes | paragraphs | accuracy | languages | code |")
    out("|---|---|---|---|---|")
    for lo, hi in ((200, 400), (400, 800), (800, 1600), (1600, 10**9)):
        m = (lengths >= lo) & (lengths < hi)
        out(f"| {lo}-{hi if hi < 10**9 else ''} | {m.sum():,} | {ok[m].mean():.2%} | {ok[m & ~is_code].mean():.2%} | "
            f"{ok[m & is_code].mean() if (m & is_code).any() else float('nan'):.2%} |")
    worst = sorted(set(truth), key=lambda c: ok[truth == c].mean())[:10]
    out("\nLeast accurate categories (most frequent wrong label):\n")
    out("| category | accuracy | most frequent wrong label |")
    out("|---|---|---|")
    for cat in worst:
        m = truth == cat
        wrong = best[m & ~ok]
        common = max(set(wrong), key=list(wrong).count) if wrong.size else "-"
        out(f"| {cat} | {ok[m].mean():.1%} | {common} |")
    out("\nCalibration (probability of the best category vs how often it is right):\n")
    out("| probability | paragraphs | accuracy |")
    out("|---|---|---|")
    for lo, hi in ((0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 1.01)):
        m = (prob >= lo) & (prob < hi)
        out(f"| {lo:.2f}-{min(hi, 1):.2f} | {m.sum():,} | {ok[m].mean() if m.any() else float('nan'):.1%} |")


LANGID_CODES = {"nb": "no"}
# regional variants of one language in the bundled set; "merged" accuracy counts them as one label
VARIANTS = {"pt-PT": "pt", "zh-TW": "zh"}


def canonical(names):
    return np.array([VARIANTS.get(str(n), str(n)) for n in names])


def section_langid(profiles) -> None:
    try:
        import langid
        from langid.langid import LanguageIdentifier, model
    except ImportError:
        out("\n## langid comparison: skipped (pip install langid)")
        return
    from forensics.composition.classify import score_array
    from forensics.composition.profiles import pack_texts

    truth, texts = paragraphs()
    group = dict(zip(profiles.names, profiles.groups))
    ident = LanguageIdentifier.from_modelstring(model, norm_probs=False)
    supported = set(ident.nb_classes)
    ours_langs = [n for n in profiles.names if group[n] == "language"]

    def code_of(name):
        return LANGID_CODES.get(VARIANTS.get(name, name), VARIANTS.get(name, name))

    both = [n for n in ours_langs if code_of(n) in supported]
    picked = [(c, t) for c, t in zip(truth, texts) if c in both]
    t_truth = canonical([c for c, _ in picked])
    t_texts = [t for _, t in picked]
    data, starts = pack_texts(t_texts)
    # ours: all 57 categories (languages and code), no restriction
    started = time.process_time()
    scores, _ = score_array(data, starts, profiles)
    ours_seconds = time.process_time() - started
    ours = canonical(np.array(profiles.names)[scores.argmax(axis=1)])
    # langid restricted to the same languages (its best case), and unrestricted (97 languages)
    ident.set_languages(sorted({code_of(n) for n in both}))
    back = {code_of(n): VARIANTS.get(n, n) for n in both}
    started = time.process_time()
    restricted = np.array([back.get(ident.classify(t)[0], "?") for t in t_texts])
    langid_seconds = time.process_time() - started
    ident.set_languages(None)
    full = np.array([back.get(langid.classify(t)[0], "?") for t in t_texts])
    mb = data.size / 1e6
    out(f"\n## Against langid {getattr(langid, '__version__', '1.1.6')} (PyPI) on the same paragraphs\n")
    out(f"{len(t_texts):,} language paragraphs (200+ bytes, {mb:.1f} MB) of the {len(both)} bundled languages langid "
        f"also knows (left out: {', '.join(sorted(set(ours_langs) - set(both))) or 'none'}; regional variants "
        f"count as their language: {', '.join(f'{k}={v}' for k, v in VARIANTS.items())}). Speed is MB per CPU "
        f"second on one core, same run.\n")
    out("| identifier | label set | accuracy | MB/s |")
    out("|---|---|---|---|")
    features = f"hashed byte {profiles.min_order}-{profiles.max_order}-grams" + \
        (" and word tokens" if profiles.token_table is not None else "")
    out(f"| forensics scan (naive Bayes, {features}) | {len(profiles.names)} categories (languages + code) | "
        f"{(ours == t_truth).mean():.2%} | {mb / ours_seconds:.1f} |")
    out(f"| langid.py | restricted to the same {len(set(back))} languages | {(restricted == t_truth).mean():.2%} | "
        f"{mb / langid_seconds:.2f} |")
    out(f"| langid.py | all 97 of its languages | {(full == t_truth).mean():.2%} | (same) |")
    out(f"\nSpeed ratio: forensics {mb / ours_seconds / (mb / langid_seconds):.0f}x langid.")


def l1(measured: dict[str, float], truth: dict[str, float]) -> float:
    """Sum over labels of |measured - true| share (a label missing on one side counts as 0 there)."""
    return sum(abs(measured.get(n, 0) - truth.get(n, 0)) for n in set(measured) | set(truth))


def interval_coverage(intervals: dict[str, list[float]] | None, truth: dict[str, float]) -> str:
    """How many categories' true shares lie inside the estimate's intervals, as 'inside of all (share)'."""
    if not intervals:
        return "-"
    inside = sum(low <= truth.get(n, 0) <= high for n, (low, high) in intervals.items())
    return f"{inside} of {len(intervals)} ({inside / len(intervals):.0%})"


def merge_variants(shares: dict[str, float]) -> dict[str, float]:
    merged: dict[str, float] = {}
    for name, value in shares.items():
        merged[VARIANTS.get(name, name)] = merged.get(VARIANTS.get(name, name), 0.0) + value
    return merged


def section_aggregate(profiles, work: Path) -> None:
    from forensics.composition.mixture import estimate_mixture
    from forensics.composition.results import ESTIMATE_Z
    from forensics.composition.scan import scan_corpus
    from forensics.composition.synthetic import write_synthetic_corpus

    out("\n## Aggregate byte shares on synthetic corpora of known make-up (COUNT split)\n")
    out("Each corpus: ~20 MB, Dirichlet(2) shares over all categories, documents of 1-4 paragraphs (200+ bytes). "
        "L1 = sum over categories of |measured - true| byte share (`unknown` counts as error).\n")
    out("| seed | documents | L1 per-document labels | same, regional variants as one | same, threshold 0 (no "
        "unknown) | L1 pair-count estimate (weighted NNLS with category directions, default) | L1 estimate (weighted NNLS, diagonal only) | L1 estimate (unweighted NNLS) | "
        "L1 estimate (EM) | L1 estimate, languages only (weighted NNLS) | unknown share | "
        "estimate's 90% intervals: truth inside (categories) | median half-width | L1 labels with --novelty "
        "(novel share) |")
    out("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for seed in (1, 2, 3):
        corpus = work / f"agg-{seed}"
        truth = write_synthetic_corpus(corpus, SETS, total_bytes=20_000_000, shards=4, seed=seed)
        true = truth["byte_shares"]
        result = scan_corpus([corpus], profiles=profiles, workers=2, hash_inputs=False)
        shares = result.shares["bytes"]
        l1_docs = l1(shares, true)
        l1_merged = l1(merge_variants(shares), merge_variants(true))
        no_unknown = scan_corpus([corpus], profiles=profiles, workers=2, hash_inputs=False, threshold=0.0)
        l1_no_unknown = l1(no_unknown.shares["bytes"], true)
        novel = scan_corpus([corpus], profiles=profiles, workers=2, hash_inputs=False, novelty=True)
        l1_novel = l1(novel.shares["bytes"], true)
        l1_nnls = sum(abs(result.estimate[n] - true.get(n, 0)) for n in result.names)
        em = dict(zip(result.names, estimate_mixture(result.partial.pair_hist, profiles.pair_probs, method="em")))
        l1_em = sum(abs(em[n] - true.get(n, 0)) for n in result.names)
        flat = dict(zip(result.names, estimate_mixture(result.partial.pair_hist, profiles.pair_probs)))
        diagonal = dict(zip(result.names, profiles.estimate(result.partial.pair_hist, components=False)))
        l1_diagonal = sum(abs(diagonal[n] - true.get(n, 0)) for n in result.names)
        l1_flat = sum(abs(flat[n] - true.get(n, 0)) for n in result.names)
        # the same estimate restricted to the language categories, on a language-only corpus
        langs = [i for i, g in enumerate(profiles.groups) if g == "language"]
        lang_truth = write_synthetic_corpus(work / f"agg-lang-{seed}", SETS[:1], total_bytes=5_000_000,
                                            shards=2, seed=seed)
        lang_result = scan_corpus([work / f"agg-lang-{seed}"], profiles=profiles, workers=2, hash_inputs=False)
        lang_est = profiles.estimate(lang_result.partial.pair_hist, rows=langs)
        l1_lang = sum(abs(w - lang_truth["byte_shares"].get(profiles.names[i], 0)) for i, w in zip(langs, lang_est))
        out(f"| {seed} | {result.partial.documents.sum():,} | {l1_docs:.2%} | {l1_merged:.2%} | {l1_no_unknown:.2%} | "
            f"{l1_nnls:.2%} | {l1_diagonal:.2%} | {l1_flat:.2%} | "
            f"{l1_em:.2%} | "
            f"{l1_lang:.2%} | {shares['unknown']:.2%} | {interval_coverage(result.estimate_interval(), true)} | "
            f"{np.median(list(result.estimate_sd.values())) * ESTIMATE_Z:.2%} | "
            f"{l1_novel:.2%} ({novel.partial.novel_bytes / novel.partial.bytes.sum():.2%}) |")
        shutil.rmtree(corpus)
        shutil.rmtree(work / f"agg-lang-{seed}")


# Minified / bundled JavaScript that happens to be on a machine (the category samples skip minified files)
MINIFIED_JS = ("/usr/share/javascript/jquery/jquery.min.js", "/usr/lib/node_modules/npm/node_modules/*/dist/esm/*.min.js",
               ".venv/lib/python3*/site-packages/ray/dashboard/client/build/static/js/main.*.js")


def unseen_language_paragraphs(names: list[str], per_language: int = 2) -> list[tuple[str, str]]:
    """Paragraphs of 200+ bytes of the bundled `languages-wide` set (UDHR translations) whose
    language is not among ``names`` (nor a variant of one)."""
    from forensics.composition.synthetic import labelled_paragraphs
    from forensics.corpus.categories import load_categories

    known = {n.split("-")[0] for n in names}
    wide = load_categories("languages-wide", split="count")
    out: dict[str, list[str]] = {}
    for category, text in labelled_paragraphs([wide], split="count", min_bytes=200):
        if category.split("-")[0] not in known and len(out.setdefault(category, [])) < per_language:
            out[category].append(text)
    return [(c, t) for c, texts in sorted(out.items()) for t in texts]


def section_novelty(profiles) -> None:
    from forensics.composition.classify import score_array
    from forensics.composition.profiles import NOVELTY_RATIO, NOVELTY_SD, background_ratio, novelty_z, pack_texts

    truth, texts = paragraphs()
    truth = np.array(truth)
    unseen = unseen_language_paragraphs(profiles.names)
    files = sorted({str(f) for pattern in MINIFIED_JS for f in (Path("/").glob(pattern.lstrip("/"))
                                                                 if pattern.startswith("/") else ROOT.glob(pattern))})
    minified = [Path(f).read_text(encoding="utf-8", errors="replace") for f in files]
    model = profiles.info.get("novelty") or []

    def checks(documents):
        if not documents:
            return np.zeros(0, bool), np.zeros(0, bool), np.zeros(0, int), np.zeros(0, int)
        scores, lengths, byte_scores = score_array(*pack_texts(documents), profiles, byte_scores=True)
        best = scores.argmax(axis=1)
        return (novelty_z(model, byte_scores, best, lengths) < -NOVELTY_SD,
                background_ratio(byte_scores, best, lengths) < -NOVELTY_RATIO, best,
                np.array([len(d.encode()) for d in documents]))

    low_k, patch_k, best, sizes = checks(texts)
    right = np.array(profiles.names)[best] == truth
    low_u, patch_u, _, _ = checks([t for _, t in unseen])
    low_m, patch_m, best_m, _ = checks(minified)
    out("\n## Novelty: documents unlike every category (`--novelty`, off by default)\n")
    out(f"Known: the accuracy section's {len(texts):,} count-split paragraphs. Unseen: {len(unseen):,} paragraphs "
        f"(200+ bytes, 2 per language) of the {len({c for c, _ in unseen})} UDHR languages of `languages-wide` "
        f"that the profiles lack. Minified: {len(files)} minified or bundled JavaScript files found on this "
        f"machine, whole (labelled {', '.join(np.array(profiles.names)[best_m]) or '-'} without the check). "
        f"'Cost' is the known bytes that were labelled right and become `unknown` (each counts twice in a "
        f"byte-share L1: once missing, once as unknown). Held-back training pieces called novel at build time: "
        f"{profiles.info.get('novelty_validation', {}).get('pieces', float('nan')):.3%}.\n")
    out("| check | known paragraphs novel (docs / bytes) | of which labelled right before | cost (bytes) | "
        "unseen-language paragraphs novel | minified files novel |")
    out("|---|---|---|---|---|---|")
    for title, k, u, m in ((f"score {NOVELTY_SD:g} sd below the category's own texts", low_k, low_u, low_m),
                           (f"category {NOVELTY_RATIO:g} nats/byte worse than the background", patch_k, patch_u, patch_m),
                           ("either (`--novelty`)", low_k | patch_k, low_u | patch_u, low_m | patch_m)):
        out(f"| {title} | {k.mean():.3%} / {sizes[k].sum() / sizes.sum():.3%} | "
            f"{right[k].mean() if k.any() else 0:.0%} | {sizes[k & right].sum() / sizes.sum():.3%} | "
            f"{u.mean():.1%} | {int(m.sum())} of {len(files)} |")


def _scan_cli(corpus: Path, output: Path, *extra: str) -> tuple[float, dict]:
    command = [sys.executable, "-m", "cli.main", "scan", str(corpus), "-o", str(output), "--no-progress", "--json",
               *extra]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return time.perf_counter() - started, json.loads(done.stdout)



def section_throughput(profiles, work: Path) -> None:
    from forensics.composition.scan import scan_corpus
    from forensics.composition.synthetic import write_synthetic_corpus

    out("\n## Throughput of the local backend (2 worker processes)\n")
    out("| corpus | text MB | wall s | MB/s wall | worker CPU s | MB per worker CPU s | x2 cores | peak worker RSS |")
    out("|---|---|---|---|---|---|---|---|")
    from forensics.composition.profiles import build_profiles

    slow = work / "profiles-order34.npz"
    build_profiles(SETS, min_order=3, max_order=4).save(slow)
    for mb, profile_file in ((10, None), (100, None), (300, None), (100, slow)):
        corpus = work / f"tp-{mb}"
        if not corpus.exists():
            write_synthetic_corpus(corpus, SETS, total_bytes=mb * 1_000_000, shards=8, seed=mb)
        output = work / f"tp-{mb}-out"
        shutil.rmtree(output, ignore_errors=True)
        # a fresh process per size so that peak memory is that scan's own
        code = ("import json,sys,time; from forensics.composition.scan import scan_corpus; "
                "p=sys.argv[3] if len(sys.argv)>3 else None; "
                "t=time.perf_counter(); r=scan_corpus([sys.argv[1]], output=sys.argv[2], workers=2, unit_mb=8, "
                "profiles=p, hash_inputs=False); w=time.perf_counter()-t; "
                "print(json.dumps({'wall': w, 'cpu': r.partial.cpu_seconds, 'bytes': int(r.partial.bytes.sum()), "
                "'rss': r.partial.peak_rss/2**20}))")
        done = subprocess.run([sys.executable, "-c", code, str(corpus), str(output),
                               *([str(profile_file)] if profile_file else [])],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        text_mb = r["bytes"] / 1e6
        name = f"synthetic {mb} MB" + (", profiles of 3- and 4-grams" if profile_file else "")
        out(f"| {name} | {text_mb:.0f} | {r['wall']:.1f} | {text_mb / r['wall']:.1f} | {r['cpu']:.1f} | "
            f"{text_mb / r['cpu']:.1f} | {2 * text_mb / r['cpu']:.1f} | {r['rss']:.0f} MB |")
    out(f"\n(load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores shared with other "
        f"jobs; 'MB per worker CPU s' x 2 is what two dedicated cores would give)")
    del scan_corpus


def section_gb(corpus: Path, work: Path, profiles_file: Path) -> None:
    truth_file = corpus.parent / f"{corpus.name}.truth.json"
    truth = json.loads(truth_file.read_text())
    total = sum(truth["bytes"].values()) / 1e6
    out(f"\n## 1 GB end to end ({corpus.name}: {total:,.0f} MB of text, {len(truth['files'])} shards of "
        f".jsonl/.jsonl.gz/.jsonl.zst)\n")

    def key(summary):
        return [(r["category"], r["documents"], r["bytes"]) for r in summary["rows"]], summary["estimate"], \
            summary["totals"]

    local_out = work / "gb-local"
    shutil.rmtree(local_out, ignore_errors=True)
    wall, local = _scan_cli(corpus, local_out, "--workers", "2", "--profiles", str(profiles_file))
    true = truth["byte_shares"]
    l1 = sum(abs(local["shares"]["bytes"].get(n, 0) - true.get(n, 0)) for n in local["shares"]["bytes"])
    l1_est = sum(abs(local["estimate"].get(n, 0) - true.get(n, 0)) for n in local["estimate"])
    out("| run | wall s | MB/s | same counts as local |")
    out("|---|---|---|---|")
    out(f"| local, 2 workers | {wall:.0f} | {total / wall:.1f} | - |")
    novel_out = work / "gb-novelty"
    shutil.rmtree(novel_out, ignore_errors=True)
    wall_novel, novel = _scan_cli(corpus, novel_out, "--workers", "2", "--novelty", "--profiles", str(profiles_file))
    l1_novel = sum(abs(novel["shares"]["bytes"].get(n, 0) - true.get(n, 0)) for n in novel["shares"]["bytes"])
    out(f"| local, 2 workers, --novelty | {wall_novel:.0f} | {total / wall_novel:.1f} | (labels L1 {l1_novel:.2%}, "
        f"novel {novel['novel']['byte_share']:.2%} of bytes) |")
    ray_out = work / "gb-ray"
    shutil.rmtree(ray_out, ignore_errors=True)
    try:
        import ray  # noqa: F401

        wall_ray, ray_summary = _scan_cli(corpus, ray_out, "--backend", "ray", "--workers", "2", "--profiles",
                                          str(profiles_file))
        out(f"| Ray (local cluster, 2 CPUs) | {wall_ray:.0f} | {total / wall_ray:.1f} | "
            f"{'yes' if key(ray_summary) == key(local) else 'NO'} |")
    except ImportError:
        out("| Ray | - | - | skipped (pip install ray) |")
    resume_out = work / "gb-resume"
    shutil.rmtree(resume_out, ignore_errors=True)
    command = [sys.executable, "-m", "cli.main", "scan", str(corpus), "-o", str(resume_out), "--no-progress",
               "--workers", "2", "--no-hash-inputs", "--profiles", str(profiles_file)]
    # a shell without job control starts background jobs with SIGINT ignored, and children inherit that:
    # restore the default so that the scan sees the Ctrl-C however this benchmark was started
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = time.perf_counter()
    # interrupt once a few units (but far from all) have written their partials
    while process.poll() is None and len(list((resume_out / "partials").glob("unit-*.json"))) < 4:
        time.sleep(0.05)
    interrupted_at = time.perf_counter() - started
    process.send_signal(signal.SIGINT)
    process.wait()
    finished = len(list((resume_out / "partials").glob("unit-*.json")))
    wall_resume, resumed = _scan_cli(corpus, resume_out, "--workers", "2", "--no-hash-inputs", "--profiles",
                                     str(profiles_file))
    units = resumed["units"]["total"]
    out(f"| Ctrl-C at {interrupted_at:.0f} s ({finished} of {units} units done), then rerun | {wall_resume:.0f} (rerun) | "
        f"- | {'yes' if key(resumed) == key(local) else 'NO'} |")
    out(f"\nByte-share L1 error against the truth: per-document labels {l1:.2%}, pair-count estimate {l1_est:.2%} "
        f"(unknown: {local['shares']['bytes'].get('unknown', 0):.2%} of bytes). The estimate's 90% intervals hold "
        f"the true share of {interval_coverage(local.get('estimate_interval'), true)} categories.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default="accuracy,langid,novelty,aggregate,throughput")
    parser.add_argument("--corpus", default=str(DATA / "scan-1gb"))
    parser.add_argument("--work", default=str(DATA / "bench-scan"))
    parser.add_argument("--results", help="Append the markdown to this file.")
    parser.add_argument("--profiles", help="A profiles .npz to use instead of building them from the bundled sets.")
    parser.add_argument("--categories-root", help="Use ROOT/languages and ROOT/code instead of the bundled sets "
                                                  "(for example a snapshot: git archive COMMIT fixtures/categories).")
    args = parser.parse_args()
    sections = args.sections.split(",")
    global SETS
    if args.categories_root:
        SETS = tuple(str(Path(args.categories_root) / name) for name in SETS)
        out(f"- category sets: {', '.join(SETS)}")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    header()
    profiles = load_profiles(args.profiles)
    if "accuracy" in sections:
        section_accuracy(profiles)
    if "langid" in sections:
        section_langid(profiles)
    if "novelty" in sections:
        section_novelty(profiles)
    if "aggregate" in sections:
        section_aggregate(profiles, work)
    if "throughput" in sections:
        section_throughput(profiles, work)
    if "gb" in sections:
        profiles_file = work / "profiles.npz"
        profiles.save(profiles_file)
        section_gb(Path(args.corpus), work, profiles_file)
    if args.results:
        with open(args.results, "a", encoding="utf-8") as handle:
            handle.write("\n".join(LINES) + "\n")


if __name__ == "__main__":
    main()
