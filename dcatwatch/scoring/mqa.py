"""MQA-predicted points per dataset on the 405-point scale (research/quality.md §1).

Variant implemented: **dataportal.se's** MQA (DCAT-AP-SE docs/quality.md), i.e. data.europa.eu's
indicators, all 405 points of them, with one deviation:

* media types count as formats: for "format/media type from vocabulary" every ``dct:format``
  must be an EU file-type IRI *or* a known media type (literal or IANA IRI) and every
  ``dcat:mediaType`` a known media type; "non-proprietary" and "machine-readable" pass when any
  ``dct:format``/``dcat:mediaType`` value maps to a listed code (``text/csv`` counts as CSV,
  the DCAT-AP-SE ``text/csv+zip`` by its inner type).

DCAT-AP compliance (30 points) is counted as data.europa.eu counts it: the dataset's
description (the dataset and its distributions as focus nodes) has no ``sh:Violation``
against the DCAT-AP 3.0.1 shapes, as the validation's SHACL check found
(:mod:`dcatwatch.validators.shacl`). A description not checked yet is "unknown": its 30
points are ``unknown_points``, never earned.

"From a vocabulary" follows the metadata validator's vocabularies
(:mod:`dcatwatch.dcat.vocabularies`), so points are never withheld without a finding
that says why: a ``dct:format`` EU file-type IRI counts when :data:`FILE_TYPE` accepts it
(an upper-case code, also one newer than our copy of the table; ``…/file-type/csv`` is still
classified as CSV but is no IRI of the table), access rights when :data:`ACCESS_RIGHT` does
(http and https alike; a trailing slash or another case is another IRI). Licences are matched
more loosely than the validator's rule (any Creative Commons version, Open Data Commons;
scheme, case and trailing slash aside), so a licence the validator accepts earns the points.

Other choices: dates of issue/modification are read on the dataset (as ckan-mqa does);
distribution indicators earn ``points × share of distributions passing``, except the
interoperability ones, which come from the single best distribution (MQA's rule). URL
accessibility needs a link check: without one the state is "unknown", earns nothing and its
points are reported as ``unknown_points``. Only a *confirmed* failure (the agency's, seen again
``[validation] confirm_after_hours`` later) costs points: a failure not yet confirmed, or a
check the monitor could not make (its own DNS or network down), is unknown too — the store
gives such checks as an empty :class:`LinkInfo` (``Checks.link_infos``), never as failed. Known media types stand in for the IANA register.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from dcatwatch.dcat import vocab
from dcatwatch.dcat.classify import LinkInfo
from dcatwatch.dcat.formats import FormatValue, normalise
from dcatwatch.dcat.model import Dataset, Distribution
from dcatwatch.dcat.vocabularies import ACCESS_RIGHT, FILE_TYPE

Dimension = Literal[
    "findability", "accessibility", "interoperability", "reusability", "contextuality"
]
State = Literal["pass", "fail", "unknown"]
Links = Mapping[str, LinkInfo]

SCALE = 405
BANDS: tuple[tuple[float, str], ...] = (
    (350, "Excellent"),
    (220, "Good"),
    (120, "Sufficient"),
    (float("-inf"), "Bad"),
)
"""(exclusive lower bound, name): Excellent 351–405, Good 221–350, Sufficient 121–220, Bad."""

_NO_LINKS: Links = MappingProxyType({})
_LICENCE_RES = tuple(re.compile(rx) for rx in vocab.KNOWN_LICENCE_PATTERNS)
_MEDIA_FORMS = ("iana_iri", "media_type", "se_packaged")


def _urls_ok(urls: list[str], links: Links) -> bool | None:
    """False if missing or any check failed (confirmed), True if all passed, None while any is
    unchecked or unknown (unconfirmed, inconclusive)."""
    if not urls:
        return False
    states = [links[url].ok if url in links else None for url in urls]  # LinkInfo(): None
    if False in states:
        return False
    return None if None in states else True


def _values(raws: tuple[str, ...]) -> list[FormatValue]:
    return [value for raw in raws for value in normalise(raw)]


def _is_media_type(value: FormatValue) -> bool:
    return value.form in _MEDIA_FORMS and value.code is not None


def _in_vocabulary(value: FormatValue) -> bool:
    if value.form == "eu_iri":
        return FILE_TYPE.accepts(value.raw)
    return _is_media_type(value)


class FormatProfile(NamedTuple):
    """Interoperability states of one (dct:format, dcat:mediaType) combination."""

    format: bool
    media_type: bool
    format_media_type_vocabulary: bool
    non_proprietary: bool
    machine_readable: bool
    points: int


@lru_cache(maxsize=4096)
def _format_profile(formats: tuple[str, ...], media_types: tuple[str, ...]) -> FormatProfile:
    format_values, media_values = _values(formats), _values(media_types)
    codes = {value.code for value in format_values + media_values}
    aligned = all(map(_in_vocabulary, format_values)) and all(map(_is_media_type, media_values))
    states = (bool(formats), bool(media_types), bool(format_values) and aligned,
              not codes.isdisjoint(vocab.MQA_NON_PROPRIETARY),
              not codes.isdisjoint(vocab.MQA_MACHINE_READABLE))  # fmt: skip
    points = sum(weight for weight, state in zip(_INTEROP_WEIGHTS, states, strict=True) if state)
    return FormatProfile(*states, points=points)


def _profile(dist: Distribution) -> FormatProfile:
    return _format_profile(tuple(dist.formats), tuple(dist.media_types))


def _known_licence(dist: Distribution) -> bool:
    return any(map(_is_known_licence, dist.licenses))


@lru_cache(maxsize=1024)
def _is_known_licence(iri: str) -> bool:
    bare = iri.strip().lower().split("://", 1)[-1].removeprefix("www.")
    return any(rx.search(bare) for rx in _LICENCE_RES)


def _known_access_rights(dataset: Dataset) -> bool:
    return any(map(ACCESS_RIGHT.accepts, dataset.access_rights))


Scope = Literal["dataset", "distribution", "link", "format", "compliance"]


@dataclass(frozen=True, slots=True, eq=False)
class Indicator:
    """One MQA indicator: what it reads, on what, and how many points it is worth.

    ``read`` is applied according to ``scope``: "dataset" → the dataset, passes when truthy;
    "distribution" → each distribution, truthy; "link" → each distribution, gives the URLs whose
    link checks must pass; "format" → the best distribution's :class:`FormatProfile`, truthy;
    "compliance" → the SHACL verdict of the description (None: not checked, unknown).
    """

    id: str
    dimension: Dimension
    max_points: int
    property: str
    scope: Scope
    read: Callable[[Any], Any]


_get = attrgetter

INDICATORS: tuple[Indicator, ...] = (
    Indicator("keyword", "findability", 30, "dcat:keyword", "dataset", _get("keywords")),
    Indicator("theme", "findability", 30, "dcat:theme", "dataset", _get("themes")),
    Indicator("spatial", "findability", 20, "dct:spatial", "dataset", _get("spatial")),
    Indicator("temporal", "findability", 20, "dct:temporal", "dataset", _get("temporal")),
    Indicator("access_url_status", "accessibility", 50, "dcat:accessURL", "link",
              _get("access_urls")),
    Indicator("download_url", "accessibility", 20, "dcat:downloadURL", "distribution",
              _get("download_urls")),
    Indicator("download_url_status", "accessibility", 30, "dcat:downloadURL", "link",
              _get("download_urls")),
    Indicator("format", "interoperability", 20, "dct:format", "format", _get("format")),
    Indicator("media_type", "interoperability", 10, "dcat:mediaType", "format",
              _get("media_type")),
    Indicator("format_media_type_vocabulary", "interoperability", 10,
              "dct:format + dcat:mediaType", "format", _get("format_media_type_vocabulary")),
    Indicator("non_proprietary", "interoperability", 20, "dct:format / dcat:mediaType", "format",
              _get("non_proprietary")),
    Indicator("machine_readable", "interoperability", 20, "dct:format / dcat:mediaType",
              "format", _get("machine_readable")),
    Indicator("dcat_ap_compliance", "interoperability", 30, "DCAT-AP 3.0.1 (SHACL)",
              "compliance", _get("compliance")),
    Indicator("license", "reusability", 20, "dct:license", "distribution", _get("licenses")),
    Indicator("license_vocabulary", "reusability", 10, "dct:license", "distribution",
              _known_licence),
    Indicator("access_rights", "reusability", 10, "dct:accessRights", "dataset",
              _get("access_rights")),
    Indicator("access_rights_vocabulary", "reusability", 5, "dct:accessRights", "dataset",
              _known_access_rights),
    Indicator("contact_point", "reusability", 20, "dcat:contactPoint", "dataset",
              _get("contact_points")),
    Indicator("publisher", "reusability", 10, "dct:publisher", "dataset", _get("publisher")),
    Indicator("rights", "contextuality", 5, "dct:rights", "distribution", _get("rights")),
    Indicator("byte_size", "contextuality", 5, "dcat:byteSize", "distribution",
              _get("byte_size")),
    Indicator("issued", "contextuality", 5, "dct:issued", "dataset", _get("issued")),
    Indicator("modified", "contextuality", 5, "dct:modified", "dataset", _get("modified")),
)  # fmt: skip
"""The scored indicators: all of data.europa.eu's."""

