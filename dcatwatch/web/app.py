"""The web view: one object owning the store, the settings and the templates, with its route
table (datasette's ``Datasette.app``/``_routes``); the metrics server mounts the routes.

Pages are rendered server-side from the store with Jinja2 (every value escaped, undefined
names are errors) and read without JavaScript; every answer forbids scripts
(Content-Security-Policy). Read-only: reads go through ``store.read()`` and repositories.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from dcatwatch.config import Language, ReportsSettings, Settings
from dcatwatch.metrics.server import Request, Response, Route
from dcatwatch.reports.period import STOCKHOLM, Period
from dcatwatch.scoring.mqa import REACHABLE, SCALE
from dcatwatch.store.core import Store
from dcatwatch.web.pages import SORTS, agency_page, dataset_page, national_page
from dcatwatch.web.words import Words, language_of

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
    """The national, agency and dataset pages over ``store``."""

    def __init__(self, store: Store, reports: ReportsSettings) -> None:
        self.store = store
        self.reports = reports

    @property
    def routes(self) -> list[Route]:
        """(path pattern, view) of every page, for the metrics server's route table."""
        return [("/", self.national), ("/agency/(?P<id>[^/]+)", self.agency),
                ("/dataset", self.dataset), (STYLESHEET, self.stylesheet),
                (".*", self.not_found)]

    def national(self, request: Request) -> Response:
        """``/``: every agency, sortable with ``?sort=…&order=asc|desc``."""
        page = national_page(self.store, request.arg("sort"), request.arg("order"))
        return self._page(request, "national.html", page=page, sorts=list(SORTS),
                          scored_at=page.scored_at)

    def agency(self, request: Request) -> Response:
        """``/agency/<id>``: the report's content as of the latest scoring."""
        agency_id = request.params["id"]
        words = Words(language_of(request.arg("lang")))
        content = agency_page(self.store, agency_id, words.language, self.reports)
        if content is None:
            return self._missing(request, words("agency.not_found_title"),
                                 words("agency.not_found", id=agency_id))
        return self._page(request, "agency.html", c=content, options=self.reports,
                          scored_at=datetime.fromisoformat(content.figures.scored_at),
                          orgnr=content.agency_id if content.agency_id.isdigit() and len(
                              content.agency_id) == 10 else None)

    def dataset(self, request: Request) -> Response:
        """``/dataset?iri=…``: ``explain`` in plain words, with what to change."""
        words = Words(language_of(request.arg("lang")))
        iri = request.arg("iri")
        if not iri:
            return self._missing(request, words("dataset.not_found_title"),
                                 words("dataset.no_iri"))
        page = dataset_page(self.store, iri)
        if page is None:
            return self._missing(request, words("dataset.not_found_title"),
                                 words("dataset.not_found", iri=iri))
        scored = [datetime.fromisoformat(c.explained["scored_at"]) for c in page.copies
                  if c.explained["scored_at"]]
        return self._page(request, "dataset.html", page=page,
                          scored_at=max(scored) if scored else None)

    def stylesheet(self, _request: Request) -> Response:
        """The one stylesheet (no inline styles: the policy forbids them)."""
        return Response(200, "text/css; charset=utf-8", _stylesheet(),
                        (("Cache-Control", "max-age=3600"), *HEADERS))

    def not_found(self, request: Request) -> Response:
        """Any other path: a page that says so, in the page's language."""
        words = Words(language_of(request.arg("lang")))
        return self._missing(request, words("site.not_found_title"),
                             words("site.not_found", path=request.path))

    def _missing(self, request: Request, title: str, message: str) -> Response:
        return self._page(request, "missing.html", status=404, title=title, message=message,
                          scored_at=None)

    def _page(self, request: Request, template: str, status: int = 200,
              **values: Any) -> Response:
        language = language_of(request.arg("lang"))
        words = Words(language)

        def url(path: str, **params: Any) -> str:
            """``path`` with ``params`` and the page's language kept."""
            query = {k: v for k, v in params.items() if v is not None}
            if language != "sv":
                query["lang"] = language
            return path + ("?" + urlencode(query) if query else "")

        other: Language = "sv" if language == "en" else "en"
        switch = {k: v[0] for k, v in request.query.items() if k != "lang" and v}
        if other != "sv":
            switch["lang"] = other
        html = environment().get_template(template).render(
            w=words, t=words, url=url, stylesheet=STYLESHEET, scale=SCALE, reachable=REACHABLE,
            local_date=_local_date, period_of=Period.parse, other_language=other,
            switch_url=request.path + ("?" + urlencode(switch) if switch else ""), **values)
        return Response.html(html, status, (*HEADERS, ("Content-Language", language)))


def web_routes(settings: Settings, store: Store) -> list[Route]:
    """The web view's routes for ``serve`` (none when ``[web] enabled`` is false)."""
    return WebView(store, settings.reports).routes if settings.web.enabled else []
