"""Guards before and after parsing: the DTD check over the whole prolog, encodings (BOM-less
UTF-16/32, bogus charsets) and NUL characters in decoded text; unit tests and real harvests."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcatwatch.dcat.mapper import map_graph
from dcatwatch.dcat.parse import SCAN_BYTES, parse_file, refuse_dtd, to_utf8
from dcatwatch.dcat.terms import literal, value
from dcatwatch.errors import ParseError
from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer

URL = "https://data.example.se/catalog.rdf"
RDF = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
       'xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">'
       '<dcat:Dataset rdf:about="http://ex.se/d1"><dct:title xml:lang="sv">{title}</dct:title>'
       '<dct:publisher rdf:resource="http://dataportal.se/organisation/SE2021005448"/>'
       "</dcat:Dataset></rdf:RDF>")
DECLARATION = '<?xml version="1.0"?>'
ENTITY = '<!DOCTYPE rdf:RDF [<!ENTITY xxe "expanded">]>'
LAUGHS = ('<!DOCTYPE rdf:RDF [<!ENTITY l0 "lollollollol">'
          + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)) + "]>")
TURTLE = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://ex.se/d1> a dcat:Dataset ; dct:title "%s"@sv ;
    dct:publisher <http://dataportal.se/organisation/SE2021005448> .
"""


def xml(prolog: str, title: str = "&xxe;") -> str:
    return prolog + RDF.format(title=title)


def refused(path: Path, document: bytes | str) -> str:
    """The code refuse_dtd raises for ``document``, or "" when it lets it through."""
    path.write_bytes(document.encode() if isinstance(document, str) else document)
    try:
        refuse_dtd(path, URL)
    except ParseError as error:
        assert error.url == URL
        return error.code
    return ""


@pytest.mark.parametrize("prolog", [
    DECLARATION + ENTITY,
    DECLARATION + " " * 70_000 + ENTITY,  # past the 64 KiB that used to be read
    DECLARATION + "\n" * (3 * SCAN_BYTES) + ENTITY,  # several chunks of whitespace
    "<!--" + "x" * 70_000 + "-->" + ENTITY,  # a long comment
    DECLARATION + "<?pi " + "y" * 200_000 + "?>" + ENTITY,  # a long processing instruction
    " " * (SCAN_BYTES - 1) + ENTITY,  # the "<" is the last byte of the first chunk
    "<!--" + "x" * (SCAN_BYTES - 6) + "-->" + ENTITY,  # "-->" split between two chunks
    "<?pi" + "y" * (SCAN_BYTES - 5) + "?>" + ENTITY,  # "?>" split between two chunks
    "<!-- a --><?pi b?> \n<!-- c -->" + ENTITY,
    "<!ENTITY xxe 'bare'>",
])
def test_a_dtd_anywhere_before_the_first_element_is_refused(tmp_path: Path, prolog: str) -> None:
    assert refused(tmp_path / "doc.rdf", xml(prolog)) == "parse.unsafe_xml"


@pytest.mark.parametrize("prolog", [
    "",
    DECLARATION + " " * 70_000,
    "<!-- <!DOCTYPE x [<!ENTITY a 'in a comment'>]> -->",
    "<?pi <!DOCTYPE in a processing instruction?>",
    "<!--" + "x" * (3 * SCAN_BYTES) + "-->",
])
def test_comments_pis_and_whitespace_of_any_length_pass(tmp_path: Path, prolog: str) -> None:
    assert refused(tmp_path / "doc.rdf", xml(prolog, "T")) == ""


def test_the_scan_stops_at_the_root_element(tmp_path: Path) -> None:
    # what follows the root element cannot declare entities: it is never read
    assert refused(tmp_path / "doc.rdf", xml(DECLARATION, "<!DOCTYPE in text")) == ""
    assert refused(tmp_path / "empty.rdf", b"") == ""