REACHABLE = sum(indicator.max_points for indicator in INDICATORS)
assert REACHABLE == SCALE, "every indicator of the 405-point scale is scored"
_INTEROP_WEIGHTS = tuple(
    next(i.max_points for i in INDICATORS if i.id == name) for name in FormatProfile._fields[:-1]
)


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """Points one dataset earns on one indicator."""

    id: str
    dimension: Dimension
    property: str
    max_points: int
    points: float
    state: State
    unknown_points: float = 0.0  # points that depend on a link check not yet made

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "dimension": self.dimension, "property": self.property,
                "max_points": self.max_points, "points": round(self.points, 2),
                "state": self.state, "unknown_points": round(self.unknown_points, 2)}  # fmt: skip


@dataclass(slots=True)
class MqaScore:
    """MQA-predicted points and band of one dataset."""

    iri: str
    points: float
    band: str
    unknown_points: float  # up to this many more once links (and SHACL) are checked
    indicators: list[IndicatorResult]
    max_points: int = REACHABLE
    scale: int = SCALE

    def by_dimension(self) -> dict[str, float]:
        """Points per dimension."""
        totals: dict[str, float] = {}
        for result in self.indicators:
            totals[result.dimension] = totals.get(result.dimension, 0.0) + result.points
        return totals

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"iri": self.iri, "points": round(self.points, 1), "band": self.band,
                "unknown_points": round(self.unknown_points, 1), "max_points": self.max_points,
                "scale": self.scale,
                "indicators": [result.to_dict() for result in self.indicators]}  # fmt: skip


