"""Time classification + MQA + aggregation on synthetic in-memory datasets.

    python benchmarks/bench_scoring.py [--datasets 40000] [--agencies 200] [--seed 1] [--smoke]

Builds Dataset objects directly (no RDF), with formats in every form the classifier meets (EU
IRIs, IANA IRIs, DCAT-AP-SE literals, packaged "+zip" literals, free text, bare URLs), API
distributions, dataset-level services and some link-check results. Target: under 5 s for
40 000 datasets on a 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from dcatwatch.dcat.classify import LinkInfo, classify_dataset, services_by_dataset
from dcatwatch.dcat.model import Agent, ContactPoint, DataService, Dataset, Distribution
from dcatwatch.scoring.aggregate import Agency, DatasetRow, aggregate
from dcatwatch.scoring.mqa import score_dataset

EU = "http://publications.europa.eu/resource/authority/file-type/"
IANA = "https://www.iana.org/assignments/media-types/"
BASE = "https://data.example.se"
FORMATS = [
    "text/csv", "text/csv", "application/json", "application/pdf", "application/pdf",
    "application/vnd.ms-excel", "text/csv+zip", "application/zip", "text/html", EU + "CSV",
    EU + "PDF", EU + "WMS_SRVC", IANA + "text/csv", IANA + "application/geo+json", "Excel",
    "PDF (.pdf)", "CSV", "WMS", "application/vnd.ogc.wfs_xml", "text/turtle", "GeoPackage",
    "application/octet-stream", "eget format",
]  # fmt: skip
EXTENSIONS = [".csv", ".pdf", ".xlsx", ".zip", ".csv.gz", ".json", ""]
SMOKE = {"datasets": 2000, "agencies": 20}  # --smoke: CI runs every benchmark at this size
LICENCES = ["http://creativecommons.org/publicdomain/zero/1.0/",
            "https://creativecommons.org/licenses/by/4.0/", "Fri användning"]  # fmt: skip


def _distribution(rng: random.Random, ds: int, n: int, services: list[str]) -> Distribution:
    iri = f"{BASE}/dist/{ds}-{n}"
    dist = Distribution(iri, access_urls=[f"{BASE}/ds/{ds}/{n}"])
    roll = rng.random()
    if roll < 0.08:
        dist.access_services = [rng.choice(services)]
    elif roll < 0.12:
        dist.access_urls = [f"https://geo.example.se/ows/{ds}?service=WMS&request=GetCapabilities"]
    if rng.random() < 0.85:
        dist.formats = [rng.choice(FORMATS)]
    if rng.random() < 0.3:
        dist.media_types = [rng.choice(FORMATS[:9])]
    if rng.random() < 0.6:
        dist.download_urls = [f"{BASE}/files/{ds}-{n}{rng.choice(EXTENSIONS)}"]
    if rng.random() < 0.7:
        dist.licenses = [rng.choice(LICENCES)]
    if rng.random() < 0.05:
        dist.title = {"sv": "Öppet API för trafikdata"}
    return dist


def build(count: int, agencies: int, seed: int) -> tuple[list[Dataset], list[DataService]]:
    """Synthetic datasets (1–3 distributions each) and the services some of them use."""
    rng = random.Random(seed)
    services = [
        DataService(f"{BASE}/service/{i}", serves_datasets=[f"{BASE}/dataset/{i * 97}"])
        for i in range(count // 200 + 1)
    ]
    service_iris = [s.iri for s in services]
    datasets = []
    for i in range(count):
        agency = f"20210{i % agencies:05d}"
        ds = Dataset(
            f"{BASE}/dataset/{i}",
            title={"sv": f"Datamängd {i}"},
            publisher=Agent(f"http://dataportal.se/organisation/SE{agency}"),
            keywords=["trafik"] if rng.random() < 0.8 else [],
            themes=["http://publications.europa.eu/resource/authority/data-theme/TRAN"],
            contact_points=[ContactPoint(f"{BASE}/cp/{i}")] if rng.random() < 0.7 else [],
            landing_pages=[f"{BASE}/ds/{i}/0"] if rng.random() < 0.3 else [],
            modified="2024-01-01" if rng.random() < 0.5 else None,
        )
        ds.distributions = [
            _distribution(rng, i, n, service_iris) for n in range(rng.randint(1, 3))
        ]
        datasets.append(ds)
    return datasets, services


def run(datasets: list[Dataset], services: list[DataService], agencies: int) -> Counter[int]:
    """THE IN-PROCESS PART (dcatwatch internals; adapt here when they change): classify,
    score and aggregate; returns the level counts."""
    by_iri = {s.iri: s for s in services}
    serving = services_by_dataset(services)
    links = {
        f"{BASE}/ds/{i}/0": LinkInfo(200, "text/html", True) for i in range(0, len(datasets), 3)
    }
    rows = []
    for ds in datasets:
        level = classify_dataset(ds, by_iri, serving.get(ds.iri, ()), links)
        mqa = score_dataset(ds, links)
        agency = ds.publisher.iri.rsplit("SE", 1)[-1] if ds.publisher else "unknown"
        rows.append(DatasetRow(agency, level.level, level.strong, mqa.points, level.open))
    registry = [Agency(f"20210{i:05d}", f"Myndighet {i}") for i in range(agencies + 5)]
    scores = aggregate(rows, registry)
    assert scores.national is not None and scores.national.datasets == len(datasets)
    return Counter(row.level for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=40_000)
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help=f"small sizes: {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    start = time.perf_counter()
    datasets, services = build(args.datasets, args.agencies, args.seed)
    built = time.perf_counter()
    levels = run(datasets, services, args.agencies)
    done = time.perf_counter()
    wall = done - built
    dists = sum(len(ds.distributions) for ds in datasets)
    print(f"built {len(datasets)} datasets / {dists} distributions in {built - start:.2f} s")
    print(f"classify + MQA + aggregate: {wall:.2f} s wall, {len(datasets) / wall:,.0f} datasets/s")
    print("levels:", {level: levels[level] for level in (3, 2, 1, 0)})
    print(f"datasets: {len(datasets)}\nscoring_s: {wall:.2f}\n"
          f"datasets_per_s: {len(datasets) / wall:.0f}")


if __name__ == "__main__":
    main()
