"""Durable state (``mockattr serve --state-file``): every tenant's world in one SQLite file.

The file is in WAL mode with ``synchronous=FULL``: a write is committed, and on disk, before its
response is sent, so it survives ``kill -9`` (and a power cut). Several processes (several servers on
one file) may share it: every request runs in one ``BEGIN IMMEDIATE`` transaction, so requests to one
file are serialised and never lose an update. Each process keeps the worlds it has built in memory and
brings one up to date only when another process has changed it (a version per world).

A world whose data has a ``customers`` list is a row of its data without its customers, and a row per
customer. A request writes only the customers its handler looked up or added
(``mockattr.vendors.Touched``), and only those that changed: a write costs the same with 10 or 10,000
customers. Each customer row carries the world's change number (``seq``) of its last write, so a
process whose world is a few changes behind reads only the rows written since (``_catch_up``). A world
with no such list is one row, ``{WHOLE: data}``. A new tenant past ``max_tenants`` is
refused (``TenantLimit``): durable worlds are never dropped silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockattr.server.jsonio import dump_json
from mockattr.server.store import TenantLimit

fcntl: Any = None
with contextlib.suppress(ImportError):  # POSIX only
    import fcntl

FORMAT = "mockattr-state/4"
"""What a state file says it is (table ``mockattr``); a file saying anything else is refused, but for
the ``OLDER_FORMATS``, which are migrated."""
PLAIN_TEXT_FORMAT = "mockattr-state/2"
"""The format that kept credentials in plain text: opened, its credentials are replaced by their hashes."""
OLDER_FORMATS = (PLAIN_TEXT_FORMAT, "mockattr-state/3")
"""Formats migrated when opened: /2 and /3 have no change number (``seq``) on customer rows."""
WHOLE = "~whole"
"""The key a world with no ``customers`` list is stored under, whole (its data has no row per record)."""
BUSY_SECONDS = 30.0
"""How long a request waits for another process's transaction on the same file."""
START_BUSY_SECONDS = 3.0
"""How long start-up waits for a lock before it calls the file locked."""

_TABLES = """
CREATE TABLE IF NOT EXISTS mockattr (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS worlds (
    vendor TEXT NOT NULL, credential TEXT NOT NULL, version TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (vendor, credential));
CREATE TABLE IF NOT EXISTS customers (
    vendor TEXT NOT NULL, credential TEXT NOT NULL, position INTEGER NOT NULL, data TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (vendor, credential, position));
CREATE TABLE IF NOT EXISTS seeds (id INTEGER PRIMARY KEY AUTOINCREMENT, vendor TEXT NOT NULL, data TEXT NOT NULL);
"""
_NONE, _SOME, _ALL = 0, 1, 2
"""What ``DurableStore._save_customers`` wrote: no customer row, some, or every one (the world whole)."""
_CHANGES_INDEX = "CREATE INDEX IF NOT EXISTS customer_changes ON customers (vendor, credential, seq)"


@dataclass
class _Built:
    """A world this process has built, with the stored texts it was built from (``texts`` None: the
    world is new, nothing is stored yet)."""

    world: Any
    version: str = ""
    data: str = ""
    texts: list[str] | None = None
    positions: dict[int, int] = field(default_factory=dict)
    """Where each customer (by ``id``) is in the world's list, so a touched one is found at once."""
    line: str = ""
    """The version's line: versions of one line differ only by the customer rows written since
    (``_catch_up`` applies them); a new line starts when they may differ otherwise (empty: none yet)."""
    seq: int = 0
    """The version's change number: the ``seq`` of the customer rows its last write wrote."""

    def set_version(self, version: str) -> None:
        """Take ``version`` (``<line>:<seq>``; an older format's token starts no line)."""
        self.version = version
        line, _, seq = version.partition(":")
        self.line, self.seq = (line, int(seq)) if seq.isdigit() else ("", 0)


