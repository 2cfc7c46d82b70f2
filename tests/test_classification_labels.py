"""dcatwatch's dataset levels against a careful human's, on real catalogues.

``fixtures/corpus_labels.csv`` holds levels (3 API, 2 machine-readable, 1 documents only,
0 nothing usable) given by hand from the RDF, before dcatwatch was run on it: every dataset
of the Swedish corpus files and a sample of the German GovData catalogues. Each file is
mapped as a harvest does (the stored description of every dataset, re-read) and classified;
at least 98 % of the labels must agree.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from dcatwatch.dcat.classify import classify_dataset, services_by_dataset
from dcatwatch.dcat.mapper import map_graph
from dcatwatch.dcat.model import unpack_description
from dcatwatch.dcat.parse import graph_from_ntriples, parse_file
from dcatwatch.dcat.records import load_dataset
from dcatwatch.errors import lookup
from tests.conftest import CORPUS

LABELS = Path(__file__).resolve().parent / "fixtures" / "corpus_labels.csv"
REQUIRED_AGREEMENT = 0.98
SHARED_CORPUS = Path("/work/shared/corpus")


@pytest.fixture(scope="module")
def corpus() -> Path:
    """The shared corpus (beside the checkout, or at its shared path); skips when absent."""
    for candidate in (CORPUS, SHARED_CORPUS):
        if candidate.is_dir():
            return candidate
    pytest.skip("shared corpus not found")


def read_labels() -> dict[str, dict[str, tuple[int, str]]]:
    """{file: {dataset IRI: (level, reason)}}."""
    labels: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
    with LABELS.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels[row["file"]][row["dataset"]] = (int(row["level"]), row["reason"])
    return labels


def levels_of(path: Path) -> dict[str, tuple[int, list[str]]]:
    """{dataset IRI: (level, evidence rule ids)} for one corpus file, as a harvest scores it."""
    url = f"http://loopback.invalid/{path.name}"
    graph = parse_file(path, url)
    entries = map_graph(graph, url, "labels", full=False)
    services = {s.iri: s for s in map_graph(graph, url, "labels").services}
    serving = services_by_dataset(services.values())
    found = {}
    for entry in entries.entries:
        dataset = load_dataset(unpack_description(entry.packed), "labels")
        level = classify_dataset(dataset, services, serving.get(dataset.iri, ()))
        found[dataset.iri] = (level.level, sorted({e.rule for e in level.evidence}))
    return found


def test_labels_cover_the_swedish_files_and_a_german_sample() -> None:
    labels = read_labels()
    german = sum(len(v) for f, v in labels.items() if f.startswith("govdata-de/"))
    swedish = sum(len(labels[f]) for f in labels if f.startswith(("digg-", "openumea")))
    assert german >= 100 and swedish >= 29
    assert {"openumea-opennorth/sgu.rdf", "openumea-opennorth/OpenNorth.rdf",
            "ckanext-dcat/dataset_sweden.rdf"} <= set(labels)


def test_classification_agrees_with_the_human_labels(corpus: Path) -> None:
    labels = read_labels()
    total = agreed = 0
    disagreements = []
    for relative, expected in sorted(labels.items()):
        got = levels_of(corpus / relative)
        for iri, (level, reason) in expected.items():
            assert iri in got, f"{relative}: labelled dataset {iri} not mapped"
            total += 1
            if got[iri][0] == level:
                agreed += 1
            else:
                disagreements.append(f"{relative} {iri}: human {level} ({reason}), "
                                     f"dcatwatch {got[iri][0]} {got[iri][1]}")
    share = agreed / total
    print(f"agreement {agreed}/{total} = {share:.3f}", *disagreements, sep="\n")
    assert share >= REQUIRED_AGREEMENT, "\n".join(disagreements)


SLIPPED = """\
<https://x.se/ds> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> \
<http://www.w3.org/ns/dcat#Dataset> .
<https://x.se/ds> <http://purl.org/dc/terms/distribution> <https://x.se/dist> .
<https://x.se/dist> <http://www.w3.org/ns/dcat#accessUrl> <https://x.se/page> .
<https://x.se/dist> <http://www.w3.org/ns/dcat#downloadUrl> <https://x.se/data.csv> .
<https://x.se/dist> <http://purl.org/dc/terms/mediaType> "text/csv" .
"""


@pytest.mark.parametrize("full", [True, False])
def test_slipped_properties_are_read_with_a_warning(full: bool) -> None:
    parsed = map_graph(graph_from_ntriples(SLIPPED), "https://x.se/cat.nt", "slips", full=full)
    if full:
        [dataset] = parsed.datasets
    else:
        [entry] = parsed.entries
        assert [(d.access_url, d.download_url, d.format) for d in entry.distributions] == [
            ("https://x.se/page", "https://x.se/data.csv", "text/csv")]
        dataset = load_dataset(unpack_description(entry.packed))
    [dist] = dataset.distributions
    assert (dist.access_urls, dist.download_urls, dist.media_types) == (
        ["https://x.se/page"], ["https://x.se/data.csv"], ["text/csv"])
    assert classify_dataset(dataset).level == 2
    assert sorted((p.code, p.message, p.subject) for p in parsed.problems
                  if p.code == "record.tolerated") == [
        ("record.tolerated", "dcat:accessUrl was read as dcat:accessURL", "https://x.se/dist"),
        ("record.tolerated", "dcat:downloadUrl was read as dcat:downloadURL", "https://x.se/dist"),
        ("record.tolerated", "dct:distribution was read as dcat:distribution", "https://x.se/ds"),
        ("record.tolerated", "dct:mediaType was read as dcat:mediaType", "https://x.se/dist"),
    ]
    assert lookup("record.tolerated").severity == "warning"
