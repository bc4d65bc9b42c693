"""Groups of categories the user names (``--group NAME=MEMBERS``): their total share and its interval.

Audits report groups ("non-English", "code") more than single categories, and a group's total is often
better determined than its members' split (close relatives explain each other's merges). A group is
built from its members left to right: a category name adds it, ``@KIND`` adds every category whose set
metadata gives it that kind (``language``, ``code``, ``domain``, ``other``), ``*`` adds every category,
and a leading ``-`` removes instead of adding. ``non-English=@language,-en`` is every language but
English; ``all-but-code=*,-@code`` the same thing when the sets hold languages and code only.

>>> kinds = {"en": "language", "de": "language", "python": "code"}
>>> resolve_group("non-English", ["@language", "-en"], kinds)
['de']
>>> parse_group_option("code=@code")
('code', ['@code'])

What it leaves out: the similar groups the estimate finds itself (:func:`.evidence.similar_groups`);
the interval arithmetic is :func:`.infer.sum_interval`, shared by both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from forensics.errors import ForensicsError

ALL = "*"


def parse_group_option(text: str) -> tuple[str, list[str]]:
    """``"NAME=a,b,-c"`` -> ``("NAME", ["a", "b", "-c"])`` (the command line's form).

    >>> parse_group_option("romance = fr, es ,it")
    ('romance', ['fr', 'es', 'it'])
    """
    name, sep, members = text.partition("=")
    name = name.strip()
    parts = [m.strip() for m in members.split(",") if m.strip()]
    if not sep or not name or not parts:
        raise ForensicsError(f"--group {text!r}: expected NAME=MEMBERS, e.g. --group non-English=@language,-en "
                             f"(members: category names, @KIND for every category of a kind, * for all; a "
                             f"leading - removes)")
    return name, parts


def resolve_group(name: str, members: Sequence[str], kinds: Mapping[str, str | None]) -> list[str]:
    """The categories of group ``name`` in the order of ``kinds`` (category -> kind from the set's metadata,
    None where the categories came without metadata).

    >>> resolve_group("g", ["*", "-@code"], {"en": "language", "python": "code"})
    ['en']
    """
    if isinstance(members, str):
        members = [members]
    chosen: set[str] = set()
    present = sorted({kind for kind in kinds.values() if kind})
    for member in members:
        remove = member.startswith("-")
        target = member[1:].strip() if remove else member.strip()
        if target == ALL:
            found = set(kinds)
        elif target.startswith("@"):
            found = {cat for cat, kind in kinds.items() if kind == target[1:]}
            if not found:
                raise ForensicsError(f"group {name!r}: no category is of kind {target[1:]!r}; kinds here: "
                                     f"{', '.join(present) or 'none (the categories carry no metadata)'}")
        elif target in kinds:
            found = {target}
        else:
            shown = ", ".join(list(kinds)[:12]) + (", ..." if len(kinds) > 12 else "")
            raise ForensicsError(f"group {name!r}: {target!r} is not one of the categories ({shown}); name "
                                 f"categories, @KIND or *")
        chosen = chosen - found if remove else chosen | found
    if not chosen:
        raise ForensicsError(f"group {name!r}: {', '.join(members)} leaves no category; check the members")
    return [cat for cat in kinds if cat in chosen]


def resolve_groups(groups: Mapping[str, Sequence[str]] | None,
                   kinds: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Every group's categories (see :func:`resolve_group`); an empty mapping when there are none.

    >>> resolve_groups({"g": ["a", "b"]}, {"a": None, "b": None, "c": None})
    {'g': ['a', 'b']}
    """
    return {str(name): resolve_group(str(name), members, kinds) for name, members in (groups or {}).items()}


def category_kinds(categories, *, split: str) -> dict[str, str | None]:
    """Category name -> kind from its set's metadata, in counting order; None for categories given as a
    mapping of files (they carry no metadata)."""
    from forensics.corpus.categories import load_categories

    specs = categories if isinstance(categories, (list, tuple)) else [categories]
    kinds: dict[str, str | None] = {}
    for spec in specs:
        if isinstance(spec, Mapping):
            kinds.update({str(name): None for name in spec})
        else:
            kinds.update({cat.name: cat.group for cat in load_categories(spec, split=split)})  # type: ignore[arg-type]
    return kinds
