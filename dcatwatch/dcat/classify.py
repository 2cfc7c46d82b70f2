"""Channel classification with evidence (research/quality.md §4.3–4.4).

Each distribution gets one class, the first that has evidence in the order
API > MACHINE_READABLE > DOCUMENT > UNKNOWN; its evidence lists every rule of that class that
fired (rule id, property, value, strong/weak). A dataset's level is its best distribution's
class (3 api, 2 machine_readable, 1 document_only, 0 unknown), raised to 3 by dataset-level
API evidence (A2, A6 on the dataset title). Rule ids and meanings are in :data:`RULES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from dcatwatch.dcat import vocab
from dcatwatch.dcat.formats import (
    MEDIA_CODES,
    FormatValue,
    codes_of,
    declared_formats,
    from_url,
    has_strong_extension,
    url_formats,
)
from dcatwatch.dcat.model import DataService, Dataset, Distribution, best_text

ClassName = Literal["api", "machine_readable", "document", "unknown"]

CLASS_LEVELS: dict[ClassName, int] = {"api": 3, "machine_readable": 2, "document": 1, "unknown": 0}
LEVEL_CLASSES: dict[int, ClassName] = {level: cls for cls, level in CLASS_LEVELS.items()}
LEVEL_NAMES = {3: "api", 2: "machine_readable", 1: "document_only", 0: "unknown"}

RULES: dict[str, str] = {
    "A1": "distribution has dcat:accessService (or rdf:type esterms:ServiceDistribution)",
    "A2": "a DataService serves the dataset (or rdf:type esterms:ServedByDataService)",
    "A3": "format or media type is an API/service code",
    "A4": "conformsTo names an API specification or an API description document",
    "A5": "accessURL looks like a service endpoint (weak)",
    "A6": "'API' as a word in the distribution or dataset title (weak)",
    "A7": "distribution description (or title) says API, Schnittstelle, webbtjänst … (weak)",
    "A8": "an 'api' token in the path of an accessURL that names no file (weak)",
    "M1": "machine-readable format on the MQA list",
    "M2": "machine-readable format, dcatwatch extension of the MQA list",
    "M3": "machine-readable format inside an archive (+zip literal or .csv.gz style URL)",
    "D1": "document format (PDF, Word, HTML, images …)",
    "D2": "no format and no downloadURL, accessURL is the dataset's landing page",
    "D3": "no format, the link check answered text/html (weak)",
    "U1": "archive whose content is not declared",
    "U2": "generic binary (octet-stream)",
    "U3": "format not recognised or not classified",
    "U4": "no format, media type or file extension",
    "U5": "dataset has no distribution",
}

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_API_TITLE_RE = re.compile(vocab.API_TITLE_PATTERN, re.IGNORECASE)
_API_TEXT_RE = re.compile(vocab.API_TEXT_PATTERN, re.IGNORECASE)
_API_URL_TOKEN_RE = re.compile(vocab.API_URL_TOKEN_PATTERN)
_TEXT_URL_RE = re.compile(vocab.TEXT_URL_PATTERN, re.IGNORECASE)
_FILE_PATH_RE = re.compile(vocab.FILE_PATH_PATTERN)
_API_SPEC_RES = tuple((label, re.compile(rx)) for label, rx in vocab.API_SPEC_PATTERNS)
_ENDPOINT_RES = tuple((label, re.compile(rx)) for label, rx in vocab.ENDPOINT_PATTERNS)
_ENDPOINT_HINT_RE = re.compile("|".join(map(re.escape, vocab.ENDPOINT_HINTS)))  # fast pre-check
_MACHINE_READABLE = vocab.MQA_MACHINE_READABLE | vocab.EXTENSION_MACHINE_READABLE
_OPEN_DATA = _MACHINE_READABLE & (vocab.MQA_NON_PROPRIETARY | vocab.EXTENSION_OPEN)
_CLASSIFIED = vocab.API_CODES | _MACHINE_READABLE | vocab.DOCUMENT_CODES
_FILE_CODES = (_MACHINE_READABLE | vocab.DOCUMENT_CODES | vocab.ARCHIVE_CODES
               | vocab.BINARY_CODES) - vocab.API_ANSWER_CODES
_UNKNOWN_RULES = dict.fromkeys(vocab.ARCHIVE_CODES, "U1") | dict.fromkeys(vocab.BINARY_CODES, "U2")
FORMAT_CONFLICT = "meta.distribution.format_conflict"


class Evidence(NamedTuple):
    """One reason for a classification: rule id, the property looked at, its value."""

    rule: str
    property: str
    value: str
    strong: bool = True
    detail: str = ""  # normalised code or matched pattern, for reports

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return self._asdict()


class Finding(NamedTuple):
    """A problem seen while classifying: error-catalogue code, property, value, explanation."""

    code: str
    property: str
    value: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return self._asdict()


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """Result of checking one URL; all None until the URL has been checked."""

    status: int | None = None
    content_type: str | None = None
    reachable: bool | None = None

    @property
    def ok(self) -> bool | None:
        """MQA accessibility: 2xx/3xx passes; None when unknown."""
        if self.status is not None:
            return 200 <= self.status < 400
        return self.reachable


@dataclass(slots=True)
class DistributionClass:
    """The class of one distribution and why."""

    iri: str
    cls: ClassName
    open: bool  # has a machine-readable, non-proprietary format
    linked: bool  # has an RDF serialisation
    landing_page: bool  # a web page standing in for data (D2/D3)
    evidence: list[Evidence]
    codes: list[str]  # normalised format codes
    findings: list[Finding] = field(default_factory=list)

    @property
    def level(self) -> int:
        """0–3, as for datasets."""
        return CLASS_LEVELS[self.cls]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"iri": self.iri, "class": self.cls, "open": self.open, "linked": self.linked,
                "landing_page": self.landing_page, "codes": list(self.codes),
                "evidence": [e.to_dict() for e in self.evidence],
                "findings": [f.to_dict() for f in self.findings]}  # fmt: skip


@dataclass(slots=True)
class DatasetLevel:
    """A dataset's channel level, the evidence for it and its distributions' classes."""

    iri: str
    level: int
    strong: bool  # at least one strong evidence item supports the level
    open: bool
    api_by_title_only: bool
    evidence: list[Evidence]
    distributions: list[DistributionClass] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Level name for output ("api", "machine_readable", "document_only", "unknown")."""
        return LEVEL_NAMES[self.level]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the store keeps for explain and reports)."""
        return {"iri": self.iri, "level": self.level, "level_name": self.name,
                "strong": self.strong, "open": self.open,
                "api_by_title_only": self.api_by_title_only,
                "evidence": [e.to_dict() for e in self.evidence],
                "distributions": [d.to_dict() for d in self.distributions]}  # fmt: skip


@dataclass(slots=True)
class _Context:
    """What the rules look at for one distribution."""

    dist: Distribution
    dataset: Dataset
    services: Mapping[str, DataService]
    links: Mapping[str, LinkInfo]
    declared: list[tuple[str, FormatValue]]
    values: list[tuple[str, FormatValue]]  # mapped declared values, plus URL extensions if needed
    findings: list[Finding] = field(default_factory=list)

    @property
    def has_format_info(self) -> bool:
        return bool(self.declared or self.values)


Rule = Callable[[_Context], list[Evidence]]


def _access_service(ctx: _Context) -> list[Evidence]:
    found = [
        Evidence("A1", "accessService", iri, detail=_service_title(ctx.services.get(iri)))
        for iri in ctx.dist.access_services
    ]
    if vocab.SERVICE_DISTRIBUTION in ctx.dist.types:
        found.append(Evidence("A1", "rdf:type", vocab.SERVICE_DISTRIBUTION))
    return found


def _api_format(ctx: _Context) -> list[Evidence]:
    return [
        Evidence("A3", prop, value.raw, detail=value.code or "")
        for prop, value in ctx.declared
        if value.code in vocab.API_CODES
    ]


def _conforms_to(ctx: _Context) -> list[Evidence]:
    found = [
        Evidence("A4", "conformsTo", value, detail=label)
        for value in ctx.dist.conforms_to
        if (label := api_spec(value))
    ]
    for service in filter(None, map(ctx.services.get, ctx.dist.access_services)):
        found += [
            Evidence("A4", "accessService/conformsTo", value, detail=label)
            for value in service.conforms_to
            if (label := api_spec(value))
        ]
        found += [
            Evidence("A4", "accessService/endpointDescription", value, detail="API docs")
            for value in service.endpoint_descriptions
        ]
    return found


def _endpoint_url(ctx: _Context) -> list[Evidence]:
    return [
        Evidence("A5", "accessURL", url, strong=False, detail=label)
        for url in ctx.dist.access_urls
        if (label := endpoint_shape(url))
    ]


def _api_title(ctx: _Context) -> list[Evidence]:
    return _title_evidence(ctx.dist.title.values(), "title")


def _api_text(ctx: _Context) -> list[Evidence]:
    texts = [("description", text) for text in ctx.dist.description.values()]
    texts += [("title", text) for text in ctx.dist.title.values()
              if not _API_TITLE_RE.search(without_urls(text))]
    return [
        Evidence("A7", prop, text, strong=False, detail=quote(words, match))
        for prop, text in texts
        if _may_say_api(text) and (match := _API_TEXT_RE.search(words := without_urls(text)))
    ]


def without_urls(text: str) -> str:
    """``text`` with its web addresses blanked out (same length, so offsets still hold)."""
    if "://" not in text and "www." not in text.lower() and "/" not in text:
        return text
    return _TEXT_URL_RE.sub(lambda m: " " * len(m[0]), text)


def quote(text: str, match: re.Match[str], context: int = 30) -> str:
    """``'API' in “…Nedladdning via API i JSON-format”``: the matched words and their setting."""
    start, end = max(match.start() - context, 0), min(match.end() + context, len(text))
    if start and not text[start - 1].isspace():  # whole words only
        start = next((i + 1 for i in range(start, match.start()) if text[i].isspace()),
                     match.start())
    if end < len(text) and not text[end].isspace():
        end = next((i for i in range(end, match.end(), -1) if text[i].isspace()), match.end())
    snippet = " ".join(text[start:end].split())
    return (f"'{match[0]}' in “{'…' if start else ''}{snippet}"
            f"{'…' if end < len(text) else ''}”")


def _may_say_api(text: str) -> bool:
    """Cheap pre-check for A7: one of the words' stems occurs at all."""
    low = text.lower()
    return any(stem in low for stem in vocab.API_TEXT_STEMS)


