"""Whose failure a failed link check is: the agency's only when its server answered (or its
host name does not exist) and a second check ``confirm_after_hours`` later fails too; the
monitor's own outage (no resolver, no route) is inconclusive and never reaches a report or a
score. The temporary DNS failure is real: ``unshare -rn`` (a network namespace with no
resolver reachable) makes getaddrinfo fail with EAI_AGAIN; the permanent one is the real
NXDOMAIN of a name in the reserved ``.invalid`` TLD. Skips cleanly where ``unshare`` is not
permitted."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dcatwatch.errors import FetchError
from dcatwatch.http.aclient import AsyncFetcher
from dcatwatch.http.client import HttpClient, HttpSettings
from dcatwatch.store.core import Store
from tests.helpers import check_links
from tests.servers import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
NO_SUCH_HOST = "http://data.dcatwatch-test.invalid/gone.csv"  # RFC 6761: never resolves
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


def _nxdomain_works() -> bool:
    try:
        socket.getaddrinfo("data.dcatwatch-test.invalid", 80)
    except socket.gaierror as error:
        return error.errno == socket.EAI_NONAME
    return False


needs_unshare = pytest.mark.skipif(not _unshare_works(),
                                   reason="unshare -rn (a network namespace) is not permitted")
needs_nxdomain = pytest.mark.skipif(not _nxdomain_works(),
                                    reason="no resolver answers NXDOMAIN for .invalid here")


def in_namespace(script: str, *args: str, lo_up: bool = False) -> subprocess.CompletedProcess:
    """Run ``script`` with this Python in a new network namespace (loopback only, down
    unless ``lo_up``): no resolver and no route out."""
    command = [sys.executable, "-c", textwrap.dedent(script), *args]
    if lo_up:
        command = ["sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(["unshare", "-rn", *command], capture_output=True, text=True,
                          timeout=240, env=env, cwd=ROOT)


CHECK = """
    import sys
    from datetime import datetime
    from dcatwatch.http.client import HttpClient, HttpSettings
    from dcatwatch.store.core import Store
    from tests.helpers import check_links

    database, stamp, *urls = sys.argv[1:]
    when = datetime.fromisoformat(stamp)
    with Store.open(database) as store, HttpClient(HttpSettings(min_delay=0)) as client:
        check_links(store, client, urls, workers=2, timeout=5, recheck_hours=0,
                    now=lambda: when)
"""


def client() -> HttpClient:
    return HttpClient(HttpSettings(allowed_networks=("127.0.0.0/8",), min_delay=0))


def probe(url: str) -> None:
    """The link engine's probe of ``url`` (loopback allowed), in an event loop of its own."""
    async def run() -> None:
        fetcher = AsyncFetcher(HttpSettings(allow_private_networks=True, min_delay=0))
        try:
            await fetcher.probe(url, timeout=5)
        finally:
            await fetcher.close()
    asyncio.run(run())


@needs_nxdomain
def test_the_client_says_whose_failure_a_socket_error_is() -> None:
    with pytest.raises(FetchError) as missing:
        probe(NO_SUCH_HOST)
    with pytest.raises(FetchError) as refused:
        probe("http://127.0.0.1:9/data.csv")  # discard port: nothing there
    assert (missing.value.code, missing.value.cause, missing.value.blame) == \
        ("fetch.connection", "no_such_host", "agency")
    assert (refused.value.code, refused.value.cause, refused.value.blame) == \
        ("fetch.connection", "refused", "agency")


@needs_unshare
def test_a_temporary_dns_failure_is_the_monitors() -> None:
    done = in_namespace("""
        import asyncio
        from dcatwatch.errors import FetchError
        from dcatwatch.http.aclient import AsyncFetcher
        try:
            asyncio.run(AsyncFetcher().probe("https://data.example.se/files/a.csv", timeout=5))
        except FetchError as error:
            print(error.code, error.cause, error.blame)
    """)
    assert done.stdout.split() == ["fetch.connection", "dns_temporary", "monitor"], done.stderr


