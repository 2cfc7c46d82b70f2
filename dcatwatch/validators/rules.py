"""The DCAT-AP-SE 3.0.1 metadata rules, as data (research/sweden.md §1.2 and §1.3).

Each :class:`Rule` has a stable code (``meta.<record>.<problem>``), a severity, the property
it looks at and a hint in Swedish and English. Severities: ``error`` breaks a mandatory
requirement of the profile (a missing mandatory property, too many values, a URL that is
no URL, a catalogue licence other than CC0); ``warning`` misses a recommendation or a
controlled vocabulary (these cost MQA points); ``info`` is a form worth fixing (a licence
IRI variant, a deprecated vocabulary).

Rule kinds (what :mod:`dcatwatch.validators.metadata` checks):

=============  =============================================================================
required       the property has a value (mandatory)
recommended    the property has a value (recommended)
max_one        the property has at most one distinct value
iri            every value is an IRI, not a literal
http_url       every value is an absolute http(s) IRI (an http(s) URL as a text is url_literal's)
url_literal    no value is an http(s) URL written as a text instead of an IRI
vocabulary     every IRI value is in ``vocabulary``
equals         every value is ``expected`` (http/https and a trailing slash aside)
media_type     every value is a media-type literal (SE pattern), an EU file-type or IANA IRI
licence_form   an IRI that is a Creative Commons licence written another way
deprecated     an IRI value from ``vocabulary``, which is deprecated
mailto         every value is a ``mailto:`` IRI
blank_node     the record itself is a blank node (DIGG: give every record an IRI)
=============  =============================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat import vocabularies as vocab

Record = Literal["catalog", "dataset", "distribution", "data_service", "agent", "contact"]
Kind = Literal["required", "recommended", "max_one", "iri", "http_url", "url_literal",
               "vocabulary", "equals",
               "media_type", "licence_form", "deprecated", "mailto", "blank_node"]
Severity = Literal["error", "warning", "info"]

ORG = "http://www.w3.org/ns/org#"
PROPERTIES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "dct:title": ((ns.DCT + "title",), "en titel", "a title"),
    "dct:description": ((ns.DCT + "description",), "en beskrivning", "a description"),
    "dct:publisher": ((ns.DCT + "publisher",), "en utgivare", "a publisher"),
    "dct:license": ((ns.DCT + "license",), "en licens", "a licence"),
    "dct:issued": ((ns.DCT + "issued",), "ett utgivningsdatum", "a date of issue"),
    "dct:modified": ((ns.DCT + "modified",), "ett ändringsdatum", "a modification date"),
    "dct:language": ((ns.DCT + "language",), "ett språk", "a language"),
    "dct:spatial": ((ns.DCT + "spatial",), "en geografisk täckning", "a spatial coverage"),
    "dct:temporal": ((ns.DCT + "temporal",), "en tidsperiod", "a temporal coverage"),
    "dct:conformsTo": ((ns.DCT + "conformsTo",), "en standard den följer",
                       "a standard it conforms to"),
    "dct:accessRights": ((ns.DCT + "accessRights",), "åtkomsträttigheter", "access rights"),
    "dct:accrualPeriodicity": ((ns.DCT + "accrualPeriodicity",), "en uppdateringsfrekvens",
                               "an update frequency"),
    "dct:format": ((ns.DCT + "format",), "ett format", "a format"),
    "dct:type": ((ns.DCT + "type",), "en typ", "a type"),
    "dct:identifier": ((ns.DCT + "identifier",), "en identifierare (organisationsnummer)",
                       "an identifier (organisation number)"),
    "foaf:homepage": ((ns.FOAF + "homepage",), "en webbplats", "a homepage"),
    "foaf:name": ((ns.FOAF + "name",), "ett namn", "a name"),
    "dcat:dataset": ((ns.DCAT + "dataset",), "minst en datamängd", "at least one dataset"),
    "dcat:themeTaxonomy": ((ns.DCAT + "themeTaxonomy",), "en temataxonomi", "a theme taxonomy"),
    "dcat:contactPoint": ((ns.DCAT + "contactPoint",), "en kontaktpunkt", "a contact point"),
    "dcat:keyword": ((ns.DCAT + "keyword",), "nyckelord", "keywords"),
    "dcat:theme": ((ns.DCAT + "theme",), "ett tema", "a theme"),
    "dcat:landingPage": ((ns.DCAT + "landingPage",), "en landningssida", "a landing page"),
    "dcat:accessURL": ((ns.DCAT + "accessURL",), "en åtkomstadress", "an access URL"),
    "dcat:downloadURL": ((ns.DCAT + "downloadURL",), "en nedladdningsadress", "a download URL"),
    "dcat:endpointURL": ((ns.DCAT + "endpointURL",), "en ändpunktsadress", "an endpoint URL"),
    "dcat:endpointDescription": ((ns.DCAT + "endpointDescription",),
                                 "en beskrivning av ändpunkten", "an endpoint description"),
    "dcatap:availability": ((ns.DCATAP + "availability",), "en planerad tillgänglighet",
                            "a planned availability"),
    "adms:status": ((ns.ADMS + "status",), "en status", "a status"),
    "org:classification": ((ORG + "classification", "https://www.w3.org/ns/org#classification"),
                           "en finansieringsklassning (avgift)", "a fee-financing classification"),
    "rdf:type": ((ns.RDF_TYPE,), "en vCard-klass (rdf:type)", "a vCard class (rdf:type)"),
    "vcard:fn": ((ns.VCARD + "fn",), "ett namn (vcard:fn)", "a name (vcard:fn)"),
    "vcard:hasEmail": ((ns.VCARD + "hasEmail",), "en e-postadress", "an e-mail address"),
    "vcard:hasTelephone": ((ns.VCARD + "hasTelephone",), "ett telefonnummer", "a telephone"),
    "vcard:hasAddress": ((ns.VCARD + "hasAddress",), "en postadress", "a postal address"),
}
"""Compact property name → (IRIs that count, Swedish label, English label)."""

RECORD_LABELS: dict[Record, tuple[str, str]] = {
    "catalog": ("katalogen", "the catalogue"),
    "dataset": ("datamängden", "the dataset"),
    "distribution": ("distributionen", "the distribution"),
    "data_service": ("datatjänsten", "the data service"),
    "agent": ("aktören (utgivaren)", "the agent (publisher)"),
    "contact": ("kontaktpunkten", "the contact point"),
}

_TEMPLATES: dict[Kind, tuple[str, str]] = {
    "required": ("Ange {label_sv} ({prop}) för {record_sv}; det är obligatoriskt i DCAT-AP-SE.",
                 "Add {label_en} ({prop}) to {record_en}; it is mandatory in DCAT-AP-SE."),
    "recommended": ("Ange {label_sv} ({prop}) för {record_sv}; det rekommenderas i DCAT-AP-SE.",
                    "Add {label_en} ({prop}) to {record_en}; DCAT-AP-SE recommends it."),
    "max_one": ("Ange bara ett värde för {prop} på {record_sv}.",
                "Give {record_en} only one {prop}."),
    "iri": ("Värdet av {prop} ska vara en IRI (en länk), inte en text.",
            "The value of {prop} must be an IRI (a link), not a text."),
    "http_url": ("Värdet av {prop} ska vara en absolut http- eller https-adress.",
                 "The value of {prop} must be an absolute http or https URL."),
    "url_literal": ("Ange {prop} som en IRI (<https://…>), inte som en text; adressen "
                    "kontrollerades ändå.",
                    "Give {prop} as an IRI (<https://…>), not a text literal; the address was "
                    "checked all the same."),
    "vocabulary": ("Använd ett värde ur {vocabulary} för {prop}.",
                   "Use a value from {vocabulary} for {prop}."),
    "blank_node": ("Ge {record_sv} en egen absolut IRI i stället för en blank nod.",
                   "Give {record_en} its own absolute IRI instead of a blank node."),
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One metadata rule (see the module doc for the kinds)."""

    code: str
    record: Record
    kind: Kind
    property: str  # compact name, a key of PROPERTIES; "" for rules on the record itself
    severity: Severity
    vocabulary: vocab.Vocabulary | None = None
    expected: str = ""
    hint_sv: str = ""
    hint_en: str = ""

    @property
    def iris(self) -> tuple[str, ...]:
        """The predicate IRIs of the property."""
        return PROPERTIES[self.property][0] if self.property else ()

    def hint(self, language: str = "sv") -> str:
        """What to do, in Swedish (``sv``) or English (``en``)."""
        explicit = self.hint_sv if language == "sv" else self.hint_en
        if explicit:
            return explicit
        sv, en = _TEMPLATES[self.kind]
        _, label_sv, label_en = PROPERTIES.get(self.property, ((), "", ""))
        record_sv, record_en = RECORD_LABELS[self.record]
        return (sv if language == "sv" else en).format(
            prop=self.property, label_sv=label_sv, label_en=label_en, record_sv=record_sv,
            record_en=record_en, vocabulary=self.vocabulary.name if self.vocabulary else "")


