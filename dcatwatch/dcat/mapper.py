"""Mapping triples grouped by subject (:class:`~dcatwatch.dcat.parse.Graph`) to the model.

A record is a subject typed with its class (dcat:Dataset …) or, leniently, a described
subject linked by the class's property (dcat:dataset, dcat:distribution, dcat:accessService).
Blank-node records get stable skolem IRIs and a ``record.no_iri`` problem; a document with
relative IRIs gets one ``record.relative_iri`` problem. Each dataset's description (its own
triples, nested blank nodes and its distributions) is hashed canonically, so a re-harvest
can tell updated from unchanged datasets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat.diskgraph import DiskGraph
from dcatwatch.dcat.languages import LanguagePreference
from dcatwatch.dcat.model import (
    Agent,
    Catalog,
    ContactPoint,
    DataService,
    Dataset,
    DatasetEntry,
    Distribution,
    DistributionLink,
    ParsedCatalog,
    Problem,
    best_text,
    pack_description,
)
from dcatwatch.dcat.parse import Graph
from dcatwatch.dcat.terms import iri, is_blank, literal, value

TEXT, LIST, ONE = "text", "list", "one"
FieldTable = dict[str, tuple[str, str]]

DCT, DCAT, FOAF, VCARD = ns.DCT, ns.DCAT, ns.FOAF, ns.VCARD

DATASET_FIELDS: FieldTable = {
    iri(DCT, "title"): ("title", TEXT),
    iri(DCT, "description"): ("description", TEXT),
    iri(DCAT, "keyword"): ("keywords", LIST),
    iri(DCAT, "theme"): ("themes", LIST),
    iri(DCT, "identifier"): ("identifiers", LIST),
    iri(DCAT, "landingPage"): ("landing_pages", LIST),
    iri(DCT, "accessRights"): ("access_rights", LIST),
    iri(DCT, "conformsTo"): ("conforms_to", LIST),
    iri(DCT, "spatial"): ("spatial", LIST),
    iri(DCT, "temporal"): ("temporal", LIST),
    iri(DCT, "language"): ("languages", LIST),
    iri(DCT, "accrualPeriodicity"): ("accrual_periodicity", LIST),
    iri(ns.DCATAP, "hvdCategory"): ("hvd_categories", LIST),
    iri(ns.DCATAP, "applicableLegislation"): ("applicable_legislation", LIST),
    iri(DCAT, "inSeries"): ("in_series", LIST),
    iri(DCT, "issued"): ("issued", ONE),
    iri(DCT, "modified"): ("modified", ONE),
}
DISTRIBUTION_FIELDS: FieldTable = {
    iri(DCT, "title"): ("title", TEXT),
    iri(DCT, "description"): ("description", TEXT),
    iri(DCAT, "accessURL"): ("access_urls", LIST),
    iri(DCAT, "downloadURL"): ("download_urls", LIST),
    iri(DCT, "format"): ("formats", LIST),
    iri(DCAT, "mediaType"): ("media_types", LIST),
    iri(DCAT, "compressFormat"): ("compress_formats", LIST),
    iri(DCAT, "packageFormat"): ("package_formats", LIST),
    iri(DCT, "license"): ("licenses", LIST),
    iri(DCT, "rights"): ("rights", LIST),
    iri(DCAT, "accessService"): ("access_services", LIST),
    iri(DCT, "conformsTo"): ("conforms_to", LIST),
    iri(ns.DCATAP, "availability"): ("availability", LIST),
    iri(ns.ADMS, "status"): ("status", LIST),
    iri(DCAT, "byteSize"): ("byte_size", ONE),
    iri(DCT, "issued"): ("issued", ONE),
    iri(DCT, "modified"): ("modified", ONE),
}
SERVICE_FIELDS: FieldTable = {
    iri(DCT, "title"): ("title", TEXT),
    iri(DCT, "description"): ("description", TEXT),
    iri(DCAT, "endpointURL"): ("endpoint_urls", LIST),
    iri(DCAT, "endpointDescription"): ("endpoint_descriptions", LIST),
    iri(DCAT, "servesDataset"): ("serves_datasets", LIST),
    iri(DCT, "conformsTo"): ("conforms_to", LIST),
    iri(DCT, "format"): ("formats", LIST),
    iri(DCT, "license"): ("licenses", LIST),
    iri(DCT, "accessRights"): ("access_rights", LIST),
    iri(DCT, "type"): ("service_type", LIST),
    iri(DCAT, "keyword"): ("keywords", LIST),
    iri(DCAT, "theme"): ("themes", LIST),
    iri(DCAT, "landingPage"): ("landing_pages", LIST),
}
CATALOG_FIELDS: FieldTable = {
    iri(DCT, "title"): ("title", TEXT),
    iri(DCT, "description"): ("description", TEXT),
    iri(DCT, "license"): ("licenses", LIST),
    iri(FOAF, "homepage"): ("homepage", LIST),
    iri(DCT, "language"): ("languages", LIST),
    iri(DCAT, "themeTaxonomy"): ("theme_taxonomies", LIST),
    iri(DCAT, "dataset"): ("datasets", LIST),
    iri(DCAT, "service"): ("services", LIST),
    iri(DCT, "hasPart"): ("has_part", LIST),
    iri(DCAT, "catalog"): ("has_part", LIST),
    iri(DCT, "issued"): ("issued", ONE),
    iri(DCT, "modified"): ("modified", ONE),
}
NAME_PREDICATES = (iri(FOAF, "name"), iri(ns.SKOS, "prefLabel"), iri(VCARD, "fn"),
                   iri(VCARD, "organization-name"), iri(ns.RDFS, "label"))
"""An agent's names, the most telling first (a label is often a class-like word)."""
AGENT_FIELDS: FieldTable = {
    **{predicate: ("name", TEXT) for predicate in NAME_PREDICATES},
    iri(DCT, "identifier"): ("identifiers", LIST),
    iri(ns.OWL, "sameAs"): ("same_as", LIST),
    iri(DCT, "type"): ("types", LIST),
    iri(FOAF, "homepage"): ("homepage", LIST),
    iri(FOAF, "mbox"): ("mbox", LIST),
}
CONTACT_FIELDS: FieldTable = {
    iri(VCARD, "fn"): ("name", TEXT),
    iri(VCARD, "organization-name"): ("name", TEXT),
    iri(VCARD, "hasEmail"): ("emails", LIST),
    iri(VCARD, "email"): ("emails", LIST),
    iri(VCARD, "hasURL"): ("urls", LIST),
    iri(VCARD, "hasTelephone"): ("telephones", LIST),
}