_CUSTOMER_ROWS = "SELECT data FROM customers WHERE vendor = ? AND credential = ? ORDER BY position"
_CHANGED_ROWS = "SELECT position, data FROM customers WHERE vendor = ? AND credential = ? AND seq > ? ORDER BY position"
_LAST_SEQ = "SELECT MAX(seq) FROM customers WHERE vendor = ? AND credential = ?"
_SECRET = "SELECT value FROM mockattr WHERE key = 'credential_key'"
_WORLD_ROW = "SELECT version, data FROM worlds WHERE vendor = ? AND credential = ?"
_LAST = "last "
"""With ``track_last``, the ``mockattr`` table's key (then the vendor column's value) of the credential
hash of the world a request used last."""
_USED = "UPDATE worlds SET rowid = (SELECT MAX(rowid) + 1 FROM worlds) WHERE vendor = ? AND credential = ?"


@contextmanager
def write_transaction(db: sqlite3.Connection, turn: int | None = None) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``db`` (a connection in autocommit mode): committed when the block ends,
    rolled back when it raises. ``turn`` (from ``connection``) makes the writers of a file queue on its lock:
    a waiting writer wakes as soon as it is free, where SQLite's own wait sleeps in steps of up to 100 ms."""
    if turn is not None:
        fcntl.flock(turn, fcntl.LOCK_EX)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (e.g. a full disk)
                db.execute("ROLLBACK")
            raise
    finally:
        if turn is not None:
            fcntl.flock(turn, fcntl.LOCK_UN)


_CONNECTIONS = threading.local()


def connection(path: Path, durable: bool) -> tuple[sqlite3.Connection, int | None]:
    """This thread's connection to the SQLite file ``path`` and its descriptor of the lock file beside
    it (``write_transaction``'s ``turn``; None where there is no ``flock``), made on first use in each
    thread of each process and shared by every store on the file (a namespace's too). Not ``durable``:
    no fsync, and nothing deleted is zeroed (Debian's SQLite zeroes it)."""
    held = _CONNECTIONS.__dict__
    if held.get("pid") != os.getpid():  # a forked worker: its own connections
        held.clear()
        held["pid"] = os.getpid()
    found = held.get(str(path))
    if found is None:
        db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        if not durable:
            db.execute("PRAGMA secure_delete=OFF")
        turn = None if fcntl is None else os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        found = held[str(path)] = (db, turn)
    return found


class StateFileError(Exception):
    """The state file cannot be used: corrupt, locked, unwritable, or not a mockattr state file."""


