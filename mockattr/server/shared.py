"""What the workers of ``mockattr serve --workers N`` share: one SQLite file (``SharedState``) holds each
runtime's journal, planned faults and reset generation, and the server's namespaces; the tenants' worlds
(and which one a request used last) are in a ``DurableStore`` (``mockattr.server.durable``) beside it, or
in ``--state-file``.

Each runtime (the server's own, or a namespace) is a *space* in the file: ``""`` or the namespace's name.
``SharedJournal`` and ``SharedFaultPlan`` answer the calls of ``Journal`` and ``FaultPlan``, so the
pipeline and the admin API need not know where their state lives. ``SharedState`` is the interface a
backend shared by several machines would implement too.

The file is temporary (it goes when the server stops) and not synced to disk: what it holds lives as
long as the server. Every call is one transaction, so workers never see half of another's change.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from mockattr.server.durable import connection, write_transaction
from mockattr.server.faults import MAX_PENDING, Fault, TooManyFaults
from mockattr.server.journal import JOURNAL_BYTES, JOURNAL_LIMIT, JournalEntry
from mockattr.server.jsonio import dump_json

_TABLES = """
CREATE TABLE IF NOT EXISTS counters (space TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (space, name));
CREATE TABLE IF NOT EXISTS journal (space TEXT NOT NULL, id INTEGER NOT NULL, vendor TEXT NOT NULL,
    operation TEXT, size INTEGER NOT NULL, entry TEXT NOT NULL, request_body BLOB, response_body BLOB,
    PRIMARY KEY (space, id));
CREATE TABLE IF NOT EXISTS faults (position INTEGER PRIMARY KEY AUTOINCREMENT, space TEXT NOT NULL,
    fault TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, used REAL NOT NULL);
