"""Durable state (``mockattr serve --state-file``): every tenant's world in one SQLite file.

The file is in WAL mode with ``synchronous=FULL``: a write is committed, and on disk, before its
response is sent, so it survives ``kill -9`` (and a power cut). Several processes (``--workers``, or
several servers) may share one file: every request runs in one ``BEGIN IMMEDIATE`` transaction, so
requests to one file are serialised and never lose an update. Each process keeps the worlds it has
built in memory and rebuilds one only when another process has changed it (a version token per row).

A world is one JSON row (the fixture format); requests that change nothing write nothing. A new tenant
past ``max_tenants`` is refused (``TenantLimit``): durable worlds are never dropped silently.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mockattr.jsonio import dump_json
from mockattr.store import TenantLimit

FORMAT = "mockattr-state/1"
"""What a state file says it is (table ``mockattr``); a file saying anything else is refused."""
BUSY_SECONDS = 30.0
"""How long a request waits for another process's transaction on the same file."""
START_BUSY_SECONDS = 3.0
"""How long start-up waits for a lock before it calls the file locked."""

_TABLES = """
CREATE TABLE IF NOT EXISTS mockattr (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS worlds (
    vendor TEXT NOT NULL, credential TEXT NOT NULL, version TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (vendor, credential));
CREATE TABLE IF NOT EXISTS seeds (id INTEGER PRIMARY KEY AUTOINCREMENT, vendor TEXT NOT NULL, data TEXT NOT NULL);
"""


class StateFileError(Exception):
    """The state file cannot be used: corrupt, locked, unwritable, or not a mockattr state file."""


