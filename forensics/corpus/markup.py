"""HTML in a corpus: tell a page from source code, and keep only the text a reader would see.

What it does: :func:`looks_like_html` decides from a document's first 4 KB whether it is an HTML page
or fragment (a doctype or ``<html`` at its start, or enough real HTML tags in text that does not read
as code). :func:`strip_html` returns the visible text: comments, declarations, ``script``, ``style``,
``template``, ``noscript`` and ``svg`` dropped, tags removed, entities unescaped, one line per block
(paragraph, heading, list item, table row, ...), ``<pre>`` contents kept verbatim (code in a page is
code). One regex pass first removes comments and scripts and escapes every ``<`` that opens no tag,
so that the rest is linear; :func:`strip_html_reference` feeds the same text to the stdlib
``html.parser`` and tests check that the two agree exactly (the regex one is about 3x faster).
Measured (benchmarks/results/markup.md): pages built around held-out category text labelled right
71% kept as they are, 98% stripped (98% unwrapped); real Rust documentation pages 0-2% as they are,
92-99% stripped; about 20 MB/s on one core (classification: 50-80 MB/s).

What it leaves out: boilerplate removal (navigation and footers are visible text, kept), CSS (a table
of code lines styled ``white-space: pre`` loses its indentation), a ``>`` inside a quoted attribute
value (it ends the tag; none in 2,700 real pages), character sets (it takes ``str``), other markup
(Markdown, wiki text, XML that is not XHTML) and JSX: a ``.jsx``/``.tsx`` file is code, not a page.

>>> looks_like_html("<!DOCTYPE html><title>x</title>")
True
>>> looks_like_html("template <typename T> std::vector<T> f(const std::vector<T>& v);")
False
>>> print(strip_html("<h1>Caf&eacute;</h1><script>x()</script><p>Hello <b>world</b></p><pre>a = 1\\n  b</pre>"))
Café
Hello world
a = 1
  b
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

HEAD_CHARS = 4096
# The tag-density rule (a fragment with no doctype): this many known tags, this many of them closing
# tags, in the first HEAD_CHARS characters. Chosen on development files (HTML under /usr/share/doc and
# npm, Python stdlib, npm, C and C++ headers, Markdown, XML; the bundled code set); benchmarks/results/
# markup.md says which reported pages were looked at while choosing.
MIN_TAGS = 6
MIN_CLOSING = 3
MIN_TAG_SHARE = 0.05  # of the head's characters inside those tags (C++ doc comments with <a>: 1-3%)
MAX_CODE_LINES = 0.25  # of its non-empty lines that read as code (script, style, comments, entities removed)

# HTML element names (WHATWG, plus a few obsolete ones still common in crawls).
HTML_TAGS = frozenset("""
a abbr acronym address area article aside audio b base bdi bdo big blockquote body br button canvas caption
center cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption
figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd
label legend li link main map mark menu meta meter nav noscript object ol optgroup option output p param
picture pre progress q rp rt ruby s samp script section select small source span strike strong style sub
summary sup svg table tbody td template textarea tfoot th thead time title tr track tt u ul var video wbr
""".split())

_START = re.compile(r"\A(?:\ufeff)?\s*(?:<\?xml[^>]{0,200}>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])",
                    re.I | re.S)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]{0,15})((?:\s[^<>]{0,400})?)/?>")
_JSX = re.compile(r"\bclassName=|=\{(?![{%])")  # {{ }} and {% %}: Jinja, not JSX
# A line of code: a comment or keyword at its start, or ; { } at its end (not a template's %} or }}).
_CODE_LINE = re.compile(r"^\s*(?:\*|//|/\*|#(?:\s|$|include|define|if|!)|-- |def |class |import |from \S+ import "
                        r"|function\b|var |let |const |return\b|package |using |public |private |end$|require\b)"
                        r"|(?<![%}])[;{}]\s*$", re.M)
_NOT_TEXT = re.compile(r"<(script|style|pre)\b.*?(?:</\1\s*>|\Z)|<!--.*?-->|&#?\w{1,10};", re.I | re.S)


def _is_html_tag(name: str, attributes: str) -> bool:
    """A real HTML tag, not a generic type: ``<p>``, ``<TABLE>``, ``<A HREF=...>``; not ``<T>``, ``<Object>``."""
    if name.lower() not in HTML_TAGS:
        return False
    return name.islower() or (name.isupper() and (len(name) > 1 or "=" in attributes))


def looks_like_html(text: str) -> bool:
    """Whether a document is HTML, judged from its first 4 KB: a doctype or ``<html`` at its start, or
    6+ known tags (3+ of them closing) making up 10%+ of the characters, in text that does not read as
    code (JSX, ``<?php``, doc comments full of tags are code; ``<?xml`` without XHTML is not HTML).

    >>> looks_like_html("<p>One</p><p>Two</p><ul><li>three</li></ul>")
    True
    >>> looks_like_html("if (a<b && c>d) { return <div className={x}>y</div>; }")
    False
    """
    head = text[:HEAD_CHARS]
    if _START.match(head):
        return True
    if head.lstrip("\ufeff \t\r\n").startswith(("<?php", "<?xml")):  # code, or XML that is not XHTML
        return False
    tags = closing = tag_chars = 0
    for match in _TAG.finditer(head):
        slash, name, attributes = match.groups()
        if not _is_html_tag(name, attributes):
            continue
        if _JSX.search(attributes):
            return False
        tags += 1
        closing += bool(slash)
        tag_chars += match.end() - match.start()
    if tags < MIN_TAGS or closing < MIN_CLOSING or tag_chars < MIN_TAG_SHARE * len(head):
        return False
    text_part = _NOT_TEXT.sub("", head)
    lines = sum(1 for line in text_part.split("\n") if line.strip())
    return len(_CODE_LINE.findall(text_part)) < MAX_CODE_LINES * lines


# --- stripping ------------------------------------------------------------------------------------

# Removed or escaped before any tag is read (one regex pass, linear time):
_DEFUSE = re.compile(r"""
    <!--.*?(?:-->|\Z)                                  # a comment (an unclosed one hides the rest, as in a browser)
  | <[!?][^>]*(?:>|\Z)                                 # doctype, CDATA, processing instruction: up to the next >
  | </(?![A-Za-z])[^<>]*>                              # </> and </ x>: ignored by browsers
  | <(script|style)(?![A-Za-z0-9]).*?(?:</(?i:\1)(?=[\s/>])[^>]*(?:>|\Z)|\Z)  # raw text, not markup
  | <(?![A-Za-z/])                                     # a < that opens nothing: text
  | <(?=/?[^<>]*(?:<|\Z))                              # a tag not closed before the next <: text
