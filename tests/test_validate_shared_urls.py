"""Two sources that list the same URLs (dataportal.se repeats the agencies' datasets),
validated at the same time: both runs end ``ok``, each URL is checked once, and a store
error in a validation is that run's error."""

from __future__ import annotations

import threading
from pathlib import Path

from dcatwatch.config import Settings, ValidationSettings, load
from dcatwatch.http.client import HttpClient
from dcatwatch.store.core import Store
from dcatwatch.validators.service import validate
from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer, Response

FILES = 12
CSV = b"kod,namn\n0180,Stockholm\n1480,G\xc3\xb6teborg\n"


def _catalogue(base: str, name: str) -> bytes:
    """A catalogue of ``FILES`` datasets of source ``name``, whose files are the same
    URLs for every source."""
    lines = ["@prefix dcat: <http://www.w3.org/ns/dcat#> .",
             "@prefix dct: <http://purl.org/dc/terms/> .",
             f"<https://{name}.example.se/catalog> a dcat:Catalog ; dct:title \"K\"@sv ;",
             "  dct:publisher <http://dataportal.se/organisation/SE2021005448> ;",
             "  dcat:dataset " + ", ".join(f"<https://{name}.example.se/d/{i}>"
                                           for i in range(FILES)) + " ."]
    for i in range(FILES):
        lines += [f"<https://{name}.example.se/d/{i}> a dcat:Dataset ; dct:title \"D{i}\"@sv ;",
                  "  dct:publisher <http://dataportal.se/organisation/SE2021005448> ;",
                  f"  dcat:distribution <https://{name}.example.se/f/{i}> .",
                  f"<https://{name}.example.se/f/{i}> a dcat:Distribution ;",
                  f"  dcat:accessURL <{base}/file{i}.csv> ; dct:format \"text/csv\" ."]
    return "\n".join(lines).encode()


def _harvested(server: LoopbackServer, tmp_path: Path, database_url: str) -> Settings:
    for name in ("a", "b"):
        server.route(f"/{name}.ttl", _catalogue(server.url(""), name),
                     content_type="text/turtle")
    for i in range(FILES):  # slow enough for the two validations to overlap
        server.handle(f"/file{i}.csv", lambda _r: Response(
            200, CSV, {"Content-Type": "text/csv"}, delay=0.02))
    config = write_config(tmp_path, [
        {"name": "a", "type": "dcat", "url": server.url("/a.ttl")},
        {"name": "b", "type": "dcat", "url": server.url("/b.ttl")}], database=database_url)
    status, results = harvest_json(config)
    assert status == 0 and [r["status"] for r in results] == ["ok", "ok"]
    app = load(config)
    return app.model_copy(update={"validation": ValidationSettings(recheck_hours=0)})


def test_two_sources_listing_the_same_urls_validate_at_once(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    settings = _harvested(server, tmp_path, database_url)
    start = threading.Barrier(2)
    summaries: dict[str, dict] = {}
    errors: list[BaseException] = []

    def run(source: str) -> None:
        try:
            start.wait()
            result = validate(store, settings, client, source=source)
            summaries[source] = result.summary
            result.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    before = {f"/file{i}.csv": server.hits(f"/file{i}.csv") for i in range(FILES)}
    assert set(before.values()) == {0}
    with Store.open(settings.database.url) as store, HttpClient(settings.http) as client:
        threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors, errors
    assert {s["distributions"] for s in summaries.values()} == {FILES}
    for summary in summaries.values():
        assert summary["link_verdicts"]["ok"] == FILES
        assert summary["valid"] == FILES
    runs = sql(settings_config(tmp_path), "SELECT source, status FROM validation_run ORDER BY source")
    assert runs == [("a", "ok"), ("b", "ok")]
    assert sql(settings_config(tmp_path), "SELECT count(*) FROM link_check WHERE reachable") \
        == [(FILES,)]
    assert sql(settings_config(tmp_path), "SELECT count(*) FROM data_check WHERE valid") \
        == [(FILES,)]


def settings_config(tmp_path: Path) -> Path:
    return tmp_path / "dcatwatch.toml"
