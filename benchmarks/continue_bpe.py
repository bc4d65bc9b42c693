"""Continue BPE training from a trained tokenizer's merges on other text (the appended-merges setting).

HF `tokenizers` cannot resume training from given merges, so this is a small greedy byte-level BPE
trainer: pre-tokenize the new text with the tokenizer's own pre-tokenizer, encode every distinct word
with the existing merges, then repeatedly merge the most frequent adjacent pair (ties: the smallest pair
of ids) and append it. Incremental pair counts with a word index; fine for a few thousand merges on a
few MB, which is what `benchmarks/controlled.py --setting appended` needs. Not part of the package.

    extend_tokenizer("a/tokenizer.json", texts_b, 1000, "ab/tokenizer.json")
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path


def _merge_list(model: dict) -> list[tuple[str, str]]:
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]


def extend_tokenizer(base_path, texts, merges: int, out_path) -> list[tuple[str, str]]:
    """Append ``merges`` merges learned on ``texts`` after the base tokenizer's; returns the new ones."""
    from tokenizers import Tokenizer

    from forensics.counting.reference import apply_merge

    tok = Tokenizer.from_file(str(base_path))
    words: Counter = Counter()
    for text in texts:
        words.update(piece for piece, _ in tok.pre_tokenizer.pre_tokenize_str(text))
    data = json.loads(Path(base_path).read_text())
    vocab: dict[str, int] = data["model"]["vocab"]
    inverse = {i: t for t, i in vocab.items()}
    seqs = [[t.id for t in tok.model.tokenize(w)] for w in words]
    counts = list(words.values())
    pairs: Counter = Counter()
    where: dict[tuple[int, int], set[int]] = defaultdict(set)
    for w, seq in enumerate(seqs):
        for pair in zip(seq, seq[1:]):
            pairs[pair] += counts[w]
            where[pair].add(w)
    new: list[tuple[str, str]] = []
    next_id = max(vocab.values()) + 1
    for _ in range(merges):
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))[0]
        if pairs[best] <= 0:
            break
        left, right = best
        token = inverse[left] + inverse[right]
        if token in vocab:           # already a token under another merge path: skip the pair
            del pairs[best]
            continue
        vocab[token], inverse[next_id] = next_id, token
        new.append((inverse[left], inverse[right]))
        for w in list(where.pop(best, ())):
            seq = seqs[w]
            if len(seq) < 2:
                continue
            c = counts[w]
            for pair in zip(seq, seq[1:]):
                pairs[pair] -= c
            merged = apply_merge(seq, left, right, next_id)
            seqs[w] = merged
            for pair in zip(merged, merged[1:]):
                pairs[pair] += c
                where[pair].add(w)
        pairs.pop(best, None)
        next_id += 1
        if len(pairs) > 4 * len(where) + 100_000:   # drop zero counts now and then
            pairs = Counter({k: v for k, v in pairs.items() if v > 0})
    data["model"]["vocab"] = vocab
    old = data["model"]["merges"]
    as_strings = bool(old) and isinstance(old[0], str)
    data["model"]["merges"] = old + [f"{a} {b}" if as_strings else [a, b] for a, b in new]
    Path(out_path).write_text(json.dumps(data, ensure_ascii=False))
    return new


def append_separate(base_path, other_path, merges: int, out_path) -> list[tuple[str, str]]:
    """Append, in ``other``'s order, up to ``merges`` of its merges whose token the base lacks and whose
    two parts the list already has (the way a separately trained tokenizer's merges can be appended)."""
    base = json.loads(Path(base_path).read_text())
    other = json.loads(Path(other_path).read_text())
    vocab: dict[str, int] = base["model"]["vocab"]
    next_id = max(vocab.values()) + 1
    new = []
    for a, b in _merge_list(other["model"]):
        if len(new) >= merges:
            break
        if a + b in vocab or a not in vocab or b not in vocab:
            continue
        vocab[a + b] = next_id
        next_id += 1
        new.append((a, b))
    old = base["model"]["merges"]
    as_strings = bool(old) and isinstance(old[0], str)
    base["model"]["merges"] = old + [f"{a} {b}" if as_strings else [a, b] for a, b in new]
    Path(out_path).write_text(json.dumps(base, ensure_ascii=False))
    return new
