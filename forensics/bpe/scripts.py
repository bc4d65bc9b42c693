"""Unicode script of characters and tokens (Latin, Cyrillic, Han, ...), for vocabulary summaries.

>>> token_script("Привет"), token_script(" the"), token_script("123"), token_script("日本")
('Cyrillic', 'Latin', 'Digits', 'Han')
"""

from __future__ import annotations

from functools import lru_cache

import regex

SCRIPTS = ["Latin", "Cyrillic", "Greek", "Armenian", "Georgian", "Arabic", "Hebrew", "Syriac", "Thaana",
           "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam",
           "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar", "Khmer", "Ethiopic", "Hangul", "Hiragana",
           "Katakana", "Han", "Mongolian", "Cherokee", "Canadian_Aboriginal"]
_PATTERNS = [(name, regex.compile(rf"\p{{Script={name}}}")) for name in SCRIPTS]


@lru_cache(maxsize=65536)
def char_script(ch: str) -> str:
    """Script of one letter character ('Other' when none of the listed scripts).

    >>> char_script("ж")
    'Cyrillic'
    """
    for name, pattern in _PATTERNS:
        if pattern.match(ch):
            return name
    return "Other"


def token_script(text: str) -> str:
    """The script of a token's letters; 'Mixed' for several, else Digits/Whitespace/Punctuation.

    >>> token_script("a1"), token_script("  "), token_script("!?")
    ('Latin', 'Whitespace', 'Punctuation')
    """
    scripts = {char_script(ch) for ch in text if ch.isalpha()}
    scripts.discard("Other") if len(scripts) > 1 else None
    if len(scripts) == 1:
        script = scripts.pop()
        return "Japanese kana" if script in ("Hiragana", "Katakana") else script
    if len(scripts) > 1:
        return "Mixed"
    stripped = text.replace("\u2581", " ")
    if stripped and all(ch.isdigit() for ch in stripped.strip()) and stripped.strip():
        return "Digits"
    if stripped and stripped.isspace():
        return "Whitespace"
    return "Punctuation" if stripped else "Other"
