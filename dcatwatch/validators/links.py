"""Link checks: every accessURL, downloadURL and endpointURL answered or not, with history.

A check is :meth:`HttpClient.probe`: HEAD, repeated as GET (body unread) when the HEAD is
answered 405/501 or broken off; redirects are followed hop by hop through the address guard.
The URL is *reachable* when the final status is 2xx or 3xx (MQA's rule); otherwise the reason
is the status or the fetch error (its ``fetch.*`` code and socket ``cause`` are kept).

**Blame.** A failed check is the agency's when its server answered (4xx, 5xx, a bad TLS
certificate, a refused or reset connection) or its host name does not exist (NXDOMAIN), and
the monitor's when we could not ask (a temporary DNS failure, no route to the network): see
:attr:`FetchError.blame`. A timeout is the agency's only when another host answered during
the same round (our own network works), else the monitor's. A monitor-side failure is
*inconclusive*: the URL is due again next round, and reports and scoring treat it as unchecked.

**Confirmation.** An agency-side failure is *failing* (unconfirmed: not reported, no points
lost) until an agency-side failure is seen again at least ``confirm_after_hours`` after the
first; then the link is *broken*. A success ends the run of failures; an inconclusive check
neither ends nor confirms it. The stored ``verdict`` is ok | failing | broken | inconclusive.

**Rounds.** One check per URL per round (URLs are deduplicated; one checked less than
``recheck_hours`` ago is not asked again, unless its last check was inconclusive or it is
failing and due for confirmation). Connection failures are not retried within the round: the
next round is the retry. The checks are made by the link engine
(:mod:`dcatwatch.validators.linkengine`): one lane per host, ``min_delay`` between requests,
a per-host circuit breaker (after ``host_failures`` checks in a row on one host failed on the
connection, timed out or answered 5xx, the host's other URLs are recorded once as
``fetch.host_unavailable`` with the blame of the failures that tripped it — the agency's when
its server answered, else inconclusive — and are due again next round), 429 waited out
(Retry-After, at most ``[http] retry_after_max``; a longer wait leaves the host's remaining
URLs inconclusive, ``fetch.rate_limited``), results stored in batches as they arrive.

This module holds the rules the engine applies: :func:`due`, :func:`record` and
:class:`LinkOutcome`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Protocol
from urllib.parse import urlsplit

from dcatwatch.store.core import Store, Unit

RATE_LIMIT_TRIES = 3  # 429s one URL may get in a round before it is left inconclusive
VERDICTS = ("ok", "failing", "broken", "inconclusive")


class LinkMetrics(Protocol):
    """What the link checker reports as it goes (:class:`~dcatwatch.metrics.instruments.
    Instruments` implements it)."""

    def link_checks_state(self, queued: int, in_flight: int) -> None:
        """URLs of the round not yet asked, and checks under way now."""

    def link_checks_recorded(self, verdicts: Sequence[str]) -> None:
        """Checks stored, by verdict (ok | failing | broken | inconclusive)."""

    def link_round_finished(self, seconds: float) -> None:
        """A round checked every URL due."""


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    """The result of probing one URL; ``blame`` is None when reachable, else agency |
    monitor | unknown (a timeout, judged by the round)."""

    url: str
    status: int | None
    content_type: str | None
    final_url: str | None
    elapsed_s: float
    reachable: bool
    reason: str
    error_code: str | None = None
    cause: str | None = None
    blame: str | None = None
    retry_after: float | None = None  # a 429's Retry-After

    @property
    def host_failure(self) -> bool:
        """Whether the check counts against its host's circuit breaker."""
        return (self.error_code in ("fetch.connection", "fetch.timeout")
                or (self.status is not None and self.status >= 500))


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def interleave_hosts(urls: Iterable[str]) -> list[str]:
    """``urls`` reordered host by host in turn (a, b, c, a, b, a …), first-seen order kept."""
    return [url for row in zip_longest(*by_host(urls).values()) for url in row if url is not None]


def by_host(urls: Iterable[str]) -> dict[str, list[str]]:
    """``urls`` (deduplicated) grouped by lower-case host name, first-seen order kept."""
    groups: dict[str, list[str]] = {}
    for url in dict.fromkeys(urls):
        groups.setdefault(host_of(url), []).append(url)
    return groups


def due(store: Store, urls: Iterable[str], now: datetime, recheck_hours: float,
        confirm_after_hours: float | None = None) -> list[str]:
    """The URLs among ``urls`` never checked, last checked ``recheck_hours`` ago or more, last
    checked inconclusively, or (given ``confirm_after_hours``) failing unconfirmed for so long."""
    wanted = list(dict.fromkeys(urls))
    confirm = None if confirm_after_hours is None else now - timedelta(hours=confirm_after_hours)
    with store.read() as unit:
        recent = unit.checks.recent_links(wanted, now - timedelta(hours=recheck_hours), confirm)
    return [url for url in wanted if url not in recent]


def record(unit: Unit, outcomes: Sequence[LinkOutcome], now: datetime,
           confirm_after_hours: float = 6.0) -> list[str]:
    """Store ``outcomes`` as their URLs' latest checks and advance each URL's history (see the
    module doc); returns each outcome's verdict. A ``blame`` of ``unknown`` counts as the
    monitor's here (the round judges timeouts before recording)."""
    previous = unit.checks.link_histories([outcome.url for outcome in outcomes])
    confirm = timedelta(hours=confirm_after_hours)
    rows, verdicts = [], []
    for outcome in outcomes:
        before = previous.get(outcome.url)
        values = {"url": outcome.url, "status": outcome.status,
                  "content_type": outcome.content_type, "final_url": outcome.final_url,
                  "elapsed_s": outcome.elapsed_s, "reachable": outcome.reachable,
                  "reason": outcome.reason, "error_code": outcome.error_code,
                  "cause": outcome.cause, "last_checked_at": now}
        if outcome.reachable:
            values |= {"last_success_at": now, "first_failure_at": None,
                       "consecutive_failures": 0, "agency_failure_at": None, "blame": None,
                       "verdict": "ok"}
        else:
            failures = before.consecutive_failures if before else 0
            since = before.agency_failure_at if before else None
            values |= {"last_success_at": before.last_success_at if before else None,
                       "consecutive_failures": failures + 1,
                       "first_failure_at": before.first_failure_at if before and failures
                       else now}
            if outcome.blame == "agency":
                since = since or now
                values |= {"blame": "agency", "agency_failure_at": since,
                           "verdict": "broken" if now - since >= confirm else "failing"}
            else:
                values |= {"blame": "monitor", "agency_failure_at": since,
                           "verdict": "inconclusive"}
        rows.append(values)
        verdicts.append(values["verdict"])
    unit.checks.save_links(rows)
    return verdicts
