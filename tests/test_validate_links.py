"""Link checks against a real loopback server: statuses, HEAD→GET, the SSRF guard, history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dcatwatch.config import HttpSettings
from dcatwatch.dcat.classify import LinkInfo
from dcatwatch.http.client import HttpClient
from dcatwatch.store.core import Store
from dcatwatch.store.validation_models import LinkCheck
from dcatwatch.validators.links import interleave_hosts
from tests.helpers import check_links
from tests.servers import LoopbackServer, Request, Response


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(HttpSettings(allowed_networks=("127.0.0.0/8",), min_delay=0,
                                 retries=0)) as http:
        yield http


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path}/links.db") as store:
        yield store


def history(store: Store, urls: list[str]) -> dict[str, LinkCheck]:
    with store.read() as unit:
        return unit.checks.history(urls)


def link_infos(store: Store, urls: list[str] | None = None) -> dict[str, LinkInfo]:
    with store.read() as unit:
        return unit.checks.link_infos(urls)


class Clock:
    """A settable clock, so history and intervals are tested without sleeping."""

    def __init__(self) -> None:
        self.time = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.time


def run(engine: Store, client: HttpClient, urls: list[str], clock: Clock,
        recheck_hours: float = 0.0) -> int:
    return check_links(engine, client, urls, workers=4, timeout=5, recheck_hours=recheck_hours,
                       now=clock)


def test_ok_and_404_with_history(server: LoopbackServer, client: HttpClient,
                                 engine: Store) -> None:
    ok = server.route("/data.csv", b"a\n1\n", content_type="text/csv")
    missing = server.url("/gone.csv")
    clock = Clock()
    assert run(engine, client, [ok, missing, ok], clock) == 2
    first = clock.time
    clock.time += timedelta(days=1)
    run(engine, client, [missing], clock)
    checks = history(engine, [ok, missing])
    assert (checks[ok].status, checks[ok].reachable, checks[ok].content_type) == \
        (200, True, "text/csv")
    assert checks[ok].last_success_at == first and checks[ok].consecutive_failures == 0
    gone = checks[missing]
    assert (gone.status, gone.reachable, gone.reason, gone.error_code) == \
        (404, False, "HTTP 404", "fetch.http_status")
    assert gone.consecutive_failures == 2 and gone.first_failure_at == first
    assert gone.last_success_at is None
    assert (gone.verdict, gone.blame, gone.agency_failure_at) == ("broken", "agency", first)
    server.route("/gone.csv", b"back", content_type="text/plain")  # the publisher fixes it
    clock.time += timedelta(days=1)
    run(engine, client, [missing], clock)
    fixed = history(engine, [missing])[missing]
    assert fixed.reachable and fixed.consecutive_failures == 0 and fixed.first_failure_at is None
    assert (fixed.verdict, fixed.blame, fixed.agency_failure_at) == ("ok", None, None)
    assert fixed.last_success_at == clock.time


def test_head_refused_with_405_succeeds_with_get(server: LoopbackServer, client: HttpClient,
                                                 engine: Store) -> None:
    def no_head(request: Request) -> Response:
        if request.method == "HEAD":
            return Response(405, b"", {"Allow": "GET"})
        return Response(200, b"x;y\n", {"Content-Type": "text/csv"})

    url = server.handle("/api/export", no_head)
    run(engine, client, [url], Clock())
    check = history(engine, [url])[url]
    assert (check.status, check.reachable) == (200, True)
    assert [r.method for r in server.requests] == ["HEAD", "GET"]


@pytest.mark.parametrize("target", ["http://10.0.0.1/data.csv",
                                    "http://169.254.169.254/latest/meta-data/"])
def test_redirect_to_a_private_address_is_refused(server: LoopbackServer, client: HttpClient,
                                                  engine: Store, target: str) -> None:
    url = server.route("/moved.csv", status=302, headers={"Location": target})
    run(engine, client, [url], Clock())
    check = history(engine, [url])[url]
    assert check.reachable is False and check.status is None
    assert check.error_code == "fetch.refused_address"
    assert "redirected to" in check.reason and target in check.reason


def test_redirects_are_followed_and_recorded(server: LoopbackServer, client: HttpClient,
                                             engine: Store) -> None:
    final = server.route("/v2/data.csv", b"a\n", content_type="text/csv")
    url = server.route("/data.csv", status=301, headers={"Location": "/v2/data.csv"})
    run(engine, client, [url], Clock())
    check = history(engine, [url])[url]
    assert (check.status, check.reachable, check.final_url) == (200, True, final)


def test_recent_checks_are_not_repeated(server: LoopbackServer, client: HttpClient,
                                        engine: Store) -> None:
    url = server.route("/data.csv", b"a\n", content_type="text/csv")
    clock = Clock()
    assert run(engine, client, [url], clock, recheck_hours=24) == 1
    clock.time += timedelta(hours=23)
    assert run(engine, client, [url], clock, recheck_hours=24) == 0
    clock.time += timedelta(hours=2)
    assert run(engine, client, [url], clock, recheck_hours=24) == 1
    assert server.hits("/data.csv") == 2


def test_unreachable_host_and_bad_urls(client: HttpClient, engine: Store) -> None:
    closed = "http://127.0.0.1:9/nothing"  # discard port: connection refused
    urls = [closed, "ftp://example.se/data.csv", "not a url"]
    run(engine, client, urls, Clock())
    checks = history(engine, urls)
    assert checks[closed].error_code == "fetch.connection" and not checks[closed].reachable
    assert checks["ftp://example.se/data.csv"].error_code == "fetch.refused_scheme"
    assert checks["not a url"].error_code == "fetch.invalid_url"


def test_link_infos_feed_scoring(server: LoopbackServer, client: HttpClient,
                                 engine: Store) -> None:
    ok = server.route("/a.csv", b"a\n", content_type="text/csv")
    gone = server.url("/b.csv")
    clock = Clock()
    run(engine, client, [ok, gone], clock)
    infos = link_infos(engine)
    assert infos[ok].ok is True and infos[ok].content_type == "text/csv"
    assert infos[gone].ok is None  # one failure is not yet the agency's: unknown to scoring
    clock.time += timedelta(hours=6)  # [validation] confirm_after_hours: the default
    run(engine, client, [gone], clock)
    infos = link_infos(engine)
    assert infos[gone].ok is False and infos[gone].status == 404
    assert set(link_infos(engine, [gone])) == {gone}


def test_hosts_are_interleaved() -> None:
    urls = ["http://a.se/1", "http://a.se/2", "http://a.se/3", "http://b.se/1", "http://c.se/1",
            "http://b.se/2", "http://a.se/1"]
    assert interleave_hosts(urls) == ["http://a.se/1", "http://b.se/1", "http://c.se/1",
                                      "http://a.se/2", "http://b.se/2", "http://a.se/3"]
