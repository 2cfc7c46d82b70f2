"""A large document's triples grouped by subject on disk, in a private SQLite file.

Grouping a document in memory (:class:`~dcatwatch.dcat.parse.Graph`) costs about 200 bytes a
triple: a 100 000-dataset catalogue (2.4 million triples) took 660 MB. Past ``[harvest]
memory_triples`` triples :func:`~dcatwatch.dcat.parse.group_lines` moves what it grouped
here and goes on writing rows, so a harvest's memory no longer depends on the document's
size. The mapper reads a :class:`DiskGraph` as it reads a ``Graph``: ``subjects.get(node)``
answers from an index on the subject (recent answers cached), and the record-finding
questions (:meth:`DiskGraph.record_nodes`, :meth:`DiskGraph.subjects_linking`,
:meth:`DiskGraph.objects_of`) are SQL that streams its answers instead of keeping the
document's lists.

The file is created in ``[harvest] workdir`` (default: the system's temporary directory) and
unlinked at once, so a killed process leaves nothing; SQLite's page cache and temporary
sorting b-trees are bounded (:data:`CACHE_KIB`, ``temp_store = FILE``).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
DCAT_DATASET = "<http://www.w3.org/ns/dcat#dataset>"
# the links the mapper follows backwards: which catalogue lists a dataset or a service, which
# distribution a service gives access to, which dataset has a distribution
LINKED_BY_OBJECT = frozenset({DCAT_DATASET, "<http://www.w3.org/ns/dcat#service>",
                              "<http://www.w3.org/ns/dcat#accessService>",
                              "<http://www.w3.org/ns/dcat#distribution>",
                              "<http://purl.org/dc/terms/distribution>"})
_LINKED_SQL = ", ".join(f"'{p}'" for p in sorted(LINKED_BY_OBJECT))
CACHE_KIB = 2 * 1024  # SQLite's page cache (its default): the OS caches the file
REMEMBERED = 4096  # subjects whose triples are kept after a lookup (the mapper asks twice)
ROWS = 10_000  # rows written at a time


def scratch_database(directory: Path | None, prefix: str) -> sqlite3.Connection:
    """A private SQLite file in ``directory`` (None: the system's temporary directory) that
    nothing else can open and that vanishes with the connection, even if the process is
    killed (it is unlinked at once); in autocommit mode, with a bounded page cache."""
    handle, path = tempfile.mkstemp(prefix=prefix, suffix=".sqlite", dir=directory)
    os.close(handle)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    os.unlink(path)  # the open connection keeps it
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE",
                   f"cache_size = -{CACHE_KIB}", "locking_mode = EXCLUSIVE"):
        db.execute(f"PRAGMA {pragma}")
    return db


class DiskSubjects:
    """``subject -> [(predicate, object)]`` read from the file (the part of ``dict`` the
    mapper uses: ``get``, ``[]``, ``in``, ``values``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._remembered: dict[str, list[tuple[str, str]]] = {}

    def get(self, node: str, default: object = None) -> list[tuple[str, str]] | object:
        props = self._remembered.get(node)
        if props is None:
            props = self._db.execute("SELECT p, o FROM t WHERE s = ? ORDER BY rowid",
                                     (node,)).fetchall()
            if len(self._remembered) >= REMEMBERED:
                self._remembered.clear()
            self._remembered[node] = props
        return props if props else default

    def __getitem__(self, node: str) -> list[tuple[str, str]]:
        props = self.get(node)
        if props is None:
            raise KeyError(node)
        return props  # type: ignore[return-value]

    def __contains__(self, node: object) -> bool:
        return isinstance(node, str) and self.get(node) is not None

    def values(self) -> Iterator[list[tuple[str, str]]]:
        """Every subject's triples, one subject at a time."""
        subject, props = None, []
        for s, p, o in self._db.execute("SELECT s, p, o FROM t ORDER BY s, rowid"):
            if s != subject and props:
                yield props
                props = []
            subject = s
            props.append((p, o))
        if props:
            yield props

    def clear(self) -> None:
        self._remembered.clear()


class DiskTypes:
    """``subject -> [rdf:type objects]`` (``get`` and ``items``, as the mapper reads them)."""

    def __init__(self, db: sqlite3.Connection, subjects: DiskSubjects) -> None:
        self._db = db
        self._subjects = subjects

    def get(self, node: str, default: object = None) -> list[str] | object:
        props = self._subjects.get(node, ())
        types = [o for p, o in props if p == RDF_TYPE]  # type: ignore[union-attr]
        return types or default

    def items(self) -> Iterator[tuple[str, list[str]]]:
        """Typed subjects in the order first typed, with their types."""
        rows = self._db.execute(
            "SELECT s, group_concat(o, char(10)) FROM (SELECT s, o, rowid AS r FROM t "
            "WHERE p = ? ORDER BY r) GROUP BY s ORDER BY MIN(r)", (RDF_TYPE,))
        for subject, types in rows:
            yield subject, types.split("\n")


class DiskGraph:
    """Triples grouped by subject in a temporary SQLite file (see the module's docstring);
    the same fields as :class:`~dcatwatch.dcat.parse.Graph`. :meth:`close` deletes it."""

    def __init__(self, directory: Path | None = None, *, syntax: str = "",
                 large: bool = True) -> None:
        self._db = scratch_database(directory, "dcatwatch-graph-")
        self._db.execute("CREATE TABLE t (s TEXT NOT NULL, p TEXT NOT NULL, o TEXT NOT NULL)")
        self._db.execute("BEGIN")
        self.subjects = DiskSubjects(self._db)
        self.types = DiskTypes(self._db, self.subjects)
        self.triples = 0
        self.syntax = syntax
        self.recovered: str | None = None
        self.large = large
        self.relative_iris = 0
        self.relative_example: str | None = None

    # -- writing ------------------------------------------------------------------------

    def add(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Append ``(subject, predicate, object)`` rows, in the document's order."""
        self._db.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)

    def restart(self) -> None:
        """Forget every row (the parser child started over)."""
        self._db.execute("DELETE FROM t")

    def index(self) -> None:
        """Finish writing: index the rows for the mapper's questions."""
        self._db.execute("CREATE INDEX t_subject ON t (s)")
        # only the links the mapper follows backwards are asked by object
        self._db.execute(f"CREATE INDEX t_listed ON t (o, p) WHERE p IN ({_LINKED_SQL})")
        self._db.execute("COMMIT")

    def largest_record(self, limit: int, links: Iterable[str]) -> tuple[str, int] | None:
        """A subject with more than ``limit`` triples, not counting those of the
        predicates ``links`` (a catalogue's dcat:dataset list), and how many; None when
        none has (asked once the rows are indexed)."""
        predicates = list(links)
        row = self._db.execute(
            f"SELECT s, count(*) FROM t WHERE p NOT IN ({', '.join('?' * len(predicates))}) "
            "GROUP BY s HAVING count(*) > ? LIMIT 1", (*predicates, limit)).fetchone()
        return None if row is None else (row[0], row[1])

    # -- the mapper's questions ---------------------------------------------------------

    def record_nodes(self, types: Iterable[str], links: Iterable[str],
                     keep_undescribed: bool = False) -> Iterator[str]:
        """Subjects typed with one of ``types`` (in the order first typed), then the other
        non-literal objects of ``links`` (described ones only, unless ``keep_undescribed``)."""
        kinds = list(types)
        marks = ", ".join("?" * len(kinds))
        typed = self._db.execute(
            f"SELECT s FROM t WHERE p = ? AND o IN ({marks}) GROUP BY s ORDER BY MIN(rowid)",
            (RDF_TYPE, *kinds))
        for (node,) in typed:
            yield node
        predicates = list(links)
        if not predicates:
            return
        described = "" if keep_undescribed else \
            "AND EXISTS (SELECT 1 FROM t AS d WHERE d.s = l.o)"
        linked = self._db.execute(
            f"SELECT l.o FROM t AS l WHERE l.p IN ({', '.join('?' * len(predicates))}) "
            f"AND substr(l.o, 1, 1) <> '\"' AND NOT EXISTS (SELECT 1 FROM t AS k WHERE "
            f"k.s = l.o AND k.p = ? AND k.o IN ({marks})) {described} "
            "GROUP BY l.o ORDER BY MIN(l.rowid)", (*predicates, RDF_TYPE, *kinds))
        for (node,) in linked:
            yield node

    def subjects_linking(self, predicate: str, node: str) -> list[str]:
        """The subjects that have ``node`` as an object of ``predicate`` (one of
        :data:`LINKED_BY_OBJECT`)."""
        if predicate not in LINKED_BY_OBJECT:
            raise ValueError(f"{predicate} is not indexed by object")
        return [s for (s,) in self._db.execute(
            f"SELECT s FROM t WHERE p IN ({_LINKED_SQL}) AND p = ? AND o = ? ORDER BY rowid",
            (predicate, node))]

    def objects_of(self, predicates: Iterable[str]) -> list[str]:
        """The objects of ``predicates`` anywhere in the document (a handful: next pages)."""
        wanted = list(predicates)
        return [o for (o,) in self._db.execute(
            f"SELECT o FROM t WHERE p IN ({', '.join('?' * len(wanted))}) ORDER BY rowid",
            wanted)]

    def close(self) -> None:
        self.subjects.clear()
        self._db.close()