def test_nul_bytes_at_the_start_are_refused(tmp_path: Path) -> None:
    # UTF-16 that survived transcoding (UTF-32 of UTF-16): expat would read it as UTF-16
    assert refused(tmp_path / "doc.rdf", xml(DECLARATION + ENTITY).encode("utf-16-le")) \
        == "parse.not_rdf"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16", "utf-32-le",
                                      "utf-32-be", "utf-32"])
@pytest.mark.parametrize("content_type", ["application/rdf+xml", "application/octet-stream"])
def test_utf16_and_utf32_with_or_without_a_bom_cannot_hide_a_dtd(
        tmp_path: Path, encoding: str, content_type: str) -> None:
    path = tmp_path / "doc.rdf"
    prolog = f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
    path.write_bytes(xml(prolog + ENTITY).encode(encoding))
    with pytest.raises(ParseError) as caught:
        parse_file(path, URL, content_type)
    assert (caught.value.code, caught.value.url) == ("parse.unsafe_xml", URL)
    path.write_bytes(xml(prolog, "Åsnor").encode(encoding))
    parsed = map_graph(parse_file(path, URL, content_type), URL)
    assert parsed.datasets[0].title == {"sv": "Åsnor"}


@pytest.mark.parametrize("charset", ["rot13", "hex", "base64", "zlib", "uu", "bz2", "quopri",
                                     "idna", "punycode", "unicode_escape", "raw_unicode_escape",
                                     "undefined", "utf-16", "utf-32", "no-such-charset", "utf-8",
                                     "US-ASCII"])
def test_a_charset_that_is_no_text_encoding_is_ignored(tmp_path: Path, charset: str) -> None:
    path = tmp_path / "doc.ttl"
    path.write_bytes(TURTLE % "Väg \\u00e5 \\\\ \\\"".encode())
    assert to_utf8(path, URL, f"text/turtle; charset={charset}", "turtle") == path
    parsed = map_graph(parse_file(path, URL, f"text/turtle; charset={charset}"), URL)
    assert parsed.datasets[0].title == {"sv": 'Väg å \\ "'}


def test_a_real_charset_is_still_transcoded(tmp_path: Path) -> None:
    path = tmp_path / "doc.ttl"
    path.write_bytes(TURTLE % "Älvsbyn".encode("iso-8859-1"))
    parsed = map_graph(parse_file(path, URL, "text/turtle; charset=ISO-8859-1"), URL)
    assert parsed.datasets[0].title == {"sv": "Älvsbyn"}


@pytest.mark.parametrize("declared", ["rot13", "base64", "UTF-16", "idna", "US-ASCII", "x-nope"])
def test_an_xml_declaration_that_cannot_be_honoured_is_read_as_utf8(tmp_path: Path,
                                                                   declared: str) -> None:
    path = tmp_path / "doc.rdf"
    path.write_bytes(xml(f'<?xml version="1.0" encoding="{declared}"?>\n', "Åsnor").encode())
    graph = parse_file(path, URL, "application/rdf+xml")
    assert graph.recovered is None  # the strict parser read it: the declaration was rewritten
    assert map_graph(graph, URL).datasets[0].title == {"sv": "Åsnor"}


def test_nul_is_replaced_in_decoded_literals_and_iris() -> None:
    assert literal('"T \\u0000 nul"@SV') == ("T \ufffd nul", "sv")
    assert literal('"\\U00000000"') == ("\ufffd", "")
    assert literal('"raw \0 nul"') == ("raw \ufffd nul", "")  # rdflib writes NUL unescaped
    assert value('"a\\u0000b"^^<http://www.w3.org/2001/XMLSchema#string>') == "a\ufffdb"
    assert value("<http://ex.se/d\0x>") == "http://ex.se/d\ufffdx"
    assert literal('"\\\\u0000"') == ("\\u0000", "")  # an escaped backslash: no NUL at all


# real harvests from a loopback server


def sources(server: LoopbackServer, documents: dict[str, tuple[bytes, str]]) -> list[dict]:
    for name, (body, content_type) in documents.items():
        server.route(f"/{name}", body, content_type=content_type)
    return [{"name": name.replace(".", "-"), "type": "dcat", "url": server.url(f"/{name}")}
            for name in documents]


