"""The base of the repositories (:mod:`dcatwatch.store.core` binds each to a unit)."""

from __future__ import annotations

from sqlalchemy import Connection


class Repository:
    """Base of the repositories: the connection of the unit they belong to."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
