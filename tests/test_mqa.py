"""MQA-predicted points (dataportal.se variant): indicators, link states, bands."""

from __future__ import annotations

import json

import pytest

from dcatwatch.dcat.classify import LinkInfo, classify_dataset
from dcatwatch.dcat.model import Agent, ContactPoint, Dataset, Distribution
from dcatwatch.dcat.records import load_dataset
from dcatwatch.dcat.vocabularies import LICENCE
from dcatwatch.scoring.mqa import INDICATORS, REACHABLE, SCALE, MqaScore, band, score_dataset
from dcatwatch.validators.metadata import check_description

EU = "http://publications.europa.eu/resource/authority/file-type/"
ACCESS = "https://data.example.se/trafik"
DOWNLOAD = "https://data.example.se/trafik.csv"


def full_distribution(iri: str = "https://data.example.se/dist/csv") -> Distribution:
    return Distribution(
        iri,
        access_urls=[ACCESS],
        download_urls=[DOWNLOAD],
        formats=[EU + "CSV"],
        media_types=["text/csv"],
        licenses=["http://creativecommons.org/publicdomain/zero/1.0/"],
        rights=["Fri användning"],
        byte_size="1024",
    )


def full_dataset(*dists: Distribution) -> Dataset:
    return Dataset(
        "https://data.example.se/dataset/trafik",
        keywords=["trafik"],
        themes=["http://publications.europa.eu/resource/authority/data-theme/TRAN"],
        spatial=["http://publications.europa.eu/resource/authority/country/SWE"],
        temporal=["2020/2024"],
        access_rights=["http://publications.europa.eu/resource/authority/access-right/PUBLIC"],
        contact_points=[ContactPoint("https://x/cp", emails=["mailto:data@example.se"])],
        publisher=Agent("http://dataportal.se/organisation/SE2021005448"),
        issued="2020-01-01",
        modified="2024-05-01",
        distributions=list(dists) or [full_distribution()],
    )


def states(score: MqaScore) -> dict[str, tuple[float, str]]:
    return {r.id: (r.points, r.state) for r in score.indicators}


ALL_OK = {ACCESS: LinkInfo(200, "text/html", True), DOWNLOAD: LinkInfo(200, "text/csv", True)}


def test_indicator_table_is_the_whole_405_scale() -> None:
    dimensions: dict[str, int] = {}
    for indicator in INDICATORS:
        dimensions[indicator.dimension] = (
            dimensions.get(indicator.dimension, 0) + indicator.max_points
        )
    assert dimensions == {"findability": 100, "accessibility": 100, "interoperability": 110,
                          "reusability": 75, "contextuality": 20}  # fmt: skip
    assert (SCALE, REACHABLE) == (405, 405)
    assert next(i.max_points for i in INDICATORS if i.id == "dcat_ap_compliance") == 30


def test_full_dataset_with_checked_links_and_shacl_gets_every_point() -> None:
    score = score_dataset(full_dataset(), ALL_OK, compliance=True)
    assert (score.points, score.band, score.unknown_points) == (405, "Excellent", 0)
    assert {state for _, state in states(score).values()} == {"pass"}


@pytest.mark.parametrize(("compliance", "expected"),
                         [(True, (30, "pass", 0)), (False, (0, "fail", 0)),
                          (None, (0, "unknown", 30))])  # fmt: skip
def test_compliance_is_the_shacl_verdict_and_unchecked_is_unknown(
        compliance: bool | None, expected: tuple[float, str, float]) -> None:
    score = score_dataset(full_dataset(), ALL_OK, compliance=compliance)
    result = next(r for r in score.indicators if r.id == "dcat_ap_compliance")
    assert (result.points, result.state, result.unknown_points) == expected
    assert score.points == 375 + expected[0]
    assert score.unknown_points == expected[2]


def test_unchecked_links_are_unknown_earn_nothing_and_are_reported() -> None:
    score = score_dataset(full_dataset())
    found = states(score)
    assert found["access_url_status"] == (0, "unknown")
    assert found["download_url_status"] == (0, "unknown")
    assert found["dcat_ap_compliance"] == (0, "unknown")
    assert (score.points, score.unknown_points, score.band) == (295, 110, "Good")


@pytest.mark.parametrize(
    ("link", "state"),
    [
        (LinkInfo(404, "text/html", False), "fail"),
        (LinkInfo(None, None, False), "fail"),  # connection refused
        (LinkInfo(None, None, None), "unknown"),  # queued, not checked
        (LinkInfo(301, None, None), "pass"),
    ],
)
def test_link_state_drives_accessibility(link: LinkInfo, state: str) -> None:
    score = score_dataset(full_dataset(), {ACCESS: link, DOWNLOAD: link})
    result = next(r for r in score.indicators if r.id == "access_url_status")
    assert result.state == state
    assert result.points == (50 if state == "pass" else 0)
    assert result.unknown_points == (50 if state == "unknown" else 0)


