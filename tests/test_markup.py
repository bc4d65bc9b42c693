"""forensics.corpus.markup: telling HTML from code and text, and stripping pages to their visible text."""

from __future__ import annotations

import doctest
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.corpus import markup
from forensics.corpus.categories import load_categories
from forensics.corpus.markup import looks_like_html, strip_html, strip_html_reference

# Excerpts of real pages: The Rust Programming Language (mdBook, ch03-02-data-types.html) and the source
# view of the Rust standard library (rustdoc 1.95, src/std_detect/detect/macros.rs.html); MIT or Apache-2.0.
MDBOOK_HEAD = """<!DOCTYPE HTML>
<html lang="en" class="light sidebar-visible" dir="ltr">
    <head>
        <!-- Book generated using mdBook -->
        <meta charset="UTF-8">
        <title>Data Types - The Rust Programming Language</title>
        <link rel="stylesheet" href="css/variables-8adf115d.css">
"""
MDBOOK_BODY = """<h3 id="scalar-types"><a class="header" href="#scalar-types">Scalar Types</a></h3>
<p>A <em>scalar</em> type represents a single value. Rust has four primary scalar types:
integers, floating-point numbers, Booleans, and characters. You may recognize
these from other programming languages. Let’s jump into how they work in Rust.</p>
<pre class="playground"><code class="language-rust edition2024"><span class="boring">#![allow(unused)]
</span><span class="boring">fn main() {
</span>let guess: u32 = "42".parse().expect("Not a number!");
<span class="boring">}</span></code></pre>
<div class="table-wrapper">
<table>
<thead>
<tr><th>Length</th><th>Signed</th><th>Unsigned</th></tr>
</thead>
<tbody>
<tr><td>8-bit</td><td><code>i8</code></td><td><code>u8</code></td></tr>
<tr><td>16-bit</td><td><code>i16</code></td><td><code>u16</code></td></tr>
</tbody>
</table>
</div>
<p>Signed numbers are stored using <a href="https://en.wikipedia.org/wiki/Two%27s_complement">two’s complement</a><!-- ignore
--> representation.</p>
"""
RUSTDOC_SRC = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>macros.rs - source</title><script>'
    'if(window.location.protocol!=="file:")document.head.insertAdjacentHTML("beforeend","SourceSerif4-Regular-'
    '6b053e98.ttf.woff2".split(",").map(f=>`<link rel="preload" as="font" type="font/woff2"href="../../../static.'
    'files/${f}">`).join(""))</script></head><body class="rustdoc src"><a class="skip-main-content" href="#main-'
    'content">Skip to main content</a><!--[if lte IE 11]><div class="warning">This old browser is unsupported and '
    'will most likely display funky things.</div><![endif]--><main><section id="main-content" class="content" '
    'tabindex="-1"><div class="example-wrap digits-3"><pre class="rust"><code><a href=#1 id=1 data-nosnippet>1</a>'
    '<span class="attr">#[macro_export]\n'
    '<a href=#2 id=2 data-nosnippet>2</a></span><span class="macro">macro_rules!</span> detect_feature {\n'
    '<a href=#3 id=3 data-nosnippet>3</a>    (<span class="macro-nonterminal">$feature</span>:tt) =&gt; {\n'
    '<a href=#4 id=4 data-nosnippet>4</a>        <span class="macro">cfg!</span>(target_feature = '
    '<span class="macro-nonterminal">$feature</span>)\n'
    '<a href=#5 id=5 data-nosnippet>5</a>    };\n'
    '<a href=#6 id=6 data-nosnippet>6</a>}</code></pre></div></section></main></body></html>')


def test_doctests_hold():
    result = doctest.testmod(markup, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0


# --- detection -------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", [
    MDBOOK_HEAD + MDBOOK_BODY,
    RUSTDOC_SRC,
    MDBOOK_BODY,  # a fragment: no doctype, no <html>, tags only
    "\ufeff  <!-- saved from url=(0014)about:internet -->\n<html><body>hi</body></html>",
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x">\n<html>',
    "<HTML><HEAD><TITLE>Old</TITLE></HEAD><BODY><P>One<P>Two<A HREF=\"x.html\">x</A></BODY></HTML>",
    "<TABLE><TR><TD>old</TD><TD>markup</TD></TR><TR><TD>in</TD><TD>capitals</TD></TR></TABLE>",
    # a Jinja template: {{ }} and {% %} are not JSX
    '<div class="post"><p>{{ post.body }}</p><a href="{% url "next" %}">next</a></div><ul><li>a</li></ul>',
])
def test_html_is_recognised(page):
    assert looks_like_html(page)