def band(points: float) -> str:
    """The MQA rating band for a number of points."""
    for bound, name in BANDS:
        if points > bound:
            return name
    raise ValueError(f"not a number of points: {points!r}")  # NaN


def _make(indicator: Indicator, passed: int, unknown: int, total: int) -> IndicatorResult:
    if total == 0 or passed + unknown < total:
        state: State = "fail"
    else:
        state = "pass" if unknown == 0 else "unknown"
    share = indicator.max_points / total if total else 0.0
    return IndicatorResult(
        indicator.id, indicator.dimension, indicator.property, indicator.max_points,
        share * passed, state, share * unknown,
    )  # fmt: skip


_shared = lru_cache(maxsize=4096)(_make)
"""Results for several distributions, shared between datasets with the same counts."""

_PLAN = tuple(
    (i, i.scope, i.read, {s: _make(i, s is True, s is None, 1) for s in (True, False, None)})
    for i in INDICATORS
)
"""Per indicator: scope, reader and its three whole-indicator results (built once, shared)."""


class _Compliance(NamedTuple):
    compliance: bool | None


def _evaluate(
    dataset: Dataset, profile: FormatProfile | None, links: Links, compliance: bool | None
) -> list[IndicatorResult]:
    """Apply each indicator's ``read`` according to its scope (see :class:`Indicator`)."""
    dists = dataset.distributions
    results = []
    for indicator, scope, read, fixed in _PLAN:
        if scope == "compliance":
            results.append(fixed[read(_Compliance(compliance))])
            continue
        if scope == "dataset":
            results.append(fixed[bool(read(dataset))])
            continue
        if scope == "format":
            results.append(fixed[profile is not None and bool(read(profile))])
            continue
        states: list[bool | None]
        if scope == "distribution":
            states = [bool(read(dist)) for dist in dists]
        else:
            states = [_urls_ok(read(dist), links) for dist in dists]
        if len(states) == 1:
            results.append(fixed[states[0]])
        else:
            results.append(_shared(indicator, states.count(True), states.count(None), len(states)))
    return results


def _best_profile(dists: list[Distribution]) -> FormatProfile | None:
    """The best distribution's format profile (MQA counts only the best for interoperability)."""
    return max(map(_profile, dists), key=attrgetter("points"), default=None)


def score_dataset(dataset: Dataset, links: Links = _NO_LINKS,
                  compliance: bool | None = None) -> MqaScore:
    """Score one dataset; ``links`` maps URLs to link-check results (absent = unchecked);
    ``compliance``: the SHACL verdict of its description (None: not checked)."""
    results = _evaluate(dataset, _best_profile(dataset.distributions), links, compliance)
    points = sum(result.points for result in results)
    return MqaScore(
        iri=dataset.iri,
        points=points,
        band=band(round(points, 1)),  # the band of the points shown (see to_dict)
        unknown_points=sum(result.unknown_points for result in results),
        indicators=results,
    )