PUBLISHER = iri(DCT, "publisher")
TITLE = iri(DCT, "title")
IDENTIFIER = iri(DCT, "identifier")
LINK_FIELDS = {iri(DCAT, "accessURL"): "access_url", iri(DCAT, "downloadURL"): "download_url",
               iri(DCT, "format"): "format", iri(DCAT, "mediaType"): "format"}
CONTACT_POINTS = (iri(DCAT, "contactPoint"), iri(ns.ADMS, "contactPoint"))
DISTRIBUTION = iri(DCAT, "distribution")
# Slips read as the property meant, each with a record.tolerated warning: used -> meant.
TOLERATED_LINKS = {iri(DCT, "distribution"): DISTRIBUTION}
TOLERATED_DISTRIBUTION_FIELDS = {
    iri(DCAT, "accessUrl"): iri(DCAT, "accessURL"),
    iri(DCAT, "downloadUrl"): iri(DCAT, "downloadURL"),
    iri(DCT, "accessURL"): iri(DCAT, "accessURL"),
    iri(DCT, "downloadURL"): iri(DCAT, "downloadURL"),
    iri(DCT, "mediaType"): iri(DCAT, "mediaType"),
    iri(DCAT, "format"): iri(DCT, "format"),
}
DISTRIBUTION_LINKS = frozenset((DISTRIBUTION, *TOLERATED_LINKS))
DISTRIBUTION_READ = {**DISTRIBUTION_FIELDS,
                     **{used: DISTRIBUTION_FIELDS[meant]
                        for used, meant in TOLERATED_DISTRIBUTION_FIELDS.items()}}
LINK_READ = {**LINK_FIELDS, **{used: LINK_FIELDS[meant]
                               for used, meant in TOLERATED_DISTRIBUTION_FIELDS.items()
                               if meant in LINK_FIELDS}}
