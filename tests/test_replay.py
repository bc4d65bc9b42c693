"""Merge replay: the numba engine equals the pure-Python reference at every step, on generated and real text."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TOKENIZERS
from forensics import load_tokenizer
from forensics.counting.categories import count_categories
from forensics.counting.reference import apply_merge, count_all_pairs
from forensics.counting.replay import PairTrace, replay_merges
from forensics.counting.words import WordCounts, count_words


def assert_same(a: PairTrace, b: PairTrace) -> None:
    for name in ("merged_count", "initial_keys", "initial_counts", "delta_step", "delta_key", "delta_value"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.fixture(scope="module")
def gpt2():
    return load_tokenizer(TOKENIZERS / "gpt2/vocab.bpe.gz")


@pytest.fixture(scope="module")
def mistral():
    return load_tokenizer(TOKENIZERS / "sentencepiece/mistral-tokenizer.model.v1")


WORDS = st.lists(st.text(alphabet="ab c\n1é", min_size=1, max_size=12), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=WORDS, counts=st.lists(st.integers(1, 10**12), min_size=30, max_size=30))
def test_numba_equals_reference_on_generated_words(gpt2, words, counts):
    unique = sorted(set(words))
    wc = WordCounts(words=unique, counts=np.array(counts[:len(unique)], dtype=np.int64))
    assert_same(replay_merges(wc, gpt2, merges=400), replay_merges(wc, gpt2, merges=400, engine="reference"))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_numba_equals_reference_on_random_merge_lists(data):
    """Random symbol strings and random merge lists (including merges of absent pairs, repeats like aaaa)."""
    from forensics.counting._numba import replay_kernel
    from forensics.counting.reference import replay_reference

    words = data.draw(st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=10), min_size=1, max_size=8))
    counts = data.draw(st.lists(st.integers(1, 1000), min_size=len(words), max_size=len(words)))
    merges, next_id = [], 4
    for _ in range(data.draw(st.integers(1, 12))):
        merges.append((data.draw(st.integers(0, next_id - 1)), data.draw(st.integers(0, next_id - 1)), next_id))
        next_id += 1
    pairs = [(a << 32) | b for a, b, _ in merges]
    if len(set(pairs)) < len(pairs):
        return  # a pair merged twice is not a BPE merge list
    ref = replay_reference(words, counts, merges)
    lengths = np.array([len(w) for w in words], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    symbols = np.array([s for w in words for s in w], dtype=np.int32)
    keys, steps = np.unique(np.array(pairs, dtype=np.int64), return_index=True)
    merged, dstep, dkey, dval = replay_kernel(symbols, starts, lengths, np.array(counts, dtype=np.int64),
                                              np.array(merges, dtype=np.int64), keys, steps.astype(np.int64))
    assert merged.tolist() == ref["merged_count"]
    for t, change in enumerate(ref["deltas"]):
        mask = dstep == t
        assert dict(zip(dkey[mask].tolist(), dval[mask].tolist())) == change


@pytest.mark.parametrize("which", ["gpt2", "mistral"])
def test_numba_equals_reference_on_real_text(which, gpt2, mistral, udhr_text):
    tok = gpt2 if which == "gpt2" else mistral
    text = udhr_text[:20000] + "\n\n    x = 12345  67\t\t\n\n\n   \n" + "aaaaaaaa " * 20
    wc = count_words_from_text(text, tok)
    assert_same(replay_merges(wc, tok, merges=250), replay_merges(wc, tok, merges=250, engine="reference"))


def count_words_from_text(text, tok):
    from collections import Counter

    counter = Counter(tok.training_pretokenizer.split(text))
    words = sorted(counter)
    return WordCounts(words=words, counts=np.array([counter[w] for w in words], dtype=np.int64), bytes=len(text.encode()))


def test_trace_reconstructs_counts_at_every_step(gpt2, udhr_text):
    """c_p^(t) from the trace equals a direct recount after applying t merges."""
    wc = count_words_from_text(udhr_text[:8000], gpt2)
    trace = replay_merges(wc, gpt2, merges=120)
    words = [gpt2.initial_ids(w) for w in wc.words]
    for t, (a, b, c) in enumerate(trace.merges.tolist()):
        if t % 30 == 0:
            assert trace.counts_at(t) == {k: v for k, v in count_all_pairs(words, wc.counts.tolist()).items() if v}
        assert trace.merged_count[t] == count_all_pairs(words, wc.counts.tolist()).get((a << 32) | b, 0)
        assert trace.count_at(a, b, t) == trace.merged_count[t]
        words = [apply_merge(w, a, b, c) for w in words]


def test_word_counts_stream_files_and_report_invalid_utf8(tmp_path, gpt2):
    text = "hello world  hello\n\n    indented\nnext line 123 4567\n"
    (tmp_path / "a.txt").write_bytes(text.encode() * 50 + b"bad \xff\xfe bytes\n")
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(text.encode() * 50))
    (tmp_path / "c.jsonl").write_text('{"text": "hello jsonl"}\n{"text": "second doc"}\nnot json\n')
    wc = count_words(sorted(tmp_path.iterdir()), pretokenizer=gpt2.pretokenizer, workers=1)
    assert wc.invalid_utf8_sequences == 2 and wc.documents_with_invalid_utf8 == 1  # \xff and \xfe
    assert wc.documents == 4 and any("corrupt JSON" in p for p in wc.problems)
    whole = gpt2.pretokenizer.split(text * 50)
    counts = dict(zip(wc.words, wc.counts.tolist()))
    assert counts[" hello"] == 2 * whole.count(" hello") and counts["hello"] == 2 * whole.count("hello") + 1
    assert counts[" \ufffd\ufffd"] == 1
    # block-wise streaming gives the same words as one whole-text split
    small = count_words([tmp_path / "b.txt.gz"], pretokenizer=gpt2.pretokenizer, workers=1)
    from collections import Counter

    assert dict(zip(small.words, small.counts.tolist())) == Counter(whole)


def test_word_counts_parallel_equal_serial(tmp_path, gpt2, udhr_text):
    for i in range(4):
        (tmp_path / f"{i}.txt").write_text(udhr_text)
    one = count_words([tmp_path], pretokenizer=gpt2.pretokenizer, workers=1)
    two = count_words([tmp_path], pretokenizer=gpt2.pretokenizer, workers=2)
    assert one.words == two.words and np.array_equal(one.counts, two.counts)


def test_count_categories_cache_and_missing_merges(tmp_path, gpt2, udhr_text, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE", str(tmp_path / "cache"))
    paragraphs = udhr_text.split("\n\n")
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "english.txt").write_text(paragraphs[0])
    (tmp_path / "cats" / "russian.txt").write_text(paragraphs[4])
    first = count_categories(gpt2, tmp_path / "cats", merges=500, workers=2)
    assert [r.name for r in first.rows] == ["english", "russian"] and not any(r.cached for r in first.rows)
    again = count_categories(gpt2, tmp_path / "cats", merges=500, workers=1)
    assert all(r.cached for r in again.rows)
    assert_same(first.traces["english"], again.traces["english"])
    # GPT-2's early merges are English: many are unseen in Russian text
    assert first.rows[1].merges_missing > first.rows[0].merges_missing
    fresh = count_categories(gpt2, tmp_path / "cats", merges=500, cache=False)
    assert_same(first.traces["russian"], fresh.traces["russian"])


def test_empty_category_is_a_clear_error(tmp_path, gpt2):
    from forensics import ForensicsError

    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "empty.txt").write_text("")
    (tmp_path / "cats" / "full.txt").write_text("some text here")
    with pytest.raises(ForensicsError, match="empty"):
        count_categories(gpt2, tmp_path / "cats", merges=10, cache=False, workers=1)


def test_trace_save_load_round_trip(tmp_path, gpt2, udhr_text):
    trace = replay_merges(count_words_from_text(udhr_text[:3000], gpt2), gpt2, merges=100)
    trace.save(tmp_path / "t.npz")
    assert_same(trace, PairTrace.load(tmp_path / "t.npz"))


@pytest.mark.parametrize("which", ["gpt2", "mistral"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(st.text(max_size=8) | st.sampled_from(["\ud800x", "\U0001F600", "\x00", "ﬁ", "日本"]),
                      max_size=20))
def test_encode_words_equals_initial_ids(which, gpt2, mistral, words):
    from forensics.counting.replay import encode_words

    tok = gpt2 if which == "gpt2" else mistral
    try:
        expected = [tok.initial_ids(w) for w in words]
    except KeyError:
        with pytest.raises(KeyError):
            encode_words(words, tok)
        return
    symbols, starts, lengths = encode_words(words, tok)
    assert symbols.dtype == np.int32 and starts.dtype == lengths.dtype == np.int64
    assert [symbols[s:s + n].tolist() for s, n in zip(starts, lengths)] == expected
    assert len(symbols) == sum(map(len, expected))


@settings(max_examples=100, deadline=None)
@given(words=st.lists(st.lists(st.integers(0, 5) | st.integers(0, 2**31 - 1), max_size=12), max_size=12),
       data=st.data())
def test_initial_pair_counts_equal_reference(words, data):
    """The numba pair table against count_all_pairs (many distinct pairs: the table grows)."""
    from forensics.counting._numba import initial_pair_counts

    counts = data.draw(st.lists(st.integers(0, 10**15), min_size=len(words), max_size=len(words)))
    lengths = np.array([len(w) for w in words], dtype=np.int64)
    starts = (np.cumsum(lengths) - lengths).astype(np.int64)
    symbols = np.array([s for w in words for s in w], dtype=np.int32)
    keys, sums = initial_pair_counts(symbols, starts, lengths, np.array(counts, dtype=np.int64))
    expected = count_all_pairs(words, counts)
    assert keys.tolist() == sorted(expected) and sums.tolist() == [expected[k] for k in sorted(expected)]


@pytest.mark.parametrize("node_type", [np.int32, np.int64])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_replay_index_grows_and_reuses_nodes(node_type, data):
    """The kernel from a one-node index (it grows, and walked lists' nodes serve again), with 32- and
    64-bit node numbers, equals the reference."""
    from forensics.counting._numba import _replay
    from forensics.counting.reference import replay_reference

    words = data.draw(st.lists(st.lists(st.integers(0, 2), min_size=1, max_size=12), min_size=1, max_size=8))
    counts = data.draw(st.lists(st.integers(1, 1000), min_size=len(words), max_size=len(words)))
    merges, next_id, seen = [], 3, set()
    for _ in range(data.draw(st.integers(1, 14))):
        a, b = data.draw(st.integers(0, next_id - 1)), data.draw(st.integers(0, next_id - 1))
        if (a, b) not in seen:
            seen.add((a, b))
            merges.append((a, b, next_id))
            next_id += 1
    ref = replay_reference(words, counts, merges)
    lengths = np.array([len(w) for w in words], dtype=np.int64)
    starts = (np.cumsum(lengths) - lengths).astype(np.int64)
    symbols = np.array([s for w in words for s in w], dtype=np.int32)
    keys, steps = np.unique(np.array([(a << 32) | b for a, b, _ in merges], dtype=np.int64), return_index=True)
    merged, dstep, dkey, dval = _replay(symbols, starts, lengths, np.array(counts, dtype=np.int64),
                                        np.array(merges, dtype=np.int64), keys, steps.astype(np.int64),
                                        np.empty(1, dtype=node_type))
    assert merged.tolist() == ref["merged_count"]
    for t, change in enumerate(ref["deltas"]):
        mask = dstep == t
        assert dict(zip(dkey[mask].tolist(), dval[mask].tolist())) == change
    assert len(dstep) == sum(len(change) for change in ref["deltas"])
