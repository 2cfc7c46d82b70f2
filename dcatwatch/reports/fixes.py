"""Fixes an agency can make to its metadata, and what each one earns, found by trying it.

Each fix is one concrete change, the one its text asks for ("add dct:license to the
distributions"). To know what it earns for a dataset, the change is made on a copy of the
dataset and the copy is classified and scored with the same rules as the original
(:mod:`dcatwatch.dcat.classify`, :mod:`dcatwatch.scoring.mqa`); the gain is the difference, so
it is exact for that change with everything else left as it is. A dataset is concerned by a
fix only when the change gains something.

Changes are coarse on purpose (e.g. "every licence from the EU list"): where they alter
nothing that scores, the gain is zero and the dataset is not named. Values the scoring only
checks for presence are filled with a marker. New links count as unchecked (no points) until
a link check has seen them, so gains that depend on a link answering are not claimed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from copy import copy as shallow
from copy import deepcopy
from dataclasses import dataclass, replace

from dcatwatch.dcat.classify import DatasetLevel, DistributionClass, LinkInfo, classify_dataset
from dcatwatch.dcat.formats import EU_CODES, MEDIA_CODES, normalise
from dcatwatch.dcat.model import ContactPoint, DataService, Dataset, Distribution
from dcatwatch.scoring.mqa import MqaScore, score_dataset

EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
LIST_LICENCE = "http://creativecommons.org/licenses/by/4.0/"
PUBLIC_ACCESS = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
FILLED = "urn:dcatwatch:filled"  # stands in for a value the scoring only checks is present
MEDIA_TYPES = {code: media for media, code in reversed(MEDIA_CODES.items())}  # code → first type


@dataclass(frozen=True, slots=True)
class Trial:
    """A dataset with its classification and MQA score, ready to try changes on."""

    dataset: Dataset
    level: DatasetLevel
    mqa: MqaScore


Change = Callable[[Trial], Dataset | None]
"""Makes a fix on a copy of the dataset; None when the fix has nothing to change there."""


@dataclass(frozen=True, slots=True)
class FixRule:
    """One fix: its id (the key of its texts) and the change it makes."""

    id: str
    change: Change
    minimum: bool = False  # the level gain is a lower bound and the MQA gain is not claimed


@dataclass(frozen=True, slots=True)
class Gain:
    """What one fix earns one dataset: channel level points and MQA points."""

    level: int
    mqa: float | None

    @property
    def any(self) -> bool:
        """True when the fix earns something."""
        return self.level > 0 or bool(self.mqa and self.mqa > 0)


class Trier:
    """Classifies and scores datasets, and the same datasets after a fix, alike."""

    def __init__(self, services: Mapping[str, DataService],
                 serving: Mapping[str, list[DataService]],
                 links: Mapping[str, LinkInfo] | None = None) -> None:
        self.services = services
        self.serving = serving
        self.links: Mapping[str, LinkInfo] = links or {}

    def trial(self, dataset: Dataset) -> Trial:
        """The dataset as the scoring sees it."""
        level = classify_dataset(dataset, self.services, self.serving.get(dataset.iri, ()),
                                 self.links)
        return Trial(dataset, level, score_dataset(dataset, self.links))

    def gain(self, rule: FixRule, trial: Trial) -> Gain | None:
        """What ``rule`` earns on this dataset (None when it changes nothing)."""
        changed = rule.change(trial)
        if changed is None:
            return None
        after = self.trial(changed)
        mqa = None if rule.minimum else round(after.mqa.points - trial.mqa.points, 6)
        return Gain(after.level.level - trial.level.level, mqa)


def _editable(dataset: Dataset) -> Dataset:
    """A copy of ``dataset`` a fix may edit: a new dataset and new distributions, sharing
    the values a fix replaces but never changes in place (much cheaper than deepcopy, which
    the report and the web view pay for every fix on every dataset)."""
    copy = shallow(dataset)
    copy.distributions = [shallow(dist) for dist in dataset.distributions]
    return copy


def _on_dataset(needs: Callable[[Dataset], bool], edit: Callable[[Dataset], None]) -> Change:
    def change(trial: Trial) -> Dataset | None:
        if not needs(trial.dataset):
            return None
        copy = _editable(trial.dataset)
        edit(copy)
        return copy
    return change


DistributionTest = Callable[[Distribution, DistributionClass], bool]


def _on_distributions(needs: DistributionTest, edit: Callable[[Distribution], None]) -> Change:
    def change(trial: Trial) -> Dataset | None:
        pairs = zip(trial.dataset.distributions, trial.level.distributions, strict=True)
        chosen = [i for i, (dist, cls) in enumerate(pairs) if needs(dist, cls)]
        if not chosen:
            return None
        copy = _editable(trial.dataset)
        for index in chosen:
            edit(copy.distributions[index])
        return copy
    return change


def _setter(attribute: str, value: object) -> Callable[[object], None]:
    def edit(record: object) -> None:
        setattr(record, attribute, deepcopy(value))
    return edit


def _add_csv_copy(trial: Trial) -> Dataset | None:
    """Documents only: add a CSV distribution described like the first one."""
    if trial.level.level != 1:
        return None
    copy = _editable(trial.dataset)
    first = copy.distributions[0]
    url = f"{first.iri}#csv"  # its own file: the first one's URL may name a .pdf
    copy.distributions.append(replace(
        deepcopy(first), iri=url, types=[], formats=[EU_FILE_TYPE + "CSV"],
        media_types=["text/csv"], compress_formats=[], package_formats=[], access_services=[],
        conforms_to=[], access_urls=[url] if first.access_urls else [],
        download_urls=[url] if first.download_urls else []))
    return copy


def _add_csv_distribution(trial: Trial) -> Dataset | None:
    """No distribution at all: add one with a CSV file."""
    if trial.dataset.distributions:
        return None
    copy = _editable(trial.dataset)
    url = f"{copy.iri}#csv"  # a new, unchecked link
    copy.distributions.append(Distribution(iri=url, access_urls=[url], download_urls=[url],
                                           formats=[EU_FILE_TYPE + "CSV"],
                                           media_types=["text/csv"]))
    return copy


def _state_format(trial: Trial) -> Dataset | None:
    """Nothing usable: state a known format (a document format is the least it can be)."""
    if trial.level.level != 0 or not trial.dataset.distributions:
        return None
    copy = _editable(trial.dataset)
    for dist, cls in zip(copy.distributions, trial.level.distributions, strict=True):
        if cls.cls == "unknown":
            dist.formats, dist.media_types = [EU_FILE_TYPE + "PDF"], []
            dist.compress_formats, dist.package_formats = [], []
    return copy


def _has_file(dist: Distribution, cls: DistributionClass) -> bool:
    return cls.cls in ("machine_readable", "document") and not cls.landing_page


def _add_download_url(dist: Distribution) -> None:
    dist.download_urls = [f"{dist.iri}#file"]  # a new, unchecked link


def _media_types_of(formats: Iterable[str]) -> list[str]:
    found = [value.media_type or MEDIA_TYPES.get(value.code or "")
             for raw in formats for value in normalise(raw)]
    return list(dict.fromkeys(media for media in found if media))


def _format_from_media_type(dist: Distribution) -> None:
    dist.formats = list(dist.media_types)


def _add_media_type(dist: Distribution) -> None:
    dist.media_types = _media_types_of(dist.formats)


def _eu_formats(dist: Distribution) -> None:
    dist.formats = list(dict.fromkeys(
        EU_FILE_TYPE + value.code if value.code in EU_CODES else raw
        for raw in dist.formats for value in normalise(raw)))


RULES: tuple[FixRule, ...] = (
    FixRule("add_csv", _add_csv_copy),
    FixRule("add_distribution", _add_csv_distribution),
    FixRule("state_format", _state_format, minimum=True),
    FixRule("license", _on_distributions(lambda d, _c: not d.licenses,
                                         _setter("licenses", [LIST_LICENCE]))),
    FixRule("license_vocabulary", _on_distributions(lambda d, _c: bool(d.licenses),
                                                    _setter("licenses", [LIST_LICENCE]))),
    FixRule("access_rights", _on_dataset(lambda d: not d.access_rights,
                                         _setter("access_rights", [PUBLIC_ACCESS]))),
    FixRule("access_rights_vocabulary", _on_dataset(lambda d: bool(d.access_rights),
                                                    _setter("access_rights", [PUBLIC_ACCESS]))),
    FixRule("contact_point", _on_dataset(lambda d: not d.contact_points,
                                         _setter("contact_points", [ContactPoint(FILLED)]))),
    FixRule("keyword", _on_dataset(lambda d: not d.keywords, _setter("keywords", [FILLED]))),
    FixRule("theme", _on_dataset(lambda d: not d.themes, _setter("themes", [FILLED]))),
    FixRule("spatial", _on_dataset(lambda d: not d.spatial, _setter("spatial", [FILLED]))),
    FixRule("temporal", _on_dataset(lambda d: not d.temporal, _setter("temporal", [FILLED]))),
    FixRule("issued", _on_dataset(lambda d: not d.issued, _setter("issued", FILLED))),
    FixRule("modified", _on_dataset(lambda d: not d.modified, _setter("modified", FILLED))),
    FixRule("download_url", _on_distributions(
        lambda d, c: not d.download_urls and _has_file(d, c), _add_download_url)),
    FixRule("format", _on_distributions(lambda d, _c: not d.formats and bool(d.media_types),
                                        _format_from_media_type)),
    FixRule("media_type", _on_distributions(
        lambda d, _c: not d.media_types and bool(_media_types_of(d.formats)), _add_media_type)),
    FixRule("format_vocabulary", _on_distributions(lambda d, _c: bool(d.formats), _eu_formats)),
    FixRule("rights", _on_distributions(lambda d, _c: not d.rights, _setter("rights", [FILLED]))),
    FixRule("byte_size", _on_distributions(lambda d, _c: not d.byte_size,
                                           _setter("byte_size", "1"))),
)
"""Every fix, in the order used when two fixes earn the same."""