@pytest.mark.parametrize("text", [
    "template <typename T, typename A = std::allocator<T>>\nclass vector { T* begin(); };\n" * 20,
    "Map<String, List<Object>> index = new HashMap<>();\nOptional<Select> s; List<Option<Label>> l;\n" * 20,
    "impl<T: Clone> From<Vec<T>> for Box<[T]> { fn from(v: Vec<T>) -> Box<[T]> { v.into_boxed_slice() } }\n" * 20,
    # JSX is code (javascript/typescript), not a page
    "export default function Card({ title }) {\n  return (\n    <div className=\"card\">\n      <h2>{title}</h2>\n"
    "      <p>Some <b>bold</b> text</p>\n      <ul><li>one</li><li>two</li></ul>\n    </div>\n  );\n}\n",
    "<?php\n$rows = [];\n?>\n<table><tr><td><?= $a ?></td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>\n",
    # a C header whose doc comment is an HTML table (ICU's utmscale.h does this)
    "/**\n * <table>\n * <tr><th>Value</th><th>Meaning</th></tr>\n * <tr><td>0</td><td>none</td></tr>\n"
    " * <tr><td>1</td><td>some</td></tr>\n * </table>\n */\nint f(int x);\n",
    '<?xml version="1.0"?>\n<schemalist><schema id="x"><key name="a"><summary>One</summary></key>'
    "<key name=\"b\"><summary>Two</summary></key><key name=\"c\"><summary>Three</summary></key></schema></schemalist>",
    "# Title\n\nSome *markdown* with a <br> and a <kbd>Ctrl</kbd> key.\n\n```\nx = a<b and c>d\n```\n",
    "if (a<b && c>d) { x = y << 2; }\n" * 50,
])
def test_code_and_text_are_not_html(text):
    assert not looks_like_html(text)


def test_the_bundled_source_code_is_never_html():
    """13 programming languages, every file of both splits (javadoc and doc comments carry HTML tags)."""
    fired = [(cat.name, doc.id) for cat in load_categories("code") for doc in cat.documents()
             if looks_like_html(doc.text)]
    assert fired == []


def test_the_bundled_text_is_html_only_where_markup_leaked_into_it():
    leaked = re.compile(r"</(p|a|div|li|td|span)>")
    for name in ("languages", "domains"):
        for cat in load_categories(name):
            for doc in cat.documents():
                if looks_like_html(doc.text):
                    assert leaked.search(doc.text), (name, cat.name, doc.id)


def test_udhr_paragraphs_are_not_html(udhr_paragraphs):
    assert not any(looks_like_html(p) for p in udhr_paragraphs)


def test_detection_reads_only_the_head():
    code = "int main(void) { return 0; }\n" * 200
    assert not looks_like_html(code + MDBOOK_BODY * 2000)
    assert looks_like_html(MDBOOK_HEAD + "int x;\n" * 200_000)


# --- stripping -------------------------------------------------------------------------------------

def test_a_real_page_keeps_prose_tables_and_code():
    text = strip_html(MDBOOK_HEAD + "</head><body>" + MDBOOK_BODY + "</body></html>")
    assert text.split("\n") == [
        "Data Types - The Rust Programming Language",
        "Scalar Types",
        "A scalar type represents a single value. Rust has four primary scalar types: integers, floating-point "
        "numbers, Booleans, and characters. You may recognize these from other programming languages. Let’s jump "
        "into how they work in Rust.",
        "#![allow(unused)]",
        "fn main() {",
        'let guess: u32 = "42".parse().expect("Not a number!");',
        "}",
        "Length Signed Unsigned",
        "8-bit i8 u8",
        "16-bit i16 u16",
        "Signed numbers are stored using two’s complement representation.",
    ]


def test_source_view_keeps_lines_and_indentation():
    text = strip_html(RUSTDOC_SRC)
    assert "if(window" not in text and "old browser" not in text  # script and conditional comment dropped
    assert "3    ($feature:tt) => {\n4        cfg!(target_feature = $feature)" in text


@pytest.mark.parametrize("page, visible", [
    ('<SCRIPT type="text/javascript">var s = "</div><p>x</p>";</SCRIPT>shown', "shown"),
    ("<style>p::before { content: '<b>' }</style>shown", "shown"),
    ("<script>never closed <p>so the rest is script", ""),
    ("a<!-- comment with <p>tags</p> -->b", "ab"),
    ("a<!-- never closed <p>hidden", "a"),
    ("<![CDATA[dropped]]>kept", "kept"),
    ("<!DOCTYPE html><?xml-stylesheet href='x'?>text", "text"),
    ("<svg viewBox='0 0 8 8'><text>icon</text><style>.a{}</style></svg>after", "after"),
    ("<svg/><p>a self-closed svg hides nothing</p>", "a self-closed svg hides nothing"),
    ("<template><p>inert</p></template><noscript>enable JS</noscript>seen", "seen"),
])
def test_hidden_content_is_dropped(page, visible):
    assert strip_html(page) == visible


