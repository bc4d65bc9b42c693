"""The README's promise, for every command: bad input gets one line `error: ...`, exit 2, no traceback,
and nothing written (issue 19)."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from cli.main import group, main

ROOT = Path(__file__).resolve().parents[1]
GPT2 = os.fspath(ROOT / "fixtures/tokenizers/gpt2/vocab.bpe.gz")

# Every leaf command with bad inputs: {garbage} is 3 KB of random bytes, {empty} an empty file, {missing}
# a path that does not exist, {dir} an empty directory, {out} an output path that must not appear; the
# manifests (`categories build --from`) are MANIFESTS below.
CASES: dict[str, list[list[str]]] = {
    "inspect": [["{garbage}"], ["{empty}"], ["{missing}"], ["{dir}"]],
    "compare": [["{garbage}", GPT2], [GPT2, "{missing}"]],
    "count": [["{garbage}", "--out", "{out}"], [GPT2, "--categories", "{missing}", "--out", "{out}"],
              [GPT2, "--merges", "-1", "--out", "{out}"]],
    "count-pairs": [["{missing}"], ["{garbage}", "--tokenizer", "{garbage}"], ["{empty}", "--batch-mb", "0"],
                    ["{empty}", "--tokenizer", "{empty}"], ["{empty}", "--tokenizer", "{dir}"],
                    ["{empty}", "--pretokenizer", "gpt2"], ["{empty}", "--tokenizer", GPT2, "--pretokenizer", "nope("]],
    "infer": [["{garbage}"], [GPT2, "--categories", "{garbage}"], [GPT2, "--confidence", "1.5"],
              [GPT2, "--min-share", "2"], [GPT2, "--method", "nope"], [GPT2, "-o", "{out}", "--merges", "-3"],
              [GPT2, "-o", "{out}", "--group", "non-English"], [GPT2, "-o", "{out}", "--group", "g=@nope"],
              [GPT2, "-o", "{out}", "--group", "g=enn"], [GPT2, "-o", "{out}", "--group", "g=en,-en"],
              [GPT2, "-o", "{out}", "--group", "g=en", "--group", "g=de"]],
    "merge": [["{dir}"]],
    "scan": [["{missing}", "-o", "{out}"], ["{garbage}", "--profiles", "{garbage}", "-o", "{out}"],
             ["{garbage}", "--threshold", "3", "-o", "{out}"], ["{garbage}", "--max-bytes", "-5", "-o", "{out}"]],
    "suggest-runs": [["--from-runs", "{garbage}"], ["--prior", "{empty}"], ["--sources", "a,b", "-n", "0"]],
    "categories list": [["--bogus"]],
    "categories show": [["{missing}"]],
    "categories quality": [["{garbage}"]],
    "categories build": [["--source", "nope", "--out", "{out}"],
                         ["--source", "domains", "--mb-per-category", "0", "--out", "{out}"],
                         # --source takes a recipe name: NAME=DIR is refused as an unknown recipe
                         ["--source", "de={dir}", "--out", "{out}"], ["--source", "de={missing}", "--out", "{out}"],
                         ["--from", "{missing}", "--out", "{out}"], ["--from", "{unknown_key}", "--out", "{out}"],
                         ["--from", "{missing_source}", "--out", "{out}"],
                         ["--from", "{empty_source}", "--out", "{out}"]],
    "profiles build": [["--categories", "{missing}", "-o", "{out}"]],
    "recommend cpt": [["{garbage}"], ["{empty}"]],
    "recommend heuristic": [["{garbage}"], ["{empty}"], ["{missing}"]],
    "recommend match": [["{garbage}"], ["{empty}"]],
    "recommend parity": [["{garbage}"], ["{missing}"]],
    "recommend runs": [["{garbage}", "--target", "loss"], ["{empty}", "--target", "loss"]],
}

# Manifests for `categories build --from`, written beside the other inputs.
MANIFESTS = {
    "unknown_key": '[categories.de]\ngroup = "language"\nsources = ["empty.txt"]\ncolour = "red"\n',
    "missing_source": '[categories.de]\ngroup = "language"\nsources = ["nowhere/de.jsonl"]\n',
    "empty_source": '[categories.de]\ngroup = "language"\nsources = ["dir"]\n',
}


def _leaf_commands(command: click.Command, prefix: str = "") -> list[str]:
    if isinstance(command, click.Group):
        return [name for sub, child in sorted(command.commands.items())
                for name in _leaf_commands(child, f"{prefix} {sub}".strip())]
    return [prefix]


def test_every_command_has_bad_input_cases():
    assert sorted(_leaf_commands(group)) == sorted(CASES)


@pytest.mark.parametrize("command, args", [(c, a) for c, cases in CASES.items() for a in cases],
                         ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_bad_input_is_one_error_line_and_exit_2(command, args, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", os.fspath(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    (work / "garbage.bin").write_bytes(bytes(range(256)) * 12)
    (work / "empty.txt").write_bytes(b"")
    (work / "dir").mkdir()
    names = {"garbage": "garbage.bin", "empty": "empty.txt", "missing": "missing.txt", "dir": "dir", "out": "out"}
    for name, text in MANIFESTS.items():
        (work / f"{name}.toml").write_text(text)
        names[name] = f"{name}.toml"
    argv = command.split() + [a.format(**{k: os.fspath(work / v) for k, v in names.items()}) for a in args]
    before = sorted(p.relative_to(work) for p in work.rglob("*"))
    monkeypatch.chdir(work)
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    assert sorted(p.relative_to(work) for p in work.rglob("*")) == before  # nothing written


@pytest.mark.parametrize("manifest", ["missing", *MANIFESTS])
def test_manifest_errors_name_the_manifest(manifest, tmp_path, capsys, monkeypatch):
    """`categories build --from`: the one line names the manifest, the problem and what to do."""
    monkeypatch.setenv("FORENSICS_CACHE", os.fspath(tmp_path / "cache"))
    (tmp_path / "dir").mkdir()
    (tmp_path / "empty.txt").write_bytes(b"")
    path = tmp_path / f"{manifest}.toml"
    if manifest in MANIFESTS:
        path.write_text(MANIFESTS[manifest])
    assert main(["categories", "build", "--from", os.fspath(path), "--out", os.fspath(tmp_path / "out")]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"error: {path}: ") and "; " in line, line
    assert not (tmp_path / "out").exists()
