#!/usr/bin/env python3
"""Issue 17 at paper scale: N categories x M MB built from a manifest over local shards, counted and inferred.

What it does, in one run:

1. *Shards* (built on demand, reused while their inputs and parameters match, never committed): category k
   takes the real documents (both splits) of one of the 59 categories in ``benchmarks/data/scan-sets``
   (languages and code interleaved; ``de``, then ``de-2``, ... when N > 59) and writes at least M MB of
   their text as several ``.jsonl.zst`` shards under ``WORK/shards/<category>/``. When the real text is
   smaller than M MB the documents repeat: each repetition in shard files of its own, every copy with its
   own id. ``WORK/manifest.toml`` names every category and its shards, with ``dedup = "none"`` (document
   de-duplication would remove the copies). How much of the text is unique is measured and reported, for
   the shards and for the built set.
2. *Stages*, each one `forensics` command in its own process (what a user gets), with wall time, the peak
   resident memory of the whole process tree (sum over the processes, sampled every 0.1 s from /proc)
   and the largest single process (``wait4``'s ``ru_maxrss``): (a) ``categories build --from
   WORK/manifest.toml --mb-per-category M``; (b) ``count`` at T merges into a fresh ``$FORENSICS_CACHE``;
   (c) ``infer --json`` reading the traces (b) cached, so its time is the linear program over N categories
   (its own ``counting_seconds`` and ``estimating_seconds`` are reported).
3. With ``--ray``: (b) and (c) again with ``--backend ray`` (a local Ray started by each command) into a
   separate cache, then every trace array and every inferred share compared for exact equality.
4. One JSON (machine, load averages, versions, parameters, per-stage figures, unique fractions, the Ray
   comparison, and a labelled extrapolation to 100 categories x 100 MB) and a markdown summary.

    python benchmarks/bench_paper_scale.py --categories 4 --mb-per-category 2 --merges 3000 --ray
    python benchmarks/bench_paper_scale.py --categories 100 --mb-per-category 100 --merges 30000 --ray

What it leaves out: the accuracy of the estimate (``benchmarks/controlled.py``), medians (one run per
stage: at this scale a run takes tens of minutes), and text beyond what the scan sets hold: repeated
documents add no new words, so counting memory and replay time at M MB are lower than on M MB of
distinct text (the unique fractions say by how much the text repeats).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _measure import run_measured

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCAN_SETS = HERE / "data" / "scan-sets"
SOURCE_SETS = ("languages", "code")
TARGET = {"categories": 100, "mb_per_category": 100, "merges": 30_000, "minutes": 30}
SHARD_FORMAT = 2  # bump when the shard layout changes, so old shards are rebuilt


# --- sources and shards -----------------------------------------------------------------------------------

def source_categories() -> list[dict]:
    """The built scan-set categories, languages and code interleaved evenly (a prefix mixes both groups).

    >>> [c["name"] for c in source_categories()][:4]  # doctest: +SKIP
    ['ar', 'as', 'c', 'ca']
    """
    import tomllib

    found = []
    for set_name in SOURCE_SETS:
        folder = SCAN_SETS / set_name
        if not (folder / "categories.toml").exists():
            raise SystemExit(f"{folder} is missing: build it with benchmarks/build_scan_sets.sh")
        meta = tomllib.loads((folder / "categories.toml").read_text())["categories"]
        names = sorted(n for n in meta if all((folder / n / f"{s}.jsonl.gz").exists() for s in ("train", "count")))
        for i, name in enumerate(names):
            found.append({"name": name, "set": set_name, "group": meta[name].get("group", "other"),
                          "licence": meta[name].get("licence"), "position": (i + 0.5) / len(names),
                          "files": [folder / name / f"{s}.jsonl.gz" for s in ("train", "count")]})
    return sorted(found, key=lambda c: (c["position"], c["set"], c["name"]))


def plan_categories(n: int) -> list[dict]:
    """Category k of n: the (k mod 59)-th source category, named ``src`` then ``src-2``, ``src-3``, ..."""
    sources = source_categories()
    plans = []
    for k in range(n):
        src = sources[k % len(sources)]
        cycle = k // len(sources)
        plans.append({**src, "source": src["name"], "name": src["name"] if cycle == 0 else f"{src['name']}-{cycle + 1}"})
    return plans


def _read_documents(files: list[Path]) -> list[tuple[str, str]]:
    import gzip

    docs = []
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                docs.append((str(record["id"]), record["text"]))
    return docs


def make_shards(job: dict) -> dict:
    """Write one category's shards (or find them made with the same inputs); returns what was written.

    Documents go in a seeded order, pass after pass, into shards of about ``shard_bytes`` of text; a
    shard closes at the end of a pass, so no shard holds two copies of a document. Writing stops at
    ``goal_bytes`` of text.
    """
    folder = Path(job["folder"])
    stamp = folder / ".made.json"
    inputs = {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in map(Path, job["files"])}
    key = {k: job[k] for k in ("format", "name", "source", "seed", "goal_bytes", "shard_bytes", "compression")}
    key["inputs"] = inputs
    if stamp.exists():
        made = json.loads(stamp.read_text())
        if made.get("key") == key:
            return {**made["stats"], "reused": True}
        shutil.rmtree(folder)
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    docs = _read_documents([Path(f) for f in job["files"]])
    if not docs:
        raise SystemExit(f"{job['files']}: no documents to make shards of")
    random.Random(f"{job['seed']}\0{job['name']}").shuffle(docs)
    seen: dict[bytes, int] = {}
    written = unique = disk = shards = documents = passes = 0
    writer = None

    def close() -> None:
        nonlocal writer, disk
        if writer is not None:
            handle, path = writer
            handle.close()
            disk += path.stat().st_size
            writer = None

    def open_shard():
        nonlocal shards
        path = folder / f"part-{shards:05d}.jsonl.{job['compression']}"
        shards += 1
        if job["compression"] == "zst":
            import zstandard

            handle = zstandard.ZstdCompressor(level=3).stream_writer(open(path, "wb"), closefd=True)
        else:
            import gzip

            handle = gzip.open(path, "wb", compresslevel=6)
        return handle, path

    shard_text = 0
    while written < job["goal_bytes"]:
        for doc_id, text in docs:
            if written >= job["goal_bytes"]:
                break
            if writer is None:
                writer, shard_text = open_shard(), 0
            nbytes = len(text.encode("utf-8", "surrogatepass"))
            ident = doc_id if passes == 0 else f"{doc_id}#copy{passes + 1}"
            writer[0].write((json.dumps({"id": ident, "text": text}, ensure_ascii=False) + "\n").encode("utf-8"))
            written, shard_text, documents = written + nbytes, shard_text + nbytes, documents + 1
            digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
            if digest not in seen:
                seen[digest] = nbytes
                unique += nbytes
            if shard_text >= job["shard_bytes"]:
                close()
        close()  # a repetition never shares a shard with the previous one
        passes += 1
    stats = {"name": job["name"], "source": job["source"], "shards": shards, "documents": documents,
             "text_bytes": written, "unique_text_bytes": unique, "real_text_bytes": sum(
                 len(t.encode("utf-8", "surrogatepass")) for _, t in docs), "passes": passes, "disk_bytes": disk,
             "seconds": round(time.perf_counter() - started, 3),
             "unique_texts": sorted([d.hex(), n] for d, n in seen.items())}  # uniqueness across categories
    stamp.write_text(json.dumps({"key": key, "stats": stats}) + "\n")
    return {**stats, "reused": False}


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_manifest(work: Path, plans: list[dict], *, compression: str, mb: float) -> Path:
    """``WORK/manifest.toml``: every category, its group, licence and shard glob (relative to the manifest)."""
    lines = ["# Written by benchmarks/bench_paper_scale.py; shards under shards/ (not committed).", "[set]",
             f"description = {_toml_string(f'{len(plans)} categories of scan-set text, at least {mb:g} MB each')}",
             'dedup = "none"   # the shards repeat documents on purpose; document dedup would remove the copies',
             ""]
    for plan in plans:
        lines += [f"[categories.{_toml_string(plan['name'])}]", f"group = {_toml_string(plan['group'])}"]
        if plan["licence"]:
            lines.append(f"licence = {_toml_string(plan['licence'])}")
        glob = f"shards/{plan['name']}/*.jsonl.{compression}"
        lines += [f"description = {_toml_string('scan-set category ' + plan['set'] + '/' + plan['source'])}",
                  f"sources = [{_toml_string(glob)}]", ""]
    path = work / "manifest.toml"
    path.write_text("\n".join(lines))
    return path


def built_unique(folder: str) -> dict:
    """Bytes and distinct-text bytes of one built category (train and count together), and the distinct
    texts' hashes (with their sizes) for the uniqueness across categories."""
    import gzip

    seen: set[bytes] = set()
    texts: list[list] = []
    total = unique = 0
    for split in ("train", "count"):
        with gzip.open(Path(folder) / f"{split}.jsonl.gz", "rt", encoding="utf-8") as handle:
            for line in handle:
                data = json.loads(line)["text"].encode("utf-8", "surrogatepass")
                total += len(data)
                digest = hashlib.blake2b(data, digest_size=16).digest()
                if digest not in seen:
                    seen.add(digest)
                    unique += len(data)
                    texts.append([digest.hex(), len(data)])
    return {"bytes": total, "unique_bytes": unique, "unique_texts": texts}