def _api_url_token(ctx: _Context) -> list[Evidence]:
    """A8: only where nothing says the URL hands out a whole file (research/quality.md §4.3:
    level 3 is data one can query). A downloadURL, a file name (``…-api.xml``), an export
    path (``…/api/v2/…/exports/csv``) or a declared file format other than what query APIs
    answer with (JSON, XML …) is a download, whatever its path."""
    if ctx.dist.download_urls or any(value.code in _FILE_CODES for _, value in ctx.values):
        return []
    return [
        Evidence("A8", "accessURL", url, strong=False, detail=f"'{match[0]}' in the path {path}")
        for url in ctx.dist.access_urls
        if "api" in url.lower() and not _FILE_PATH_RE.search(path := url_path(url))
        and from_url(url) is None and (match := _API_URL_TOKEN_RE.search(path))
    ]


def _machine_readable(ctx: _Context) -> list[Evidence]:
    return [
        Evidence(_mr_rule(value), prop, value.raw, strong=not value.weak, detail=value.describe())
        for prop, value in ctx.values
        if value.code in _MACHINE_READABLE
    ]


def _mr_rule(value: FormatValue) -> str:
    if value.packaging:
        return "M3"
    return "M1" if value.code in vocab.MQA_MACHINE_READABLE else "M2"


