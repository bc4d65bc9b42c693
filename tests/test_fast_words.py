"""The fast word counter (forensics.counting.fast_words) against the reference pre-tokenizer, word for word."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import load_tokenizer
from forensics.bpe.pretokenize import PreTokenizer, Split
from forensics.counting.fast_words import WHITESPACE_PATTERN, count_texts, supported
from forensics.counting.words import count_words

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
COVERED = ["gpt2", "r50k", "p50k", "claude", "cl100k", "llama3", "o200k", "tekken", "whitespace"]
REAL = {
    "gpt2": FIXTURES / "tokenizers/gpt2/vocab.bpe.gz",
    "claude": FIXTURES / "tokenizers/claude/claude.json.gz",
    "tekken": FIXTURES / "tokenizers/tekken/tekken_240911.first6000.json.gz",
    "r50k_base": FIXTURES / "tokenizers/tiktoken/r50k_base.tiktoken.gz",
    "cl100k_base": FIXTURES / "tokenizers/tiktoken/cl100k_base.tiktoken.gz",
    "o200k_base": FIXTURES / "tokenizers/tiktoken/o200k_base.tiktoken.gz",
}
SENTENCEPIECE = [FIXTURES / "tokenizers/sentencepiece/botchan_en_bpe_1000.model",
                 FIXTURES / "tokenizers/sentencepiece/mistral-tokenizer.model.v1"]


def reference(texts: list[str], rules: PreTokenizer) -> dict[str, int]:
    counter: Counter = Counter()
    for text in texts:
        counter.update(rules.split(text))
    return dict(counter)


@lru_cache(maxsize=1)
def real_texts() -> tuple[str, ...]:
    """Every category's count sample (many languages, code, domains) plus the UDHR sample (many scripts)."""
    texts = [(FIXTURES / "text/udhr-sample.txt").read_text(encoding="utf-8")]
    for path in sorted(FIXTURES.glob("categories/*/*/count.jsonl.gz")) + sorted(
            FIXTURES.glob("categories/languages-wide/*.count.jsonl.gz"))[:40]:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    return tuple(texts)


@lru_cache(maxsize=None)
def real_rules(name: str) -> PreTokenizer:
    return load_tokenizer(REAL[name]).training_pretokenizer


@pytest.mark.parametrize("name", COVERED)
def test_presets_are_covered(name):
    assert supported(PreTokenizer.preset(name))


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_tokenizers_are_covered(name):
    if not REAL[name].exists():
        pytest.skip(f"{REAL[name]} not bundled")
    assert supported(real_rules(name))


@pytest.mark.parametrize("name", ["r50k", "claude", "cl100k", "llama3", "o200k", "tekken", "whitespace"])
def test_real_text_identical(name):
    texts = list(real_texts())
    rules = PreTokenizer.preset(name)
    assert count_texts(texts, rules) == reference(texts, rules)


def test_count_words_identical_and_default_fast(tmp_path):
    paths = [FIXTURES / "text/udhr-sample.txt", *sorted(FIXTURES.glob("categories/code/*/count.jsonl.gz"))[:3]]
    for name in ["gpt2", "o200k"]:
        rules = PreTokenizer.preset(name)
        slow = count_words(paths, pretokenizer=rules, fast=False, workers=1)
        fast = count_words(paths, pretokenizer=rules)
        assert fast.words == slow.words
        assert fast.counts.tolist() == slow.counts.tolist()
        assert fast.counts.dtype.itemsize == 8 and fast.bytes == slow.bytes and fast.documents == slow.documents