# --- running and measuring a stage ------------------------------------------------------------------------

def forensics_command() -> list[str]:
    """The `forensics` console script of this interpreter's environment (else ``python -m cli.main``)."""
    script = Path(sys.executable).parent / "forensics"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def run_stage(name: str, args: list[str], *, env: dict[str, str], logs: Path) -> dict:
    """Run one `forensics` command; wall seconds, peak tree MB, largest process MB, and its stdout."""
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    command = forensics_command() + args
    print(f"  {name}: {' '.join(args)}", flush=True)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        run = run_measured(command, interval=0.1, stdout=out, stderr=err, env=env, cwd=ROOT)
    if run.returncode:
        raise SystemExit(f"{name} failed ({run.returncode}): {' '.join(command)}\n"
                         + err_path.read_text(errors="replace")[-4000:])
    result = {"command": "forensics " + " ".join(args), "seconds": round(run.wall_seconds, 3),
              "peak_tree_mb": round(run.tree_peak_kb / 1024, 1), "peak_process_mb": round(run.process_peak_kb / 1024, 1),
              "cpu_seconds": round(run.cpu_seconds, 3)}
    print(f"    {run.wall_seconds:.1f} s, peak {result['peak_tree_mb']:.0f} MB (tree), {result['peak_process_mb']:.0f} MB "
          f"(largest process)", flush=True)
    return {**result, "stdout": out_path.read_text()}


