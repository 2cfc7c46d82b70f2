"""The web view: one object owning the store, the settings and the templates, with its route
table (datasette's ``Datasette.app``/``_routes``); the metrics server mounts the routes.

Pages are rendered server-side from the store with Jinja2 (every value escaped, undefined
names are errors) and read without JavaScript; every answer forbids scripts
(Content-Security-Policy). Read-only: reads go through ``store.read()`` and repositories.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from dcatwatch.config import Language, ReportsSettings, Settings
from dcatwatch.metrics.server import Request, Response, Route
from dcatwatch.reports.content import trier_of
from dcatwatch.reports.fixes import Trier
from dcatwatch.reports.period import STOCKHOLM, Period
from dcatwatch.scoring.mqa import REACHABLE, SCALE
from dcatwatch.store.core import Store
from dcatwatch.store.scores import Generation
from dcatwatch.web.cache import PageCache
from dcatwatch.web.pages import (
    ORDERS,
    SORTS,
    agency_page,
    dataset_page,
    national_page,
    scored_agencies,
)
from dcatwatch.web.trier import SharedTrier
from dcatwatch.web.words import LANGUAGES, Words, language_of

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
           ("Referrer-Policy", "same-origin"))
STYLESHEET = "/web.css"


@cache
def environment() -> Environment:
    """Templates of the web view, then the report's (its macros are shared): everything
    escaped, undefined names are errors, only http(s) addresses pass the ``web`` test."""
    loader = ChoiceLoader([PackageLoader("dcatwatch.web", "templates"),
                           PackageLoader("dcatwatch.reports", "templates")])
    env = Environment(loader=loader, autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.do"])
    env.tests["web"] = lambda value: isinstance(value, str) and value.lower().startswith(
        ("http://", "https://"))
    return env


@cache
def _stylesheet() -> bytes:
    return resources.files("dcatwatch.web").joinpath("templates/web.css").read_bytes()


def _local_date(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).date().isoformat()


class WebView:
    """The national, agency and dataset pages over ``store``. National and agency pages are
    kept per store generation (:class:`~dcatwatch.web.cache.PageCache`); a dataset page is
    made per request with the fix trier kept while the data services stay as they are."""

    def __init__(self, store: Store, reports: ReportsSettings) -> None:
        self.store = store
        self.reports = reports
        self.cache = PageCache(self._generation, self._render, self._ahead)
        self._trier: tuple[Any, Trier] | None = None
        self._trier_lock = threading.Lock()

    @property
    def routes(self) -> list[Route]:
        """(path pattern, view) of every page, for the metrics server's route table."""
        return [("/", self.national), ("/agency/(?P<id>[^/]+)", self.agency),
                ("/dataset", self.dataset), (STYLESHEET, self.stylesheet),
                (".*", self.not_found)]

    def national(self, request: Request) -> Response:
        """``/``: every agency, sortable with ``?sort=…&order=asc|desc``."""
        sort, order = request.arg("sort"), request.arg("order")
        return self.cache.get(("national", sort if sort in SORTS else None,
                               order if order in ORDERS else None,
                               language_of(request.arg("lang"))))

    def agency(self, request: Request) -> Response:
        """``/agency/<id>``: the report's content as of the latest scoring."""
        return self.cache.get(("agency", request.params["id"],
                               language_of(request.arg("lang"))))

    def dataset(self, request: Request) -> Response:
        """``/dataset?iri=…``: ``explain`` in plain words, with what to change."""
        language = language_of(request.arg("lang"))
        words = Words(language)
        iri = request.arg("iri")
        if not iri:
            return self._missing(language, request.path, {}, words("dataset.not_found_title"),
                                 words("dataset.no_iri"))
        page = dataset_page(self.store, iri, self.trier())
        if page is None:
            return self._missing(language, request.path, {"iri": iri},
                                 words("dataset.not_found_title"),
                                 words("dataset.not_found", iri=iri))
        scored = [datetime.fromisoformat(c.explained["scored_at"]) for c in page.copies
                  if c.explained["scored_at"]]
        return self._page(language, request.path, {"iri": iri}, "dataset.html", page=page,
                          scored_at=max(scored) if scored else None)

    def stylesheet(self, _request: Request) -> Response:
        """The one stylesheet (no inline styles: the policy forbids them)."""
        return Response(200, "text/css; charset=utf-8", _stylesheet(),
                        (("Cache-Control", "max-age=3600"), *HEADERS))

    def not_found(self, request: Request) -> Response:
        """Any other path: a page that says so, in the page's language."""
        language = language_of(request.arg("lang"))
        words = Words(language)
        return self._missing(language, request.path, {}, words("site.not_found_title"),
                             words("site.not_found", path=request.path))

    def trier(self) -> Trier:
        """The fix trier over the current data services, made again only when a service
        changed (what it remembers of each dataset stays true until then)."""
        services = self.cache.generation().services
        with self._trier_lock:
            if self._trier is None or self._trier[0] != services:
                with self.store.read() as unit:
                    made = trier_of(unit)
                self._trier = (services, SharedTrier(made.services, made.serving))
            return self._trier[1]

    def _generation(self) -> Generation:
        with self.store.read() as unit:
            return unit.scores.generation()

    def _ahead(self) -> Iterator[Hashable]:
        """The pages worth rendering ahead: the national page in every order, then every
        scored agency, in both languages."""
        for sort in (None, *SORTS):
            for order in (None, *ORDERS):
                for language in LANGUAGES:
                    yield ("national", sort, order, language)
        for agency_id in scored_agencies(self.store):
            for language in LANGUAGES:
                yield ("agency", agency_id, language)

    def _render(self, key: Hashable) -> Response:
        kind, *args = key  # type: ignore[misc]
        if kind == "national":
            return self._national(*args)
        return self._agency(*args)

    def _national(self, sort: str | None, order: str | None, language: Language) -> Response:
        page = national_page(self.store, sort, order)
        return self._page(language, "/", {"sort": sort, "order": order}, "national.html",
                          page=page, sorts=list(SORTS), scored_at=page.scored_at)

    def _agency(self, agency_id: str, language: Language) -> Response:
        words = Words(language)
        path = "/agency/" + quote(agency_id, safe="")
        content = agency_page(self.store, agency_id, language, self.reports, self.trier())
        if content is None:
            return self._missing(language, path, {}, words("agency.not_found_title"),
                                 words("agency.not_found", id=agency_id))
        return self._page(language, path, {}, "agency.html", c=content, options=self.reports,
                          scored_at=datetime.fromisoformat(content.figures.scored_at),
                          orgnr=content.agency_id if content.agency_id.isdigit() and len(
                              content.agency_id) == 10 else None)

    def _missing(self, language: Language, path: str, params: dict[str, str | None],
                 title: str, message: str) -> Response:
        return self._page(language, path, params, "missing.html", status=404, title=title,
                          message=message, scored_at=None)

    def _page(self, language: Language, path: str, params: dict[str, str | None],
              template: str, status: int = 200, **values: Any) -> Response:
        """``template`` rendered for the page at ``path`` with the query ``params`` (the
        ones it uses; the language switch keeps them)."""
        words = Words(language)

        def url(target: str, **query: Any) -> str:
            """``target`` with ``query`` and the page's language kept."""
            kept = {k: v for k, v in query.items() if v is not None}
            if language != "sv":
                kept["lang"] = language
            return target + ("?" + urlencode(kept) if kept else "")

        other: Language = "sv" if language == "en" else "en"
        html = environment().get_template(template).render(
            w=words, t=words, url=url, stylesheet=STYLESHEET, scale=SCALE, reachable=REACHABLE,
            local_date=_local_date, period_of=Period.parse, other_language=other,
            switch_url=_with_language(path, params, other), **values)
        return Response.html(html, status, (*HEADERS, ("Content-Language", language)))


def _with_language(path: str, params: dict[str, str | None], language: Language) -> str:
    """``path`` with ``params`` in ``language`` (Swedish: no ``lang``)."""
    query = {k: v for k, v in params.items() if v is not None}
    if language != "sv":
        query["lang"] = language
    return path + ("?" + urlencode(query) if query else "")


def web_routes(settings: Settings, store: Store) -> list[Route]:
    """The web view's routes for ``serve`` (none when ``[web] enabled`` is false)."""
    return WebView(store, settings.reports).routes if settings.web.enabled else []