DATASET_LINKS = (iri(DCAT, "dataset"),)
SERVICE_LINKS = (iri(DCAT, "accessService"), iri(DCAT, "service"))
CATALOG_SERVICE = iri(DCAT, "service")
ACCESS_SERVICE = iri(DCAT, "accessService")
SERVES_DATASET = iri(DCAT, "servesDataset")
CATALOG_LINKS = (iri(DCT, "hasPart"), iri(DCAT, "catalog"))
DESCRIBED_WITH_DATASET = frozenset((*DISTRIBUTION_LINKS, PUBLISHER, *CONTACT_POINTS))
VALUE_OF_NODE = (iri(ns.RDF, "value"), iri(ns.RDFS, "label"), iri(ns.SKOS, "prefLabel"),
                 iri(VCARD, "hasValue"), iri(DCT, "identifier"))
DATASET_TYPES = {iri(ns.DATASET), iri(ns.DATASET_SERIES)}
SERVICE_TYPES = {iri(ns.DATA_SERVICE)}
CATALOG_TYPES = {iri(ns.CATALOG)}
DISTRIBUTION_TYPES = {iri(ns.DISTRIBUTION)}
CATALOG, DATASET, SERVICE = "catalog", "dataset", "service"
# what the mapper reads of a catalogue when it maps for a harvest: not its dataset and
# service lists (the records themselves are found by their links), which for a national
# catalogue hold every dataset
CATALOG_SUMMARY_FIELDS = {p: field for p, field in CATALOG_FIELDS.items()
                          if field[0] not in ("datasets", "services")}
DIGESTS_KEPT = 50_000  # blank-node digests remembered (they are recomputed when forgotten)


