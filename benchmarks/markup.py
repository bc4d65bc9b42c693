"""Benchmark markup handling (`forensics.corpus.markup`): label accuracy of HTML pages kept as they are,
stripped, and through two simpler strippers; how often detection fires; how fast each step runs.

Sets (every label from `classify_texts` with its default profiles: the TRAIN split of `languages` + `code`):
  wrapped    COUNT-split text (never seen by the profiles) of every `languages` and `code` category put
             into page templates (head with CSS and JS, navigation, footer; prose in <p>/<div>/<br>/<li>,
             code in highlighted <pre> or in a line-per-row table; one template minified); truth = the
             category. The text itself, unwrapped, is classified too.
  real       the Rust documentation installed by rustup (share/doc/rust/html), never looked at while
             choosing the detection rule: the books (truth `en` for prose pages; `en` or `rust` for pages
             with 20%+ of their text in <pre>), the standard library's source view (truth `rust`), API
             pages (`en` or `rust`); and, reported apart, pages under /usr/share/doc and npm's docs, which
             WERE used to choose the rule.
  control    the COUNT split's own documents (not HTML): accuracy with stripping where detection fires.
  detection  how often `looks_like_html` fires on code, text and XML files of this machine (those looked
             at while choosing the rule and those not), and on the pages above and their fragments.
  speed      CPU seconds of each step on one core.

    python benchmarks/markup.py --results benchmarks/results/markup.md
"""

from __future__ import annotations

import argparse
import glob
import html
import os
import platform
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forensics.corpus.markup import looks_like_html, strip_html, strip_html_reference  # noqa: E402

LINES: list[str] = []
PAGES_PER_CATEGORY = 8
SETS = ("languages", "code")


def out(line: str = "") -> None:
    print(line, flush=True)
    LINES.append(line)


# --- page templates ------------------------------------------------------------------------------

CSS = """
:root { --fg: #1f2328; --bg: #ffffff; --accent: #0969da; --muted: #59636e; }
* { box-sizing: border-box; }
body { margin: 0; font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); }
header.site { display: flex; align-items: center; justify-content: space-between; padding: 12px 24px; }
nav ul { list-style: none; margin: 0; padding: 0; display: flex; gap: 16px; }
nav a { color: var(--muted); text-decoration: none; font-weight: 500; }
nav a:hover, nav a.active { color: var(--accent); }
main { max-width: 760px; margin: 0 auto; padding: 24px; line-height: 1.6; }
pre { background: #f6f8fa; padding: 16px; overflow: auto; border-radius: 6px; font-size: 85%; }
.k { color: #cf222e; } .s { color: #0a3069; } .c { color: #59636e; font-style: italic; }
table.highlight td.blob-num { width: 1%; min-width: 50px; text-align: right; color: #59636e; }
table.highlight td.blob-num::before { content: attr(data-line-number); }
table.highlight td.blob-code { white-space: pre; font-family: ui-monospace, monospace; }
footer { border-top: 1px solid #d1d9e0; color: var(--muted); padding: 24px; font-size: 12px; }
@media (max-width: 600px) { header.site { flex-direction: column; } nav ul { flex-wrap: wrap; } }
"""

JS = """
window.dataLayer = window.dataLayer || [];
function gtag(){dataLayer.push(arguments);}
gtag('js', new Date());
gtag('config', 'G-4XR7Q2B9ZK', { 'anonymize_ip': true, 'cookie_flags': 'SameSite=None;Secure' });
document.addEventListener('DOMContentLoaded', function () {
  var toggle = document.querySelector('.menu-toggle');
  var menu = document.getElementById('menu');
  if (toggle && menu) {
    toggle.addEventListener('click', function () {
      var open = menu.getAttribute('aria-expanded') === 'true';
      menu.setAttribute('aria-expanded', String(!open));
      for (var i = 0; i < menu.children.length; i++) { menu.children[i].hidden = open; }
    });
  }
});
"""

