"""Agency identity: one short, stable id per publishing body, usable as a metric label.

Rules, first match wins:

1. ``http://dataportal.se/organisation/SE<orgnr>[-suffix]`` as the publisher IRI or an
   ``owl:sameAs`` → ``<orgnr>[-suffix]``;
2. a Swedish organisation number (10 digits, dash optional) in ``dct:identifier`` or
   ``owl:sameAs`` → that number (one only in the publisher IRI is not used);
3. otherwise a short slug of the publisher IRI (host and path, with a hash of the IRI);
4. a blank-node publisher → ``name-`` and a slug of its name with a hash of the whole name
   (``flagged``: the same body named two ways splits), or ``agent-`` and a hash of its
   description when it has no name.

Slugs keep letters of any script (NFKC, case-folded; Latin diacritics dropped: å→a), so
they are valid Prometheus label values; the hash keeps names with a common prefix or
without Latin letters apart. :func:`current_id` maps ids of earlier versions to these.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from dcatwatch.dcat.model import Agent, best_text

_DATAPORTAL = re.compile(r"^https?://(?:www\.)?dataportal\.se/organisation/SE(\d{10})(-[\w-]+)?/?$",
                         re.I)
_ORGNR = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")
_KEPT_ID = re.compile(r"^\d{10}(-[\w-]+)?$")  # organisation-number and dataportal.se ids
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
    """Lower-case slug of ``text`` (å→a, spaces→-, letters of other scripts kept), at most
    ``limit`` characters; may be empty."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(_fold_latin(char) for char in folded)
    cleaned = _NOT_WORD.sub("-", kept).strip("-")
    return cleaned[:limit].strip("-")


_NOT_WORD = re.compile(r"[\W_]+")


def _fold_latin(char: str) -> str:
    """A Latin letter without its diacritics (å→a); letters of other scripts as they are."""
    if char.isascii() or not unicodedata.name(char, "").startswith("LATIN"):
        return char
    return unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode() or char


def _hash(text: str, length: int) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()[:length]


def name_id(name: str | None, fallback: str) -> str:
    """The id of a blank-node publisher named ``name`` (``fallback``: its skolem IRI)."""
    if not name or not name.strip():
        return f"agent-{_hash(fallback, 10)}"
    normal = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    readable = slug(normal, 24)
    return f"name-{readable}-{_hash(normal, 8)}" if readable else f"name-{_hash(normal, 10)}"


def identify(agent: Agent) -> AgencyIdentity:
    """The agency id of a publisher following the rules in the module docstring."""
    name = agent.label or best_text(agent.name)
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
    return AgencyIdentity(name_id(name, agent.iri), name, "name", flagged=True)


def _iri_slug(iri: str) -> str:
    parts = urlsplit(iri)
    readable = slug(f"{parts.netloc} {parts.path} {parts.fragment}".replace("www.", ""), 32)
    return f"{readable or 'iri'}-{_hash(iri, 6)}"


_AGENT_URN = "urn:dcatwatch:agent:"
_PATH_WORDS = re.compile(r"[^\W_]+")
_FILE_SUFFIX = re.compile(r"\.[a-z0-9]{2,5}$", re.I)
_NAME_LIMIT = 80


def derived_name(publisher_iris: Iterable[str], registry_names: Mapping[str, str]) -> str | None:
    """A name for an agency whose publishers gave none: the registry's name for an
    organisation number in one of its IRIs, else a readable form of the first IRI (host and
    the words of its path: ``bfs.admin.ch – bfs de home``). None when there is no IRI."""
    iris = [iri for iri in publisher_iris if not iri.startswith(_AGENT_URN)]
    for publisher in iris:
        number = orgnr(publisher)
        if number and registry_names.get(number):
            return registry_names[number]
    return readable_iri(iris[0]) if iris else None


def readable_iri(iri: str) -> str:
    """Host (without ``www.``) and the words of the path and fragment of ``iri``."""
    parts = urlsplit(iri)
    host = parts.netloc.rsplit("@", 1)[-1].removeprefix("www.")
    path = _FILE_SUFFIX.sub("", unquote(parts.path))  # home.html: "home"
    words = _PATH_WORDS.findall(f"{path} {unquote(parts.fragment)}")
    text = " – ".join(filter(None, (host or iri, " ".join(words))))
    return text if len(text) <= _NAME_LIMIT else text[:_NAME_LIMIT - 1].rstrip() + "…"


def current_id(old_id: str, publisher_iris: list[str]) -> str | None:
    """The id this version gives the agency stored as ``old_id`` with the publishers
    ``publisher_iris`` (the agency table's columns), for a store migration.

    Organisation-number and dataportal.se ids are unchanged, and so are ids of ASCII IRIs.
    A ``name-`` id is recomputed from the names in its ``urn:dcatwatch:agent:<name>``
    IRIs, an IRI id from its IRI. None when it cannot be computed: no publisher IRI, or
    publishers merged under one old id that now have different ids (the merge cannot be
    undone from the table; the next harvest splits it). Registry agencies (``in_registry``)
    keep their configured ids: do not pass them.
    """
    if _KEPT_ID.match(old_id):
        return old_id
    if not publisher_iris:
        return None
    ids = set()
    for publisher in publisher_iris:
        if publisher.startswith(_AGENT_URN):
            label = publisher[len(_AGENT_URN):]
            ids.add(name_id(label, publisher))
        else:
            ids.add(_iri_slug(publisher))
    return ids.pop() if len(ids) == 1 else None