class Mapper:
    """Maps one :class:`Graph` to a :class:`ParsedCatalog`; ``source`` names skolem IRIs."""

    def __init__(self, graph: Graph | DiskGraph, url: str, source: str = "source") -> None:
        self.graph = graph
        self.subjects = graph.subjects
        self.url = url
        self.source = source
        self.problems: list[Problem] = []
        self._digests: dict[str, str] = {}
        self._agents: dict[str, Agent] = {}
        self._publisher_texts: dict[str, str] = {}  # record IRI → its dct:publisher literal
        self.languages = LanguagePreference(graph)

    def map(self, full: bool = True,
            sink: Callable[[DatasetEntry | DataService], None] | None = None) -> ParsedCatalog:
        """Map every catalogue, dataset and data service of the graph.

        With ``full=False`` datasets come as :class:`DatasetEntry` (description text, hash,
        title, publisher, distribution links) instead of model objects: what a harvest
        stores, at a fraction of the cost; with a ``sink`` too, each entry and data service
        goes to it as it is made instead of into the result, so a large document is never
        held as records.
        """
        result = ParsedCatalog(triples=self.graph.triples, problems=self.problems)
        graph = self.graph
        add_entry = sink or result.entries.append
        add_service = sink or result.services.append
        catalog_iris: dict[str, str] = {}  # catalogue node -> its record's IRI
        for node in graph.record_nodes(CATALOG_TYPES, CATALOG_LINKS, keep_undescribed=True):
            catalog = self._isolated(node, lambda n: self._catalog(n, full))
            if catalog is not None:
                result.catalogs.append(catalog)
                catalog_iris[node] = catalog.iri
        publishers = {c.iri: c.publisher for c in result.catalogs}
        for node in graph.record_nodes(DATASET_TYPES, DATASET_LINKS):
            catalogs = [catalog_iris[s] for p in DATASET_LINKS
                        for s in graph.subjects_linking(p, node) if s in catalog_iris]
            if full:
                dataset = self._isolated(node, self._dataset)
                if dataset is not None:
                    dataset.catalogs = catalogs
                    self._inherit_publisher(dataset, publishers)
                    result.datasets.append(dataset)
            else:
                entry = self._isolated(node, self._entry)
                if entry is not None:
                    self._inherit_publisher(entry, publishers, catalogs)
                    add_entry(entry)
        for node in graph.record_nodes(SERVICE_TYPES, SERVICE_LINKS):
            service = self._isolated(node, self._service)
            if service is not None:
                if service.publisher is None:
                    catalogs = self._service_catalogs(node, catalog_iris)
                    service.publisher = next(
                        (publishers[c] for c in catalogs if publishers.get(c)), None)
                    service.publisher_inherited = service.publisher is not None
                add_service(service)
        return result

    def dataset(self, node: str) -> Dataset:
        """Map the dataset described at ``node`` (the first subject of a stored description)."""
        return self._dataset(node)

    # -- discovery ----------------------------------------------------------------------

    def _isolated(self, node: str, build: Callable[[str], Any]) -> Any:
        try:
            return build(node)
        except Exception as exc:  # noqa: BLE001 - one bad record never aborts a run
            self.problems.append(Problem("record.invalid", f"<{value(node)}>: "
                                         f"{type(exc).__name__}: {exc}", self.url, value(node)))
            return None

    # -- records ------------------------------------------------------------------------

    def _catalog(self, node: str, full: bool = True) -> Catalog:
        props = self.subjects.get(node, [])
        catalog = Catalog(iri=self._identity(node, "catalog"), blank=is_blank(node))
        _fill(catalog, props, CATALOG_FIELDS if full else CATALOG_SUMMARY_FIELDS,
              self._node_value)
        self._empties(props, "catalogue", catalog.iri)
        catalog.publisher = self._agent(props, catalog.iri, "catalogue")
        catalog.described = any(p != iri(ns.RDF_TYPE) for p, _ in props)
        return catalog

    def _dataset(self, node: str) -> Dataset:
        props = self.subjects[node]
        dataset = Dataset(iri=self._identity(node, "dataset", props), blank=is_blank(node),
                          types=[value(t) for t in self.graph.types.get(node, [])])
        _fill(dataset, props, DATASET_FIELDS, self._node_value)
        self._empties(props, "dataset", dataset.iri, dataset.iri)
        dataset.publisher = self._agent(props, dataset.iri, None)
        dataset.contact_points = self._contacts(props)
        dataset.distributions = [self._distribution(obj, dataset.iri) for p, obj in props
                                 if p in DISTRIBUTION_LINKS and obj in self.subjects]
        self._tolerate(props, TOLERATED_LINKS, dataset.iri)
        return dataset

    def _entry(self, node: str) -> DatasetEntry:
        props = self.subjects[node]
        name = self._identity(node, "dataset", props)
        titles: dict[str, str] = {}
        distributions = []
        publishers = []
        empty = []
        subjects = self.subjects
        for predicate, obj in props:  # one pass for the title, distributions and publisher
            if obj[1] == '"' and obj[0] == '"':
                empty.append(predicate)
            elif predicate == TITLE:
                if obj[0] == '"':
                    text, lang = literal(obj)
                    titles.setdefault(lang, text)
            elif predicate in DISTRIBUTION_LINKS:
                if obj in subjects:
                    distributions.append(self._link(obj, name))
            elif predicate == PUBLISHER:
                publishers.append((predicate, obj))
        self._tolerate(props, TOLERATED_LINKS, name)
        self._report_empty(empty, "dataset", name, name)
        description, digest = self.describe(node)
        return DatasetEntry(iri=name, digest=digest, packed=pack_description(description),
                            title=best_text(titles),
                            publisher=self._agent(publishers, name, None),
                            distributions=distributions)

    def _link(self, node: str, dataset_iri: str) -> DistributionLink:
        found: dict[str, str] = {}
        empty = []
        props = self.subjects[node]
        for predicate, obj in props:
            if obj[1] == '"' and obj[0] == '"':
                empty.append(predicate)
                continue
            name = LINK_READ.get(predicate)
            if name is not None and name not in found:
                found[name] = self._node_value(obj) if obj[0] == "_" else value(obj)
        iri_ = f"{dataset_iri}#distribution-{self._digest(node)[:12]}" if is_blank(node) \
            else value(node)
        self._tolerate(props, TOLERATED_DISTRIBUTION_FIELDS, iri_)
        self._report_empty(empty, "distribution", iri_, dataset_iri)
        return DistributionLink(iri_, found.get("access_url"), found.get("download_url"),
                                found.get("format"))

    def describe(self, node: str) -> tuple[str, str]:
        """A dataset's description as N-Triples, and its canonical hash.

        The description holds the dataset's triples, its distributions', publisher's and
        contact points', and every blank node they reach; its first line's subject is
        ``node``. The hash covers the same triples with blank nodes named by their content,
        so it does not depend on labels or order.
        """
        lines: list[str] = []  # N-Triples lines without their " .\n"
        canonical: list[str] = []
        seen = {node}
        todo = [node]
        subjects = self.subjects
        digest = self._digest
        while todo:
            subject = todo.pop()
            blank_subject = subject[0] == "_"
            label = f"[{digest(subject)}]" if blank_subject else subject
            for predicate, obj in subjects.get(subject, ()):
                line = f"{subject} {predicate} {obj}"
                lines.append(line)
                if obj[0] == "_":
                    canonical.append(f"{label} {predicate} [{digest(obj)}]")
                else:  # without a blank node the line is canonical as it is
                    canonical.append(f"{label} {predicate} {obj}" if blank_subject else line)
                    if predicate not in DESCRIBED_WITH_DATASET:
                        continue  # most objects are not followed: the cheap test first
                if obj not in seen and obj in subjects:
                    seen.add(obj)
                    todo.append(obj)
        canonical.sort()
        hashed = hashlib.sha256("\n".join(canonical).encode("utf-8", "surrogateescape"))
        description = " .\n".join(lines) + " .\n" if lines else ""
        return description, hashed.hexdigest()

    def _distribution(self, node: str, dataset_iri: str) -> Distribution:
        props = self.subjects[node]
        if is_blank(node):
            name = f"{dataset_iri}#distribution-{self._digest(node)[:12]}"
        else:
            name = value(node)
        distribution = Distribution(iri=name, blank=is_blank(node),
                                    types=[value(t) for t in self.graph.types.get(node, [])])
        _fill(distribution, props, DISTRIBUTION_READ, self._node_value)
        self._tolerate(props, TOLERATED_DISTRIBUTION_FIELDS, name)
        self._empties(props, "distribution", name, dataset_iri)
        return distribution

    def _tolerate(self, props: list[tuple[str, str]], tolerated: dict[str, str],
                  subject: str) -> None:
        """One record.tolerated warning per slipped property of ``subject`` that was read."""
        for used in dict.fromkeys(p for p, _ in props if p in tolerated):
            self.problems.append(Problem(
                "record.tolerated", f"{_curie(used)} was read as {_curie(tolerated[used])}",
                self.url, subject))

    def _service(self, node: str) -> DataService:
        props = self.subjects.get(node, [])
        service = DataService(iri=self._identity(node, "service", props), blank=is_blank(node),
                              types=[value(t) for t in self.graph.types.get(node, [])])
        _fill(service, props, SERVICE_FIELDS, self._node_value)
        self._empties(props, "data service", service.iri)
        service.publisher = self._agent(props, service.iri, "data service")
        service.contact_points = self._contacts(props)
        return service

    def _agent(self, props: list[tuple[str, str]], record_iri: str,
               kind: str | None) -> Agent | None:
        """The publisher of the record with ``props``: its first dct:publisher that is an
        agent (an IRI or a blank node), not a text.

        A text instead of an agent is a ``record.publisher_literal`` problem: at once for a
        catalogue or a data service (``kind``), for a dataset (``kind`` None) when it is
        known whether its catalogue's publisher stands in (:meth:`_inherit_publisher`).
        """
        text = None
        for predicate, obj in props:
            if predicate != PUBLISHER:
                continue
            if obj[0] != '"':
                return self._agent_at(obj)
            if text is None:
                text = value(obj)
        if text is not None:
            if kind is None:
                self._publisher_texts[record_iri] = text
            else:
                self.problems.append(Problem(
                    "record.publisher_literal", f"{kind} <{record_iri}> gives the text "
                    f"{text!r} as dct:publisher, not an agent", self.url, record_iri))
        return None

    def _agent_at(self, node: str | None) -> Agent | None:
        """The agent at ``node``, a publisher's term (built once per node)."""
        if node is None:
            return None
        known = self._agents.get(node)
        if known is None:
            known = self._agents[node] = self._build_agent(node)
        return known

    def _build_agent(self, node: str) -> Agent:
        agent_props = self.subjects.get(node, [])
        agent = Agent(iri=value(node), blank=is_blank(node))
        _fill(agent, agent_props, AGENT_FIELDS, self._node_value)
        agent.label = self._name(agent_props)
        if agent.blank:
            agent.iri = f"urn:dcatwatch:agent:{agent.label or self._digest(node)[:12]}"
        return agent

    def _name(self, props: list[tuple[str, str]]) -> str | None:
        """An agent's display name: in Swedish, else the catalogue's language, else untagged,
        else English, else any; within a language by :data:`NAME_PREDICATES`' order."""
        names: list[tuple[str, str]] = []  # (language, text), the most telling property first
        for predicate in NAME_PREDICATES:
            for p, obj in props:
                if p == predicate and obj[0] == '"':
                    text, lang = literal(obj)
                    if text.strip():
                        names.append((lang, " ".join(text.split())))
        if len({lang for lang, _ in names}) <= 1:
            return names[0][1] if names else None
        return self.languages.choose(names)

    def _contacts(self, props: list[tuple[str, str]]) -> list[ContactPoint]:
        contacts = []
        for predicate, node in props:
            if predicate in CONTACT_POINTS:
                name = f"_:{self._digest(node)[:16]}" if is_blank(node) else value(node)
                contact = ContactPoint(iri=name, blank=is_blank(node))
                _fill(contact, self.subjects.get(node, []), CONTACT_FIELDS, self._node_value)
                contacts.append(contact)
        return contacts

    def _service_catalogs(self, node: str, catalog_iris: dict[str, str]) -> list[str]:
        """The catalogues a data service belongs to: those listing it (dcat:service), else
        those listing a dataset it serves or whose distribution it gives access to."""
        graph = self.graph
        listing = [catalog_iris[s] for s in graph.subjects_linking(CATALOG_SERVICE, node)
                   if s in catalog_iris]
        if listing:
            return listing
        datasets = [obj for p, obj in self.subjects.get(node, []) if p == SERVES_DATASET]
        datasets += [dataset for dist in graph.subjects_linking(ACCESS_SERVICE, node)
                     for link in DISTRIBUTION_LINKS
                     for dataset in graph.subjects_linking(link, dist)]
        return list(dict.fromkeys(catalog_iris[s] for dataset in datasets for link in DATASET_LINKS
                                  for s in graph.subjects_linking(link, dataset)
                                  if s in catalog_iris))

    def _inherit_publisher(self, record: Dataset | DatasetEntry,
                           publishers: dict[str, Agent | None],
                           catalogs: list[str] | None = None) -> None:
        text = self._publisher_texts.pop(record.iri, None)
        if record.publisher is not None:
            return
        listed = record.catalogs if isinstance(record, Dataset) else catalogs or []
        inherited = next((publishers[c] for c in listed if publishers.get(c)), None)
        record.publisher = inherited
        record.publisher_inherited = inherited is not None
        note = " (the catalogue's publisher is used)" if inherited else ""
        title = record.title if isinstance(record.title, str) or record.title is None \
            else best_text(record.title)
        named = f"dataset <{record.iri}>" + (f" ({title!r})" if title else "")
        if text is None:
            self.problems.append(Problem("record.no_publisher",
                                         f"{named} has no dct:publisher{note}",
                                         self.url, record.iri, record.iri))
        else:
            self.problems.append(Problem("record.publisher_literal",
                                         f"{named} gives the text {text!r} as dct:publisher, "
                                         f"not an agent{note}", self.url, record.iri,
                                         record.iri))

    def _empties(self, props: list[tuple[str, str]], kind: str, record_iri: str,
                 dataset: str | None = None) -> None:
        """A ``record.empty_value`` problem per empty value (an empty element, or an empty
        reference, which :func:`~dcatwatch.dcat.parse.group_lines` makes an empty text)."""
        self._report_empty([p for p, obj in props if is_empty(obj)], kind, record_iri, dataset)

    def _report_empty(self, predicates: list[str], kind: str, record_iri: str,
                      dataset: str | None) -> None:
        for predicate in predicates:
            self.problems.append(Problem(
                "record.empty_value", f"{kind} <{record_iri}>: {_compact(predicate)} is "
                f"empty (an empty element or rdf:resource=\"\"); it was ignored",
                self.url, record_iri, dataset))

    # -- identity and values --------------------------------------------------------------

    def _identity(self, node: str, kind: str, props: list[tuple[str, str]] | None = None) -> str:
        if not is_blank(node):
            return value(node)
        identifier = next((value(o) for p, o in props or [] if p == IDENTIFIER), None)
        key = identifier or self._digest(node)
        name = f"urn:dcatwatch:{self.source}:{kind}:{hashlib.sha1(key.encode()).hexdigest()[:16]}"
        self.problems.append(Problem("record.no_iri", f"a {kind} is a blank node; "
                                     f"identified as {name}", self.url, name,
                                     name if kind == DATASET else None))
        return name

    def _node_value(self, node: str) -> str:
        """A blank node used as a value (format, telephone …): its value, label or a summary."""
        props = self.subjects.get(node, [])
        for predicate in VALUE_OF_NODE:
            for p, obj in props:
                if p == predicate:
                    return value(obj)
        summary = "; ".join(f"{value(p).rsplit('/', 1)[-1].rsplit('#', 1)[-1]}={value(o)}"
                            for p, o in sorted(props) if o[0] != "_")
        return "[" + summary + "]"

    def _digest(self, node: str, depth: int = 0) -> str:
        """Canonical digest of a blank node's description (labels do not matter)."""
        known = self._digests.get(node)
        if known is not None:
            return known
        if depth > 6:
            return "deep"
        digest = hashlib.sha1("\n".join(self._lines(node, depth + 1)).encode()).hexdigest()
        if len(self._digests) >= DIGESTS_KEPT:
            self._digests.clear()
        self._digests[node] = digest
        return digest

    def _lines(self, node: str, depth: int = 0) -> list[str]:
        lines = []
        for predicate, obj in self.subjects.get(node, ()):
            if obj[0] == "_":
                obj = "[" + self._digest(obj, depth) + "]"
            lines.append(predicate + " " + obj)
        lines.sort()
        return lines


