"""Quality report of a category set: size, script purity, duplicates, tokenizer cross-check.

What it does: for each category, the bytes and documents of its ``train`` and ``count`` splits; the
script purity (share of letters that belong to the category's expected ISO 15924 script, from
``unicodedata`` character names); the duplicate rate (documents whose normalised text occurred
before) and the number of documents shared by ``train`` and ``count`` (should be 0); and a
cross-check: a small byte-level BPE (HF ``tokenizers``) is trained on each category's ``train``
split, and on each category's ``count`` split its own tokenizer should need the fewest tokens per
byte of all the set's tokenizers.

What it leaves out: language identification beyond scripts (Spanish and Portuguese are both
``Latn``); near-duplicate detection.

>>> report = quality_report("domains", sample_bytes=10_000, vocab_size=500)
>>> report.own_best_share
0.875
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from forensics.corpus.categories import Category, CategorySet, load_categories

# First word(s) of a Unicode character name -> ISO 15924 code.
_NAME_TO_SCRIPT = {
    "LATIN": "Latn", "CYRILLIC": "Cyrl", "GREEK": "Grek", "ARABIC": "Arab", "HEBREW": "Hebr",
    "DEVANAGARI": "Deva", "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr", "ORIYA": "Orya",
    "TAMIL": "Taml", "TELUGU": "Telu", "KANNADA": "Knda", "MALAYALAM": "Mlym", "SINHALA": "Sinh",
    "THAI": "Thai", "LAO": "Laoo", "TIBETAN": "Tibt", "MYANMAR": "Mymr", "GEORGIAN": "Geor",
    "HANGUL": "Hang", "ETHIOPIC": "Ethi", "CHEROKEE": "Cher", "CANADIAN": "Cans", "OGHAM": "Ogam",
    "RUNIC": "Runr", "KHMER": "Khmr", "MONGOLIAN": "Mong", "HIRAGANA": "Hira", "KATAKANA": "Kana",
    "BOPOMOFO": "Bopo", "CJK": "Hani", "YI": "Yiii", "ARMENIAN": "Armn", "SYRIAC": "Syrc", "THAANA": "Thaa",
    "NKO": "Nkoo", "TIFINAGH": "Tfng", "VAI": "Vaii", "BAMUM": "Bamu", "JAVANESE": "Java", "BALINESE": "Bali",
    "SUNDANESE": "Sund", "TAI": "Tale", "BUGINESE": "Bugi", "ADLAM": "Adlm", "OL": "Olck", "LIMBU": "Limb",
    "CHAM": "Cham", "TAGALOG": "Tglg", "COPTIC": "Copt", "GLAGOLITIC": "Glag", "SAURASHTRA": "Saur",
}

# Expected-script codes that cover several scripts.
SCRIPT_FAMILIES = {
    "Jpan": {"Hani", "Hira", "Kana"},
    "Kore": {"Hang", "Hani"},
    "Hans": {"Hani"},
    "Hant": {"Hani"},
}


@lru_cache(maxsize=1 << 16)
def script_of_char(ch: str) -> str:
    """The ISO 15924 code of a character's script (``"Zyyy"`` for common/unknown).

    >>> script_of_char("é"), script_of_char("Ж"), script_of_char("漢"), script_of_char("7")
    ('Latn', 'Cyrl', 'Hani', 'Zyyy')
    """
    name = unicodedata.name(ch, "")
    if not name:
        return "Zyyy"
    words = name.split()
    if words[0] in ("FULLWIDTH", "HALFWIDTH", "MATHEMATICAL", "SMALL", "MODIFIER") and len(words) > 1:
        if words[0] == "MODIFIER":
            return "Zyyy"
        words = words[1:]
    first = words[0]
    if first.startswith("KATAKANA"):
        return "Kana"
    if first == "IDEOGRAPHIC":
        return "Hani"
    return _NAME_TO_SCRIPT.get(first, "Zyyy")


def script_purity(text: str, script: str) -> float:
    """Share of letters in ``text`` that belong to ``script`` (an ISO 15924 code or a family like Jpan).

    >>> round(script_purity("Привет, world", "Cyrl"), 3)
    0.545
    """
    allowed = SCRIPT_FAMILIES.get(script, {script})
    letters = inside = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            if script_of_char(ch) in allowed:
                inside += 1
    return inside / letters if letters else 0.0


def _doc_key(text: str) -> bytes:
    return hashlib.blake2b(" ".join(text.casefold().split()).encode("utf-8"), digest_size=16).digest()


@dataclass
class CategoryQuality:
    """Quality numbers of one category."""

    name: str
    group: str
    script: str | None
    train_bytes: int
    count_bytes: int
    train_documents: int
    count_documents: int
    script_purity: float | None
    duplicate_rate: float
    shared_documents: int
    own_tokens_per_byte: float | None = None
    best_tokens_per_byte: float | None = None
    best_tokenizer: str | None = None

    @property
    def own_is_best(self) -> bool | None:
        if self.best_tokenizer is None:
            return None
        return self.best_tokenizer == self.name


@dataclass
class QualityReport:
    """The quality report of one set (see the module docstring)."""

    set_name: str
    categories: list[CategoryQuality]
    vocab_size: int
    sample_bytes: int
    cross_checked: list[str] = field(default_factory=list)

    @property
    def own_best_share(self) -> float | None:
        checked = [c for c in self.categories if c.own_is_best is not None]
        return sum(bool(c.own_is_best) for c in checked) / len(checked) if checked else None

    @property
    def total_bytes(self) -> int:
        return sum(c.train_bytes + c.count_bytes for c in self.categories)


def _sample(category: Category, limit: int) -> tuple[str, int, int, list[bytes]]:
    """Text of up to ``limit`` bytes, plus total bytes, document count and every document key."""
    pieces: list[str] = []
    taken = total = docs = 0
    keys: list[bytes] = []
    for text in category.texts():
        size = len(text.encode("utf-8"))
        total += size
        docs += 1
        keys.append(_doc_key(text))
        if taken < limit:
            pieces.append(text)
            taken += size
    return "\n\n".join(pieces), total, docs, keys


def train_bpe(text: str, *, vocab_size: int):
    """A byte-level BPE from HF ``tokenizers`` trained on ``text`` (used for the cross-check)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tokenizer.train_from_iterator(text.split("\n"), trainer=trainer)
    return tokenizer


