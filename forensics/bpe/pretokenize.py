"""Normalisers and pre-tokenizers: how a tokenizer cuts text into the words BPE works inside.

What it does: one :class:`PreTokenizer` describes every rule our supported formats use (Unicode
normalisation, text replacement and prefixes, regex splits with HF's split behaviours, digit splitting,
byte-level prefix space, SentencePiece's metaspace) and turns text into a list of words. Named presets
hold the published split patterns of the well-known encodings.

What it leaves out: rules none of our formats use (lower-casing, BERT's punctuation splitting, NFD/NFKD
are accepted but rarely seen); special-token matching (words never contain special tokens here).

>>> PreTokenizer.preset("gpt2").split("Hello world!")
['Hello', ' world', '!']
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Literal

import regex

from forensics.errors import ForensicsError

SplitBehavior = Literal["isolated", "removed", "merged_with_previous", "merged_with_next", "contiguous"]

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
R50K_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|"""
    r"""\s*[\r\n]|\s+(?!\S)|\s"""
)
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
LLAMA3_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)
TEKKEN_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*""",
    r"""\p{N}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])

METASPACE = "\u2581"


@dataclass(frozen=True)
class Split:
    """A regex split step; ``behavior`` follows HF tokenizers' ``Split`` (``isolated`` keeps the gaps)."""

    pattern: str
    behavior: SplitBehavior = "isolated"
    invert: bool = False


