"""IRIs of the vocabularies DCAT-AP(-SE) uses, as plain strings (fast to compare)."""

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
OWL = "http://www.w3.org/2002/07/owl#"
ADMS = "http://www.w3.org/ns/adms#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
HYDRA = "http://www.w3.org/ns/hydra/core#"
DCATAP = "http://data.europa.eu/r5r/"
ESTERMS = "http://entryscape.com/terms/"

RDF_TYPE = RDF + "type"

PREFIXES = {"dct": DCT, "dcat": DCAT, "foaf": FOAF, "vcard": VCARD, "adms": ADMS, "skos": SKOS,
            "rdfs": RDFS, "owl": OWL, "dcatap": DCATAP, "rdf": RDF}
"""Prefixes for naming properties in messages."""

CATALOG = DCAT + "Catalog"
DATASET = DCAT + "Dataset"
DATASET_SERIES = DCAT + "DatasetSeries"
DISTRIBUTION = DCAT + "Distribution"
DATA_SERVICE = DCAT + "DataService"

CONTACT_TYPES = frozenset(
    {VCARD + t for t in ("Kind", "Organization", "Individual", "Group", "Location", "VCard")}
)
