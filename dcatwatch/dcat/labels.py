"""Plain words for what dcatwatch shows people: Swedish and English labels of rule ids, MQA
indicators, properties and the vocabulary values dcatwatch knows.

Reports, the web view and ``explain`` say "maskinläsbart format (EU:s lista): format CSV",
not ``M1 format = http://publications.europa.eu/resource/authority/file-type/CSV``. Every
rule id the classifier can emit (:data:`dcatwatch.dcat.classify.RULES`) and every MQA
indicator has a label in both languages (a test keeps them in step). Vocabulary labels:
EU file types (:mod:`dcatwatch.dcat.filetypes`, names of formats, the same in both
languages but for a few), EU data themes and licences (generated:
:mod:`dcatwatch.dcat.vocab_labels`), Creative Commons licences (by their EU codes), EU access
rights, frequencies and languages (the codes catalogues use, listed here). A value with no
label is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from dcatwatch.dcat.filetypes import FILE_TYPES
from dcatwatch.dcat.formats import normalise
from dcatwatch.dcat.vocab_labels import DATA_THEMES, LICENCES
from dcatwatch.dcat.vocabularies import EU_AUTHORITY, canonical_licence

Lang = Literal["sv", "en"]
LANGUAGES: tuple[Lang, ...] = ("sv", "en")
Pair = tuple[str, str]  # (Swedish, English)

RULES: dict[str, Pair] = {
    "A1": ("distributionen når data genom en datatjänst (dcat:accessService)",
           "the distribution reaches the data through a data service (dcat:accessService)"),
    "A2": ("en datatjänst levererar datamängden (dcat:servesDataset)",
           "a data service serves the dataset (dcat:servesDataset)"),
    "A3": ("formatet är ett API- eller tjänsteformat (t.ex. WMS, WFS, SPARQL)",
           "the format is an API or service format (e.g. WMS, WFS, SPARQL)"),
    "A4": ("distributionen följer en API-specifikation", "the distribution follows an API "
           "specification"),
    "A5": ("åtkomstadressen ser ut som en tjänst man kan fråga (t.ex. OGC, SPARQL, OData)",
           "the access address looks like a service one can query (e.g. OGC, SPARQL, OData)"),
    "A6": ("ordet ”API” i titeln", "the word “API” in the title"),
    "A7": ("beskrivningen säger att data nås via ett API eller en webbtjänst",
           "the description says the data is reached through an API or web service"),
    "A8": ("åtkomstadressen pekar på ett API och inte på en fil",
           "the access address points at an API, not at a file"),
    "M1": ("maskinläsbart format (EU:s lista)", "machine-readable format (the EU's list)"),
    "M2": ("maskinläsbart format", "machine-readable format"),
    "M3": ("maskinläsbart format i ett arkiv", "machine-readable format inside an archive"),
    "D1": ("dokumentformat", "document format"),
    "D2": ("inget format, länken är datamängdens webbsida",
           "no format; the link is the dataset's web page"),
    "D3": ("inget format, länken svarar med en webbsida",
           "no format; the link answers with a web page"),
    "U1": ("arkiv med okänt innehåll", "archive whose content is not stated"),
    "U2": ("okänd binärfil", "unknown binary file"),
    "U3": ("formatet känns inte igen", "the format is not recognised"),
    "U4": ("format saknas", "no format"),
    "U5": ("ingen distribution", "no distribution"),
}

INDICATORS: dict[str, Pair] = {
    "keyword": ("nyckelord", "keywords"),
    "theme": ("tema", "theme"),
    "spatial": ("geografiskt område", "spatial coverage"),
    "temporal": ("tidsperiod", "time period"),
    "access_url_status": ("åtkomstadressen svarar", "the access address answers"),
    "download_url": ("nedladdningsadress finns", "a download address is given"),
    "download_url_status": ("nedladdningsadressen svarar", "the download address answers"),
    "format": ("format anges", "a format is given"),
    "media_type": ("medietyp anges", "a media type is given"),
    "format_media_type_vocabulary": ("format och medietyp ur en vokabulär",
                                     "format and media type from a vocabulary"),
    "non_proprietary": ("öppet format", "non-proprietary format"),
    "machine_readable": ("maskinläsbart format", "machine-readable format"),
    "license": ("licens anges", "a licence is given"),
    "license_vocabulary": ("licens ur en vokabulär", "licence from a vocabulary"),
    "access_rights": ("åtkomsträttigheter anges", "access rights are given"),
    "access_rights_vocabulary": ("åtkomsträttigheter ur en vokabulär",
                                 "access rights from a vocabulary"),
    "contact_point": ("kontaktuppgift", "contact point"),
    "publisher": ("utgivare", "publisher"),
    "rights": ("rättighetsinformation", "rights statement"),
    "byte_size": ("filstorlek", "file size"),
    "issued": ("publiceringsdatum", "date of publication"),
    "modified": ("senast ändrad", "date of last change"),
    "dcat_ap_compliance": ("följer DCAT-AP", "DCAT-AP compliance"),
}

PROPERTIES: dict[str, Pair] = {
    "DCAT-AP 3.0.1 (SHACL)": ("beskrivningen enligt DCAT-AP 3.0.1 (SHACL-former)",
                              "the description against DCAT-AP 3.0.1 (SHACL shapes)"),
    "dct:title": ("titel", "title"),
    "title": ("distributionens titel", "the distribution's title"),
    "dataset title": ("datamängdens titel", "the dataset's title"),
    "dct:description": ("beskrivning", "description"),
    "description": ("distributionens beskrivning", "the distribution's description"),
    "dcat:keyword": ("nyckelord", "keywords"),
    "dcat:theme": ("tema", "theme"),
    "dct:spatial": ("geografiskt område", "spatial coverage"),
    "dct:temporal": ("tidsperiod", "time period"),
    "dcat:accessURL": ("åtkomstadress", "access address"),
    "accessURL": ("åtkomstadress", "access address"),
    "dcat:downloadURL": ("nedladdningsadress", "download address"),
    "downloadURL": ("nedladdningsadress", "download address"),
    "dct:format": ("format", "format"),
    "format": ("format", "format"),
    "dcat:mediaType": ("medietyp", "media type"),
    "mediaType": ("medietyp", "media type"),
    "compressFormat": ("komprimeringsformat", "compression format"),
    "packageFormat": ("paketformat", "package format"),
    "dct:format + dcat:mediaType": ("format och medietyp", "format and media type"),
    "dct:format / dcat:mediaType": ("format eller medietyp", "format or media type"),
    "dct:license": ("licens", "licence"),
    "dct:accessRights": ("åtkomsträttigheter", "access rights"),
    "dcat:contactPoint": ("kontaktuppgift", "contact point"),
    "dct:publisher": ("utgivare", "publisher"),
    "dct:rights": ("rättigheter", "rights"),
    "dcat:byteSize": ("filstorlek", "file size"),
    "dct:issued": ("publiceringsdatum", "date of publication"),
    "dct:modified": ("senast ändrad", "date of last change"),
    "dct:language": ("språk", "language"),
    "dct:accrualPeriodicity": ("uppdateringsfrekvens", "update frequency"),
    "dcat:landingPage": ("webbsida", "web page"),
    "dct:conformsTo": ("följer standard", "conforms to"),
    "conformsTo": ("följer standard", "conforms to"),
    "accessService": ("datatjänst", "data service"),
    "accessService/conformsTo": ("datatjänsten följer", "the data service conforms to"),
    "accessService/endpointDescription": ("datatjänstens beskrivning",
                                          "the data service's description"),
    "servesDataset": ("datatjänst", "data service"),
    "rdf:type": ("typ", "type"),
    "Content-Type": ("svarets innehållstyp", "type of the answer"),
    "distribution": ("distribution", "distribution"),
}

ACCESS_RIGHTS: dict[str, Pair] = {
    "PUBLIC": ("offentlig", "public"),
    "RESTRICTED": ("begränsad", "restricted"),
    "NON_PUBLIC": ("icke-offentlig", "non-public"),
}

FREQUENCIES: dict[str, Pair] = {
    "CONT": ("kontinuerligt", "continuous"),
    "UPDATE_CONT": ("uppdateras kontinuerligt", "continuously updated"),
    "HOURLY": ("varje timme", "hourly"),
    "DAILY": ("dagligen", "daily"),
    "DAILY_2": ("två gånger om dagen", "twice a day"),
    "WEEKLY": ("varje vecka", "weekly"),
    "WEEKLY_2": ("två gånger i veckan", "twice a week"),
    "WEEKLY_3": ("tre gånger i veckan", "three times a week"),
    "BIWEEKLY": ("varannan vecka", "every two weeks"),
    "MONTHLY": ("varje månad", "monthly"),
    "MONTHLY_2": ("två gånger i månaden", "twice a month"),
    "MONTHLY_3": ("tre gånger i månaden", "three times a month"),
    "BIMONTHLY": ("varannan månad", "every two months"),
    "QUARTERLY": ("varje kvartal", "quarterly"),
    "ANNUAL_3": ("tre gånger om året", "three times a year"),
    "ANNUAL_2": ("två gånger om året", "twice a year"),
    "ANNUAL": ("varje år", "annual"),
    "BIENNIAL": ("vartannat år", "every two years"),
    "TRIENNIAL": ("vart tredje år", "every three years"),
    "QUADRENNIAL": ("vart fjärde år", "every four years"),
    "QUINQUENNIAL": ("vart femte år", "every five years"),
    "DECENNIAL": ("vart tionde år", "every ten years"),
    "IRREG": ("oregelbundet", "irregular"),
    "NEVER": ("aldrig", "never"),
    "OTHER": ("annan", "other"),
    "UNKNOWN": ("okänd", "unknown"),
}

LANGUAGE_NAMES: dict[str, Pair] = {
    "SWE": ("svenska", "Swedish"), "ENG": ("engelska", "English"), "FIN": ("finska", "Finnish"),
    "FIT": ("meänkieli", "Meänkieli"), "SME": ("nordsamiska", "Northern Sami"),
    "SMA": ("sydsamiska", "Southern Sami"), "SMJ": ("lulesamiska", "Lule Sami"),
    "RMY": ("romani", "Romani"), "ROM": ("romani", "Romani"), "YID": ("jiddisch", "Yiddish"),
    "NOR": ("norska", "Norwegian"), "NOB": ("norska (bokmål)", "Norwegian (Bokmål)"),
    "NNO": ("norska (nynorska)", "Norwegian (Nynorsk)"), "DAN": ("danska", "Danish"),
    "ISL": ("isländska", "Icelandic"), "DEU": ("tyska", "German"), "FRA": ("franska", "French"),
    "SPA": ("spanska", "Spanish"), "ITA": ("italienska", "Italian"), "NLD": ("nederländska",
    "Dutch"), "POL": ("polska", "Polish"), "POR": ("portugisiska", "Portuguese"),
    "EST": ("estniska", "Estonian"), "LAV": ("lettiska", "Latvian"),
    "LIT": ("litauiska", "Lithuanian"), "CES": ("tjeckiska", "Czech"),
    "SLK": ("slovakiska", "Slovak"), "SLV": ("slovenska", "Slovenian"),
    "HUN": ("ungerska", "Hungarian"), "ELL": ("grekiska", "Greek"),
    "RON": ("rumänska", "Romanian"), "BUL": ("bulgariska", "Bulgarian"),
    "HRV": ("kroatiska", "Croatian"), "GLE": ("iriska", "Irish"), "MLT": ("maltesiska",
    "Maltese"), "ARA": ("arabiska", "Arabic"), "RUS": ("ryska", "Russian"),
    "UKR": ("ukrainska", "Ukrainian"), "MUL": ("flera språk", "several languages"),
}  # fmt: skip

# File types whose EU label is English words rather than a format's name.
FILE_TYPE_WORDS: dict[str, Pair] = {
    "TXT": ("ren text", "plain text"),
    "OCTET": ("binärfil", "binary file"),
    "BIN": ("binärfil", "binary file"),
    "MAP_PRVW": ("kartförhandsvisning (ArcGIS)", "map preview (ArcGIS)"),
    "API": ("API", "API"),
    "IMAGE": ("bild", "image"),
}

_CC = {"licenses/by/4.0": "CC_BY", "licenses/by-sa/4.0": "CC_BYSA",
       "licenses/by-nd/4.0": "CC_BYND", "licenses/by-nc/4.0": "CC_BYNC",
       "licenses/by-nc-sa/4.0": "CC_BYNCSA", "licenses/by-nc-nd/4.0": "CC_BYNCND",
       "publicdomain/zero/1.0": "CC0"}
_TABLES: tuple[tuple[str, Mapping[str, Pair]], ...] = (
    ("data-theme/", DATA_THEMES), ("licence/", LICENCES), ("access-right/", ACCESS_RIGHTS),
    ("frequency/", FREQUENCIES), ("language/", LANGUAGE_NAMES),
)
_EU = EU_AUTHORITY.split("://", 1)[1]
_FORMAT_PROPERTIES = frozenset({"format", "mediaType", "compressFormat", "packageFormat",
                                "dct:format", "dcat:mediaType"})
_QUOTING_RULES = frozenset({"A6", "A7"})  # their detail quotes the words that matched
_SERVICE_RULES = frozenset({"A1", "A2"})  # their detail is the data service's title


def _pick(pair: Pair, lang: Lang) -> str:
    return pair[0] if lang == "sv" else pair[1]


def rule(rule_id: str, lang: Lang) -> str:
    """The plain-words label of a classification rule id (the id itself if unknown)."""
    pair = RULES.get(rule_id)
    return _pick(pair, lang) if pair else rule_id


def indicator(indicator_id: str, lang: Lang) -> str:
    """The plain-words label of an MQA indicator id (the id itself if unknown)."""
    pair = INDICATORS.get(indicator_id)
    return _pick(pair, lang) if pair else indicator_id


def prop(name: str, lang: Lang) -> str:
    """A property (``dct:spatial``, ``accessURL``) in words (the name itself if unknown)."""
    pair = PROPERTIES.get(name)
    return _pick(pair, lang) if pair else name


def vocabulary(value: str, lang: Lang) -> str | None:
    """The label of a vocabulary IRI dcatwatch knows (EU file type, data theme, licence,
    access right, frequency, language; Creative Commons licence); the bare code of another
    EU authority IRI; None for anything else."""
    bare = value.strip().split("://", 1)[-1]
    if bare.startswith(_EU):
        kind, _, code = bare[len(_EU):].partition("/")
        code = code.strip("/")
        if kind == "file-type":
            return file_type(code.upper(), lang) or code
        table = dict(_TABLES).get(kind + "/", {})
        pair = table.get(code) or table.get(code.upper())
        return _pick(pair, lang) if pair else code or kind  # never the bare EU address
    canonical = canonical_licence(value) or value.strip()
    if "creativecommons.org/" in canonical:
        key = canonical.split("creativecommons.org/", 1)[1].strip("/")
        pair = LICENCES.get(_CC.get(key, ""))
        return _pick(pair, lang) if pair else None
    return None


def file_type(code: str, lang: Lang) -> str | None:
    """The name of a format code (``CSV``, ``RDF_XML`` → "RDF XML"), None if unknown."""
    if code in FILE_TYPE_WORDS:
        return _pick(FILE_TYPE_WORDS[code], lang)
    entry = FILE_TYPES.get(code)
    return entry[0][0] if entry and entry[0] else None


def value(text: str, lang: Lang, property_name: str = "") -> str:
    """``text`` as people should read it: a known vocabulary value by its label, a media type
    or format IRI (of a format property) by its format's name, anything else (free text the
    publisher wrote, too) as it is."""
    if not text:
        return text
    found = vocabulary(text, lang)
    if found is None and property_name in _FORMAT_PROPERTIES:
        codes = [v.code for v in normalise(text) if v.code and v.form != "label"]
        names = [file_type(code, lang) or code for code in codes]
        found = ", ".join(dict.fromkeys(names)) or None
    return found or text


def evidence(item: Mapping[str, Any], lang: Lang) -> str:
    """One evidence item in words: what the rule means, then where it looked and what it
    found (the quoted words for A6/A7, the labelled value otherwise)."""
    said = rule(item["rule"], lang)
    where = prop(item["property"], lang)
    if item["rule"] in _QUOTING_RULES and item.get("detail"):
        return f"{said}: {where} {_in_quotes(_quoted_part(item['detail']), lang)}"
    shown = value(item.get("value") or "", lang, item["property"])
    if item["rule"] in _SERVICE_RULES and item.get("detail"):
        title = _in_quotes(f"“{item['detail']}”", lang)
        shown = f"{title} ({shown})" if shown else title
    return f"{said}: {where} {shown}" if shown else said


def _in_quotes(quoted: str, lang: Lang) -> str:
    """``“…”`` as the language writes it: Swedish ``”…”``."""
    return quoted.replace("“", "”") if lang == "sv" else quoted


def _quoted_part(detail: str) -> str:
    """``“…via API i JSON-format”`` out of ``'API' in “…via API i JSON-format”``."""
    start = detail.find("“")
    return detail[start:] if start >= 0 else detail


def labelled(item: Mapping[str, Any]) -> dict[str, Any]:
    """Labels of one evidence item (or MQA indicator result) in both languages, for JSON:
    ``{"rule"|"indicator": {sv, en}, "property": {sv, en}, "value": {sv, en} | None,
    "text": {sv, en}}`` (``value`` None when the value is shown as it is)."""
    out: dict[str, Any] = {}
    if "rule" in item:
        out["rule"] = {lang: rule(item["rule"], lang) for lang in LANGUAGES}
    if "id" in item:
        out["indicator"] = {lang: indicator(item["id"], lang) for lang in LANGUAGES}
    out["property"] = {lang: prop(item["property"], lang) for lang in LANGUAGES}
    raw = item.get("value") or ""
    values = {lang: value(raw, lang, item["property"]) for lang in LANGUAGES}
    out["value"] = None if all(v == raw for v in values.values()) else values
    if "rule" in item:
        out["text"] = {lang: evidence(item, lang) for lang in LANGUAGES}
    return out