def _tokens_per_byte(tokenizer, lines: list[str], total_bytes: int) -> float:
    encodings = tokenizer.encode_batch(lines, add_special_tokens=False)
    return sum(len(e.ids) for e in encodings) / max(1, total_bytes)


def quality_report(name_or_path: str | CategorySet, *, sample_bytes: int = 100_000, vocab_size: int = 2_000,
                   max_cross_check: int = 60, seed: int = 0,
                   categories: Sequence[str] | None = None) -> QualityReport:
    """Size, purity, duplicates and the tokenizer cross-check for every category of a set.

    Purity and the cross-check use up to ``sample_bytes`` of each split; sets with more than
    ``max_cross_check`` categories cross-check a seeded sample of that many.

    >>> r = quality_report("domains", sample_bytes=20_000, categories=["bible", "fiction"])
    >>> r.categories[0].name, r.categories[0].best_tokenizer
    ('bible', 'fiction')
    """
    base = name_or_path if isinstance(name_or_path, CategorySet) else load_categories(name_or_path)
    train_set = load_categories(base.path, split="train", categories=categories)
    count_set = load_categories(base.path, split="count", categories=categories)
    rows: list[CategoryQuality] = []
    train_text: dict[str, str] = {}
    count_text: dict[str, str] = {}
    for cat in train_set:
        train_sample, train_bytes, train_docs, train_keys = _sample(cat, sample_bytes)
        count_cat = count_set[cat.name] if cat.name in count_set else None
        if count_cat is not None and set(count_cat.files) != set(cat.files):
            count_sample, count_bytes, count_docs, count_keys = _sample(count_cat, sample_bytes)
        else:  # an unsplit category: train and count are the same files
            count_sample, count_bytes, count_docs, count_keys = "", 0, 0, []
        keys = train_keys + count_keys
        duplicates = len(keys) - len(set(keys))
        shared = len(set(train_keys) & set(count_keys))
        purity = None
        if cat.script:
            purity = script_purity(train_sample + count_sample, cat.script)
        rows.append(CategoryQuality(
            name=cat.name, group=cat.group, script=cat.script, train_bytes=train_bytes, count_bytes=count_bytes,
            train_documents=train_docs, count_documents=count_docs, script_purity=purity,
            duplicate_rate=duplicates / len(keys) if keys else 0.0, shared_documents=shared))
        train_text[cat.name] = train_sample
        count_text[cat.name] = count_sample
    names = [r.name for r in rows if train_text[r.name] and count_text[r.name]]
    if len(names) > max_cross_check:
        names = sorted(names, key=lambda n: hashlib.sha256(f"{seed}\0{n}".encode()).hexdigest())[:max_cross_check]
        names.sort()
    if len(names) >= 2:
        tokenizers = {n: train_bpe(train_text[n], vocab_size=vocab_size) for n in names}
        by_name = {r.name: r for r in rows}
        for target in names:
            lines = [line for line in count_text[target].split("\n") if line]
            total = sum(len(line.encode("utf-8")) for line in lines)
            scores = {n: _tokens_per_byte(tok, lines, total) for n, tok in tokenizers.items()}
            best = min(sorted(scores), key=scores.__getitem__)
            row = by_name[target]
            row.own_tokens_per_byte = scores[target]
            row.best_tokens_per_byte = scores[best]
            row.best_tokenizer = best
    return QualityReport(set_name=base.name, categories=rows, vocab_size=vocab_size, sample_bytes=sample_bytes,
                         cross_checked=names)