JSON_LD = ('{"@context":"https://schema.org","@type":"Article","headline":"%s","datePublished":"2024-03-18",'
           '"author":{"@type":"Person","name":"A. Writer"},"publisher":{"@type":"Organization","name":"Example"}}')

CODE_NAV = ["Home", "Docs", "Examples", "Source", "Issues", "Pull requests", "Releases"]
KEYWORDS = set("""
and as async await break case catch class const continue def default defer do elif else end enum export extends
false final fn for foreach from func function go if impl import in interface let local loop match mod module mut
namespace new nil none not null or package private protected pub public return self static struct super switch
then this throw true try type typedef use var void while yield
""".split())
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|//[^\n]*|#[^\n]*|--[^\n]*|\b[A-Za-z_]\w*\b')


def highlight(code: str) -> str:
    """Code as a highlighter writes it: escaped, keywords, strings and comments in spans."""
    pieces, last = [], 0
    for match in _TOKEN.finditer(code):
        token = match.group()
        pieces.append(html.escape(code[last:match.start()], quote=False))
        if token[0] in "\"'":
            pieces.append(f'<span class="s">{html.escape(token, quote=False)}</span>')
        elif token[0] in "#/-":
            pieces.append(f'<span class="c">{html.escape(token, quote=False)}</span>')
        elif token in KEYWORDS:
            pieces.append(f'<span class="k">{token}</span>')
        else:
            pieces.append(token)
        last = match.end()
    pieces.append(html.escape(code[last:], quote=False))
    return "".join(pieces)


def short_label(paragraph: str) -> str:
    words = paragraph.split()
    label = " ".join(words[:2]) if len(words) > 3 else paragraph[:8]
    return html.escape(label[:24])


def page(template: str, blocks: list[str], *, code: str | None, rng: random.Random) -> str:
    """An HTML page around ``blocks`` (paragraphs, or source files when ``code`` names the language)."""
    if code:
        nav_labels, title, footer = CODE_NAV, f"{code} source", "&copy; 2024 Example, Inc. All rights reserved."
    else:
        nav_labels = [short_label(p) for p in blocks[:6]]
        title, footer = short_label(blocks[0]), f"&copy; 2024 &middot; {short_label(blocks[-1])}"
    nav = "\n".join(f'<li><a href="/{i}/" class="{"active" if i == 0 else ""}">{label}</a></li>'
                    for i, label in enumerate(nav_labels))
    head = (f'<!DOCTYPE html>\n<html lang="xx">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{title}</title>\n'
            f'<link rel="stylesheet" href="/static/site.{rng.randrange(16**8):08x}.css">\n<style>{CSS}</style>\n'
            f'<script async src="https://www.googletagmanager.com/gtag/js?id=G-4XR7Q2B9ZK"></script>\n'
            f'<script>{JS}</script>\n<script type="application/ld+json">{JSON_LD % title}</script>\n</head>\n')
    top = (f'<body class="{template}">\n<!-- header -->\n<header class="site"><a class="logo" href="/">'
           f'<svg width="32" height="32" viewBox="0 0 16 16"><path d="M8 0C3.58 0 0 3.58 0 8c0 3.54 2.29 6.53 '
           f'5.47 7.59.4.07.55-.17.55-.38"></path></svg></a>\n<button class="menu-toggle" aria-label="menu">'
           f'&#9776;</button>\n<nav><ul id="menu" aria-expanded="false">\n{nav}\n</ul></nav>\n</header>\n')
    bottom = f'<footer><p>{footer}</p></footer>\n</body>\n</html>\n'
    if code:
        if template == "table":  # a code host's file view: one row per line, line numbers from CSS
            body = "".join(
                '<table class="highlight">\n' + "".join(
                    f'<tr><td id="L{n}" class="blob-num" data-line-number="{n}"></td>'
                    f'<td class="blob-code">{highlight(line)}</td></tr>\n'
                    for n, line in enumerate(block.split("\n"), 1)) + '</table>\n' for block in blocks)
        else:
            body = "".join(f'<div class="highlight"><pre><code class="language-{code}">{highlight(block)}'
                           f'</code></pre></div>\n' for block in blocks)
        body = f'<main>\n<h1>{title}</h1>\n{body}</main>\n'
    elif template == "docs":
        items = []
        for i, p in enumerate(blocks):
            if i % 5 == 0:
                items.append(f'<h2 id="s{i}">{short_label(p)}<a class="anchor" href="#s{i}">&para;</a></h2>')
            if i % 7 == 3:
                items.append(f'<ul>\n<li>{html.escape(p)}</li>\n</ul>')
            else:
                items.append(f'<div class="para"><p>{html.escape(p)}</p></div>')
        body = (f'<div class="layout"><aside class="sidebar"><ul>{nav}</ul></aside>\n'
                f'<main class="content">\n<h1>{title}</h1>\n' + "\n".join(items) + '\n</main></div>\n')
    elif template == "forum":
        body = ('<div id="thread"><div class="post" data-post-id="1840"><div class="author">'
                '<img src="/avatars/17.png" alt=""><span class="user">user_17</span></div>\n<div class="post-body">'
                + "<br>\n<br>\n".join(html.escape(p) for p in blocks)
                + '</div></div>\n<form class="reply" method="post"><textarea name="body" rows="4"></textarea>'
                  '<button type="submit">&#10148;</button></form></div>\n')
    else:  # blog (and minified)
        paragraphs = []
        for i, p in enumerate(blocks):
            text = html.escape(p)
            if i % 3 == 1 and " " in text:  # some inline markup, as editors leave it
                first, rest = text.split(" ", 1)
                text = f'<strong>{first}</strong> <a href="/p/{i}">{rest}</a>'
            paragraphs.append(f"<p>{text}</p>")
        body = f'<main><article>\n<h1>{title}</h1>\n' + "\n".join(paragraphs) + '\n</article></main>\n'
    document = head + top + body + bottom
    if template == "minified":
        document = re.sub(r">\s+<", "><", document)
        document = re.sub(r"\n\s*", " ", document) if not code else document
    return document


