"""validate's human output: repeated metadata findings grouped, with examples that say where."""

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