def _unique_across(lists: list[list[list]]) -> int:
    """Bytes of the distinct texts of all categories together, from each one's ``[hash, bytes]`` list."""
    sizes: dict[str, int] = {}
    for texts in lists:
        sizes.update((digest, nbytes) for digest, nbytes in texts)
    return sum(sizes.values())


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# --- the Ray comparison -----------------------------------------------------------------------------------

TRACE_ARRAYS = ("merges", "merged_count", "initial_keys", "initial_counts", "delta_step", "delta_key", "delta_value")
TRACE_SCALARS = ("total_bytes", "total_words", "unique_words", "documents", "invalid_utf8_sequences")


def trace_digest(trace) -> str:
    digest = hashlib.sha256()
    for key in TRACE_ARRAYS:
        array = getattr(trace, key)
        digest.update(f"{key}{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def compare_runs(names: list[str], local: Path, ray: Path, shares: dict, ray_shares: dict) -> dict:
    """Every category's trace arrays and counts, and every inferred share, compared for exact equality."""
    import numpy as np

    from forensics.counting.replay import PairTrace

    differing = []
    digests = {}
    for name in names:
        a, b = PairTrace.load(local / f"{name}.npz"), PairTrace.load(ray / f"{name}.npz")
        same = all(np.array_equal(getattr(a, k), getattr(b, k)) for k in TRACE_ARRAYS) and all(
            getattr(a, k) == getattr(b, k) for k in TRACE_SCALARS)
        digests[name] = trace_digest(a)
        if not same:
            differing.append(name)
    share_diff = max((abs(shares[k] - ray_shares.get(k, float("nan"))) for k in shares), default=0.0)
    return {"traces_compared": len(names), "traces_identical": not differing, "traces_differing": differing,
            "shares_identical": shares == ray_shares, "shares_max_abs_difference": share_diff,
            "trace_sha256": digests}


# --- main -------------------------------------------------------------------------------------------------

def versions() -> dict:
    import importlib.metadata as metadata

    found = {"python": platform.python_version()}
    for package in ("forensics", "numpy", "numba", "tokenizers", "highspy", "ray", "zstandard"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def extrapolate(*, stages: dict, shard_bytes: int, counted_bytes: int, n: int, merges: int, workers: int) -> dict:
    """Stage times at 100 categories x 100 MB: build and counting linear in bytes; the LP measured or absent."""
    target_bytes = TARGET["categories"] * TARGET["mb_per_category"] * 1_000_000
    count = stages["count_local"]
    per_category = sum(r["seconds"] for r in count["categories"])
    variable = min(per_category / max(workers, 1), count["seconds"])
    fixed = count["seconds"] - variable
    lp_measured = n == TARGET["categories"] and merges == TARGET["merges"]
    at_target = lp_measured and abs(target_bytes / counted_bytes - 1) < 0.05
    result = {
        "label": ("measured at the target size (factor about 1)" if at_target else
                  "EXTRAPOLATION, not a measurement: build and counting scaled linearly in bytes from this run"),
        "to": {"categories": TARGET["categories"], "mb_per_category": TARGET["mb_per_category"], "bytes": target_bytes},
        "factor": target_bytes / counted_bytes,
        "build_seconds": stages["build"]["seconds"] * target_bytes / shard_bytes,
        "count_seconds_linear": count["seconds"] * target_bytes / counted_bytes,
        "count_seconds_fixed_plus_linear": fixed + variable * target_bytes / counted_bytes,
        "count_fixed_seconds": fixed,
        "count_at_merges": merges,
        "infer_seconds": stages["infer_local"]["seconds"] if lp_measured else None,
        "infer_note": ("measured in this run (N = 100, T = 30,000): the LP depends on N and T, not linearly on bytes"
                       if lp_measured else f"not extrapolated: the LP was measured at N = {n}, T = {merges:,}; run "
                       f"--categories 100 --merges 30000 (any --mb-per-category) to measure it"),
        "caveats": ["counting scaled from T = {:,}".format(merges) + ("" if merges == TARGET["merges"] else
                    " (the replay part grows with T; rerun at --merges 30000)"),
                    "repeated documents add no new words: replay time and memory on 100 MB of distinct text per "
                    "category are higher than on repeated text (see unique fractions)",
                    "count_seconds_fixed_plus_linear treats (stage wall - per-category seconds / workers) as a "
                    "fixed cost (start-up, imports, numba compilation); each category also has a fixed cost "
                    "(numba warm-up in each worker, hashing, cache and trace files), so from categories of a few MB "
                    "both figures overstate the time at 100 MB",
                    "with more than 59 categories, category src-2 samples the same documents as src: near-identical "
                    "columns in the LP, unlike 100 distinct categories"],
    }
    if result["infer_seconds"] is not None:
        result["count_plus_infer_seconds"] = result["count_seconds_fixed_plus_linear"] + result["infer_seconds"]
        result["meets_30_min"] = result["count_plus_infer_seconds"] <= TARGET["minutes"] * 60
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--categories", type=int, required=True, help="number of categories N")
    parser.add_argument("--mb-per-category", type=float, required=True, help="MB (1e6 bytes) of text per category")
    parser.add_argument("--merges", type=int, required=True, help="merges T counted and inferred")
    parser.add_argument("--tokenizer", default=str(ROOT / "fixtures/tokenizers/gpt2/vocab.bpe.gz"),
                        help="tokenizer file with at least T merges [default: GPT-2, 50,000 merges]")
    parser.add_argument("--work", type=Path, default=HERE / "_work" / "paper-scale",
                        help="shards, manifest, built set, traces, caches and logs [default: benchmarks/_work/...]")
    parser.add_argument("--ray", action="store_true", help="count and infer again on a local Ray and compare")
    parser.add_argument("--ray-address", help="an existing Ray cluster instead of one started by each command")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shard order and of the build")
    parser.add_argument("--workers", type=int, help="--workers of every stage [default: the commands' own]")
    parser.add_argument("--shards-per-category", type=int, default=8, help="shards per M MB of text")
    parser.add_argument("--compression", choices=("zst", "gz"), default="zst")
    parser.add_argument("--out", type=Path, help="result JSON [default: benchmarks/results/paper-scale/"
                                                 "paper-scale-N-M.json]")
    args = parser.parse_args()
    if args.ray:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise SystemExit("--ray needs ray in this environment: pip install 'forensics[ray]'") from None

    from forensics._results import file_sha256, provenance, write_json
    from forensics.bpe.formats import load_tokenizer

    started = time.perf_counter()
    load_start = os.getloadavg()
    tokenizer = Path(args.tokenizer).resolve()
    num_merges = load_tokenizer(tokenizer).num_merges
    if num_merges < args.merges:
        raise SystemExit(f"{tokenizer} has {num_merges:,} merges, fewer than --merges {args.merges:,}")
    work = args.work.resolve()
    n, mb, merges = args.categories, args.mb_per_category, args.merges
    workers = args.workers or len(os.sched_getaffinity(0))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
          f"{platform.platform()}; load average at start {load_start[0]:.2f}", flush=True)
    print(f"versions: {', '.join(f'{k} {v}' for k, v in versions().items())}", flush=True)

    # 1. shards and manifest
    plans = plan_categories(n)
    shard_bytes = int(mb * 1_000_000 / args.shards_per_category)
    goal = int(mb * 1_000_000 * 1.05) + shard_bytes  # each split must reach M/2 after a file-by-file split
    jobs = [{"format": SHARD_FORMAT, "name": p["name"], "source": p["source"], "seed": args.seed, "goal_bytes": goal,
             "shard_bytes": shard_bytes, "compression": args.compression, "folder": str(work / "shards" / p["name"]),
             "files": [str(f) for f in p["files"]]} for p in plans]
    print(f"shards: {n} categories, {goal / 1e6:.2f} MB of text each in shards of {shard_bytes / 1e6:.2f} MB "
          f"under {work / 'shards'}", flush=True)
    shards_started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        made = list(pool.map(make_shards, jobs))
    shards_seconds = time.perf_counter() - shards_started
    manifest = write_manifest(work, plans, compression=args.compression, mb=mb)
    shard_text = sum(m["text_bytes"] for m in made)
    shard_unique = sum(m["unique_text_bytes"] for m in made)
    shard_global = _unique_across([m.pop("unique_texts") for m in made])
    repeated = [m["name"] for m in made if m["unique_text_bytes"] < m["text_bytes"]]
    print(f"  {shard_text / 1e6:,.1f} MB of text in {sum(m['shards'] for m in made)} shards "
          f"({_du(work / 'shards') / 1e6:,.1f} MB on disk), {shard_unique / shard_text:.1%} unique within "
          f"categories, {shard_global / shard_text:.1%} across them; "
          f"{len(repeated)} of {n} categories repeat their documents; {shards_seconds:.1f} s "
          f"({sum(m['reused'] for m in made)} reused)", flush=True)

    # 2. the stages, each from scratch
    for stale in ("set", "traces-local", "traces-ray", "cache-local", "cache-ray", "logs"):
        shutil.rmtree(work / stale, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("FORENSICS_CACHE", "RAY_ADDRESS")}
    local_env = {**env, "FORENSICS_CACHE": str(work / "cache-local")}
    extra = ["--workers", str(args.workers)] if args.workers else []
    logs = work / "logs"
    stages: dict[str, dict] = {}
    stages["build"] = run_stage("build", ["categories", "build", "--from", str(manifest), "--out", str(work / "set"),
                                          "--mb-per-category", f"{mb:g}", "--seed", str(args.seed), *extra],
                                env=local_env, logs=logs)
    built_meta = json.loads((work / "set" / "provenance.json").read_text())
    built = {c["name"]: c for c in built_meta["categories"]}
    missing = [p["name"] for p in plans if p["name"] not in built]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        uniques = dict(zip(built, pool.map(built_unique, [str(work / "set" / name) for name in built])))
    built_bytes = sum(u["bytes"] for u in uniques.values())
    built_unique_bytes = sum(u["unique_bytes"] for u in uniques.values())
    built_global = _unique_across([u.pop("unique_texts") for u in uniques.values()])
    smallest = min(c["train_bytes"] + c["count_bytes"] for c in built.values())
    print(f"    built {len(built)} of {n} categories, {built_bytes / 1e6:,.1f} MB ({smallest / 1e6:.2f} MB the "
          f"smallest), {built_unique_bytes / built_bytes:.1%} unique within categories, "
          f"{built_global / built_bytes:.1%} across them; skipped: {built_meta['skipped'] or 'none'}",
          flush=True)

    def count_and_infer(kind: str, backend: list[str], stage_env: dict[str, str]) -> None:
        count = run_stage(f"count_{kind}", ["count", str(tokenizer), "--categories", str(work / "set"), "--merges",
                                            str(merges), "--out", str(work / f"traces-{kind}"), "--json",
                                            *backend, *extra], env=stage_env, logs=logs)
        count["categories"] = json.loads(count.pop("stdout"))["categories"]
        infer = run_stage(f"infer_{kind}", ["infer", str(tokenizer), "--categories", str(work / "set"), "--merges",
                                            str(merges), "--json", *backend, *extra], env=stage_env, logs=logs)
        estimate = json.loads(infer.pop("stdout"))
        d = estimate["diagnostics"]
        infer.update({"counting_seconds": d["counting_seconds"], "estimating_seconds": d["estimating_seconds"],
                      "lp_solves": d["lp_solves"], "removal_tries": d["removal_tries"],
                      "dropped_categories": len(d["dropped_categories"] or []),
                      # diagnostics describe the last LP solve only, not the removal tries before it
                      "last_solve": {"solver_seconds": d["solver_seconds"], "scan_seconds": d["scan_seconds"],
                                     "rounds": d["rounds"], "rows_final": d["rows_final"]},
                      "status": d["status"], "objective": d["objective"],
                      "read_from_cache": all(r["cached"] for r in estimate["categories"]),
                      "shares": estimate["shares"], "warnings": estimate["warnings"]})
        stages[f"count_{kind}"], stages[f"infer_{kind}"] = count, infer

    count_and_infer("local", [], local_env)
    comparison = None
    if args.ray:
        ray_env = {**env, "FORENSICS_CACHE": str(work / "cache-ray")}
        backend = ["--backend", "ray"] + (["--ray-address", args.ray_address] if args.ray_address else [])
        count_and_infer("ray", backend, ray_env)
        comparison = compare_runs(list(built), work / "traces-local", work / "traces-ray",
                                  stages["infer_local"]["shares"], stages["infer_ray"]["shares"])
        comparison["objective_identical"] = stages["infer_local"]["objective"] == stages["infer_ray"]["objective"]
    load_end = os.getloadavg()
    counted = sum(r["bytes"] for r in stages["count_local"]["categories"])
    extrapolation = extrapolate(stages=stages, shard_bytes=shard_text, counted_bytes=counted, n=n, merges=merges,
                                workers=workers)
    result = {
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
                    "usable_cpus": len(os.sched_getaffinity(0)), "load_average_start": list(load_start),
                    "load_average_end": list(load_end)},
        "versions": versions(),
        "parameters": {"categories": n, "mb_per_category": mb, "merges": merges, "tokenizer": str(tokenizer),
                       "tokenizer_merges": num_merges, "seed": args.seed, "workers": args.workers,
                       "ray": args.ray, "ray_address": args.ray_address, "shards_per_category": args.shards_per_category,
                       "compression": args.compression, "work": str(work)},
        "note": "one run per stage; wall time of each `forensics` process (imports, numba compilation and Ray "
                "start included); peak_tree_mb sums resident memory over the process tree (shared pages once per "
                "process), sampled every 0.1 s; peak_process_mb is the largest single process (wait4); other jobs "
                "may share the machine (load averages)",
        "shards": {"seconds": round(shards_seconds, 3), "text_bytes": shard_text, "unique_text_bytes": shard_unique,
                   "unique_fraction": shard_unique / shard_text, "unique_text_bytes_across_categories": shard_global,
                   "unique_fraction_across_categories": shard_global / shard_text,
                   "distinct_sources": len({p["source"] for p in plans}), "files": sum(m["shards"] for m in made),
                   "disk_bytes": _du(work / "shards"), "categories_repeating": len(repeated),
                   "dedup": "none (the manifest keeps repeated documents)", "per_category": made},
        "built": {"categories": len(built), "missing": missing, "skipped": built_meta["skipped"],
                  "text_bytes": built_bytes, "unique_text_bytes": built_unique_bytes,
                  "unique_fraction": built_unique_bytes / built_bytes,
                  "unique_text_bytes_across_categories": built_global,
                  "unique_fraction_across_categories": built_global / built_bytes, "smallest_category_bytes": smallest,
                  "disk_bytes": _du(work / "set"), "per_category": uniques},
        "stages": stages,
        "counted_bytes": counted,
        "disk_bytes": {name: _du(work / name) for name in ("shards", "set", "cache-local", "traces-local",
                                                          "cache-ray", "traces-ray")},
        "ray_comparison": comparison,
        "extrapolation": extrapolation,
        "total_seconds": round(time.perf_counter() - started, 3),
        "provenance": provenance(command="benchmarks/bench_paper_scale.py", parameters=vars(args) | {
            "work": str(work), "out": str(args.out) if args.out else None},
            inputs={tokenizer.name: file_sha256(tokenizer), "manifest.toml": file_sha256(manifest)}, seed=args.seed),
    }
    out = args.out or HERE / "results" / "paper-scale" / f"paper-scale-{n}-{mb:g}.json"
    write_json(out, result)
    print_summary(result)
    print(f"wrote {out}")