PROSE_TEMPLATES = ("blog", "docs", "forum", "minified")
CODE_TEMPLATES = ("blog", "docs", "table", "minified")


def wrapped_set() -> tuple[list[str], list[str], list[str], list[str]]:
    """(truth, original text, page, template) for PAGES_PER_CATEGORY pages of every category's COUNT split."""
    from forensics.corpus.categories import load_categories

    rng = random.Random(0)
    truth, originals, pages, templates = [], [], [], []
    for set_name in SETS:
        for category in load_categories(set_name, split="count"):
            is_code = category.group == "code"
            blocks_pool: list[str] = []
            for text in category.texts():
                if is_code:
                    cut = text[:4000]
                    cut = cut[:cut.rfind("\n")] if len(text) > 4000 and "\n" in cut else cut
                    if len(cut.strip()) >= 200:
                        blocks_pool.append(cut.strip("\n"))
                else:
                    blocks_pool.extend(p.strip() for p in text.split("\n") if len(p.strip()) >= 20)
            made = 0
            while blocks_pool and made < PAGES_PER_CATEGORY:
                blocks, size = [], 0
                while blocks_pool and size < 2000:
                    blocks.append(blocks_pool.pop(0))
                    size += len(blocks[-1])
                if size < 1000:
                    break
                names = CODE_TEMPLATES if is_code else PROSE_TEMPLATES
                template = names[made % len(names)]
                truth.append(category.name)
                originals.append("\n".join(blocks))
                pages.append(page(template, blocks, code=category.name if is_code else None, rng=rng))
                templates.append(template)
                made += 1
    return truth, originals, pages, templates


# --- real pages ----------------------------------------------------------------------------------

def rust_docs() -> Path | None:
    found = sorted(glob.glob(os.path.expanduser("~/.rustup/toolchains/stable-*/share/doc/rust/html")))
    return Path(found[0]) if found else None


def read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def sample(paths: list[str], n: int, seed: int = 0) -> list[str]:
    paths = sorted(paths)
    return paths if len(paths) <= n else sorted(random.Random(seed).sample(paths, n))


