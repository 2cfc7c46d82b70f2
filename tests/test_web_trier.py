"""The web view's shared trier tries each dataset once per description, with the same
results as the report's trier."""

from __future__ import annotations

from copy import deepcopy

from dcatwatch.dcat.model import ContactPoint, Dataset, Distribution
from dcatwatch.reports.fixes import RULES, Trier
from dcatwatch.web.trier import SharedTrier

CSV = "http://publications.europa.eu/resource/authority/file-type/CSV"
PDF = "http://publications.europa.eu/resource/authority/file-type/PDF"


def _datasets() -> list[Dataset]:
    return [
        Dataset("https://x.example/a", distributions=[Distribution(
            "https://x.example/a/pdf", access_urls=["https://x.example/a.pdf"], formats=[PDF])]),
        Dataset("https://x.example/b", keywords=["k"], contact_points=[ContactPoint("m")],
                distributions=[Distribution("https://x.example/b/csv", formats=[CSV],
                                            access_urls=["https://x.example/b.csv"])]),
        Dataset("https://x.example/c"),
    ]


def test_the_shared_trier_agrees_with_the_reports() -> None:
    shared, plain = SharedTrier({}, {}), Trier({}, {})
    for dataset in _datasets():
        mine, theirs = shared.trial(dataset), plain.trial(dataset)
        assert (mine.level, mine.mqa) == (theirs.level, theirs.mqa)
        gains = [shared.gain(rule, mine) for rule in RULES]
        assert gains == [plain.gain(rule, theirs) for rule in RULES]
        assert any(gain is not None and gain.any for gain in gains)
        assert [shared.gain(rule, mine) for rule in RULES] == gains  # remembered


def test_a_dataset_loaded_again_is_tried_once() -> None:
    shared = SharedTrier({}, {})
    first = _datasets()[0]
    trial = shared.trial(first)
    assert shared.trial(deepcopy(first)) is trial  # another copy, the same description
    changed = deepcopy(first)
    changed.keywords = ["new"]
    assert shared.trial(changed) is not trial
