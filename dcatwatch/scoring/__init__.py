"""Scoring: per-dataset MQA-predicted points (:mod:`.mqa`), per-agency and national aggregates
(:mod:`.aggregate`). Channel levels come from :mod:`dcatwatch.dcat.classify`."""