# characters where the patterns' alternatives meet: contraction letters and their case folds (long s, Kelvin),
# every kind of whitespace (\x1c-\x1f and \x85 are \s in Python), marks (Mn, Mc, Me), Lt/Lm/Lo, digits of several
# scripts (Nd, Nl, No), emoji with modifiers and ZWJ, CJK, a lone surrogate, punctuation and '/'
ALPHABET = list("aZsStTdDmMlLvVeErRxX'’\"/.,!-_()") + [
    " ", "  ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000",
    "\u017f", "\u212a", "\u0301", "\u0903", "\u20dd", "\u01c5", "\u02b0", "\u00e9", "\u00c9", "\u0416", "\u0436",
    "0", "7", "\u0663", "\u00b2", "\u216b", "\u2460", "\U0001F600", "\U0001F3FB", "\u200d", "\u2764\ufe0f",
    "\u4e2d", "\u65e5\u672c", "\u3042", "\uac00", "\u0627\u0644", "\u0915\u093f", "\U00020000", "\ud800", "\x00",
]
TEXTS = st.lists(st.one_of(st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join),
                           st.text(max_size=30)), min_size=1, max_size=6)


@pytest.mark.parametrize("name", ["r50k", "claude", "cl100k", "llama3", "o200k", "tekken", "whitespace"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=TEXTS)
def test_random_unicode_identical(name, texts):
    rules = PreTokenizer.preset(name)
    assert count_texts(texts, rules) == reference(texts, rules)


@pytest.mark.parametrize("rules", [
    PreTokenizer.preset("metaspace"),
    PreTokenizer.preset("none"),
    PreTokenizer.from_option(r"\w+|\W+"),
    replace(PreTokenizer.preset("cl100k"), normalizer="NFKC"),
    replace(PreTokenizer.preset("gpt2"), add_prefix_space=True),
    replace(PreTokenizer.preset("o200k"), steps=PreTokenizer.preset("o200k").steps + (("digits", True),)),
    PreTokenizer(steps=(("split", Split(WHITESPACE_PATTERN, "removed")),)),
    PreTokenizer(steps=(("split", Split(WHITESPACE_PATTERN, invert=True)),)),
], ids=["metaspace", "none", "custom-regex", "normalizer", "prefix-space", "digits", "removed", "invert"])
def test_unsupported_rules_fall_back(rules):
    texts = ["Hello  world\u0301 12345 ﬁ", "", "x\n\n y"]
    assert not supported(rules)
    assert count_texts(texts, rules) == reference(texts, rules)


@pytest.mark.parametrize("path", SENTENCEPIECE, ids=lambda p: p.name)
def test_sentencepiece_falls_back(path):
    rules = load_tokenizer(path).training_pretokenizer
    assert not supported(rules)
    fast = count_words([FIXTURES / "text/udhr-sample.txt"], pretokenizer=rules)
    slow = count_words([FIXTURES / "text/udhr-sample.txt"], pretokenizer=rules, fast=False, workers=1)
    assert fast.words == slow.words and fast.counts.tolist() == slow.counts.tolist()


# words alike for many code points (the sort compares three at a time), surrogates, NUL and astral characters
ALIKE = st.lists(st.lists(st.sampled_from(["a", "ab", "abc", "\x00", "\ud800", "\U0001F600", "\uffff", "é"]),
                          max_size=12).map("".join), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(ALIKE.map(" ".join), min_size=1, max_size=4))
def test_take_orders_words_as_python_sorts_them(batches):
    from forensics.counting.fast_words import WordTable, scan

    rules = PreTokenizer.preset("whitespace")
    expected = reference(batches, rules)
    table = WordTable()
    for text in batches:  # one batch per text: the table merges them
        table.add(scan([text], rules))
    words, counts = table.take(order="code points")
    assert words == sorted(expected) and counts.tolist() == [expected[w] for w in words]
    assert counts.dtype == np.int64
    again, none = table.take()  # the table was emptied
    assert again == [] and len(none) == 0


@pytest.mark.parametrize("name", ["gpt2", "o200k"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=TEXTS)
def test_take_keeps_first_occurrence_order(name, texts):
    rules = PreTokenizer.preset(name)
    assert list(count_texts(texts, rules).items()) == list(reference(texts, rules).items())