def test_harvests_refuse_padded_and_utf16_dtds(server: LoopbackServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    external = server.route("/external.txt", b"EXTERNAL", content_type="text/plain")
    rdf = "application/rdf+xml"
    documents = {
        "padded.rdf": (xml(DECLARATION + " " * 70_000 + ENTITY).encode(), rdf),
        "comment.rdf": (xml("<!--" + "x" * 70_000 + "-->" + ENTITY).encode(), rdf),
        "file.rdf": (xml(DECLARATION + " " * 70_000
                         + f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>').encode(), rdf),
        "http.rdf": (xml(DECLARATION + "\n" * 70_000
                         + f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{external}">]>').encode(), rdf),
        "laughs.rdf": (xml(DECLARATION + "\n" * 70_000 + LAUGHS, "&l9;").encode(), rdf),
        "utf16le.rdf": (xml(DECLARATION + ENTITY).encode("utf-16-le"), rdf),
        "utf16be.rdf": (xml(DECLARATION + ENTITY).encode("utf-16-be"), rdf),
        "good.rdf": (xml(DECLARATION + " " * 70_000, "Åsnor").encode("utf-16-le"), rdf),
    }
    status, results = harvest_json(write_config(tmp_path, sources(server, documents)))
    assert status == 1
    by_source = {r["source"]: r for r in results}
    good = by_source.pop("good-rdf")
    assert (good["status"], good["datasets"], good["errors"]) == ("ok", 1, [])
    for result in by_source.values():
        assert result["status"] == "failed", result
        assert [(e["code"], e["url"]) for e in result["errors"]] \
            == [("parse.unsafe_xml", server.url("/" + result["source"].replace("-", ".")))]
        assert result["duration_s"] < 5  # refused before parsing: no bomb went off
    assert server.hits("/external.txt") == 0
    assert sql(tmp_path / "dcatwatch.toml", "SELECT title FROM dataset") == [("Åsnor",)]


def test_harvests_ignore_bogus_charsets(server: LoopbackServer, tmp_path: Path) -> None:
    charsets = ["rot13", "hex", "base64", "zlib", "uu", "idna", "punycode", "utf-16",
                "unicode_escape", "undefined", "x-unknown"]
    body = TURTLE % "Väg".encode()
    documents = {f"{charset}.ttl": (body, f"text/turtle; charset={charset}")
                 for charset in charsets}
    documents["declared.rdf"] = (
        xml('<?xml version="1.0" encoding="rot13"?>\n', "Väg").encode(), "application/rdf+xml")
    status, results = harvest_json(write_config(tmp_path, sources(server, documents)))
    assert status == 0
    assert [(r["source"], r["status"], r["datasets"], r["errors"]) for r in results] \
        == [(name.replace(".", "-"), "ok", 1, []) for name in documents]
    titles = sql(tmp_path / "dcatwatch.toml", "SELECT DISTINCT title FROM dataset")
    assert titles == [("Väg",)]


def test_nul_in_literals_and_iris_is_stored(server: LoopbackServer, tmp_path: Path,
                                            database_url: str) -> None:
    strict = TURTLE % b"T \\u0000 nul"
    # an IRI with NUL makes the strict parser give up; rdflib writes the NULs unescaped
    lenient = (strict.replace(b"<http://ex.se/d1>", b"<http://ex.se/d\\u0000x>")
               .replace(b"T \\u0000", b"L \\u0000"))
    documents = {"strict.ttl": (strict, "text/turtle"), "lenient.ttl": (lenient, "text/turtle")}
    config = write_config(tmp_path, sources(server, documents), database=database_url)
    status, results = harvest_json(config)
    assert status == 0
    assert [(r["status"], r["added"]) for r in results] == [("ok", 1)] * 2
    assert [e["code"] for r in results for e in r["errors"]] == ["parse.recovered"]
    assert sorted(sql(config, "SELECT iri, title FROM dataset")) == [
        ("http://ex.se/d1", "T \ufffd nul"), ("http://ex.se/d\ufffdx", "L \ufffd nul")]