def _document_format(ctx: _Context) -> list[Evidence]:
    return [
        Evidence("D1", prop, value.raw, strong=not value.weak, detail=_document_detail(value))
        for prop, value in ctx.values
        if value.code in vocab.DOCUMENT_CODES
    ]


def _document_detail(value: FormatValue) -> str:
    note = " (may be data)" if value.code in vocab.AMBIGUOUS_DOCUMENTS else ""
    return f"{value.code}{note}"


def _landing_page(ctx: _Context) -> list[Evidence]:
    if ctx.has_format_info or ctx.dist.download_urls:
        return []
    pages = {_url_key(url) for url in ctx.dataset.landing_pages}
    return [
        Evidence("D2", "accessURL", url, detail="equals dataset landingPage")
        for url in ctx.dist.access_urls
        if _url_key(url) in pages
    ]


def _html_response(ctx: _Context) -> list[Evidence]:
    if ctx.has_format_info:
        return []
    found = []
    for url in (*ctx.dist.download_urls, *ctx.dist.access_urls):
        link = ctx.links.get(url)
        content_type = (link.content_type or "") if link else ""
        if MEDIA_CODES.get(content_type.split(";")[0].strip().lower()) in vocab.HTML_CODES:
            found.append(Evidence("D3", "Content-Type", content_type, strong=False, detail=url))
    return found