_PRE = re.compile(r"<pre\b.*?</pre\s*>", re.I | re.S)
MIN_VISIBLE = 500  # bytes of visible text: leaves out redirect stubs ("Redirecting to... ./x.html")
CODE_HEAVY = 0.2  # a page with this share of its visible text in <pre> blocks has no single truth


def code_share(page: str) -> float:
    """The share of a page's visible text inside ``<pre>`` blocks."""
    visible = len(strip_html(page))
    return 1 - len(strip_html(_PRE.sub("", page))) / max(1, visible)


def real_sets() -> dict[str, tuple[frozenset[str], list[str]]]:
    """Group name -> (the labels counted right, pages), pages with MIN_VISIBLE bytes of visible text."""
    groups: dict[str, tuple[frozenset[str], list[str]]] = {}

    def visible(paths: list[str]) -> list[str]:
        return [p for p in paths if len(strip_html(read(p)).encode()) >= MIN_VISIBLE]

    def by_code_share(name: str, paths: list[str], code: set[str]) -> None:
        shares = {p: code_share(read(p)) for p in visible(paths)}
        groups[f"{name}, prose (under {CODE_HEAVY:.0%} of the text in <pre>)"] = (
            frozenset({"en"}), [p for p in shares if shares[p] < CODE_HEAVY])
        groups[f"{name}, code-heavy (en or the code's language counted right)"] = (
            frozenset({"en"} | code), [p for p in shares if shares[p] >= CODE_HEAVY])

    docs = rust_docs()
    if docs is not None:
        books = []
        for book in ("book", "nomicon", "reference", "edition-guide"):
            paths = [p for p in glob.glob(str(docs / book / "**" / "*.html"), recursive=True)
                     if os.path.basename(p) not in ("print.html", "404.html", "toc.html")]
            books += sample(paths, 80)
        by_code_share("Rust book, nomicon, reference, edition guide", books, {"rust"})
        sources = glob.glob(str(docs / "src" / "**" / "*.rs.html"), recursive=True)
        groups["Rust std source view (src/**/*.rs.html)"] = (frozenset({"rust"}), visible(sample(sources, 120)))
        groups["rustdoc API pages (std/**/{struct,trait,fn,enum}.*.html; en or rust counted right)"] = (
            frozenset({"en", "rust"}), visible(sample(
                [p for p in glob.glob(str(docs / "std" / "**" / "*.html"), recursive=True)
                 if os.path.basename(p).split(".")[0] in ("struct", "trait", "fn", "enum")], 120)))
    dev = [p for p in glob.glob("/usr/share/doc/**/*.htm*", recursive=True) + glob.glob(
        "/usr/lib/node_modules/npm/docs/**/*.html", recursive=True)
        if os.path.isfile(p) and not p.endswith(".gz") and os.path.getsize(p) > 2000]
    if dev:
        by_code_share("DEV (thresholds chosen on these): /usr/share/doc + npm docs", sample(dev, 200),
                      {"c", "javascript", "typescript"})  # libffi, libxslt, zlib; node, npm
    return groups


# --- strippers compared ----------------------------------------------------------------------------

_NAIVE_TAG = re.compile(r"<[^>]*>")


def naive_strip(text: str) -> str:
    """The one-line stripper: every tag removed (script and style text kept), entities unescaped."""
    return html.unescape(_NAIVE_TAG.sub(" ", text))


def paragraphs_strip(text: str) -> str:
    """`html_paragraphs`, the category builder's (block text only, code dropped)."""
    try:
        from forensics.corpus.cleaning import html_paragraphs
    except ImportError:  # before build.py was split
        from forensics.corpus.build import html_paragraphs

    return "\n".join(html_paragraphs(text))


STRIPPERS = {"kept as is": lambda t: t, "naive regex": naive_strip, "html_paragraphs": paragraphs_strip,
             "strip_html": strip_html,
             "if looks_like_html: strip_html": lambda t: strip_html(t) if looks_like_html(t) else t}