def _slug(prop: str) -> str:
    local = prop.split(":", 1)[-1]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", local).lower()


def _presence(record: Record, kind: Kind, *props: str) -> list[Rule]:
    severity: Severity = "error" if kind == "required" else "warning"
    return [Rule(f"meta.{record}.missing_{_slug(p)}", record, kind, p, severity) for p in props]


def _each(record: Record, kind: Kind, problem: str, severity: Severity, *props: str,
          vocabulary: vocab.Vocabulary | None = None) -> list[Rule]:
    """One rule per property; ``problem`` names the code, ``{p}`` standing for the property."""
    return [Rule(f"meta.{record}.{problem.format(p=_slug(p))}", record, kind, p, severity,
                 vocabulary) for p in props]


def _blank(*records: Record) -> list[Rule]:
    return [Rule(f"meta.{r}.blank_node", r, "blank_node", "", "warning") for r in records]


RULES: tuple[Rule, ...] = (
    # -- Catalog ------------------------------------------------------------------------
    *_presence("catalog", "required", "dct:title", "dct:description", "dct:publisher",
               "dct:license", "dcat:dataset"),
    *_presence("catalog", "recommended", "dct:issued", "dct:modified", "dct:language",
               "foaf:homepage", "dct:spatial", "dcat:themeTaxonomy"),
    Rule("meta.catalog.license_not_cc0", "catalog", "equals", "dct:license", "error",
         expected=vocab.CC0,
         hint_sv="Katalogens licens ska vara CC0: http://creativecommons.org/publicdomain/zero/1.0/",
         hint_en="The catalogue's licence must be CC0: "
                 "http://creativecommons.org/publicdomain/zero/1.0/"),
    *_each("catalog", "iri", "{p}_not_iri", "warning", "dct:publisher", "dct:language"),
    *_each("catalog", "http_url", "{p}_not_http", "warning", "foaf:homepage"),
    *_each("catalog", "url_literal", "{p}_literal", "warning", "foaf:homepage"),
    *_each("catalog", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:language",
           vocabulary=vocab.LANGUAGE),
    *_each("catalog", "vocabulary", "{p}_not_in_vocabulary", "warning", "dcat:themeTaxonomy",
           vocabulary=vocab.THEME_TAXONOMY),
    # -- Dataset (and dataset series) -----------------------------------------------------
    *_presence("dataset", "required", "dct:title", "dct:description", "dct:publisher"),
    *_presence("dataset", "recommended", "dcat:contactPoint", "dcat:keyword", "dcat:theme",
               "dct:issued", "dct:conformsTo", "dct:spatial", "dct:temporal",
               "dct:accessRights"),
    *_each("dataset", "max_one", "multiple_{p}", "error", "dct:publisher"),
    *_each("dataset", "iri", "{p}_not_iri", "warning", "dct:publisher", "dcat:contactPoint",
           "dcat:theme", "dct:accessRights", "dct:accrualPeriodicity", "dct:language",
           "dct:conformsTo", "dct:spatial"),
    *_each("dataset", "http_url", "{p}_not_http", "warning", "dcat:landingPage"),
    *_each("dataset", "url_literal", "{p}_literal", "warning", "dcat:landingPage"),
    *_each("dataset", "vocabulary", "{p}_not_in_vocabulary", "warning", "dcat:theme",
           vocabulary=vocab.DATA_THEME),
    *_each("dataset", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:accessRights",
           vocabulary=vocab.ACCESS_RIGHT),
    *_each("dataset", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:accrualPeriodicity",
           vocabulary=vocab.FREQUENCY),
    *_each("dataset", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:language",
           vocabulary=vocab.LANGUAGE),
    Rule("meta.dataset.accrual_periodicity_deprecated", "dataset", "deprecated",
         "dct:accrualPeriodicity", "info", vocab.DUBLIN_CORE_FREQUENCY,
         hint_sv="Dublin Cores frekvenser (purl.org/cld/freq) är föråldrade; använd EU:s "
                 "frekvenslista (publications.europa.eu/resource/authority/frequency).",
         hint_en="Dublin Core frequencies (purl.org/cld/freq) are deprecated; use the EU "
                 "frequency table (publications.europa.eu/resource/authority/frequency)."),
    # -- Distribution ---------------------------------------------------------------------
    *_presence("distribution", "required", "dcat:accessURL", "dct:format"),
    *_presence("distribution", "recommended", "dct:description", "dcatap:availability",
               "dct:license"),
    *_each("distribution", "max_one", "multiple_{p}", "error", "dcat:accessURL", "dct:format"),
    *_each("distribution", "http_url", "{p}_not_http", "error", "dcat:accessURL",
           "dcat:downloadURL"),
    *_each("distribution", "url_literal", "{p}_literal", "warning", "dcat:accessURL",
           "dcat:downloadURL"),
    *_each("distribution", "iri", "{p}_not_iri", "warning", "dct:license", "dcatap:availability",
           "adms:status", "dct:conformsTo"),
    Rule("meta.distribution.format_not_media_type", "distribution", "media_type", "dct:format",
         "warning",
         hint_sv="Ange formatet som en IANA-mediatyp (t.ex. \"text/csv\") eller en IRI ur EU:s "
                 "filtypslista.",
         hint_en="Give the format as an IANA media type (e.g. \"text/csv\") or an IRI from the "
                 "EU file-type table."),
    *_each("distribution", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:license",
           vocabulary=vocab.LICENCE),
    *_each("distribution", "vocabulary", "{p}_not_in_vocabulary", "warning", "dcatap:availability",
           vocabulary=vocab.AVAILABILITY),
    *_each("distribution", "vocabulary", "{p}_not_in_vocabulary", "warning", "adms:status",
           vocabulary=vocab.DISTRIBUTION_STATUS),
    # -- Data service ---------------------------------------------------------------------
    *_presence("data_service", "required", "dct:title", "dcat:endpointURL", "dct:format"),
    *_presence("data_service", "recommended", "dcat:endpointDescription", "dcat:contactPoint",
               "dcat:keyword", "dct:accessRights"),
    *_each("data_service", "http_url", "{p}_not_http", "error", "dcat:endpointURL"),
    *_each("data_service", "url_literal", "{p}_literal", "warning", "dcat:endpointURL"),
    *_each("data_service", "iri", "{p}_not_iri", "warning", "dct:license", "dct:accessRights",
           "dcat:theme", "dct:type"),
    Rule("meta.data_service.format_not_media_type", "data_service", "media_type", "dct:format",
         "warning",
         hint_sv="Ange formatet som en IANA-mediatyp (t.ex. \"application/json\") eller en IRI "
                 "ur EU:s filtypslista.",
         hint_en="Give the format as an IANA media type (e.g. \"application/json\") or an IRI "
                 "from the EU file-type table."),
    *_each("data_service", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:license",
           vocabulary=vocab.LICENCE),
    *_each("data_service", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:accessRights",
           vocabulary=vocab.ACCESS_RIGHT),
    *_each("data_service", "vocabulary", "{p}_not_in_vocabulary", "warning", "dcat:theme",
           vocabulary=vocab.DATA_THEME),
    *_each("data_service", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:type",
           vocabulary=vocab.SERVICE_TYPE),
    # -- Agent (publisher) ----------------------------------------------------------------
    *_presence("agent", "required", "foaf:name", "dct:type"),
    *_presence("agent", "recommended", "dct:description", "dct:identifier",
               "org:classification"),
    *_each("agent", "vocabulary", "{p}_not_in_vocabulary", "warning", "dct:type",
           vocabulary=vocab.PUBLISHER_TYPE),
    # -- Contact point --------------------------------------------------------------------
    *_presence("contact", "required", "rdf:type", "vcard:fn", "vcard:hasEmail"),
    *_presence("contact", "recommended", "vcard:hasTelephone", "vcard:hasAddress"),
    *_each("contact", "vocabulary", "{p}_not_in_vocabulary", "warning", "rdf:type",
           vocabulary=vocab.CONTACT_CLASS),
    Rule("meta.contact.email_not_mailto", "contact", "mailto", "vcard:hasEmail", "warning",
         hint_sv="Ange e-postadressen som en mailto-IRI: <mailto:namn@example.se>.",
         hint_en="Give the e-mail address as a mailto IRI: <mailto:name@example.se>."),
    # -- Any record -----------------------------------------------------------------------
    *[Rule(f"meta.{r}.license_variant", r, "licence_form", "dct:license", "info",
           hint_sv="Skriv Creative Commons-licensen exakt som i DCAT-AP-SE: http, avslutande "
                   "snedstreck, utan deed.sv eller legalcode.",
           hint_en="Write the Creative Commons licence exactly as DCAT-AP-SE does: http, a "
                   "trailing slash, no deed.sv or legalcode.")
      for r in ("catalog", "distribution", "data_service")],
    *_blank("catalog", "dataset", "distribution", "agent", "contact"),
)

RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
assert len(RULES_BY_CODE) == len(RULES), "rule codes must be unique"


def hint(code: str, language: str = "sv", prop: str = "", record: Record = "dataset") -> str:
    """The hint of a finding code in ``language``: a rule's, or a SHACL component's on
    ``prop`` of ``record`` (:mod:`dcatwatch.validators.shacl_hints`)."""
    if code in RULES_BY_CODE:
        return RULES_BY_CODE[code].hint(language)
    from dcatwatch.validators import shacl_hints

    return shacl_hints.hint(code, prop, record, language)
