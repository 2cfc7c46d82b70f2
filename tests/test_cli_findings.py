"""validate's human output: repeated metadata findings grouped, errors first, with examples
that say where; a failing file shown once however many distributions link it."""

from __future__ import annotations

from dcatwatch.cli_output import validation_summary

SUMMARY = {"distributions": 0, "checked": 0, "reachable": 0, "unreachable": 0, "tabular": 0,
           "valid": 0, "invalid": 0, "sampled": 0, "data_services": 0,
           "data_services_reachable": 0, "metadata": {"warning": 5}}


def finding(i: int) -> dict:
    return {"code": "meta.distribution.access_url_literal", "severity": "warning",
            "record": "distribution", "subject": f"https://x.se/d{i}/1",
            "property": "dcat:accessURL", "value": "http://x.se/agris.odt",
            "dataset": f"https://x.se/d{i}", "title": f"Agris {i}",
            "hint": {"sv": "…", "en": "Give dcat:accessURL as an IRI."}}


def test_repeated_findings_are_counted_once_with_examples_naming_the_dataset() -> None:
    text = validation_summary(SUMMARY, [], iter([finding(i) for i in range(5)]))
    assert text.count("meta.distribution.access_url_literal (5×)") == 1
    assert ("e.g. dataset <https://x.se/d0> ('Agris 0'), distribution <https://x.se/d0/1>: "
            "'http://x.se/agris.odt'") in text
    assert "https://x.se/d2" in text and "https://x.se/d3" not in text
    assert "… and 2 more (see --json)" in text


def test_mandatory_errors_come_before_more_frequent_warnings() -> None:
    error = finding(0) | {"code": "meta.dataset.missing_description", "severity": "error",
                          "hint": {"en": "Add a description."}}
    info = finding(0) | {"code": "meta.x.info", "severity": "info", "hint": {"en": "Info."}}
    text = validation_summary(SUMMARY, [], iter([info, *[finding(i) for i in range(5)], error]))
    lines = [line for line in text.splitlines() if line.startswith("  ") and "(" in line
             and not line.startswith("    ")]
    assert [line.split()[0] for line in lines] == ["error", "warning", "info"]


def distribution(uri: str, url: str) -> dict:
    return {"uri": uri, "url": url, "tabular": True, "valid": False, "reachable": True,
            "http_status": 200, "verdict": "ok",
            "errors": [{"type": "extra-cell", "row": 3, "field": None}]}


def test_a_failing_file_linked_twice_is_printed_once() -> None:
    rows = [distribution("https://x.se/a/1", "https://x.se/f.csv"),
            distribution("https://x.se/b/1", "https://x.se/f.csv"),
            distribution("https://x.se/c/1", "https://x.se/g.csv")]
    text = validation_summary(SUMMARY, iter(rows), [], shown=1)
    assert text.count("https://x.se/f.csv") == 1
    assert "https://x.se/f.csv [200 ok] (2 distributions) extra-cell (row 3)" in text
    assert "… and 1 more (see --json)" in text  # g.csv: files, not distributions, counted
