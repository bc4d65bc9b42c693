"""Cleaning text out of packages: markup to paragraphs, licence headers, Gutenberg frames, duplicates.

What it does: turns the formats the category builder reads into running text and drops what is not
the text of the category: :func:`html_paragraphs` (block text of HTML and Mallard pages, code and
navigation dropped), :func:`strip_markup` (SGML/OSIS tags and footnotes), :func:`troff_paragraphs`
(man pages), :func:`strip_licence_header` (a source file's leading copyright comment),
:func:`strip_gutenberg` (Project Gutenberg header and footer), :func:`looks_english` (untranslated
paragraphs in a translation), :func:`chunk_text` (long texts cut at paragraph ends) and
:func:`clean_documents` (duplicate documents or paragraphs, and fragments, dropped from a stream of
:class:`Doc`).

What it leaves out: finding the text inside packages (:mod:`forensics.corpus.sources`), language or
script identification beyond the English function-word test (:mod:`forensics.corpus.quality`), and
the general markup stripper of the shard readers (:mod:`forensics.corpus.markup`), which keeps code
blocks that this one drops.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal


@dataclass(frozen=True)
class Doc:
    """One cleaned document; ``unit`` is what the split keeps together (a page, a file, a book)."""

    unit: str
    id: str
    text: str


_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dt", "dd", "caption", "blockquote"}
_SKIP_TAGS = {"script", "style", "pre", "head", "noscript", "title", "nav", "header", "footer", "aside",
              "button", "select", "textarea", "info", "screen"}  # info, screen: Mallard pages
_VOID_TAGS = {"br", "img", "meta", "link", "input", "hr", "area", "base", "col", "embed", "source", "wbr"}
_SKIP_CLASSES = {"bascode", "code", "navheader", "navfooter", "screen", "programlisting", "toc", "docnav",
                 "legalnotice", "copyright"}


class _ParagraphParser(HTMLParser):
    """Text of block elements (p, h1-h6, li, td, ...) outside skipped subtrees (script, pre, hidden)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, starts a skipped subtree, is a block)
        self._skip_depth = 0
        self._buffer: list[str] = []
        self._in_block = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        if text:
            self.paragraphs.append(text)
        self._buffer = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            if tag == "br" and not self._skip_depth:
                self._buffer.append(" ")
            return
        attr = dict(attrs)
        classes = set((attr.get("class") or "").split())
        skip = tag in _SKIP_TAGS or "hidden" in attr or bool(classes & _SKIP_CLASSES)
        block = not skip and (tag in _BLOCK_TAGS or (tag == "div" and "para" in classes))
        self._stack.append((tag, skip, block))
        if skip:
            self._skip_depth += 1
        elif block and not self._skip_depth:
            self._flush()
            self._in_block += 1

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _, _ in self._stack):
            return
        while self._stack:
            open_tag, skip, block = self._stack.pop()
            if skip:
                self._skip_depth -= 1
            elif block and not self._skip_depth:
                self._flush()
                self._in_block = max(0, self._in_block - 1)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self._skip_depth and self._in_block:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_paragraphs(markup: str) -> list[str]:
    """Visible paragraph texts of an HTML page, whitespace collapsed, markup and code blocks removed.

    >>> html_paragraphs("<p>Hello <b>world</b></p><script>x()</script><pre>code</pre>")
    ['Hello world']
    """
    parser = _ParagraphParser()
    parser.feed(markup)
    parser.close()
    return parser.paragraphs


_OSIS_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_OSIS_NOTE_BEFORE_WORD = re.compile(r"<note\b.*?</note><w\b", re.S)
_TAG = re.compile(r"<[^>]*>")


def strip_markup(text: str) -> str:
    """Remove SGML/OSIS tags (and footnotes) and unescape entities, collapsing whitespace.

    >>> strip_markup('In the <w lemma="x">beginning</w><note>n</note> God')
    'In the beginning God'
    """
    text = _OSIS_NOTE_BEFORE_WORD.sub(" <w", text)  # some modules put a note where the space was
    text = _OSIS_NOTE.sub("", text)
    text = _TAG.sub("", text)
    return " ".join(html.unescape(text).split())


_COMMENT_STARTS = ("#", "//", "--", ";", "%")
_LICENCE_WORDS = re.compile(r"copyright|licen[cs]e|permission is hereby|all rights reserved|warranty|spdx",
                            re.I)


def strip_licence_header(source: str) -> str:
    """Drop a leading comment block that is a copyright/licence notice; keep everything else.

    >>> strip_licence_header("# Copyright 2020 X\\n# MIT licence\\n\\nimport os\\n")
    'import os\\n'
    """
    stripped = source.lstrip("\ufeff")
    head_end = 0
    if stripped.startswith("#!"):
        head_end = stripped.find("\n") + 1
    body = stripped[head_end:]
    lead = body.lstrip()
    end = -1
    if lead.startswith("/*"):
        close = lead.find("*/")
        end = close + 2 if close >= 0 else -1
    else:
        lines = lead.split("\n")
        count = 0
        for line in lines:
            if line.strip().startswith(_COMMENT_STARTS) and not line.strip().startswith(("#include", "#define",
                                                                                         "#if", "#!")):
                count += 1
            else:
                break
        if count:
            end = len("\n".join(lines[:count]))
    if end <= 0:
        return source
    block = lead[:end]
    if not _LICENCE_WORDS.search(block):
        return source
    return stripped[:head_end] + lead[end:].lstrip("\n")


_TROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),   # font changes
    (re.compile(r"\\s[+-]?\d"), ""),                # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # string registers
    (re.compile(r"\\\((em|en)"), "\u2014"),
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\((aq|oq|cq)"), "'"),
    (re.compile(r"\\\(bu"), "\u2022"),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),      # other special characters
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\[&|^%:c,/]"), ""),
]
_TROFF_BREAKS = {"PP", "P", "LP", "TP", "IP", "HP", "SH", "SS", "sp", "RS", "RE", "TH", "br", "in", "ti", "TQ"}
_TROFF_TEXT = {"B", "I", "BR", "RB", "BI", "IB", "IR", "RI", "SM", "SB", "UR", "MT"}
_TROFF_SKIP_BLOCKS = {"nf": "fi", "EX": "EE", "TS": "TE", "de": "..", "ig": ".."}


def troff_paragraphs(source: str) -> list[str]:
    """Running-text paragraphs of a man page: requests and escapes removed, headings, examples and tables dropped.

    >>> troff_paragraphs('.TH LS 1\\n.SH NAME\\nls \\\\- list\\n.PP\\nList \\\\fBfiles\\\\fP here.\\n.nf\\ncode\\n.fi')
    ['ls - list', 'List files here.']
    """
    paragraphs: list[str] = []
    current: list[str] = []
    skip_until: str | None = None

    def flush() -> None:
        text = " ".join(" ".join(current).split())
        if text:
            paragraphs.append(text)
        current.clear()

    for line in source.split("\n"):
        if skip_until is not None:
            if line.startswith("." + skip_until) or (skip_until == ".." and line.startswith("..")):
                skip_until = None
            continue
        if line.startswith((".\\\"", "'\\\"", "\\\"")):
            continue
        if line.startswith((".", "'")):
            macro, _, rest = line[1:].strip().partition(" ")
            if macro in _TROFF_SKIP_BLOCKS:
                flush()
                skip_until = _TROFF_SKIP_BLOCKS[macro]
            elif macro in _TROFF_BREAKS:
                flush()
            elif macro in _TROFF_TEXT and rest:
                current.append(" ".join(part.strip('"') for part in rest.split()))
            continue
        for pattern, replacement in _TROFF_ESCAPES:
            line = pattern.sub(replacement, line)
        current.append(line)
    flush()
    return paragraphs


_ENGLISH_WORDS = frozenset("the and of to that for with this are you your from which can be by it not or if when "
                           "use used these those have has was were will should must than into only also such "
                           "their there they".split())
_WORD = re.compile(r"[^\W\d_]+")


def looks_english(paragraph: str) -> bool:
    """Whether a paragraph reads as English (a quarter of its words English function words): untranslated text.

    >>> looks_english("This option is used when the file is not found."), looks_english("Diese Option wird benutzt.")
    (True, False)
    """
    words = [w.lower() for w in _WORD.findall(paragraph)]
    if len(words) < 4:
        return False
    return sum(w in _ENGLISH_WORDS for w in words) >= 0.25 * len(words)


def normalise_for_dedup(text: str) -> str:
    """Key for duplicate detection: NFC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def chunk_text(text: str, *, max_chars: int, separator: str = "\n\n") -> list[str]:
    """Cut a long text at ``separator`` boundaries into pieces of at most about ``max_chars``.

    >>> chunk_text("a\\n\\nb\\n\\nc", max_chars=6)
    ['a\\n\\nb', 'c']
    """
    if len(text) <= max_chars:
        return [text]
    pieces, current, size = [], [], 0
    for part in text.split(separator):
        if current and size + len(part) + len(separator) > max_chars:
            pieces.append(separator.join(current))
            current, size = [], 0
        current.append(part)
        size += len(part) + len(separator)
    if current:
        pieces.append(separator.join(current))
    return [p for p in pieces if p.strip()]


_GUTENBERG_START = re.compile(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG.*$", re.M)
_GUTENBERG_END = re.compile(r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG", re.M)


def strip_gutenberg(text: str) -> str:
    """The body of a Project Gutenberg text, without its licence header and footer.

    >>> strip_gutenberg("x\\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\\nbody\\n*** END OF THIS PROJECT GUTENBERG")
    'body'
    """
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[start.end():]
    end = _GUTENBERG_END.search(text)
    if end:
        text = text[:end.start()]
    return text.strip()


def clean_documents(docs: Iterable[Doc], *, dedup: Literal["paragraph", "document"],
                    min_chars: int = 20) -> Iterator[Doc]:
    """Drop duplicates (whole documents, or single paragraphs seen before) and fragments under ``min_chars``.

    >>> [d.text for d in clean_documents([Doc("u", "1", "hello there world"), Doc("v", "2", "Hello  there world")],
    ...                                   dedup="document", min_chars=5)]
    ['hello there world']
    """
    seen: set[bytes] = set()
    for doc in docs:
        if dedup == "paragraph":
            kept = []
            for para in doc.text.split("\n"):
                key = hashlib.blake2b(normalise_for_dedup(para).encode(), digest_size=16).digest()
                if len(para.strip()) >= min_chars and key not in seen:
                    seen.add(key)
                    kept.append(para)
            if kept:
                yield Doc(doc.unit, doc.id, "\n".join(kept))
        else:
            key = hashlib.blake2b(normalise_for_dedup(doc.text).encode(), digest_size=16).digest()
            if len(doc.text.strip()) >= min_chars and key not in seen:
                seen.add(key)
                yield doc
