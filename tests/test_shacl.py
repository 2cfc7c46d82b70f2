"""DCAT-AP 3.0.1 SHACL compliance: the DIGG examples, the background data, the engine against
pyshacl on the corpus, and verdicts kept and scored through validation runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from dcatwatch.dcat.mapper import Mapper
from dcatwatch.dcat.parse import parse_file
from dcatwatch.errors import ParseError
from dcatwatch.store.core import Store
from dcatwatch.validators import shacl
from dcatwatch.validators.shacl_engines import ENGINE
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
EU = "http://publications.europa.eu/resource/authority/"
DCT, DCAT = "http://purl.org/dc/terms/", "http://www.w3.org/ns/dcat#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def described(path: Path) -> tuple[list[shacl.Description], list[str]]:
    """The descriptions of a catalogue file as a harvest stores them, and its data services."""
    url = f"https://example.com/{path.name}"
    parsed = Mapper(parse_file(path, url), url=url).map(full=False)
    return ([shacl.Description(n, entry.iri, entry.description)
             for n, entry in enumerate(parsed.entries)], [s.iri for s in parsed.services])


def verdicts(path: Path, engine: str = ENGINE) -> dict[int | str, shacl.Verdict]:
    descriptions, services = described(path)
    return shacl.check(descriptions, services, engine=engine)


def test_obligatoriskt_conforms(corpus: Path) -> None:
    """research/quality.md §6.4: DIGG's mandatory example has no violation, range shapes
    included (its vocabulary IRIs are typed by the background data)."""
    [verdict] = verdicts(corpus / "digg-dcat-ap-se" / "obligatoriskt.ttl").values()
    assert verdict.conforms and verdict.findings == []


def test_rekommenderat_breaks_only_the_format_literals(corpus: Path) -> None:
    """§6.4: exactly two violations, ``dct:format "text/csv"`` and ``"application/json"``
    (sh:nodeKind; the sh:class result on the same literal is not said twice)."""
    [verdict] = verdicts(corpus / "digg-dcat-ap-se" / "rekommenderat.ttl").values()
    assert not verdict.conforms
    assert {(f.code, f.severity, f.subject, f.property, f.value) for f in verdict.findings} == {
        ("shacl.node_kind", "error", "https://example.com/distribution1", "dct:format",
         "text/csv"),
        ("shacl.node_kind", "error", "https://example.com/distribution2", "dct:format",
         "application/json")}
    hint = verdict.findings[0].to_dict()["hint"]
    assert "som text" in hint["sv"] and "file-type/CSV" in hint["sv"]
    assert "written as text" in hint["en"] and "file-type/CSV" in hint["en"]


def _one(*triples: tuple[str, str, str]) -> shacl.Verdict:
    dataset = "https://data.example.se/d"
    lines = [f"<{dataset}> <{RDF_TYPE}> <{DCAT}Dataset> .",
             f'<{dataset}> <{DCT}title> "Trafik"@sv .',
             f'<{dataset}> <{DCT}description> "Flöden"@sv .']
    lines += [f"<{dataset}> <{p}> {o} ." for _, p, o in triples]
    [verdict] = shacl.check([shacl.Description(1, dataset, "\n".join(lines) + "\n")]).values()
    return verdict


def test_recognised_vocabulary_iris_pass_the_range_shapes_and_others_do_not() -> None:
    good = _one(("", DCAT + "theme", f"<{EU}data-theme/TRAN>"),
                ("", DCT + "accessRights", f"<{EU}access-right/PUBLIC>"),
                ("", DCT + "language", f"<{EU}language/SWE>"),
                ("", DCT + "accrualPeriodicity", f"<{EU}frequency/ANNUAL>"),
                ("", DCT + "spatial", f"<{EU}country/SWE>"),
                # any page is a foaf:Document (the rdfs:range of dcat:landingPage)
                ("", DCAT + "landingPage", "<https://data.example.se/sida>"))
    assert good.conforms and good.findings == []
    page = _one(("", DCAT + "landingPage", '"https://data.example.se/sida"'))
    assert {(f.code, f.property) for f in page.findings} == {("shacl.node_kind",
                                                               "dcat:landingPage")}
    bad = _one(("", DCT + "accessRights", "<http://example.org/open>"))
    assert not bad.conforms
    [finding] = bad.findings
    assert (finding.code, finding.property) == ("shacl.class", "dct:accessRights")
    assert "dct:RightsStatement" in finding.to_dict()["hint"]["en"]


def test_without_the_background_a_vocabulary_iri_would_be_a_violation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the background data is for (§6.3): the same valid theme fails sh:class without
    it."""
    monkeypatch.setattr(shacl, "background", lambda: ("", frozenset()))
    verdict = _one(("", DCAT + "theme", f"<{EU}data-theme/TRAN>"))
    assert {(f.code, f.property) for f in verdict.findings} == {("shacl.class", "dcat:theme")}