def labels(texts: list[str]) -> list[str]:
    from forensics.composition.classify import classify_texts

    return [label.label for label in classify_texts(texts)]


def accuracy(found: list[str], truth: list[str]) -> str:
    right = sum(f == t for f, t in zip(found, truth))
    return f"{right / max(1, len(truth)):.1%}"


def mb(texts: list[str]) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


def timed(function, texts: list[str]) -> tuple[list, float]:
    started = time.process_time()
    result = [function(t) for t in texts]
    return result, time.process_time() - started


# --- sections --------------------------------------------------------------------------------------

def section_wrapped() -> list[str]:
    truth, originals, pages, templates = wrapped_set()
    out(f"\n## Wrapped: COUNT-split text of {len(set(truth))} categories in page templates\n")
    out(f"{len(pages)} pages ({PAGES_PER_CATEGORY} per category, 2 per template), {mb(pages):.1f} MB of HTML "
        f"around {mb(originals):.1f} MB of text.\n")
    code = {"c", "cpp", "go", "java", "javascript", "lua", "perl", "php", "python", "ruby", "rust", "tcl",
            "typescript"}
    results = {"unwrapped text": labels(originals)}
    for name, function in STRIPPERS.items():
        results[name] = labels([function(p) for p in pages])
    out("| input | all | languages | code | blog: prose / code | docs: prose / code | forum (prose) / table (code) "
        "| minified: prose / code |")
    out("|---|---|---|---|---|---|---|---|")
    is_code = [t in code for t in truth]
    for name, found in results.items():
        cells = [accuracy(found, truth)]
        for want in (False, True):
            picked = [(f, t) for f, t, c in zip(found, truth, is_code) if c == want]
            cells.append(accuracy([f for f, _ in picked], [t for _, t in picked]))
        for group in (("blog",), ("docs",), ("forum", "table"), ("minified",)):
            for want in (False, True):
                picked = [(f, t) for f, t, c, tp in zip(found, truth, is_code, templates) if c == want and tp in group]
                cells.append(accuracy([f for f, _ in picked], [t for _, t in picked]))
        template_cells = [f"{cells[3 + 2 * k]} / {cells[4 + 2 * k]}" for k in range(4)]
        out(f"| {name} | " + " | ".join(cells[:3] + template_cells) + " |")
    wrong = Counter((t, f) for t, f in zip(truth, results["strip_html"]) if t != f)
    out("\nstrip_html's errors (truth -> label, count): "
        + (", ".join(f"{t} -> {f} {n}" for (t, f), n in wrong.most_common(12)) or "none"))
    kept = Counter(results["kept as is"])
    out("\nLabels of the pages kept as they are: " + ", ".join(f"{k} {v}" for k, v in kept.most_common(8)))
    return pages


def section_real() -> tuple[list[str], list[str]]:
    """Classify the real pages; return them (those never looked at while choosing the rule, the DEV ones)."""
    out("\n## Real pages\n")
    groups = real_sets()
    if not groups:
        out("No real pages found (install the Rust docs with rustup).")
        return [], []
    out(f"Pages with at least {MIN_VISIBLE} bytes of visible text; a page counts as right when its label is "
        f"one of those in the truth column.\n")
    out("| pages | truth | n | MB | detected | " + " | ".join(STRIPPERS) + " |")
    out("|---|---|---|---|---|" + "---|" * len(STRIPPERS))
    held_out: list[str] = []
    dev: list[str] = []
    distributions = []
    for name, (truth, paths) in groups.items():
        pages = [read(p) for p in paths]
        (dev if name.startswith("DEV") else held_out).extend(pages)
        found = {s: labels([f(p) for p in pages]) for s, f in STRIPPERS.items()}
        cells = [f"{sum(label in truth for label in found[s]) / max(1, len(pages)):.1%}" for s in STRIPPERS]
        out(f"| {name} | {' or '.join(sorted(truth))} | {len(pages)} | "
            f"{mb(pages):.1f} | {sum(map(looks_like_html, pages))} | " + " | ".join(cells) + " |")
        distributions.append((name, found))
    out("\nLabels (most common six):\n")
    for name, found in distributions:
        out(f"- {name}: " + "; ".join(
            f"{stripper}: " + ", ".join(f"{k} {v}" for k, v in Counter(found[stripper]).most_common(6))
            for stripper in ("kept as is", "strip_html")))
    return held_out, dev