@pytest.mark.parametrize("page, visible", [
    ("Fish &amp; chips &lt;3 &#65;&#x42; &eacute;t&eacute; &nbsp;x", "Fish & chips <3 AB été x"),  # nbsp: a space
    ("&amp &copy no semicolon", "& © no semicolon"),  # as browsers read legacy entities
    ("&zzz; &#xZZ; &notit;", "&zzz; &#xZZ; ¬it;"),  # &not is a legacy entity: browsers agree
    ("<p title='&lt;'>a &amp;</p><p>b</p>", "a &\nb"),
])
def test_entities_are_unescaped(page, visible):
    assert strip_html(page) == visible


def test_pre_is_kept_verbatim():
    page = ("<p>Intro</p><pre>\n"
            "def f(x):\n\n    if x &lt; 0:  # &quot;neg&quot;\n        return <b>-x</b>\n    return x"
            "</pre><p>After</p>")
    assert strip_html(page) == ('Intro\ndef f(x):\n\n    if x < 0:  # "neg"\n        return -x\n    return x\n'
                                'After')
    assert strip_html("<pre>a<br>b<div>c</div>\td</pre>") == "a\nbc\td"  # only <br> breaks a line in <pre>
    assert strip_html("<pre>1<pre>2</pre>3</pre>4") == "123\n4"


def test_blocks_break_lines_and_inline_tags_do_not():
    assert strip_html("<h1>T</h1><p>Hello <b>wor</b>ld<br>again</p><ul><li>one<li>two</ul>") == \
        "T\nHello world\nagain\none\ntwo"
    assert strip_html("<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>") == "a b\nc"
    assert strip_html("<div>  lots\n\n of   \t space  </div>") == "lots of space"


@pytest.mark.parametrize("page, visible", [
    ("a < b and c > d", "a < b and c > d"),
    ("x<y && y>z", "xz"),  # <y && y> is a tag to a browser too: why detection must not fire on code
    ("<p>unclosed paragraph", "unclosed paragraph"),
    ("<p>truncated end tag</p", "truncated end tag</p"),
    ('cut in the middle <a href="x', 'cut in the middle <a href="x'),
    ("<a<a<a<a", "<a<a<a<a"),
    ("</>a</ b>c</1>", "ac"),
    ("<div><span></div></span>text</p></p>", "text"),
    ("<<p>>", "<\n>"),
    ("", ""),
])
def test_malformed_markup_is_read_as_browsers_read_it(page, visible):
    assert strip_html(page) == visible


def test_a_multi_megabyte_page():
    page = MDBOOK_HEAD + "<body>" + MDBOOK_BODY * 3000 + "</body></html>"  # 5.4 MB
    started = time.perf_counter()
    text = strip_html(page)
    assert time.perf_counter() - started < 20  # 0.4 s here
    assert text.count("Scalar Types") == 3000 and "<" not in text.replace("<= ", "")


@pytest.mark.parametrize("unit", ["<a", "</", "<a ", "<!--", "<![", "<!", "<?", "&#", "<script>", "<p>",
                                  "<pre>", "<svg>", "<a b='", "</p", "<<", "<a\x00"])
def test_pathological_input_takes_linear_time(unit):
    """html.parser alone needs 14 s for 100 KB of `<a<a...` on Python 3.11 and grows quadratically."""
    page = unit * (1_000_000 // len(unit))
    started = time.perf_counter()
    strip_html(page)
    assert time.perf_counter() - started < 10  # at most 0.5 s here


# --- properties ------------------------------------------------------------------------------------

MARKUP = st.lists(st.sampled_from([
    "<", ">", "/", "</", "<p>", "</p>", "<P class='x'>", "<br>", "<br/>", "<pre>", "</pre>", "<script>",
    "</script>", "<style>", "</STYLE>", "<!--", "-->", "<!", "<?", "<![CDATA[", "]]>", "<svg>", "</svg>",
    "<svg/>", "<template>", "</template>", "<td>", "</td>", "<tr>", "<li>", "<a href=\"", "\"", "'", "=",
    "&", "&amp;", "&lt", "&#", "&#x4", ";", "x", "word", " ", "\n", "\t", "é", "\x00", "<a\x00b>", "<h1>",
    "</h1>", "<div", "<noscript>", "</noscript>",
]), max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(MARKUP, st.text()))
def test_strip_never_raises_and_agrees_with_html_parser(page):
    text = strip_html(page)
    assert isinstance(text, str)
    assert text == strip_html_reference(page)
    assert isinstance(looks_like_html(page), bool)


@settings(max_examples=300, deadline=None)
@given(st.text().filter(lambda t: "<" not in t and "&" not in t))
def test_plain_text_comes_back_with_its_whitespace_collapsed(text):
    """Without `<` or `&` there is no markup: one block, whitespace runs as single spaces (as rendered)."""
    assert strip_html(text) == " ".join(text.split())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="<&", blacklist_categories=("Cs",)),
                        min_size=1), min_size=1, max_size=8))
def test_paragraphs_come_back_one_per_line(paragraphs):
    page = "".join(f"<p>{p}</p>" for p in paragraphs)
    assert strip_html(page) == "\n".join(" ".join(p.split()) for p in paragraphs if p.split())