"""
_SPACE_TABLES = ("counters", "journal", "faults")
_STEP = "INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value RETURNING value"
_BODIES = ("request_body", "response_body")


class SharedState:
    """The workers' shared journal, faults, reset generations and namespaces: one SQLite
    file in ``folder`` (a private temporary folder), and beside it ``worlds_path``, the file of the
    tenants' worlds (``DurableStore``) unless ``--state-file`` names another."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / "shared.db"
        self.worlds_path = Path(folder) / "worlds.db"
        self._db().executescript(_TABLES)

    def _db(self) -> sqlite3.Connection:
        """This thread's connection; the file lives as long as the server, so nothing is synced."""
        return connection(self.path, durable=False)[0]

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(*connection(self.path, durable=False))

    def _counter(self, db: sqlite3.Connection, space: str, name: str, step: int = 0) -> int:
        """The counter ``name`` of ``space`` (0 before its first step), after adding ``step``."""
        if step:
            return db.execute(_STEP, (space, name, step)).fetchone()[0]
        row = db.execute("SELECT value FROM counters WHERE space = ? AND name = ?", (space, name)).fetchone()
        return row[0] if row else 0

    # --- reset generations ---------------------------------------------------------------------

    def generation(self, space: str) -> int:
        """How many resets ``space`` has had."""
        return self._counter(self._db(), space, "generation")

    def next_generation(self, space: str) -> None:
        """Count a reset of ``space``."""
        with self._transaction() as db:
            self._counter(db, space, "generation", 1)

    # --- the journal ---------------------------------------------------------------------------

    def journal_add(self, space: str, entry: JournalEntry) -> None:
        """Add ``entry`` as the space's next, giving it its id."""
        data = entry.__dict__.copy()
        bodies = [data.pop(name) for name in _BODIES]
        size = sum(len(body or b"") for body in bodies)
        with self._transaction() as db:
            entry.id = data["id"] = self._counter(db, space, "journal", 1)
            db.execute(
                "INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (space, entry.id, entry.vendor, entry.operation, size, dump_json(data), *bodies),
            )
            held = self._counter(db, space, "journal bytes", size)
            if entry.id > JOURNAL_LIMIT or held > JOURNAL_BYTES:
                self._trim(db, space, entry.id, held)

    def _trim(self, db: sqlite3.Connection, space: str, last: int, held: int) -> None:
        """Drop the space's oldest entries past ``JOURNAL_LIMIT`` entries or ``JOURNAL_BYTES`` of bodies
        (``held`` now), as ``Journal`` does."""
        cut = last - JOURNAL_LIMIT
        if held > JOURNAL_BYTES:
            total = 0
            for entry_id, size in db.execute("SELECT id, size FROM journal WHERE space = ? ORDER BY id DESC", (space,)):
                total += size
                if total > JOURNAL_BYTES and entry_id != last:
                    cut = max(cut, entry_id)
                    break
        range_ = (space, cut)
        (gone,) = db.execute("SELECT TOTAL(size) FROM journal WHERE space = ? AND id <= ?", range_).fetchone()
        db.execute("DELETE FROM journal WHERE space = ? AND id <= ?", range_)
        self._counter(db, space, "journal bytes", -int(gone))

    def journal_entries(
        self,
        space: str,
        vendor: str | None,
        operation: str | None,
        after: int,
        keep: Callable[[JournalEntry], bool] | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """The space's entries after id ``after``, oldest first, optionally of one vendor or operation,
        those ``keep`` keeps, the first ``limit`` of them (read no further than needed)."""
        query = "SELECT entry, request_body, response_body FROM journal WHERE space = ? AND id > ?"
        args: list[Any] = [space, after]
        for column, value in (("vendor", vendor), ("operation", operation)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        query += " ORDER BY id"
        if keep is None and limit is not None:
            query += f" LIMIT {int(limit)}"
        found: list[JournalEntry] = []
        for text, request, response in self._db().execute(query, args):
            entry = JournalEntry(**json.loads(text), request_body=request, response_body=response)
            if keep is None or keep(entry):
                found.append(entry)
                if len(found) == limit:
                    break
        return found

    def journal_clear(self, space: str, drop: Callable[[JournalEntry], bool] | None) -> None:
        """Drop the space's entries (ids count from 1 again), or those ``drop`` says."""
        with self._transaction() as db:
            if drop is None:
                db.execute("DELETE FROM journal WHERE space = ?", (space,))
                db.execute("DELETE FROM counters WHERE space = ? AND name GLOB 'journal*'", (space,))
                return
            for entry in self.journal_entries(space, None, None, 0):
                if drop(entry):
                    db.execute("DELETE FROM journal WHERE space = ? AND id = ?", (space, entry.id))
                    size = len(entry.request_body or b"") + len(entry.response_body or b"")
                    self._counter(db, space, "journal bytes", -size)

    # --- faults --------------------------------------------------------------------------------

    def faults(self, space: str) -> list[tuple[int, Fault]]:
        rows = self._db().execute("SELECT position, fault FROM faults WHERE space = ? ORDER BY position", (space,))
        return [(position, Fault(**json.loads(text))) for position, text in rows]

    def fault_add(self, space: str, fault: Fault) -> None:
        with self._transaction() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM faults WHERE space = ?", (space,)).fetchone()
            if count >= MAX_PENDING:
                raise TooManyFaults(f"{MAX_PENDING} faults are waiting already: clear them first")
            db.execute("INSERT INTO faults (space, fault) VALUES (?, ?)", (space, json.dumps(fault.to_json())))

    def fault_take(self, space: str, meets: Callable[[Fault], bool], may_wait: bool) -> Fault | None:
        """The space's first fault that ``meets`` the call, counted as used once (in whichever worker)."""
        if not self._db().execute("SELECT 1 FROM faults WHERE space = ? LIMIT 1", (space,)).fetchone():
            return None
        with self._transaction() as db:
            for position, fault in self.faults(space):
                if meets(fault):
                    if fault.use(may_wait):
                        db.execute("DELETE FROM faults WHERE position = ?", (position,))
                    else:
                        text = json.dumps(fault.to_json())
                        db.execute("UPDATE faults SET fault = ? WHERE position = ?", (text, position))
                    return fault
        return None

    def faults_clear(self, space: str, keep: Callable[[Fault], bool] | None) -> None:
        with self._transaction() as db:
            for position, fault in self.faults(space):
                if keep is None or not keep(fault):
                    db.execute("DELETE FROM faults WHERE position = ?", (position,))

    # --- namespaces ----------------------------------------------------------------------------

    def touch_namespace(self, name: str, limit: int) -> list[str]:
        """Note ``name`` as used now; past ``limit`` namespaces the least recently used go, and their
        names are returned (their journal, faults and counters are dropped here)."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO namespaces VALUES (?, ?)", (name, time.time()))
            names = [row[0] for row in db.execute("SELECT name FROM namespaces ORDER BY used")]
            gone = names[: max(0, len(names) - limit)]
            for old in gone:
                self._forget(db, old)
            return gone

    def drop_namespace(self, name: str) -> bool:
        """Forget namespace ``name``; whether it existed."""
        with self._transaction() as db:
            return self._forget(db, name)

    def _forget(self, db: sqlite3.Connection, name: str) -> bool:
        for table in _SPACE_TABLES:
            db.execute(f"DELETE FROM {table} WHERE space = ?", (name,))  # noqa: S608
        return db.execute("DELETE FROM namespaces WHERE name = ?", (name,)).rowcount > 0

    def namespace_names(self) -> list[str]:
        """The namespaces, least recently used first."""
        return [row[0] for row in self._db().execute("SELECT name FROM namespaces ORDER BY used")]


class SharedJournal:
    """A runtime's journal in ``SharedState``: ``Journal``'s calls."""

    def __init__(self, state: SharedState, space: str, enabled: bool = True) -> None:
        self.state, self.space, self.enabled = state, space, enabled

    def add(self, entry: JournalEntry) -> None:
        if self.enabled:
            self.state.journal_add(self.space, entry)

    def entries(
        self,
        vendor: str | None = None,
        operation: str | None = None,
        after: int = 0,
        keep: Callable[[JournalEntry], bool] | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        return self.state.journal_entries(self.space, vendor, operation, after, keep, limit)

    def clear(self, keep: Callable[[JournalEntry], bool] | None = None) -> None:
        self.state.journal_clear(self.space, None if keep is None else lambda entry: not keep(entry))


class SharedFaultPlan:
    """A runtime's planned faults in ``SharedState``: ``FaultPlan``'s calls."""

    def __init__(self, state: SharedState, space: str) -> None:
        self.state, self.space = state, space

    def add(self, fault: Fault) -> None:
        self.state.fault_add(self.space, fault)

    def take(
        self,
        vendor: str,
        operation: str,
        credential: Callable[[], str | None],
        body: Callable[[], Any],
        may_wait: bool = True,
    ) -> Fault | None:
        return self.state.fault_take(self.space, lambda f: f.applies(vendor, operation, credential, body), may_wait)

    def pending(self) -> list[Fault]:
        return [fault for _, fault in self.state.faults(self.space)]

    def clear(self, keep: Callable[[Fault], bool] | None = None) -> None:
        self.state.faults_clear(self.space, keep)