class DurableStore:
    """Tenants' worlds in SQLite; the same calls as ``mockattr.store.TenantStore``.

    ``fresh(vendor)`` builds a new tenant's world (fixtures, then seeds); ``load(vendor, data)`` builds
    one from stored data and raises ValueError when the data does not fit the vendor."""

    def __init__(
        self,
        path: Path,
        fresh: Callable[[str], Any],
        load: Callable[[str, dict[str, Any]], Any],
        max_tenants: int,
        vendors: Iterable[str],
    ) -> None:
        self.path = Path(path)
        self.max_tenants = max_tenants
        self._fresh, self._load = fresh, load
        self._lock = threading.RLock()  # one transaction at a time per process; SQLite orders processes
        self._local = threading.local()
        self._built: OrderedDict[tuple[str, str], tuple[str, Any, str]] = OrderedDict()
        self._check(set(vendors))

    # --- start-up ------------------------------------------------------------------------------

    def _check(self, vendors: set[str]) -> None:
        """Open (or create) the file and read every stored world of a served vendor: any problem is a
        StateFileError now, not a surprise on some later request."""
        if self.path.is_dir():
            raise StateFileError(f"state file {self.path}: is a folder")
        try:
            db = sqlite3.connect(self.path, timeout=START_BUSY_SECONDS, isolation_level=None)
        except sqlite3.Error as err:
            raise StateFileError(f"state file {self.path}: cannot open it ({err})") from err
        try:
            if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
                raise StateFileError(f"state file {self.path}: cannot switch it to WAL mode")
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StateFileError(f"state file {self.path}: corrupt ({'; '.join(problems[:3])})")
            db.execute("BEGIN IMMEDIATE")
            self._own(db)
            for vendor, credential, data in db.execute("SELECT vendor, credential, data FROM worlds"):
                if vendor in vendors:
                    self._decode(vendor, data, f"the world of {vendor} for {credential!r}")
            for vendor, data in db.execute("SELECT vendor, data FROM seeds"):
                if vendor in vendors:
                    self._decode(vendor, data, f"a seed of {vendor}")
            db.execute("COMMIT")
        except sqlite3.Error as err:
            raise StateFileError(f"state file {self.path}: {_explain(err)}") from err
        finally:
            db.close()

    def _own(self, db: sqlite3.Connection) -> None:
        """Create the tables in a new file; refuse a file made by something else."""
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            db.executescript("BEGIN IMMEDIATE;" + _TABLES)  # executescript commits first: take the lock again
            db.execute("INSERT INTO mockattr VALUES ('format', ?)", (FORMAT,))
            return
        found = None
        if "mockattr" in tables:
            found = db.execute("SELECT value FROM mockattr WHERE key = 'format'").fetchone()
        if found is None or found[0] != FORMAT:
            what = found[0] if found else "not a mockattr state file"
            raise StateFileError(f"state file {self.path}: {what} (expected {FORMAT}); use another path")

    def _decode(self, vendor: str, text: str, what: str) -> Any:
        try:
            data = json.loads(text)
            self._load(vendor, data)
        except ValueError as err:
            raise StateFileError(f"state file {self.path}: {what} is unusable: {err}") from err
        return data

    # --- transactions --------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a new one in a forked worker)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            local.db.execute("PRAGMA synchronous=FULL")
            local.pid = os.getpid()
        return local.db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                self._built.clear()  # a failed handler may have touched a world: rebuild from the file
                raise
            db.execute("COMMIT")

    def _world(self, db: sqlite3.Connection, key: tuple[str, str], create: bool) -> tuple[Any, str | None, str]:
        """(world, its stored JSON, its version); the JSON is None for a new world, not stored yet."""
        row = db.execute("SELECT version FROM worlds WHERE vendor = ? AND credential = ?", key).fetchone()
        if row is None:
            if not create:
                raise KeyError(key)
            if db.execute("SELECT COUNT(*) FROM worlds").fetchone()[0] >= self.max_tenants:
                raise TenantLimit(f"{self.max_tenants} tenants are stored already (--max-tenants)")
            return self._fresh(key[0]), None, ""
        built = self._built.get(key)
        if built is not None and built[0] == row[0]:
            return built[1], built[2], built[0]
        text = db.execute("SELECT data FROM worlds WHERE vendor = ? AND credential = ?", key).fetchone()[0]
        return self._load(key[0], json.loads(text)), text, row[0]

    def _save(self, db: sqlite3.Connection, key: tuple[str, str], world: Any, before: str | None, version: str) -> None:
        """Write the world back when it changed (or is new), and keep it built for the next request."""
        text = dump_json(world.to_data())
        if text != before:
            version = secrets.token_hex(8)
            db.execute("INSERT OR REPLACE INTO worlds VALUES (?, ?, ?, ?)", (*key, version, text))
        self._built[key] = (version, world, text)
        self._built.move_to_end(key)
        while len(self._built) > self.max_tenants:
            self._built.popitem(last=False)

    # --- the store's calls ---------------------------------------------------------------------

    @contextmanager
    def world(self, vendor: str, credential: str) -> Iterator[Any]:
        """The tenant's world for the ``with`` block, in one transaction; written back if changed."""
        with self._transaction() as db:
            key = (vendor, credential)
            world, before, version = self._world(db, key, create=True)
            yield world
            self._save(db, key, world, before, version)

    def each(self, vendor: str, change: Callable[[Any], None]) -> None:
        """Apply ``change`` to every stored world of ``vendor``, all in one transaction."""
        with self._transaction() as db:
            self._each(db, vendor, change)

    def _each(self, db: sqlite3.Connection, vendor: str, change: Callable[[Any], None]) -> None:
        credentials = [row[0] for row in db.execute("SELECT credential FROM worlds WHERE vendor = ?", (vendor,))]
        for credential in credentials:
            key = (vendor, credential)
            world, before, version = self._world(db, key, create=False)
            change(world)
            self._save(db, key, world, before, version)

    def seeds(self, vendor: str) -> list[dict[str, Any]]:
        """The seeds every new world of ``vendor`` gets, oldest first."""
        with self._lock:
            rows = self._db().execute("SELECT data FROM seeds WHERE vendor = ? ORDER BY id", (vendor,))
            return [json.loads(row[0]) for row in rows]

    def add_seed(self, vendor: str, data: dict[str, Any], apply: Callable[[Any, dict[str, Any]], None]) -> None:
        """Keep ``data`` for every future world of ``vendor`` and ``apply`` it to every stored one."""
        text = dump_json(data)
        with self._transaction() as db:
            db.execute("INSERT INTO seeds (vendor, data) VALUES (?, ?)", (vendor, text))
            self._each(db, vendor, lambda world: apply(world, json.loads(text)))

    def reset(self) -> None:
        """Every tenant back to the fixtures, seeds dropped: the file is emptied."""
        with self._transaction() as db:
            db.execute("DELETE FROM worlds")
            db.execute("DELETE FROM seeds")
            self._built.clear()

    def drop(self, credential: str) -> None:
        """Forget every world of one credential."""
        with self._transaction() as db:
            db.execute("DELETE FROM worlds WHERE credential = ?", (credential,))

    def tenant_count(self) -> int:
        """How many tenants are stored."""
        with self._lock:
            return self._db().execute("SELECT COUNT(*) FROM worlds").fetchone()[0]


def _explain(err: sqlite3.Error) -> str:
    text = str(err)
    if "locked" in text or "busy" in text:
        return f"locked by another program ({text}); stop it or use another path"
    if "readonly" in text or "unable to open" in text or "disk I/O" in text:
        return f"cannot write to it ({text})"
    if "not a database" in text or "malformed" in text:
        return f"corrupt ({text}); move it away or use another path"
    return text