def test_the_shipped_background_is_what_its_script_generates() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_shacl_background", ROOT / "scripts" / "gen_shacl_background.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.render() == shacl.BACKGROUND.read_text(encoding="utf-8")


def corpus_catalogues(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix != ".md"
                  and "shapes" not in p.relative_to(corpus).parts and "SHACL" not in p.name)


@pytest.mark.slow
@pytest.mark.skipif(ENGINE == "pyshacl", reason="dcatwatch validates with pyshacl itself")
def test_the_engine_gives_pyshacls_verdicts_on_every_corpus_catalogue(corpus: Path) -> None:
    """The engine dcatwatch validates with says what pyshacl says, dataset by dataset:
    the verdict and every finding, on each catalogue of the corpus."""
    pytest.importorskip("pyshacl")  # the reference: the test extra
    compared = 0
    for path in corpus_catalogues(corpus):
        try:
            descriptions, services = described(path)
        except ParseError:
            continue  # broken on purpose (tests/test_corpus.py)
        if not descriptions:
            continue
        ours = shacl.check(descriptions, services, engine=ENGINE)
        reference = shacl.check(descriptions, services, engine="pyshacl")
        for key, verdict in reference.items():
            assert (ours[key].conforms, ours[key].findings) == \
                (verdict.conforms, verdict.findings), (path.name, descriptions[key].iri)
        compared += len(descriptions)
    assert compared > 500


def test_verdicts_are_kept_rechecked_when_changed_and_scored(
        tmp_path: Path, database_url: str) -> None:
    """A validation run checks new and changed descriptions only; scoring reads the verdict
    (30 points, or 0 with findings) and a changed verdict rescores that dataset alone."""
    catalog = (FIXTURES / "validation" / "catalog.ttl").read_text(encoding="utf-8")
    with LoopbackServer() as server:
        catalog = catalog.replace("{base}", server.url(""))
        url = server.route("/catalog.ttl", catalog.encode(), content_type="text/turtle")
        config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                              database=database_url,
                              validation={"recheck_hours": 1000, "data": False})
        harvest_json(config)

        def validate() -> None:
            status, _, err = run("--config", str(config), "validate", "--json")
            assert status == 0, err

        def compliance() -> dict[str, object]:
            return dict(sql(config, "SELECT d.iri, s.compliance FROM dataset_score s "
                                    "JOIN dataset d ON d.id = s.dataset_id"))

        with Store.open(database_url) as store:
            from dcatwatch.scoring.service import score

            assert score(store).rescored == 2
            assert set(compliance().values()) == {None}  # unchecked: unknown, not passed
            validate()
            checked = dict(sql(config, "SELECT d.iri, c.conforms FROM shacl_check c "
                                       "JOIN dataset d ON d.id = c.dataset_id"))
            assert len(checked) == 2 and not any(checked.values())  # both break a shape
            assert score(store).rescored == 2
            assert compliance() == checked
            _fixes_in_the_report(config, store)
            status, out, err = run("--config", str(config), "explain",
                                   "https://data.example.se/dataset/kommuner")
            assert status == 0, err
            assert "fail      0.0/30  DCAT-AP compliance (dcat_ap_compliance" in out
            assert "! error shacl.node_kind https://data.example.se/dist/kommuner-csv " \
                "dct:format = text/csv: The format of the distribution is written as text" in out
            stamps = sql(config, "SELECT dataset_id, checked_at FROM shacl_check")
            validate()  # nothing changed: nothing checked again, nothing rescored
            assert sql(config, "SELECT dataset_id, checked_at FROM shacl_check") == stamps
            assert score(store).rescored == 0
            # kommuner's distributions get their format as an EU file-type IRI: it complies
            fixed = catalog.replace('dct:format "text/csv"', f"dct:format <{EU}file-type/CSV>")
            assert fixed != catalog
            server.route("/catalog.ttl", fixed.encode(), content_type="text/turtle")
            harvest_json(config)
            validate()
            again = dict(sql(config, "SELECT dataset_id, checked_at FROM shacl_check"))
            assert sum(again[i] != when for i, when in stamps) == 1
            assert score(store).rescored == 1
            assert compliance() == {"https://data.example.se/dataset/kommuner": True,
                                    "https://data.example.se/dataset/rapport": False}


