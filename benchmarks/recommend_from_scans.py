"""Measurements in, weights out: scan candidate sources, infer a tokenizer's mixture, recommend source weights.

The worked example of issue 20 item 3, on bundled text only. Four candidate sources are made of the ``count``
split of bundled categories (real text from Debian, npm and PyPI packages; see fixtures/SOURCES.md), so they are
disjoint from the ``train`` split the profiles and the inference use:

- ``english``: en; ``european``: de, fr, es; ``cjk_ru``: zh, ja, ru; ``code``: python, c, javascript.

Then, with the forensics CLI (each command is printed before it runs):

1. ``forensics profiles build`` over those 10 categories (the scans classify documents with them);
2. ``forensics scan`` each source with GPT-2's tokenizer: byte shares per category and tokens;
3. ``forensics infer`` GPT-2's merges (the first 1,000) over the same categories: the target mixture;
4. ``forensics recommend match`` the target from the four scans under a token budget and epoch caps: source
   weights and the residual per category; ``forensics recommend heuristic`` the same sources for comparison.

    .venv/bin/python benchmarks/recommend_from_scans.py [--work DIR] [--budget 200k] [--max-epochs 4]
        [--write benchmarks/results/recommend.md]

About 1-2 minutes on 2 shared cores (most of it building the profiles). With --write, the section "From scans to
weights" of that file is replaced (or appended) with what this run printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.fspath(ROOT))

from cli.main import main as forensics  # noqa: E402
from forensics import __version__  # noqa: E402

TOKENIZER = ROOT / "fixtures/tokenizers/gpt2/vocab.bpe.gz"
SOURCES = {"english": [("languages", "en")],
           "european": [("languages", "de"), ("languages", "fr"), ("languages", "es")],
           "cjk_ru": [("languages", "zh"), ("languages", "ja"), ("languages", "ru")],
           "code": [("code", "python"), ("code", "c"), ("code", "javascript")]}
HEADING = "## From scans to weights: the worked example (issue 20 item 3)"


def run(args: list[str], say, *, quiet: bool = False) -> str:
    """Run one forensics command in this process, print it (and, unless ``quiet``, its output)."""
    shown = " ".join(shlex.quote(a) for a in args)
    say(f"$ forensics {shown}")
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = forensics(args)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"forensics {shown} failed ({code}): {err.getvalue().strip()}")
    if not quiet:
        for line in (out.getvalue() + err.getvalue()).rstrip("\n").splitlines():
            say(line)
    say(f"({seconds:.1f} s)")
    say()
    return out.getvalue()


def build_inputs(work: Path) -> tuple[Path, dict[str, Path]]:
    """The category directory (the train split is read by profiles and infer) and one directory per source."""
    categories = work / "categories"
    sources = {}
    for name, members in SOURCES.items():
        directory = work / "sources" / name
        directory.mkdir(parents=True, exist_ok=True)
        for category_set, category in members:
            bundled = ROOT / "fixtures/categories" / category_set / category
            shutil.copytree(bundled, categories / category, dirs_exist_ok=True)
            shutil.copyfile(bundled / "count.jsonl.gz", directory / f"{category}.jsonl.gz")
        sources[name] = directory
    return categories, sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="keep the scans, the target and the results here (default: a temp dir)")
    parser.add_argument("--budget", default="200k", help="training tokens [200k]")
    parser.add_argument("--max-epochs", default="4", help="most repeats of any source [4]")
    parser.add_argument("--merges", default="1000", help="infer window: the first N merges [1000]")
    parser.add_argument("--write", help="replace (or append) this example's section in a markdown file")
    args = parser.parse_args()
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    write = Path(args.write).resolve() if args.write else None
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="forensics-recommend-"))
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)  # the commands below name paths relative to the work directory
    shutil.copytree(TOKENIZER.parent, "gpt2", dirs_exist_ok=True)  # so the commands read gpt2/vocab.bpe.gz
    tokenizer = f"gpt2/{TOKENIZER.name}"
    categories, sources = build_inputs(Path("."))
    say(HEADING)
    say()
    say(f"forensics {__version__}, Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} "
        f"cores (shared). Script: `benchmarks/recommend_from_scans.py --budget {args.budget} --max-epochs "
        f"{args.max_epochs}`, run in a work directory holding a copy of `fixtures/tokenizers/gpt2` as `gpt2/`; "
        "sources are the `count` split of bundled categories "
        "(english: en; european: de, fr, es; cjk_ru: zh, ja, ru; code: python, c, javascript), the profiles and "
        "the inference read the `train` split.")
    say()
    say("```")
    start = time.perf_counter()
    run(["profiles", "build", "--categories", os.fspath(categories), "-o", "profiles.npz"], say)
    for name, directory in sources.items():
        run(["scan", os.fspath(directory), "--profiles", "profiles.npz", "--tokenizer", tokenizer,
             "--out", f"scans/{name}", "--workers", "1", "--no-progress"], say, quiet=True)
        summary = json.loads(Path(f"scans/{name}/summary.json").read_text(encoding="utf-8"))
        shares = {c: s for c, s in summary["shares"]["bytes"].items() if s >= 0.005}
        say(f"  {name}: {summary['totals']['bytes']:,} bytes, {summary['totals']['tokens']:,} GPT-2 tokens; "
            + ", ".join(f"{c} {s:.1%}" for c, s in sorted(shares.items(), key=lambda kv: -kv[1])))
        say()
    run(["infer", tokenizer, "--categories", os.fspath(categories), "--merges", args.merges, "--workers", "1",
         "-o", "gpt2_mixture.json"], say, quiet=True)
    target = json.loads(Path("gpt2_mixture.json").read_text(encoding="utf-8"))["shares"]
    say("  GPT-2 (first " + args.merges + " merges), byte shares: "
        + ", ".join(f"{c} {s:.1%}" for c, s in sorted(target.items(), key=lambda kv: -kv[1]) if s > 0))
    say()
    source_options = [option for name in sources for option in ("--source", f"{name}=scans/{name}")]
    run(["recommend", "match", "gpt2_mixture.json", *source_options, "--budget", args.budget, "--max-epochs",
         args.max_epochs, "-o", "match.json"], say)
    run(["recommend", "heuristic", *source_options, "--budget", args.budget, "--max-epochs", args.max_epochs,
         "--method", "unimax"], say)
    say("```")
    say()
    result = json.loads(Path("match.json").read_text(encoding="utf-8"))
    worst = max(result["residual"], key=lambda c: abs(result["residual"][c]))
    say(f"Whole example: {time.perf_counter() - start:.0f} s. The match puts {result['weights']['english']:.1%} "
        f"of the tokens on `english`, its cap ({result['caps']['english']:.3f} = {args.max_epochs} epochs of its "
        f"{result['sources']['english']['tokens']:,} tokens over the budget), and still falls short of the "
        f"target's en by {-result['residual']['en']:.1%} of bytes; the largest residual is {worst} "
        f"({result['residual'][worst]:+.1%}). L1 distance to the target {result['distance']:.3f}. Weights are "
        "token shares; byte shares differ by each source's bytes per token (GPT-2 spends more tokens per byte on "
        "zh, ja and ru than on en).")
    if write is not None:
        sys.path.insert(0, os.fspath(ROOT / "benchmarks"))
        from bench_regmix import replace_section

        replace_section(write, lines)


if __name__ == "__main__":
    main()
