"""The store: migrations equal the models, fresh databases are created, old ones refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

from dcatwatch.errors import ConfigError, StoreFault
from dcatwatch.store import (
    db,
    tables,  # noqa: F401 - registers the tables
)


def test_head_constant_matches_the_migrations() -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == db.HEAD


@pytest.mark.parametrize("build", ["migrations", "create"])
def test_schema_equals_the_models(database_url: str, build: str) -> None:
    engine = db.make_engine(database_url)
    if build == "migrations":
        db.upgrade(engine)
    else:
        db.create(engine)
    assert db.current_revision(engine) == db.HEAD
    with engine.connect() as connection:  # every comparison autogenerate can make, none off
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


def test_outdated_schema_asks_for_db_upgrade(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path}/s.db")
    db.create(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(StoreFault, match="run `dcatwatch db upgrade`") as raised:
        db.ready(engine)  # a store fault (exit 1), no longer a configuration error
    assert raised.value.code == "store.schema"


def test_unusable_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="database.url"):
        db.open_store("nosuchdialect://x")


def test_upgrade_packs_existing_descriptions(database_url: str) -> None:
    from alembic import command
    from sqlalchemy import select

    from dcatwatch.store.tables import DATASETS

    engine = db.make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    description = ('<https://data.example.se/d/1> <http://purl.org/dc/terms/title> '
                   '"Å \\u00e5"@sv .\n')
    with engine.begin() as connection:
        for number in range(1, 1202):  # more than two conversion batches
            connection.execute(text(
                "INSERT INTO dataset (source, iri, content_hash, description, first_seen_at, "
                "last_seen_at, changed_at) VALUES ('s', :iri, 'h', :description, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"iri": f"https://data.example.se/d/{number}", "description": description})
    assert db.upgrade(engine) == ("0005", db.HEAD)
    with engine.connect() as connection:
        stored = connection.execute(select(DATASETS.c.description)).scalars().all()
    engine.dispose()
    assert stored == [description] * 1201
