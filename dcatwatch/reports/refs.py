"""How a report names a dataset: its title, linked to its landing page (else its IRI).

The store has no dataportal.se entry ids (``/datasets/{context}_{entry}``), so the link is
the dataset's own ``dcat:landingPage``, else the dataset IRI when it is a web address.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcatwatch.config import Language
from dcatwatch.dcat.model import Dataset, best_text

TITLE_LANGUAGES: dict[Language, tuple[str, ...]] = {"sv": ("sv", "", "en"), "en": ("en", "", "sv")}
_WEB = ("https://", "http://")


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset as a report names it."""

    iri: str
    title: str
    url: str | None


def dataset_ref(dataset: Dataset, stored_title: str | None, language: Language) -> DatasetRef:
    """Title in the report's language first; the landing page, else a web IRI, as link."""
    title = best_text(dataset.title, TITLE_LANGUAGES[language]) or stored_title or dataset.iri
    pages = [url for url in dataset.landing_pages if url.startswith(_WEB)]
    if not pages and not dataset.blank and dataset.iri.startswith(_WEB):
        pages = [dataset.iri]
    return DatasetRef(dataset.iri, title, pages[0] if pages else None)