def test_missing_download_url_fails_both_download_indicators() -> None:
    dist = full_distribution()
    dist.download_urls = []
    found = states(score_dataset(full_dataset(dist), ALL_OK))
    assert found["download_url"] == (0, "fail")
    assert found["download_url_status"] == (0, "fail")


def test_distribution_indicators_earn_the_share_of_passing_distributions() -> None:
    unlicensed = full_distribution("https://x/2")
    unlicensed.licenses = []
    found = states(score_dataset(full_dataset(full_distribution(), unlicensed), ALL_OK))
    assert found["license"] == (10, "fail")
    assert found["license_vocabulary"] == (5, "fail")


def test_one_pass_one_unchecked_is_unknown_with_half_the_points() -> None:
    other = full_distribution("https://x/2")
    other.access_urls = ["https://data.example.se/unchecked"]
    score = score_dataset(full_dataset(full_distribution(), other), ALL_OK)
    result = next(r for r in score.indicators if r.id == "access_url_status")
    assert (result.points, result.state, result.unknown_points) == (25, "unknown", 25)


def test_interoperability_counts_only_the_best_distribution() -> None:
    pdf = Distribution("https://x/pdf", formats=["PDF"])
    score = score_dataset(full_dataset(pdf, full_distribution()), ALL_OK)
    assert score.by_dimension()["interoperability"] == 80


@pytest.mark.parametrize(
    ("formats", "media_types", "vocabulary", "non_proprietary", "machine_readable"),
    [
        ([EU + "CSV"], [], True, True, True),
        (["https://publications.europa.eu/resource/authority/file-type/CSV"], [], True, True,
         True),
        ([EU + "csv"], [], False, True, True),  # wrong case: CSV, but not the table's IRI
        ([EU + "CSV/"], [], False, True, True),
        ([EU + "NEW_CODE"], [], True, False, False),  # as the validator: a code not yet known
        (["text/csv"], [], True, True, True),  # dataportal.se: media types count as formats
        (["https://www.iana.org/assignments/media-types/text/csv"], [], True, True, True),
        (["text/csv+zip"], [], True, True, True),
        (["CSV"], [], False, True, True),  # free text is no vocabulary
        ([EU + "CSV"], ["csv"], False, True, True),
        (["application/vnd.ms-excel"], [], True, False, True),
        ([EU + "PDF"], ["application/pdf"], True, False, False),
        ([EU + "HTML"], [], True, True, False),
        ([], ["text/csv"], False, True, True),  # no dct:format: not aligned
        ([], [], False, False, False),
    ],
)
def test_format_indicators(
    formats: list[str], media_types: list[str], vocabulary: bool, non_proprietary: bool,
    machine_readable: bool,
) -> None:  # fmt: skip
    dist = Distribution("d", formats=formats, media_types=media_types)
    found = states(score_dataset(Dataset("ds", distributions=[dist])))
    assert found["format_media_type_vocabulary"][1] == ("pass" if vocabulary else "fail")
    assert found["non_proprietary"][1] == ("pass" if non_proprietary else "fail")
    assert found["machine_readable"][1] == ("pass" if machine_readable else "fail")
    assert found["format"][1] == ("pass" if formats else "fail")
    assert found["media_type"][1] == ("pass" if media_types else "fail")


@pytest.mark.parametrize(
    ("licence", "known"),
    [
        ("http://creativecommons.org/licenses/by/4.0/", True),
        ("https://creativecommons.org/licenses/by/4.0/deed.sv", True),
        ("https://creativecommons.org/licenses/by-sa/4.0", True),
        ("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0", True),
        ("https://www.example.se/villkor", False),
        ("Fri att använda", False),
    ],
)
def test_licence_vocabulary(licence: str, known: bool) -> None:
    dist = Distribution("d", licenses=[licence])
    found = states(score_dataset(Dataset("ds", distributions=[dist])))
    assert found["license"] == (20, "pass")
    assert found["license_vocabulary"] == ((10, "pass") if known else (0, "fail"))


@pytest.mark.parametrize(
    "licence",
    [*LICENCE.values, "https://creativecommons.org/licenses/by/4.0",
     "https://www.creativecommons.org/licenses/by-sa/4.0/deed.sv",
     "http://creativecommons.org/publicdomain/zero/1.0/legalcode",
     "https://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
     "http://publications.europa.eu/resource/authority/licence/dl-by-de-2.0"],
)
def test_a_licence_the_validator_accepts_earns_the_points(licence: str) -> None:
    assert LICENCE.accepts(licence)
    found = states(score_dataset(Dataset("ds", distributions=[
        Distribution("d", licenses=[licence])])))
    assert found["license_vocabulary"] == (10, "pass")