def _fixes_in_the_report(config: Path, store: Store) -> None:
    """The violations are fixes of the agency's report, one per property and record, with
    the finding's hint and what complying earns (30 points for a dataset it fixes alone)."""
    from dcatwatch.config import ReportsSettings
    from dcatwatch.reports.content import build
    from dcatwatch.reports.period import Period

    status, _, err = run("--config", str(config), "scores", "--snapshot")
    assert status == 0, err
    content = build(store, "2021005448", Period.parse("2026-12"), "en", ReportsSettings())
    shaped = {(fix.shape[0], fix.shape[1]): fix for fix in content.fixes if fix.shape}
    assert set(shaped) == {("dct:format", "distribution"), ("dct:description", "dataset"),
                           ("dct:accessRights", "dataset")}
    form = shaped["dct:format", "distribution"]
    assert [ref.iri for ref in form.datasets] == ["https://data.example.se/dataset/kommuner",
                                                  "https://data.example.se/dataset/rapport"]
    assert "written as text" in form.shape[2] and "file-type/CSV" in form.shape[2]
    assert form.mqa_gain == 15.0  # kommuner complies once its formats are IRIs: 30 / 2
    assert shaped["dct:description", "dataset"].mqa_gain == 0.0  # rapport breaks three


def test_a_description_the_engine_refuses_stays_unchecked_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injected into the engine: it refuses any graph holding the report dataset. The
    batch is checked description by description; the refused one gets no verdict (unknown),
    the other its verdict, and the run finishes."""
    from dcatwatch.validators import shacl_engines

    real = shacl_engines.ENGINES[ENGINE]

    def refusing(data: str, shapes: str) -> list[shacl_engines.Result]:
        if "dataset/rapport" in data:
            raise ValueError("engine refused the graph")
        return real(data, shapes)

    monkeypatch.setitem(shacl_engines.ENGINES, ENGINE, refusing)
    catalog = (FIXTURES / "validation" / "catalog.ttl").read_text(encoding="utf-8")
    with LoopbackServer() as server:
        url = server.route("/catalog.ttl", catalog.replace("{base}", server.url("")).encode(),
                           content_type="text/turtle")
        config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                              validation={"recheck_hours": 1000, "data": False})
        harvest_json(config)
        status, out, err = run("--config", str(config), "validate", "--json")
    assert status == 0, err
    assert json.loads(out)["summary"]["shacl"] == {"checked": 1, "reused": 0, "conforming": 0,
                                                   "unchecked": 1}
    assert sql(config, "SELECT d.iri FROM shacl_check c JOIN dataset d "
                       "ON d.id = c.dataset_id") == [("https://data.example.se/dataset/kommuner",)]
    assert sql(config, "SELECT status FROM validation_run") == [("ok",)]