""", re.I | re.S | re.X)
# What is left: every < opens a tag closed before the next <.
_TAG_LEFT = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)([^<>]*)>")

# Elements whose contents are never shown (script and style are removed with _DEFUSE); svg: path data.
_HIDDEN = frozenset({"template", "noscript", "svg"})
# Elements that start and end a line of text.
_BLOCKS = frozenset("""
address article aside blockquote body caption center dd details dialog div dl dt fieldset figcaption figure
footer form frameset h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav ol option p pre section
summary table tbody tfoot thead title tr ul br
""".split())
_CELLS = frozenset({"td", "th"})
_EVENT_TAGS = _HIDDEN | _BLOCKS | _CELLS  # other tags do nothing but end a run of text


def _defuse(text: str) -> str:
    """The page with comments, declarations, scripts and styles removed and every ``<`` that opens no
    tag closed before the next ``<`` escaped as ``&lt;``: after it, every ``<`` starts a whole tag.

    ``html.parser`` rescans to the end of the input for each ``<`` whose tag never closes (``<a<a<a...``:
    14 s for 100 KB on Python 3.11), and raises on some declarations; the text it leaves has neither.

    >>> _defuse("<!-- c --><p>a<b</p><script>if (a<b) x()</script>< 3")
    '<p>a&lt;b</p>&lt; 3'
    """
    return _DEFUSE.sub(lambda m: "&lt;" if m.group() == "<" else "", text)


class _TextBuilder:
    """Visible text as a list of lines from tag and text events: one line per block, ``<pre>`` verbatim."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._buffer: list[str] = []
        self._hidden: list[str] = []  # open hidden elements, innermost last
        self._pre = 0

    def _flush(self) -> None:
        if self._buffer:
            text = " ".join("".join(self._buffer).split())
            if text:
                self.lines.append(text)
            self._buffer = []

    def _flush_pre(self) -> None:
        text = "".join(self._buffer)
        self._buffer = []
        text = text[1:] if text.startswith("\n") else text  # a newline right after <pre> is not shown
        if text.strip():
            self.lines.append(text.rstrip())

    def start(self, tag: str) -> None:
        if tag in _HIDDEN:  # a stack: <noscript><svg> nests
            self._hidden.append(tag)
        elif self._hidden:
            return
        elif self._pre:  # inside <pre> only the source's own line breaks count
            if tag == "pre":
                self._pre += 1
            elif tag == "br":
                self._buffer.append("\n")
        elif tag in _BLOCKS:
            self._flush()
            self._pre += tag == "pre"
        elif tag in _CELLS:
            self._buffer.append(" ")

    def start_end(self, tag: str) -> None:  # <br/>; a self-closed <svg/> hides nothing
        if not self._hidden and tag in _BLOCKS and tag != "pre":
            if self._pre:
                if tag == "br":
                    self._buffer.append("\n")
            else:
                self._flush()

    def end(self, tag: str) -> None:
        if self._hidden:
            if tag in self._hidden:  # close the innermost one and anything left open inside it
                while self._hidden.pop() != tag:
                    pass
        elif self._pre:
            if tag == "pre":
                self._pre -= 1
                if not self._pre:
                    self._flush_pre()
        elif tag in _BLOCKS:
            self._flush()
        elif tag in _CELLS:
            self._buffer.append(" ")

    def data(self, text: str) -> None:
        if not self._hidden:
            self._buffer.append(text)

    def close(self) -> str:
        self._flush_pre() if self._pre else self._flush()
        return "\n".join(self.lines)