def print_summary(result: dict) -> None:
    p, s, b, st = result["parameters"], result["shards"], result["built"], result["stages"]
    m = result["machine"]
    print(f"\n### {p['categories']} categories x {p['mb_per_category']:g} MB, T = {p['merges']:,} "
          f"({Path(p['tokenizer']).name})\n")
    print(f"{m['machine']}, {m['usable_cpus']} usable CPUs, load average {m['load_average_start'][0]:.2f} -> "
          f"{m['load_average_end'][0]:.2f}; " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()))
    print(f"\ntext: {s['text_bytes'] / 1e6:,.1f} MB in {s['files']} shards from {s['distinct_sources']} source "
          f"categories, {s['unique_fraction']:.1%} unique within categories ({s['categories_repeating']} of "
          f"{p['categories']} repeat documents), {s['unique_fraction_across_categories']:.1%} across them; built set "
          f"{b['text_bytes'] / 1e6:,.1f} MB, {b['unique_fraction']:.1%} unique within categories, "
          f"{b['unique_fraction_across_categories']:.1%} across them\n")
    print("| stage | s | peak MB (tree) | largest process MB | notes |")
    print("|---|---|---|---|---|")
    print(f"| shards (made by this script) | {s['seconds']:.1f} | | | {s['disk_bytes'] / 1e6:,.1f} MB on disk |")
    notes = {"build": f"{b['categories']} categories, {b['disk_bytes'] / 1e6:,.1f} MB on disk"}
    for name, stage in st.items():
        if name.startswith("count"):
            notes[name] = f"{result['counted_bytes'] / 1e6 / stage['seconds']:.1f} MB/s"
        elif name.startswith("infer"):
            notes[name] = (f"counting (cache read) {stage['counting_seconds']:.1f} s, estimating "
                           f"{stage['estimating_seconds']:.1f} s ({stage['lp_solves']} solutions kept, "
                           f"{stage['removal_tries']} removal tries), {stage['status']}")
        print(f"| {name} | {stage['seconds']:.1f} | {stage['peak_tree_mb']:,.0f} | {stage['peak_process_mb']:,.0f} | "
              f"{notes[name]} |")
    c = result["ray_comparison"]
    if c is not None:
        print(f"\nRay against local: {c['traces_compared']} traces "
              f"{'identical' if c['traces_identical'] else 'DIFFERENT: ' + ', '.join(c['traces_differing'])}; shares "
              f"{'identical' if c['shares_identical'] else 'DIFFERENT (max |diff| %.3g)' % c['shares_max_abs_difference']}")
    e = result["extrapolation"]
    lp = f"{e['infer_seconds']:.0f} s (measured)" if e["infer_seconds"] is not None else "not extrapolated"
    print(f"\n{e['label']} (x{e['factor']:,.0f} in bytes): build {e['build_seconds'] / 60:.1f} min, count "
          f"{e['count_seconds_fixed_plus_linear'] / 60:.1f} min (fixed + linear; {e['count_seconds_linear'] / 60:.1f} "
          f"min all linear) at T = {e['count_at_merges']:,}; LP {lp}")
    print(f"\nwhole run (shards, stages, checks): {result['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
