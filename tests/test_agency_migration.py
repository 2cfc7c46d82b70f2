"""Migration 0014: a store at the previous revision holding agency ids of the earlier rule
moves them, and every reference, to the ids the current rule gives (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import Text, insert, select, type_coerce

from dcatwatch.dcat.agency import identify
from dcatwatch.dcat.model import Agent
from dcatwatch.store import db
from dcatwatch.store.tables import (
    AGENCIES,
    AGENCY_SNAPSHOTS,
    DATASETS,
    DELIVERIES,
    SCORES,
    SERVICES,
)

PREVIOUS = "0013"
NOW = datetime(2026, 11, 30, tzinfo=UTC)
LONG = "Länsstyrelsen i Västra Götalands län, enheten för geografisk information"


def old_slug(text: str, limit: int = 40) -> str:
    """The slug of the earlier rule (ASCII only, cut at ``limit``, "unnamed" when empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:limit].strip("-") or "unnamed"


def urn(name: str) -> str:
    return f"urn:dcatwatch:agent:{name}"


def new_id(name: str) -> str:
    return identify(Agent(urn(name), blank=True, name={"sv": name})).id


def agency(agency_id: str, iris: list[str], registry: bool = False) -> dict:
    return {"id": agency_id, "name": agency_id, "in_registry": registry,
            "identity_rule": "name", "flagged": True, "publisher_iris": json.dumps(iris)}


def dataset(number: int, agency_id: str | None) -> dict:
    return {"source": "s", "iri": f"https://x.se/d/{number}", "agency_id": agency_id,
            "content_hash": "h", "first_seen_at": NOW, "last_seen_at": NOW, "changed_at": NOW,
            "description": f"<https://x.se/d/{number}> <http://purl.org/dc/terms/title> \"t\" .\n"}


def delivery(agency_id: str, period: str) -> dict:
    return {"agency_id": agency_id, "period": period, "recipient": "a@x.se", "language": "sv",
            "message_id": f"<{agency_id}.{period}@x.se>", "subject": "s", "message": "m",
            "figures": "{}", "created_at": NOW}


def test_old_agency_ids_move_to_current_ones(database_url: str) -> None:
    umea_old, long_old = "name-umea-kommun", "name-" + old_slug(LONG)
    assert len(long_old) == 45  # a 40-character cut slug
    goteborg_old = "name-goteborgs-stad"
    unnamed = [urn("Δήμος"), urn("東京都")]  # merged by the earlier rule: cannot be split here
    sgu = identify(Agent("https://www.sgu.se/")).id
    engine = db.make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, PREVIOUS)
    with engine.begin() as connection:
        connection.execute(insert(AGENCIES), [
            agency(umea_old, [urn("Umeå kommun")]),
            agency(long_old, [urn(LONG)]),
            agency("name-unnamed", unnamed),
            agency(goteborg_old, [urn("Göteborgs stad")]),
            agency(new_id("Göteborgs stad"), [urn("Göteborgs stad"), "https://goteborg.se/"]),
            agency(sgu, ["https://www.sgu.se/"]),
            agency("2021005448", ["http://dataportal.se/organisation/SE2021005448"]),
            agency("name-registret", [urn("Registret")], registry=True),
        ])
        ids = connection.execute(insert(DATASETS).returning(DATASETS.c.id), [
            dataset(1, umea_old), dataset(2, long_old), dataset(3, "name-unnamed"),
            dataset(4, goteborg_old), dataset(5, "name-registret"), dataset(6, None),
        ]).scalars().all()
        connection.execute(insert(SERVICES), [
            {"source": "s", "iri": "https://x.se/s/1", "agency_id": umea_old, "record": "{}",
             "first_seen_at": NOW, "last_seen_at": NOW}])
        # details were text at this revision: written as text, not as today's packed bytes
        connection.execute(insert(SCORES).values(details=type_coerce("{}", Text)), [
            {"dataset_id": ids[0], "agency_id": umea_old, "level": 2, "mqa_points": 100.0,
             "mqa_band": "Bad", "content_hash": "h", "scored_at": NOW}])
        connection.execute(insert(AGENCY_SNAPSHOTS), [
            {"scored_at": NOW, "agency_id": umea_old, "datasets": 1, "api": 0,
             "machine_readable": 1, "document_only": 0, "unknown": 0, "api_share": 0.0,
             "document_only_share": 0.0, "details": json.dumps({"id": umea_old, "name": "Umeå"})}])
        connection.execute(insert(DELIVERIES), [
            delivery(umea_old, "2026-11"), delivery(goteborg_old, "2026-11"),
            delivery(new_id("Göteborgs stad"), "2026-11"), delivery(goteborg_old, "2026-10")])

    assert db.upgrade(engine) == (PREVIOUS, db.HEAD)
    umea, long_new, goteborg = new_id("Umeå kommun"), new_id(LONG), new_id("Göteborgs stad")
    assert umea != umea_old and long_new != long_old and goteborg != goteborg_old
    with engine.connect() as connection:
        agencies = {row.id: (row.in_registry, json.loads(row.publisher_iris))
                    for row in connection.execute(select(AGENCIES))}
        datasets = dict(connection.execute(select(DATASETS.c.iri, DATASETS.c.agency_id)).all())
        service = connection.execute(select(SERVICES.c.agency_id)).scalar_one()
        score = connection.execute(select(SCORES.c.agency_id)).scalar_one()
        snapshot = connection.execute(select(AGENCY_SNAPSHOTS.c.agency_id,
                                             AGENCY_SNAPSHOTS.c.details)).one()
        deliveries = sorted(connection.execute(select(DELIVERIES.c.agency_id,
                                                      DELIVERIES.c.period)).all())
    engine.dispose()
    assert agencies == {
        umea: (False, [urn("Umeå kommun")]),
        long_new: (False, [urn(LONG)]),
        "name-unnamed": (False, unnamed),
        goteborg: (False, sorted(["https://goteborg.se/", urn("Göteborgs stad")])),
        sgu: (False, ["https://www.sgu.se/"]),
        "2021005448": (False, ["http://dataportal.se/organisation/SE2021005448"]),
        "name-registret": (True, [urn("Registret")]),  # the registry's ids are configured
    }
    assert datasets == {"https://x.se/d/1": umea, "https://x.se/d/2": long_new,
                        "https://x.se/d/3": "name-unnamed", "https://x.se/d/4": goteborg,
                        "https://x.se/d/5": "name-registret", "https://x.se/d/6": None}
    assert service == score == umea
    assert snapshot.agency_id == umea and json.loads(snapshot.details)["id"] == umea
    assert deliveries == sorted([(umea, "2026-11"), (goteborg_old, "2026-11"),
                                 (goteborg, "2026-11"), (goteborg, "2026-10")])