def _unknown(ctx: _Context) -> list[Evidence]:
    if not ctx.has_format_info:
        return [Evidence("U4", "format", "", detail="no format, media type or file extension")]
    unmapped = [(prop, value) for prop, value in ctx.declared if not value.code]
    return [
        Evidence(_UNKNOWN_RULES.get(value.code or "", "U3"), prop, value.raw,
                 strong=not value.weak, detail=value.describe())
        for prop, value in unmapped + ctx.values
    ]  # fmt: skip


CLASS_RULES: tuple[tuple[ClassName, tuple[Rule, ...]], ...] = (
    ("api", (_access_service, _api_format, _conforms_to, _endpoint_url, _api_title, _api_text,
             _api_url_token)),
    ("machine_readable", (_machine_readable,)),
    ("document", (_document_format, _landing_page, _html_response)),
    ("unknown", (_unknown,)),
)
"""Classes in precedence order with the rules that give evidence for each."""


def _service_title(service: DataService | None) -> str:
    return (best_text(service.title) or "") if service else ""


def _title_evidence(titles: Iterable[str], prop: str) -> list[Evidence]:
    return [
        Evidence("A6", prop, text, strong=False, detail=quote(words, match))
        for text in titles
        if "api" in text.lower() and (match := _API_TITLE_RE.search(words := without_urls(text)))
    ]


def url_path(url: str) -> str:
    """The lower-case path of a URL (no scheme, host, query or fragment)."""
    bare = url.split("#", 1)[0].split("?", 1)[0].lower()
    if "://" in bare:
        rest = bare.split("://", 1)[1]
        return rest[rest.find("/") :] if "/" in rest else ""
    return bare


def _url_key(url: str) -> str:
    bare = url.strip().lower().split("://", 1)[-1]
    return bare.removeprefix("www.").rstrip("/")


def api_spec(iri: str) -> str | None:
    """The API specification a conformsTo IRI names (A4), or None."""
    bare = iri.strip().lower().split("://", 1)[-1]
    return next((label for label, rx in _API_SPEC_RES if rx.search(bare)), None)


def endpoint_shape(url: str) -> str | None:
    """The kind of service endpoint a URL looks like (A5; first pattern in table order)."""
    low = url.lower()
    if not _ENDPOINT_HINT_RE.search(low):
        return None
    return next((label for label, rx in _ENDPOINT_RES if rx.search(low)), None)


def _context(
    dist: Distribution,
    dataset: Dataset,
    services: Mapping[str, DataService],
    links: Mapping[str, LinkInfo],
) -> _Context:
    declared = [(prop, _service_code(value)) for prop, value in declared_formats(dist)]
    values = [(prop, value) for prop, value in declared if value.code]
    if conflict := _format_conflict(dist, values):
        prop, url_value, finding = conflict
        return _Context(dist, dataset, services, links, declared, [(prop, url_value)], [finding])
    if not any(value.code in _CLASSIFIED for _, value in values):  # URLs never prove an API
        values += [(p, v) for p, v in url_formats(dist) if v.code not in vocab.API_CODES]
    return _Context(dist, dataset, services, links, declared, values)


def _service_code(value: FormatValue) -> FormatValue:
    """``file-type/WMS`` (no such EU code) read as the service code it names, WMS_SRVC."""
    alias = vocab.SERVICE_CODE_ALIASES.get(value.code or "") if value.form == "eu_iri" else None
    return value._replace(code=alias) if alias else value


def _class_of(code: str | None) -> ClassName | None:
    if code in vocab.API_CODES:
        return "api"
    if code in _MACHINE_READABLE:
        return "machine_readable"
    if code in vocab.DOCUMENT_CODES:
        return "document"
    return "unknown" if code in _UNKNOWN_RULES else None