def section_control() -> None:
    from forensics.corpus.categories import load_categories

    truth, texts = [], []
    for set_name in SETS:
        for category in load_categories(set_name, split="count"):
            for text in category.texts():
                truth.append(category.name)
                texts.append(text)
    fired = [i for i, t in enumerate(texts) if looks_like_html(t)]
    plain = labels(texts)
    rule = labels([strip_html(t) if looks_like_html(t) else t for t in texts])
    always = labels([strip_html(t) for t in texts])
    out("\n## Control: the COUNT split's own documents (not HTML)\n")
    out(f"{len(texts)} documents, {mb(texts):.1f} MB; `looks_like_html` fires on {len(fired)}"
        + (f" ({', '.join(truth[i] for i in fired)})" if fired else "")
        + f"; accuracy without stripping {accuracy(plain, truth)}, with `strip_html` where it fires "
          f"{accuracy(rule, truth)}; stripping every document regardless: {accuracy(always, truth)}")


def files_under(roots: list[str], suffixes: tuple[str, ...], n: int, min_bytes: int = 500) -> list[str]:
    found = []
    for root in roots:
        for folder, _, names in os.walk(root):
            found += [os.path.join(folder, name) for name in names if name.endswith(suffixes)]
    found = [p for p in found if os.path.isfile(p) and os.path.getsize(p) >= min_bytes]
    return sample(found, n)


def body_fragment(page: str) -> str:
    start = page.lower().find("<body")
    return page[start:] if start >= 0 else page


def main_fragment(page: str) -> str:
    lower = page.lower()
    start = lower.find("<main")
    end = lower.find("</main>", start)
    return page[start:end] if start >= 0 and end > start else body_fragment(page)


def section_detection(wrapped: list[str], real: list[str], dev: list[str]) -> None:
    """How often `looks_like_html` fires: on code and text files of this machine, and on pages and their fragments."""
    out("\n## Detection\n")
    out("| files | looked at while choosing the rule? | n | `looks_like_html` fires |")
    out("|---|---|---|---|")
    rows = [
        ("Python stdlib (/usr/lib/python3.11)", "yes", files_under(["/usr/lib/python3.11"], (".py",), 1500)),
        ("C and C++ headers (/usr/include)", "yes", files_under(["/usr/include"], (".h", ".hpp", ""), 1500)),
        ("npm's JavaScript (/usr/lib/node_modules)", "yes", files_under(["/usr/lib/node_modules"], (".js",), 1500)),
        ("Markdown (node, npm, gcloud)", "yes", files_under(["/usr/share/doc", "/usr/lib/node_modules",
                                                             "/usr/lib/google-cloud-sdk"], (".md",), 800)),
        ("XML and SVG (/usr/share)", "yes", files_under(["/usr/share"], (".xml", ".svg"), 1500)),
        ("bundled `code` set, both splits (13 languages)", "yes", None),
        ("Perl modules (/usr/share/perl, perl5)", "no", files_under(["/usr/share/perl", "/usr/share/perl5"],
                                                                      (".pm",), 1500)),
        ("Tcl (/usr/share/tcltk)", "no", files_under(["/usr/share/tcltk"], (".tcl",), 1500)),
        ("Python of the gcloud SDK", "no", files_under(["/usr/lib/google-cloud-sdk"], (".py",), 1500)),
        ("CUDA headers (/usr/local/cuda*)", "no", files_under(sorted(glob.glob("/usr/local/cuda*")),
                                                              (".h", ".hpp", ".cuh"), 800)),
    ]
    for name, seen, paths in rows:
        if paths is None:
            from forensics.corpus.categories import load_categories

            texts = [doc.text for cat in load_categories("code") for doc in cat.documents()]
        else:
            texts = [read(p) for p in paths]
        if texts:
            out(f"| {name} | {seen} | {len(texts)} | {sum(map(looks_like_html, texts))} |")
    out("\n| pages | looked at while choosing the rule? | n | whole page | `<body>` on | inside `<main>` |")
    out("|---|---|---|---|---|---|")
    for name, seen, pages in (("wrapped (above)", "the fragments: yes", wrapped), ("real: Rust docs", "no", real),
                              ("real: DEV", "yes", dev)):
        if pages:
            out(f"| {name} | {seen} | {len(pages)} | {sum(map(looks_like_html, pages))} | "
                f"{sum(looks_like_html(body_fragment(p)) for p in pages)} | "
                f"{sum(looks_like_html(main_fragment(p)) for p in pages)} |")


