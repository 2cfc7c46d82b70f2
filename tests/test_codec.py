"""The description codec: tagged zstd with the shipped dictionary; old zlib rows still read,
and the 0015 migration repacks them."""

from __future__ import annotations

import threading
import zlib

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from dcatwatch.dcat import model
from dcatwatch.dcat.model import pack_description, unpack_description
from dcatwatch.store import db
from dcatwatch.store.tables import DATASETS

DESCRIPTION = ('<https://data.example.se/d/1> <http://purl.org/dc/terms/title> "Å \\u00e5"@sv .\n'
               '<https://data.example.se/d/1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> '
               '<http://www.w3.org/ns/dcat#Dataset> .\n')


def old_pack(text_: str) -> bytes:
    """How the store packed descriptions before the tag byte (migration 0006)."""
    return zlib.compress(text_.encode("utf-8", "surrogateescape"), 1)


def test_new_rows_are_tagged_zstd_and_smaller_than_zlib() -> None:
    packed = pack_description(DESCRIPTION * 20)
    assert packed[0] == model.ZSTD_DICT and model.is_current_format(packed)
    assert unpack_description(packed) == DESCRIPTION * 20
    assert len(packed) < len(old_pack(DESCRIPTION * 20))
    assert model.DICTIONARY_PATH.stat().st_size > 1000  # shipped as package data


def test_old_zlib_rows_read_back() -> None:
    old = old_pack(DESCRIPTION)
    assert old[0] == model.ZLIB and not model.is_current_format(old)
    assert unpack_description(old) == DESCRIPTION


def test_lone_surrogates_survive_the_round_trip() -> None:
    odd = '<https://x.se/d> <https://x.se/p> "\udcff" .\n'
    assert unpack_description(pack_description(odd)) == odd


def test_an_unknown_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown packed description format 0x7f"):
        unpack_description(b"\x7fjunk")


def test_threads_pack_and_unpack_at_once() -> None:
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(300):
                body = DESCRIPTION.replace("d/1", f"d/{n}-{i}")
                assert unpack_description(pack_description(body)) == body
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_migration_repacks_zlib_rows_in_batches_and_back(database_url: str) -> None:
    engine = db.make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0014")
    with engine.begin() as connection:
        for number in range(1, 1203):  # more than two batches; one row already new
            body = DESCRIPTION.replace("d/1", f"d/{number}")
            packed = pack_description(body) if number == 7 else old_pack(body)
            connection.execute(text(
                "INSERT INTO dataset (source, iri, content_hash, description, first_seen_at, "
                "last_seen_at, changed_at) VALUES ('s', :iri, 'h', :description, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"iri": f"https://data.example.se/d/{number}", "description": packed})
    expected = [DESCRIPTION.replace("d/1", f"d/{n}") for n in range(1, 1203)]
    with engine.connect() as connection:  # the old rows read through the model type
        assert connection.execute(select(DATASETS.c.description).order_by(DATASETS.c.id)
                                  ).scalars().all() == expected
    assert db.upgrade(engine) == ("0014", db.HEAD)
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT description FROM dataset ORDER BY id")).all()
        assert all(bytes(value)[0] == model.ZSTD_DICT for (value,) in raw)
        assert connection.execute(select(DATASETS.c.description).order_by(DATASETS.c.id)
                                  ).scalars().all() == expected
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT description FROM dataset ORDER BY id")).all()
        assert [zlib.decompress(bytes(v)).decode() for (v,) in raw] == expected
    engine.dispose()