def strip_html(text: str) -> str:
    """The visible text of an HTML page: one line per block, whitespace inside a block collapsed,
    ``<pre>`` contents kept as they are, entities unescaped; never raises, linear time.

    >>> strip_html("<!-- menu --><style>p{}</style><p>Fish &amp; chips<br>for two</p>")
    'Fish & chips\\nfor two'
    >>> strip_html("plain text,\\n  no markup")
    'plain text, no markup'
    """
    defused = _defuse(text)
    out = _TextBuilder()
    pieces: list[str] = []  # text since the last tag that matters (inline tags only split it)
    position = 0
    for tag in _TAG_LEFT.finditer(defused):
        start = tag.start()
        if start > position:
            piece = defused[position:start]
            pieces.append(html.unescape(piece) if "&" in piece else piece)
        position = tag.end()
        closing, name, rest = tag.groups()
        name = name.lower()
        if name not in _EVENT_TAGS:
            continue
        if pieces:
            out.data("".join(pieces))
            pieces = []
        if closing:
            out.end(name)
        elif rest.endswith("/"):
            out.start_end(name)
        else:
            out.start(name)
    if position < len(defused):
        pieces.append(html.unescape(defused[position:]))
    if pieces:
        out.data("".join(pieces))
    return out.close()


# --- the reference: the same events from html.parser --------------------------------------------

class _ReferenceParser(HTMLParser):
    """``html.parser`` driving the same :class:`_TextBuilder` (the readable twin of :func:`strip_html`)."""

    CDATA_CONTENT_ELEMENTS = ()  # script and style are gone; textarea and title stay markup on every Python
    RCDATA_CONTENT_ELEMENTS = ()

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = _TextBuilder()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.start(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.start_end(tag)

    def handle_endtag(self, tag: str) -> None:
        self.out.end(tag)

    def handle_data(self, data: str) -> None:
        self.out.data(data)


def strip_html_reference(text: str) -> str:
    """:func:`strip_html` by ``html.parser`` (7 MB/s against 20): the same defused text, each tag reduced
    to its name, parsed by the stdlib, so that tests can check that the two agree exactly.

    >>> strip_html_reference("<p class='x'>a &lt; b<br/>c</p>") == strip_html("<p class='x'>a &lt; b<br/>c</p>")
    True
    """
    canonical = _TAG_LEFT.sub(lambda m: f"<{m[1]}{m[2]}{'/' if m[3].endswith('/') and not m[1] else ''}>",
                              _defuse(text))
    parser = _ReferenceParser()
    parser.feed(canonical)
    parser.close()
    return parser.out.close()