def section_speed(pages: list[str]) -> None:
    from forensics.composition.classify import classify_texts

    out(f"\n## Speed (one core, CPU time, {len(pages)} pages, {mb(pages):.1f} MB)\n")
    out("| step | seconds | MB/s of HTML | per page |")
    out("|---|---|---|---|")
    classify_texts(pages[:2])  # profiles loaded before timing
    size = mb(pages)
    for name, function in [("looks_like_html", looks_like_html), ("strip_html", strip_html),
                           ("strip_html_reference (html.parser)", strip_html_reference),
                           ("html_paragraphs (the builder's, html.parser)", paragraphs_strip),
                           ("naive regex", naive_strip)]:
        _, seconds = timed(function, pages)
        out(f"| {name} | {seconds:.2f} | {size / seconds:.1f} | {seconds / len(pages) * 1e6:,.0f} µs |")
    started = time.process_time()
    classify_texts(pages)
    seconds = time.process_time() - started
    out(f"| classify_texts on the pages as they are | {seconds:.2f} | {size / seconds:.1f} | "
        f"{seconds / len(pages) * 1e6:,.0f} µs |")
    stripped = [strip_html(p) for p in pages]
    started = time.process_time()
    classify_texts(stripped)
    seconds = time.process_time() - started
    out(f"| classify_texts on the stripped text ({mb(stripped):.1f} MB) | {seconds:.2f} | {size / seconds:.1f} | "
        f"{seconds / len(pages) * 1e6:,.0f} µs |")
    big = "/usr/share/doc/nodejs/api/all.html"
    if os.path.isfile(big):
        text = read(big)
        _, seconds = timed(strip_html, [text])
        out(f"\nOne large page ({big}, {mb([text]):.1f} MB): strip_html {seconds:.2f} s, "
            f"{mb([text]) / seconds:.1f} MB/s")


def header() -> None:
    import numba
    import numpy

    from forensics import __version__
    from forensics.composition.profiles import load_profiles

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    profiles = load_profiles()
    out(f"- machine: {cpu}, {os.cpu_count()} cores (load average at start {os.getloadavg()[0]:.1f}), "
        f"Python {platform.python_version()}, numpy {numpy.__version__}, numba {numba.__version__}, "
        f"forensics {__version__}")
    out(f"- profiles: the default ({len(profiles.names)} categories, TRAIN split of {' + '.join(SETS)}; "
        f"fingerprint {profiles.fingerprint}); labels are `classify_texts` labels at its default threshold "
        f"(an `unknown` counts as wrong)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default="wrapped,real,control,detection,speed")
    parser.add_argument("--results", help="Append the markdown to this file.")
    args = parser.parse_args()
    sections = args.sections.split(",")
    header()
    wrapped = section_wrapped() if "wrapped" in sections else []
    real, dev = section_real() if "real" in sections else ([], [])
    if "control" in sections:
        section_control()
    if "detection" in sections:
        section_detection(wrapped, real, dev)
    if "speed" in sections:
        section_speed(wrapped + real + dev or wrapped_set()[2])
    if args.results:
        with open(args.results, "a", encoding="utf-8") as handle:
            handle.write("\n".join(LINES) + "\n")


if __name__ == "__main__":
    main()