def test_access_rights_vocabulary_needs_the_eu_table() -> None:
    found = states(score_dataset(Dataset("ds", access_rights=["offentlig"])))
    assert found["access_rights"] == (10, "pass")
    assert found["access_rights_vocabulary"] == (0, "fail")


ACCESS_RIGHT = "http://publications.europa.eu/resource/authority/access-right/"


def description(access_rights: str, format_term: str) -> str:
    """A stored description (N-Triples) with these dct:accessRights and dct:format terms."""
    ds, dist, dct = "<https://ex.se/ds>", "<https://ex.se/dist>", "http://purl.org/dc/terms/"
    return (f'{ds} <{dct}title> "Badplatser"@sv .\n'
            f"{ds} <{dct}accessRights> {access_rights} .\n"
            f"{ds} <http://www.w3.org/ns/dcat#distribution> {dist} .\n"
            f"{dist} <http://www.w3.org/ns/dcat#accessURL> <https://ex.se/bad.csv> .\n"
            f"{dist} <{dct}format> {format_term} .\n")


@pytest.mark.parametrize(
    ("term", "earns"),
    [(f"<{ACCESS_RIGHT}PUBLIC>", True),
     (f"<{ACCESS_RIGHT.replace('http:', 'https:')}PUBLIC>", True),  # as licences: scheme aside
     (f"<{ACCESS_RIGHT.replace('http:', 'https:')}PUBLIC/>", False),  # another IRI
     (f"<{ACCESS_RIGHT}public>", False),
     ('"offentlig"', False)],
)  # fmt: skip
def test_access_rights_points_are_withheld_only_with_a_finding(term: str, earns: bool) -> None:
    text = description(term, '"text/csv"')
    found = states(score_dataset(load_dataset(text)))
    findings = [f for f in check_description(text) if f.property == "dct:accessRights"]
    assert found["access_rights_vocabulary"][1] == ("pass" if earns else "fail")
    assert bool(findings) is not earns


@pytest.mark.parametrize(
    ("term", "earns"),
    [(f"<{EU}CSV>", True), ("<https://publications.europa.eu/resource/authority/file-type/CSV>",
      True), ('"text/csv"', True), (f"<{EU}csv>", False), (f"<{EU}CSV/>", False)],
)  # fmt: skip
def test_format_vocabulary_points_are_withheld_only_with_a_finding(term: str,
                                                                   earns: bool) -> None:
    text = description(f"<{ACCESS_RIGHT}PUBLIC>", term)
    dataset = load_dataset(text)
    found = states(score_dataset(dataset))
    findings = [f.code for f in check_description(text) if f.property == "dct:format"]
    assert found["format_media_type_vocabulary"][1] == ("pass" if earns else "fail")
    assert findings == ([] if earns else ["meta.distribution.format_not_media_type"])
    assert found["machine_readable"][1] == "pass"  # CSV, in whatever case
    assert classify_dataset(dataset, {}, ()).level == 2


def test_dataset_band_is_the_band_of_the_points_shown() -> None:
    dists = [full_distribution() for _ in range(101)]
    for dist in dists[1:]:
        dist.rights = []  # 5 × 1/101 of the rights points
    dataset = full_dataset(*dists)
    dataset.temporal = []
    score = score_dataset(dataset, ALL_OK)
    assert 350 < score.points < 350.05  # 350.0495…, shown as 350.0
    assert (score.to_dict()["points"], score.band) == (350.0, "Good")


def test_empty_dataset_scores_nothing() -> None:
    score = score_dataset(Dataset("ds"), compliance=False)
    assert (score.points, score.band, score.unknown_points) == (0, "Bad", 0)
    assert {state for _, state in states(score).values()} == {"fail"}


@pytest.mark.parametrize(
    ("points", "name"),
    [(405, "Excellent"), (351, "Excellent"), (350.5, "Excellent"), (350, "Good"), (221, "Good"),
     (220, "Sufficient"), (121, "Sufficient"), (120, "Bad"), (0, "Bad")],
)  # fmt: skip
def test_bands(points: float, name: str) -> None:
    assert band(points) == name


def test_to_dict_is_json_ready() -> None:
    data = json.loads(json.dumps(score_dataset(full_dataset()).to_dict()))
    assert (data["points"], data["band"], data["unknown_points"]) == (295, "Good", 110)
    assert (data["max_points"], data["scale"]) == (405, 405)
    assert len(data["indicators"]) == len(INDICATORS)
    first = data["indicators"][0]
    assert first == {
        "id": "keyword", "dimension": "findability", "property": "dcat:keyword",
        "max_points": 30, "points": 30, "state": "pass", "unknown_points": 0,
    }  # fmt: skip