@dataclass(frozen=True)
class PreTokenizer:
    """Normalisation and splitting rules; :meth:`split` applies them to text.

    ``steps`` run in order; each is one of ``("split", Split)``, ``("digits", individual)``,
    ``("metaspace", split_on_metaspace)``. ``byte_level`` means words are encoded as UTF-8 bytes before
    BPE (byte-level BPE); otherwise words are character strings (SentencePiece-style BPE).

    >>> PreTokenizer.preset("cl100k").split("x = 12345")
    ['x', ' =', ' ', '123', '45']
    """

    name: str = "custom"
    normalizer: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = None
    text_ops: tuple[tuple[str, str, str], ...] = ()
    steps: tuple[tuple[str, object], ...] = ()
    byte_level: bool = True
    add_prefix_space: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)

    # ----- presets ---------------------------------------------------------------------------------
    @staticmethod
    def presets() -> dict[str, "PreTokenizer"]:
        """Named presets: the published split rules of well-known encodings.

        >>> sorted(PreTokenizer.presets())[:3]
        ['cl100k', 'claude', 'gpt2']
        """
        def regex_preset(name: str, pattern: str) -> PreTokenizer:
            return PreTokenizer(name=name, steps=(("split", Split(pattern)),), byte_level=True)

        return {
            "gpt2": regex_preset("gpt2", R50K_PATTERN),
            "r50k": regex_preset("r50k", R50K_PATTERN),
            "p50k": regex_preset("p50k", R50K_PATTERN),
            "cl100k": regex_preset("cl100k", CL100K_PATTERN),
            "o200k": regex_preset("o200k", O200K_PATTERN),
            "llama3": regex_preset("llama3", LLAMA3_PATTERN),
            "claude": regex_preset("claude", GPT2_PATTERN),
            "tekken": regex_preset("tekken", TEKKEN_PATTERN),
            "whitespace": regex_preset("whitespace", r"""\s+(?!\S)|\s+|\S+"""),
            "none": PreTokenizer(name="none", steps=(), byte_level=True),
            "metaspace": PreTokenizer(name="metaspace", text_ops=(("replace", " ", METASPACE),
                                                                  ("prepend", METASPACE, "if-missing")),
                                      steps=(("metaspace", True),), byte_level=False),
        }

    @classmethod
    def preset(cls, name: str) -> "PreTokenizer":
        """A preset by name; an unknown name lists those that exist.

        >>> PreTokenizer.preset("o200k").name
        'o200k'
        """
        presets = cls.presets()
        if name not in presets:
            raise ForensicsError(f"unknown pre-tokenizer preset '{name}'; known presets: {', '.join(sorted(presets))} "
                                 f"(or pass a regular expression)")
        return presets[name]

    @classmethod
    def from_option(cls, value: str) -> "PreTokenizer":
        """A preset name, or a regex used as an isolated split on byte-level text.

        >>> PreTokenizer.from_option(r"\\w+|\\W+").split("ab, c")
        ['ab', ', ', 'c']
        """
        if value in cls.presets():
            return cls.preset(value)
        try:
            regex.compile(value)
        except regex.error as exc:
            raise ForensicsError(f"--pretokenizer: '{value}' is neither a preset ({', '.join(sorted(cls.presets()))}) "
                                 f"nor a valid regular expression ({exc})") from None
        return PreTokenizer(name="custom-regex", steps=(("split", Split(value)),), byte_level=True)

    # ----- application -----------------------------------------------------------------------------
    @cached_property
    def _compiled(self) -> list[tuple[str, Any]]:
        compiled: list[tuple[str, object]] = []
        for kind, arg in self.steps:
            if kind == "split":
                assert isinstance(arg, Split)
                compiled.append((kind, (regex.compile(arg.pattern), arg)))
            else:
                compiled.append((kind, arg))
        return compiled

    def normalize(self, text: str) -> str:
        """Apply the Unicode normaliser, then the text operations in order.

        ``("replace", old, new)`` replaces text; ``("prepend", prefix, "always" | "if-missing")`` adds a
        prefix to non-empty text (HF's Prepend normaliser always does; Metaspace only when missing).

        >>> PreTokenizer.preset("metaspace").normalize("a b")
        '▁a▁b'
        """
        if self.normalizer:
            text = unicodedata.normalize(self.normalizer, text)
        for kind, first, second in self.text_ops:
            if kind == "replace":
                text = text.replace(first, second)
            elif kind == "prepend" and text and (second == "always" or not text.startswith(first)):
                text = first + text
            elif kind == "squeeze":  # SentencePiece's remove_extra_whitespaces
                text = _SPACE_RUNS.sub(" ", text).strip(" ")
        return text

    def split(self, text: str) -> list[str]:
        """Normalise ``text`` and cut it into words.

        >>> PreTokenizer.preset("gpt2").split("it's 2024")
        ['it', "'s", ' 2024']
        """
        text = self.normalize(text)
        if self.add_prefix_space and text and not text.startswith(" "):
            text = " " + text
        if not text:
            return []
        pieces = [text]
        for kind, arg in self._compiled:
            if kind == "split":
                compiled, spec = arg  # type: ignore[misc]
                pieces = [w for piece in pieces for w in _split_one(piece, compiled, spec)]
            elif kind == "digits":
                pattern = _SINGLE_DIGIT if arg else _DIGIT_RUNS
                pieces = [w for piece in pieces for w in _isolate(piece, pattern)]
            elif kind == "metaspace":
                if arg:
                    pieces = [w for piece in pieces for w in _split_before(piece, METASPACE)]
            else:  # pragma: no cover - guarded at construction
                raise ValueError(kind)
        return pieces

    def describe(self) -> str:
        """One line for humans.

        >>> PreTokenizer.preset("cl100k").describe()[:22]
        'cl100k: byte-level, re'
        """
        parts = ["byte-level" if self.byte_level else "character-level"]
        if self.normalizer:
            parts.append(self.normalizer)
        for kind, arg in self.steps:
            if kind == "split":
                parts.append(f"regex split ({arg.behavior})")  # type: ignore[union-attr,attr-defined]
            elif kind == "digits":
                parts.append("single digits" if arg else "digit runs")
            elif kind == "metaspace":
                parts.append("metaspace")
        for kind, first, second in self.text_ops:
            if kind == "replace":
                parts.append(f"replace {first!r} by {second!r}")
            elif kind == "prepend":
                parts.append(f"prefix {first!r}")
            else:
                parts.append("squeeze spaces")
        if self.add_prefix_space:
            parts.append("prefix space")
        return f"{self.name}: " + ", ".join(parts)

    def digit_handling(self) -> str:
        """How digits are grouped: 'single', 'up to 3', 'runs' or 'merged with letters'.

        >>> PreTokenizer.preset("cl100k").digit_handling()
        'groups of up to 3'
        """
        probe = self.split("a 1234567 b")
        digit_words = [w.strip(" " + METASPACE) for w in probe if any(c.isdigit() for c in w)]
        lengths = sorted({len(w) for w in digit_words})
        if not digit_words:
            return "none"
        if lengths == [1]:
            return "single digits"
        if max(lengths) <= 3 and len(digit_words) > 1:
            return "groups of up to 3"
        if "1234567" in digit_words:
            return "digit runs"
        return "mixed"

    def to_dict(self) -> dict:
        """Plain data (for JSON and hashing).

        >>> PreTokenizer.preset("gpt2").to_dict()["name"]
        'gpt2'
        """
        data = asdict(self)
        data["steps"] = [[kind, asdict(arg) if isinstance(arg, Split) else arg] for kind, arg in self.steps]
        data.pop("notes", None)
        return data

    def fingerprint(self) -> str:
        """A stable hash of the rules (cache keys).

        >>> len(PreTokenizer.preset("gpt2").fingerprint())
        16
        """
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