class DurableStore:
    """Tenants' worlds in SQLite; the same calls as ``mockattr.server.store.TenantStore``.

    ``fresh(vendor)`` builds a new tenant's world (fixtures, then seeds; ``fresh(vendor, seeds)`` with
    those seeds); ``load(vendor, data)`` builds one from stored data and raises ValueError when the data
    does not fit the vendor. Every stored world
    is loaded so at start; a world read again later, written since by a server (this one, a worker, or
    another on the file), is rebuilt with ``rebuild(vendor, data)`` when given: it skips the check.

    ``serve --workers`` keeps its worlds here too: ``durable=False`` (a temporary file) writes without
    syncing, and past ``max_tenants`` drops the least recently used world instead of refusing, as the
    in-memory store does; ``space`` (a namespace's name) keeps a namespace's worlds apart in a file
    already made (its vendor column reads ``<space>/<vendor>``)."""

    def __init__(
        self,
        path: Path,
        fresh: Callable[..., Any],
        load: Callable[[str, dict[str, Any]], Any],
        max_tenants: int,
        vendors: Iterable[str],
        *,
        rebuild: Callable[[str, dict[str, Any]], Any] | None = None,
        durable: bool = True,
        space: str = "",
        track_last: bool = False,
    ) -> None:
        self.path = Path(path)
        self.max_tenants = max_tenants
        self.durable = self.may_wait = durable
        """``may_wait``: whether a request may wait on the store (for the disk); not on a temporary file."""
        self.space = space
        self.track_last = track_last
        """Whether the file notes which world a request used last (``last_world``): several processes share it."""
        self._fresh, self._load = fresh, load
        self._rebuild = rebuild or load
        self._lock = threading.RLock()  # one transaction at a time per process; SQLite orders processes
        self._built: OrderedDict[tuple[str, str], _Built] = OrderedDict()
        if space:
            self._secret = bytes.fromhex(self._db().execute(_SECRET).fetchone()[0])
        else:
            self._check(set(vendors))
        self._load = self._rebuild  # what is stored now has been checked, or was written by a server

    def _vendor_key(self, vendor: str) -> str:
        """What the vendor column holds for ``vendor`` in this store's space."""
        return f"{self.space}/{vendor}" if self.space else vendor

    def _in_space(self) -> str:
        """An SQL condition on the vendor column: rows of this store's space."""
        return f"vendor GLOB '{self.space}/*'" if self.space else "vendor NOT GLOB '*/*'"

    # --- start-up ------------------------------------------------------------------------------

    def _check(self, vendors: set[str]) -> None:
        """Open (or create) the file, prove it writable, and read every stored world of a served vendor:
        any problem is a StateFileError now, not a surprise on some later request. Nothing is changed
        in a file that turns out not to be a mockattr state file."""
        if self.path.is_dir():
            raise StateFileError(f"state file {self.path}: is a folder")
        try:
            db = sqlite3.connect(self.path, timeout=START_BUSY_SECONDS, isolation_level=None)
        except sqlite3.Error as err:
            raise StateFileError(f"state file {self.path}: cannot open it ({err})") from err
        try:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StateFileError(f"state file {self.path}: corrupt ({'; '.join(problems[:3])})")
            older = self._own(db)
            if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
                raise StateFileError(f"state file {self.path}: cannot switch it to WAL mode")
            db.executescript(_TABLES)
            db.execute("BEGIN IMMEDIATE")
            if older is not None:  # again, under the lock: another server may have migrated it meanwhile
                older = self._own(db)
            if "seq" not in {row[1] for row in db.execute("PRAGMA table_info(customers)")}:  # /2 and /3
                db.execute("ALTER TABLE customers ADD COLUMN seq INTEGER NOT NULL DEFAULT 0")
            db.execute(_CHANGES_INDEX)
            secret = db.execute(_SECRET).fetchone()
            if secret is None:
                secret = (secrets.token_hex(32),)
                db.execute("INSERT INTO mockattr VALUES ('credential_key', ?)", secret)
            self._secret = bytes.fromhex(secret[0])
            if older == PLAIN_TEXT_FORMAT:  # each credential becomes its keyed hash, in this one transaction
                db.create_function("credential_hash", 1, self._hash, deterministic=True)
                for table in ("worlds", "customers"):
                    db.execute(f"UPDATE {table} SET credential = credential_hash(credential)")  # noqa: S608
            db.execute("INSERT OR REPLACE INTO mockattr VALUES ('format', ?)", (FORMAT,))  # a write: proves it writable
            if older is not None:  # a migration is kept only if every world and seed reads
                self._read_all(db, vendors)
            db.execute("COMMIT")
            if older is None:
                db.execute("BEGIN")  # reading takes no lock other servers on the file would wait for
                self._read_all(db, vendors)
                db.execute("COMMIT")
        except sqlite3.Error as err:
            raise StateFileError(f"state file {self.path}: {_explain(err)}") from err
        finally:
            db.close()

    def _read_all(self, db: sqlite3.Connection, vendors: set[str]) -> None:
        """Read every stored world of ``vendors``, and build a new tenant's world of each from the
        fixtures and the stored seeds in turn (a seed may build on an earlier one): StateFileError if one
        does not fit."""
        for vendor, credential in db.execute("SELECT vendor, credential FROM worlds").fetchall():
            if vendor in vendors:
                self._read(db, (vendor, credential))
        seeds: dict[str, list[str]] = {}
        for vendor, data in db.execute("SELECT vendor, data FROM seeds ORDER BY id").fetchall():
            if vendor in vendors:
                seeds.setdefault(vendor, []).append(data)
        for vendor, texts in seeds.items():
            try:
                self._fresh(vendor, [json.loads(text) for text in texts])
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                raise StateFileError(f"state file {self.path}: the seeds of {vendor} are unusable: {err!r}") from err

    def _own(self, db: sqlite3.Connection) -> str | None:
        """Refuse a database made by something else (before anything in it is changed); the older
        format (of ``OLDER_FORMATS``) of a state file to migrate, else None."""
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return None
        found = None
        if "mockattr" in tables:
            found = db.execute("SELECT value FROM mockattr WHERE key = 'format'").fetchone()
        if found is not None and found[0] in OLDER_FORMATS:
            return found[0]
        if found is None or found[0] != FORMAT:
            what = found[0] if found else "not a mockattr state file"
            raise StateFileError(f"state file {self.path}: {what} (expected {FORMAT}); use another path")
        return None

    def _hash(self, credential: str) -> str:
        """What the file keeps for a credential: its HMAC-SHA256 under the file's own key, never the
        credential itself."""
        return hmac.new(self._secret, credential.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()

    def _decode(self, vendor: str, what: str, text: str, customers: list[Any] | None = None) -> Any:
        """A world from stored JSON and its customers (decoded apart); StateFileError when it does not fit."""
        try:
            data = json.loads(text)
            if isinstance(data, dict) and list(data) == [WHOLE]:
                data = data[WHOLE]
            elif customers is not None:
                data["customers"] = customers
            return self._load(vendor, data)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise StateFileError(f"state file {self.path}: {what} is unusable: {err!r}") from err

    def _read(
        self,
        db: sqlite3.Connection,
        key: tuple[str, str],
        row: tuple[str, str] | None = None,
        before: _Built | None = None,
    ) -> _Built:
        """A stored world, built from its rows (its ``worlds`` row, ``(version, data)``, given or read).
        A customer whose row is as it was when ``before`` (the world built here earlier) was built is
        taken from it, not decoded again: another worker's write costs what it changed, not the world."""
        version, data = row or db.execute(_WORLD_ROW, key).fetchone()
        texts = [row[0] for row in db.execute(_CUSTOMER_ROWS, key)]
        what = f"the world of {key[0]} for the credential hashed {key[1][:12]}…"
        try:
            customers = [json.loads(text) for text in texts] if before is None else _unchanged(before, texts)
        except ValueError as err:
            raise StateFileError(f"state file {self.path}: {what} is unusable: {err!r}") from err
        world = self._decode(_vendor_of(key[0]), what, data, customers)
        world.touched.tracking = True
        customers = world.to_data().get("customers")
        if not isinstance(customers, list):
            customers = []
        built = _Built(world, data=data, texts=texts)
        built.positions = {id(customer): n for n, customer in enumerate(customers)}
        built.set_version(version)
        return built

    def _catch_up(self, db: sqlite3.Connection, key: tuple[str, str], built: _Built, row: tuple[str, str]) -> bool:
        """Bring ``built`` up to the stored version ``row`` from the customer rows written since it was
        built, when that version is of its line and only customers changed; whether it could. The
        vendor's ``merge`` takes the changed customers where it keeps them in place (as it replaces a
        customer with the same id); where it moves them, the world is built again from its customers,
        the unchanged ones as they were."""
        line, _, seq = row[0].partition(":")
        texts = built.texts
        if not built.line or line != built.line or not seq.isdigit() or row[1] != built.data or texts is None:
            return False
        customers = built.world.to_data().get("customers")
        if not isinstance(customers, list) or len(customers) != len(texts):
            return False
        changed = db.execute(_CHANGED_ROWS, (*key, built.seq)).fetchall()
        added = [position for position, _ in changed if position >= len(texts)]
        if added != list(range(len(texts), len(texts) + len(added))):
            return False  # not a change this line makes (rows past a gap)
        try:
            fresh = [(position, json.loads(text)) for position, text in changed]
            merged = list(customers)
            for position, customer in fresh:
                merged[position : position + 1] = [customer]
            built.world.merge({"customers": [customer for _, customer in fresh]})
            built.world.touched.take()  # a merge notes "any customer may have changed": only these did
            now = built.world.to_data().get("customers")
            if isinstance(now, list) and len(now) == len(merged) and all(now[p] is c for p, c in fresh):
                for position, customer in fresh:  # taken in place: only the changed ones move in the map
                    if position < len(texts):
                        built.positions.pop(id(customers[position]), None)
                    built.positions[id(customer)] = position
            else:  # the vendor's merge moved customers: the world again, from its customers as they are now
                data = json.loads(row[1])
                data["customers"] = merged
                built.world = self._load(_vendor_of(key[0]), data)
                built.world.touched.tracking = True
                built.positions = {id(customer): n for n, customer in enumerate(merged)}
        except (ValueError, TypeError, KeyError, AttributeError):
            built.texts = None  # _read decodes every row: what the merge left is never taken as it was
            return False
        for position, text in changed:
            texts[position : position + 1] = [text]
        built.set_version(row[0])
        return True

    # --- transactions --------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """This thread's connection to the file (``connection``)."""
        return connection(self.path, self.durable)[0]

    @contextmanager
    def _transaction(self, keys: list[tuple[str, str]] | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction. When it fails (a rejected request, or SQLite's own error such as a full
        disk), the worlds built for ``keys`` (None: every world) are forgotten, so they are read again
        from the file: what was not committed is never served."""
        with self._lock:
            try:
                with write_transaction(*connection(self.path, self.durable)) as db:
                    yield db
            except BaseException:
                for key in keys if keys is not None else list(self._built):
                    self._built.pop(key, None)
                raise

    def _world(self, db: sqlite3.Connection, key: tuple[str, str], create: bool) -> _Built:
        """The tenant's world: the one built here when the file still holds that version, else read
        from the file, else (``create``) a new one."""
        row = db.execute(_WORLD_ROW, key).fetchone()
        if row is None:
            if not create:
                raise KeyError(key)
            count_sql = f"SELECT COUNT(*) FROM worlds WHERE {self._in_space()}"  # noqa: S608
            if db.execute(count_sql).fetchone()[0] >= self.max_tenants:
                if self.durable:
                    raise TenantLimit(f"{self.max_tenants} tenants are stored already (--max-tenants)")
                self._drop_oldest(db)
            world = self._fresh(_vendor_of(key[0]))
            world.touched.tracking = True
            return _Built(world)
        built = self._built.get(key)
        if built is None or (built.version != row[0] and not self._catch_up(db, key, built, row)):
            built = self._read(db, key, row, built)
        return built

    def _drop_oldest(self, db: sqlite3.Connection) -> None:
        """Drop the world of this space used longest ago (``world`` gives a used world's row a new rowid)."""
        oldest = f"SELECT vendor, credential FROM worlds WHERE {self._in_space()} ORDER BY rowid LIMIT 1"  # noqa: S608
        key = db.execute(oldest).fetchone()
        if key is None:
            return
        for table in ("worlds", "customers"):
            db.execute(f"DELETE FROM {table} WHERE vendor = ? AND credential = ?", key)  # noqa: S608
        self._built.pop(tuple(key), None)

    def _save(self, db: sqlite3.Connection, key: tuple[str, str], built: _Built) -> bool:
        """Write back what changed — the world's own data and the customers its handlers touched — and
        keep it built for the next request; whether its ``worlds`` row was written. The version's change
        number goes up by one, in a new line when the customers were written whole (or none was)."""
        touched = built.world.touched.take()
        data = built.world.to_data()
        seq = built.seq + 1 if built.line else (db.execute(_LAST_SEQ, key).fetchone()[0] or 0) + 1
        if isinstance(data.get("customers"), list):
            customers = data.pop("customers")
            text = dump_json(data)
            rows = self._save_customers(db, key, built, customers, touched, seq)
        else:
            text, rows = dump_json({WHOLE: data}), _NONE
        written = rows != _NONE or text != built.data
        if written:
            line = built.line if built.line and rows != _ALL else secrets.token_hex(8)
            built.set_version(f"{line}:{seq}")
            built.data = text
            db.execute("INSERT OR REPLACE INTO worlds VALUES (?, ?, ?, ?)", (*key, built.version, text))
        self._built[key] = built
        self._built.move_to_end(key)
        while len(self._built) > self.max_tenants:
            self._built.popitem(last=False)
        return written

    def _save_customers(
        self,
        db: sqlite3.Connection,
        key: tuple[str, str],
        built: _Built,
        customers: list[Any],
        touched: list | None,
        seq: int,
    ) -> int:
        """Write the touched customers that changed, with change number ``seq``: a row each, found by
        position without a scan (every row for a new world, after a merge, or when customers moved or
        came untouched). What was written: ``_NONE``, ``_SOME`` or ``_ALL``."""
        texts, positions = built.texts, built.positions
        if texts is not None and touched is not None and len(customers) >= len(texts):
            for position in range(len(texts), len(customers)):  # added since: at the end
                positions[id(customers[position])] = position
            updates: dict[int, str] = {}
            for customer in touched:
                position = positions.get(id(customer), -1)
                if not (0 <= position < len(customers) and customers[position] is customer):
                    break
                text = dump_json(customer)
                if position >= len(texts) or texts[position] != text:
                    updates[position] = text
            else:
                if all(position in updates for position in range(len(texts), len(customers))):
                    texts.extend([""] * (len(customers) - len(texts)))
                    for position, text in updates.items():
                        texts[position] = text
                    rows = [(*key, position, text, seq) for position, text in updates.items()]
                    db.executemany("INSERT OR REPLACE INTO customers VALUES (?, ?, ?, ?, ?)", rows)
                    return _SOME if updates else _NONE
        built.texts = [dump_json(customer) for customer in customers]
        built.positions = {id(customer): position for position, customer in enumerate(customers)}
        db.execute("DELETE FROM customers WHERE vendor = ? AND credential = ?", key)
        rows = [(*key, position, text, seq) for position, text in enumerate(built.texts)]
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", rows)
        return _ALL

    # --- the store's calls ---------------------------------------------------------------------

    @contextmanager
    def world(self, vendor: str, credential: str, served: bool = False) -> Iterator[Any]:
        """The tenant's world for the ``with`` block, in one transaction; written back if changed.
        ``served``: for a vendor request (with ``track_last``, noted as the last world used)."""
        key = (self._vendor_key(vendor), self._hash(credential))
        with self._transaction([key]) as db:
            built = self._world(db, key, create=True)
            yield built.world
            if not self._save(db, key, built) and not self.durable:
                db.execute(_USED, key)  # used now: its row goes last, for _drop_oldest (a new rowid, same data)
            if self.track_last and served:
                db.execute("INSERT OR REPLACE INTO mockattr VALUES (?, ?)", (_LAST + key[0], key[1]))

    @contextmanager
    def last_world(self, vendor: str) -> Iterator[Any | None]:
        """With ``track_last``: the world of ``vendor`` a request used last (since the last reset), as
        ``world`` gives it; None when there is none."""
        vendor_key = self._vendor_key(vendor)
        with self._lock:
            found = self._db().execute("SELECT value FROM mockattr WHERE key = ?", (_LAST + vendor_key,)).fetchone()
        if found is None:
            yield None
            return
        key = (vendor_key, found[0])
        with self._transaction([key]) as db:
            built = self._world(db, key, create=True)
            yield built.world
            self._save(db, key, built)

    def each(self, vendor: str, change: Callable[[Any], None]) -> None:
        """Apply ``change`` to every stored world of ``vendor``, all in one transaction."""
        with self._transaction() as db:
            self._each(db, vendor, change)

    def _each(self, db: sqlite3.Connection, vendor: str, change: Callable[[Any], None]) -> None:
        vendor = self._vendor_key(vendor)
        credentials = [row[0] for row in db.execute("SELECT credential FROM worlds WHERE vendor = ?", (vendor,))]
        for credential in credentials:
            key = (vendor, credential)
            built = self._world(db, key, create=False)
            change(built.world)
            self._save(db, key, built)

    def seeds(self, vendor: str) -> list[dict[str, Any]]:
        """The seeds every new world of ``vendor`` gets, oldest first."""
        with self._lock:
            key = (self._vendor_key(vendor),)
            rows = self._db().execute("SELECT data FROM seeds WHERE vendor = ? ORDER BY id", key)
            return [json.loads(row[0]) for row in rows]

    def add_seed(self, vendor: str, data: dict[str, Any], apply: Callable[[Any, dict[str, Any]], None]) -> None:
        """Keep ``data`` for every future world of ``vendor`` and ``apply`` it to every stored one."""
        text = dump_json(data)
        with self._transaction() as db:
            db.execute("INSERT INTO seeds (vendor, data) VALUES (?, ?)", (self._vendor_key(vendor), text))
            self._each(db, vendor, lambda world: apply(world, json.loads(text)))

    def reset(self) -> None:
        """Every tenant back to the fixtures, seeds dropped: the file is emptied (of this space's rows)."""
        with self._transaction() as db:
            for table in ("worlds", "customers", "seeds"):
                db.execute(f"DELETE FROM {table} WHERE {self._in_space()}")  # noqa: S608
            lasts = [row[0] for row in db.execute("SELECT key FROM mockattr WHERE key GLOB 'last *'")]
            db.executemany(
                "DELETE FROM mockattr WHERE key = ?",
                [(last,) for last in lasts if last[len(_LAST) :].rpartition("/")[0] == self.space],
            )
            self._built.clear()

    def drop(self, credential: str, vendor: str | None = None) -> None:
        """Forget every world of one credential, or its world of ``vendor``."""
        credential = self._hash(credential)
        with self._transaction() as db:
            for table in ("worlds", "customers"):
                if vendor is None:
                    db.execute(f"DELETE FROM {table} WHERE credential = ? AND {self._in_space()}", (credential,))  # noqa: S608
                else:
                    key = (credential, self._vendor_key(vendor))
                    db.execute(f"DELETE FROM {table} WHERE credential = ? AND vendor = ?", key)  # noqa: S608

    def tenant_count(self) -> int:
        """How many tenants are stored."""
        with self._lock:
            return self._db().execute(f"SELECT COUNT(*) FROM worlds WHERE {self._in_space()}").fetchone()[0]  # noqa: S608


def _unchanged(before: _Built, texts: list[str]) -> list[Any]:
    """The customers of stored rows ``texts``: those of ``before``'s world where its row is unchanged, the
    others decoded."""
    known = before.texts or []
    kept = before.world.to_data().get("customers") if known else []
    if not isinstance(kept, list) or len(kept) != len(known):
        kept, known = [], []
    return [kept[n] if n < len(known) and known[n] == text else json.loads(text) for n, text in enumerate(texts)]


def _vendor_of(vendor_key: str) -> str:
    """The vendor of a vendor column's value (``DurableStore._vendor_key``'s inverse)."""
    return vendor_key.rpartition("/")[2]


def _explain(err: sqlite3.Error) -> str:
    text = str(err)
    if "locked" in text or "busy" in text:
        return f"locked by another program ({text}); stop it or use another path"
    if "readonly" in text or "unable to open" in text or "disk I/O" in text:
        return f"cannot write to it ({text})"
    if "not a database" in text or "malformed" in text:
        return f"corrupt ({text}); move it away or use another path"
    return text
