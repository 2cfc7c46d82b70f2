"""Agency identity: one short, stable id per publishing body, usable as a metric label.

Rules, first match wins:

1. ``http://dataportal.se/organisation/SE<orgnr>[-suffix]`` as the publisher IRI or an
   ``owl:sameAs`` → ``<orgnr>[-suffix]``;
2. a Swedish organisation number (10 digits, dash optional) in ``dct:identifier`` or
   ``owl:sameAs`` → that number (one only in the publisher IRI is not used);
3. otherwise a short slug of the publisher IRI (host and path, with a hash suffix);
4. a blank-node publisher → a slug of its name (``flagged``: it may merge or split wrongly).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from dcatwatch.dcat.model import Agent, best_text

_DATAPORTAL = re.compile(r"^https?://(?:www\.)?dataportal\.se/organisation/SE(\d{10})(-[\w-]+)?/?$",
                         re.I)
_ORGNR = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")
_WRITTEN_ORGNR = re.compile(r"^(?:SE)?(\d{6})-?(\d{4})(-[A-Za-z0-9_-]+)?$", re.I)


def organisation_number(text: str) -> str | None:
    """``2021005448[-suffix]`` from an organisation number as people write it
    (``2021005448``, ``202100-5448``, ``SE2021005448``, ``2120001215-1``); None otherwise."""
    match = _WRITTEN_ORGNR.match(text.strip())
    return match.group(1) + match.group(2) + (match.group(3) or "") if match else None


@dataclass(frozen=True, slots=True)
class AgencyIdentity:
    """The id of an agency and how it was found."""

    id: str
    name: str | None
    rule: str  # "dataportal", "orgnr", "iri", "name"
    flagged: bool = False


def orgnr(text: str) -> str | None:
    """A Swedish organisation number found in ``text`` (dash removed), if any."""
    match = _ORGNR.search(text)
    return match.group(1) + match.group(2) if match else None


def slug(text: str, limit: int = 40) -> str:
    """Lower-case ASCII slug of ``text`` (å→a, spaces→-), at most ``limit`` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:limit].strip("-") or "unnamed"


def identify(agent: Agent) -> AgencyIdentity:
    """The agency id of a publisher following the rules in the module docstring."""
    name = best_text(agent.name)
    if not agent.blank:
        match = _DATAPORTAL.match(agent.iri)
        if match:
            return AgencyIdentity(match.group(1) + (match.group(2) or ""), name, "dataportal")
    for candidate in agent.same_as:  # keeps a dataportal.se suffix: one agency with the portal's
        match = _DATAPORTAL.match(candidate)
        if match:
            return AgencyIdentity(match.group(1) + (match.group(2) or ""), name, "orgnr")
    for candidate in (*agent.identifiers, *agent.same_as):
        found = orgnr(candidate)
        if found:
            return AgencyIdentity(found, name, "orgnr")
    if not agent.blank:
        return AgencyIdentity(_iri_slug(agent.iri), name, "iri")
    return AgencyIdentity("name-" + slug(name or "unnamed"), name, "name", flagged=True)


def _iri_slug(iri: str) -> str:
    parts = urlsplit(iri)
    readable = slug(f"{parts.netloc} {parts.path} {parts.fragment}".replace("www.", ""), 32)
    digest = hashlib.sha1(iri.encode()).hexdigest()[:6]
    return f"{readable}-{digest}"