@needs_unshare
@needs_nxdomain
def test_temporary_dns_no_such_host_and_404_get_three_verdicts(server: LoopbackServer,
                                                              tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/links.db"
    missing_page = server.url("/saknas.csv")  # answers 404
    temporary = "https://data.example.se/files/skattesatser.csv"  # no resolver in the namespace
    with Store.open(database):
        pass  # the schema, made here so the namespace only writes rows

    def round_at(when: datetime) -> dict[str, tuple[str, str | None]]:
        with Store.open(database) as store, client() as http:
            check_links(store, http, [NO_SUCH_HOST, missing_page], workers=2, timeout=5,
                        recheck_hours=0, now=lambda: when, confirm_after_hours=6)
        done = in_namespace(CHECK, database, when.isoformat(), temporary)
        assert done.returncode == 0, done.stderr
        with Store.open(database) as store, store.read() as unit:
            rows = unit.checks.history([NO_SUCH_HOST, missing_page, temporary])
            infos = unit.checks.link_infos()
        verdicts = {url: (row.verdict, row.cause) for url, row in rows.items()}
        verdicts["scored"] = tuple(str(infos[url].ok) for url in (NO_SUCH_HOST, missing_page,
                                                                   temporary))
        return verdicts

    first = round_at(T0)
    assert first[temporary] == ("inconclusive", "dns_temporary")
    assert first[NO_SUCH_HOST] == ("failing", "no_such_host")
    assert first[missing_page] == ("failing", None)
    assert first["scored"] == ("None", "None", "None")  # nothing counts yet

    early = round_at(T0 + timedelta(hours=5))  # seen again, but too soon to confirm
    assert [early[url][0] for url in (temporary, NO_SUCH_HOST, missing_page)] == \
        ["inconclusive", "failing", "failing"]

    later = round_at(T0 + timedelta(hours=6))
    assert [later[url][0] for url in (temporary, NO_SUCH_HOST, missing_page)] == \
        ["inconclusive", "broken", "broken"]
    assert later["scored"] == ("False", "False", "None")  # only the confirmed cost points
    with Store.open(database) as store, store.read() as unit:
        rows = unit.checks.history([temporary, missing_page])
    assert rows[temporary].blame == "monitor" and rows[missing_page].blame == "agency"
    assert rows[missing_page].agency_failure_at == T0


OUTAGE = """
    import json, sys
    from pathlib import Path
    from tests.helpers import harvest_json, run, write_config
    from tests.servers import LoopbackServer

    tmp, catalog = Path(sys.argv[1]), Path(sys.argv[2]).read_bytes()
    out = {}
    with LoopbackServer() as server:
        url = server.route("/catalog.ttl", catalog, content_type="text/turtle")
        config = write_config(
            tmp, [{"name": "exempel", "type": "dcat", "url": url}],
            agencies=[{"id": "2021005448", "name": "Skatteverket",
                       "email": "oppnadata@skatteverket.example"}],
            smtp={"host": "127.0.0.1", "sender": "dcatwatch@example.se"},
            validation={"confirm_after_hours": 0, "recheck_hours": 0, "data": False})
        status, [harvest] = harvest_json(config)
        out["harvest"] = harvest["status"]

        def scores():
            status, text, err = run("--config", str(config), "scores", "--snapshot", "--json")
            return {a["id"]: a["mqa_points"] for a in json.loads(text)["agencies"]}

        out["before"] = scores()
        out["validate"] = []
        for _ in range(2):  # a second round: would confirm any agency-side failure at once
            status, text, err = run("--config", str(config), "validate", "--json")
            out["validate"].append(json.loads(text))
        out["after"] = scores()
        status, text, err = run("--config", str(config), "report", "preview", "--agency",
                                "2021005448", "--out", str(tmp / "preview"))
        out["report"] = Path(text.splitlines()[2]).read_text(encoding="utf-8")
    print(json.dumps(out))
"""


@needs_unshare
def test_the_monitors_outage_is_nobodys_broken_link(tmp_path: Path) -> None:
    catalog = ROOT / "tests" / "fixtures" / "agency-catalog.ttl"
    done = in_namespace(OUTAGE, str(tmp_path), str(catalog), lo_up=True)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["harvest"] == "ok"
    last = out["validate"][-1]
    links = [link for d in last["distributions"] for link in d["links"]]
    assert links and all(link["verdict"] == "inconclusive" for link in links)
    assert all(link["blame"] == "monitor" and link["cause"] == "dns_temporary"
               for link in links)
    summary = last["summary"]
    assert summary["unreachable"] == summary["inconclusive"] == summary["distributions"]
    assert summary["broken"] == summary["failing"] == 0
    assert summary["link_verdicts"]["inconclusive"] == len({link["url"] for link in links})
    # no agency loses a point, no report lists a link, nor quotes an English errno
    assert out["after"] == out["before"] and out["before"]
    report = out["report"]
    assert "Skatteverket" in report
    assert "LÄNKAR SOM INTE SVARAR" not in report
    assert "kontrollerade länkar svarar" not in report
    assert "Temporary failure" not in report and "resolve" not in report