_SPACE_RUNS = regex.compile(" {2,}")
_SINGLE_DIGIT = regex.compile(r"\p{N}")
_DIGIT_RUNS = regex.compile(r"\p{N}+")


def _split_one(text: str, compiled: regex.Pattern, spec: Split) -> list[str]:
    """One regex split with HF semantics."""
    if spec.behavior == "isolated" and not spec.invert:
        # fast path: when the matches cover the whole text there are no gaps to keep
        words = compiled.findall(text)
        if sum(map(len, words)) == len(text) and (not words or isinstance(words[0], str)):
            return words
    spans: list[tuple[int, int, bool]] = []  # (start, end, is_match)
    previous = 0
    for match in compiled.finditer(text):
        start, end = match.span()
        if start == end:
            continue
        if start > previous:
            spans.append((previous, start, False))
        spans.append((start, end, True))
        previous = end
    if previous < len(text):
        spans.append((previous, len(text), False))
    if spec.invert:
        spans = [(s, e, not m) for s, e, m in spans]
    behavior = spec.behavior
    if behavior == "isolated":
        return [text[s:e] for s, e, _ in spans]
    if behavior == "removed":
        return [text[s:e] for s, e, m in spans if not m]
    if behavior == "merged_with_previous":
        out: list[str] = []
        for s, e, m in spans:
            if m and out:
                out[-1] += text[s:e]
            else:
                out.append(text[s:e])
        return out
    if behavior == "merged_with_next":
        out = []
        pending = ""
        for s, e, m in spans:
            if m:
                pending += text[s:e]
            else:
                out.append(pending + text[s:e])
                pending = ""
        if pending:
            out.append(pending)
        return out
    if behavior == "contiguous":
        out = []
        last_match: bool | None = None
        for s, e, m in spans:
            if m and last_match:
                out[-1] += text[s:e]
            else:
                out.append(text[s:e])
            last_match = m
        return out
    raise ValueError(behavior)  # pragma: no cover


def _isolate(text: str, pattern: regex.Pattern) -> list[str]:
    return _split_one(text, pattern, Split("", "isolated"))


def _split_before(text: str, marker: str) -> list[str]:
    """Split before each ``marker`` (SentencePiece words start with the metaspace).

    >>> _split_before("▁a▁▁b", "▁")
    ['▁a', '▁', '▁b']
    """
    out: list[str] = []
    start = 0
    for i in range(1, len(text)):
        if text[i] == marker:
            out.append(text[start:i])
            start = i
    out.append(text[start:])
    return [w for w in out if w]