def _curie(term: str) -> str:
    """``<http://purl.org/dc/terms/distribution>`` → ``dct:distribution``."""
    bare = value(term)
    for prefix, namespace in (("dcat", DCAT), ("dct", DCT)):
        if bare.startswith(namespace):
            return f"{prefix}:{bare[len(namespace):]}"
    return bare


def _fill(record: Any, props: list[tuple[str, str]], table: FieldTable,
          node_value: Callable[[str], str]) -> None:
    """Set ``record``'s fields from ``props`` following ``table`` (lists keep first-seen order)."""
    grown = set()
    for predicate, obj in props:
        entry = table.get(predicate)
        if entry is None:
            continue
        name, kind = entry
        if is_empty(obj):
            continue
        if kind == TEXT:
            if obj[0] == '"':
                text, lang = literal(obj)
                getattr(record, name).setdefault(lang, text)
            continue
        item = node_value(obj) if obj[0] == "_" else value(obj)
        if kind == ONE:
            if getattr(record, name) is None:
                setattr(record, name, item)
        else:
            getattr(record, name).append(item)
            grown.add(name)
    for name in grown:
        items = getattr(record, name)
        if len(items) > 1:
            setattr(record, name, list(dict.fromkeys(items)))


def is_empty(term: str) -> bool:
    """Whether ``term`` is an empty literal (``""``, ``""@sv``, ``""^^<…>``)."""
    return term[0] == '"' and term[1] == '"'


def _compact(predicate: str) -> str:
    """``dct:license`` for ``<http://purl.org/dc/terms/license>`` (the IRI if no prefix fits)."""
    name = predicate[1:-1]
    for prefix, namespace in ns.PREFIXES.items():
        if name.startswith(namespace):
            return f"{prefix}:{name[len(namespace):]}"
    return predicate


def map_graph(graph: Graph | DiskGraph, url: str, source: str = "source", full: bool = True,
              sink: Callable[[DatasetEntry | DataService], None] | None = None
              ) -> ParsedCatalog:
    """Map a parsed document (see :meth:`Mapper.map`)."""
    parsed = Mapper(graph, url, source).map(full, sink)
    if graph.recovered:
        parsed.problems.append(Problem("parse.recovered", graph.recovered, url))
    if graph.relative_iris:
        count = graph.relative_iris
        were = "relative IRI was" if count == 1 else "relative IRIs were"
        parsed.problems.append(Problem(
            "record.relative_iri", f"{count} {were} resolved against the document URL, e.g. "
            f"<{graph.relative_example}>; publish absolute IRIs", url, graph.relative_example))
    return parsed