def _format_conflict(
    dist: Distribution, values: list[tuple[str, FormatValue]]
) -> tuple[str, FormatValue, Finding] | None:
    """A strong URL suffix (``.pdf``) whose class no declared format shares: it decides.

    Declared API codes are never overruled (a service may hand out files), nor are declared
    archives (a ``.csv.zip`` refines ZIP); the downloadURL is read first, the accessURL only
    when there is none.
    """
    declared = {_class_of(value.code) for _, value in values} - {None, "unknown"}
    if not declared or "api" in declared:  # an archive's content is no contradiction
        return None
    prop, urls = ("downloadURL", dist.download_urls) if dist.download_urls \
        else ("accessURL", dist.access_urls)
    for url in urls:
        url_value = from_url(url) if has_strong_extension(url) else None
        url_class = _class_of(url_value.code) if url_value else None
        if url_value and url_class and url_class not in declared:
            said = ", ".join(dict.fromkeys(v.code or "" for _, v in values))
            finding = Finding(FORMAT_CONFLICT, prop, url,
                              f"declared {said}, the URL names {url_value.describe()}")
            return prop, url_value, finding
    return None


def _first_class_with_evidence(ctx: _Context) -> tuple[ClassName, list[Evidence]]:
    for cls, rules in CLASS_RULES:
        if evidence := [item for rule in rules for item in rule(ctx)]:
            return cls, evidence
    raise AssertionError("the unknown-class rules always give evidence")


def classify_distribution(
    dist: Distribution,
    dataset: Dataset,
    services: Mapping[str, DataService] = _EMPTY,
    links: Mapping[str, LinkInfo] = _EMPTY,
) -> DistributionClass:
    """Classify one distribution; ``services`` by IRI, ``links`` = link checks by URL."""
    ctx = _context(dist, dataset, services, links)
    cls, evidence = _first_class_with_evidence(ctx)
    codes = codes_of(ctx.values)
    return DistributionClass(
        iri=dist.iri,
        cls=cls,
        open=not _OPEN_DATA.isdisjoint(codes),
        linked=not vocab.LINKED_DATA.isdisjoint(codes),
        landing_page=cls == "document" and any(e.rule in ("D2", "D3") for e in evidence),
        evidence=evidence,
        codes=codes,
        findings=ctx.findings,
    )


def _dataset_api_evidence(dataset: Dataset, serving: Iterable[DataService]) -> list[Evidence]:
    found = [Evidence("A2", "servesDataset", s.iri, detail=_service_title(s)) for s in serving]
    if vocab.SERVED_BY_DATA_SERVICE in dataset.types:
        found.append(Evidence("A2", "rdf:type", vocab.SERVED_BY_DATA_SERVICE))
    found += _title_evidence(dataset.title.values(), "dataset title")
    return found


def services_by_dataset(services: Iterable[DataService]) -> dict[str, list[DataService]]:
    """Index DataServices by the dataset IRIs they serve (dcat:servesDataset), for A2."""
    index: dict[str, list[DataService]] = {}
    for service in services:
        for iri in service.serves_datasets:
            index.setdefault(iri, []).append(service)
    return index


def classify_dataset(
    dataset: Dataset,
    services: Mapping[str, DataService] = _EMPTY,
    serving: Collection[DataService] | None = None,
    links: Mapping[str, LinkInfo] = _EMPTY,
) -> DatasetLevel:
    """Classify a dataset and its distributions.

    ``services``: DataServices by IRI (for accessService look-ups). ``serving``: the services
    whose servesDataset names this dataset (A2); None scans ``services`` — pass an index from
    :func:`services_by_dataset` when classifying many datasets. ``links``: link checks by URL.
    """
    if serving is None:
        serving = [s for s in services.values() if dataset.iri in s.serves_datasets]
    dists = [classify_distribution(d, dataset, services, links) for d in dataset.distributions]
    own = _dataset_api_evidence(dataset, serving)
    best = 3 if own else max([CLASS_LEVELS[d.cls] for d in dists], default=0)
    winning = LEVEL_CLASSES[best]
    evidence = own + [item for d in dists if d.cls == winning for item in d.evidence]
    if not evidence:
        evidence = [Evidence("U5", "distribution", "", detail="no distribution")]
    return DatasetLevel(
        iri=dataset.iri,
        level=best,
        strong=any(item.strong for item in evidence),
        open=any(d.open for d in dists),
        api_by_title_only=best == 3 and all(item.rule == "A6" for item in evidence),
        evidence=evidence,
        distributions=dists,
    )
