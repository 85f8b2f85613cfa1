"""The store's connection: schema, transactions, sealing of stored values, paging."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import formats
from . import files
from .records import Invalid, Page, StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    iam_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),
    username TEXT NOT NULL UNIQUE, email TEXT NOT NULL, given_name TEXT NOT NULL,
    family_name TEXT NOT NULL, password_hash TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS service_ids (
    id TEXT PRIMARY KEY, iam_id TEXT NOT NULL UNIQUE, account_id TEXT NOT NULL,
    name TEXT NOT NULL, description TEXT, namespace TEXT NOT NULL, locked INTEGER NOT NULL,
    version INTEGER NOT NULL, created_at INTEGER NOT NULL, modified_at INTEGER NOT NULL,
    created_by TEXT NOT NULL, unique_instance_crns TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS service_ids_account_name ON service_ids(account_id, name);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, iam_id TEXT NOT NULL,
    owner_kind TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
    key_hash BLOB NOT NULL UNIQUE, sealed_value BLOB, locked INTEGER NOT NULL,
    disabled INTEGER NOT NULL, support_sessions INTEGER NOT NULL,
    action_when_leaked TEXT NOT NULL, expires_at INTEGER, version INTEGER NOT NULL,
    created_at INTEGER NOT NULL, modified_at INTEGER NOT NULL, created_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS api_keys_account_owner ON api_keys(account_id, iam_id);
CREATE INDEX IF NOT EXISTS api_keys_owner ON api_keys(iam_id);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash BLOB PRIMARY KEY, iam_id TEXT NOT NULL, account_id TEXT NOT NULL,
    api_key_id TEXT, client_id TEXT NOT NULL, grant_type TEXT NOT NULL,
    expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens(expires_at);
CREATE INDEX IF NOT EXISTS refresh_tokens_owner ON refresh_tokens(iam_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_key ON refresh_tokens(api_key_id);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash BLOB PRIMARY KEY, iam_id TEXT NOT NULL, account_id TEXT NOT NULL,
    issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS access_tokens_expiry ON access_tokens(expires_at);
CREATE INDEX IF NOT EXISTS access_tokens_owner ON access_tokens(iam_id);
CREATE TABLE IF NOT EXISTS login_failures (
    name_hash BLOB PRIMARY KEY, failures INTEGER NOT NULL, locked_until INTEGER NOT NULL,
    last_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_last ON login_failures(last_at);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, created_at INTEGER NOT NULL);
"""


_FILTER_TERM = re.compile(r'^\s*(name|description)\s+(eq|co|sw|ew)\s+"((?:[^"\\]|\\.)*)"\s*$')


def filter_sql(expression: str) -> tuple[str, list[str]]:
    """SQL for IBM's `filter` query syntax, the subset `<name|description> <eq|co|sw|ew> "v"`
    joined by `and`."""
    clauses: list[str] = []
    params: list[str] = []
    for term in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE):
        m = _FILTER_TERM.match(term)
        if not m:
            raise Invalid(f"Unsupported filter expression: {term.strip()[:100]!r}")
        field, op, value = m[1], m[2], re.sub(r"\\(.)", r"\1", m[3])
        if op == "eq":
            clauses.append(f"{field} = ?")
            params.append(value)
        else:
            pattern = {"co": "%{}%", "sw": "{}%", "ew": "%{}"}[op]
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(f"{field} LIKE ? ESCAPE '\\'")
            params.append(pattern.format(escaped))
    return " AND ".join(clauses), params


# A row's place in a list's order: (its sort key, its rowid).
# (sort key, rowid), or (a prefix of a long sort key, rowid, 1): cloud/common.page_token.
PageKey = tuple[Any, ...]


def page_key(rows: list[sqlite3.Row], limit: int) -> PageKey | None:
    """The place of the last row of a page, when more rows follow it (rows as _page gives them:
    up to LIMIT + 1, or the LIMIT of _listing with its `more`)."""
    if len(rows) < limit or not rows:
        return None
    last = rows[limit - 1]
    return (last["_sortkey"], last["_rowid"])


def page_of(
    rows: list[sqlite3.Row], offset: int, limit: int, record: Callable[[sqlite3.Row], Any]
) -> Page:
    """The Page of up to LIMIT + 1 rows from _page, each made a record."""
    more = len(rows) > limit
    return Page(
        [record(r) for r in rows[:limit]], offset, more, page_key(rows, limit) if more else None
    )


def _database_error(path: str, exc: sqlite3.DatabaseError) -> StoreError:
    message = str(exc)
    if "readonly" in message or "read-only" in message:
        return files.StoreFileError(
            f"the database {path} is read-only; iamcli serve needs to write it: use a "
            "writable copy, or --db :memory:"
        )
    if "not a database" in message or "malformed" in message:
        return files.StoreFileError(
            f"{path} is not an SQLite database, or it is damaged ({message}); move it away "
            "to start afresh, or point --db at another file"
        )
    return files.StoreFileError(f"cannot open the database {path}: {message}")


@contextmanager
def _unstorable_is_invalid() -> Iterator[None]:
    """A value SQLite cannot hold is the caller's mistake, refused as such (400), not a crash:
    an integer beyond 64 bits, or a string with an unpaired surrogate, which has no UTF-8."""
    try:
        yield
    except OverflowError:
        raise Invalid("Validation failed: a number is out of range") from None
    except UnicodeEncodeError:
        raise Invalid("Validation failed: a string holds an unpaired surrogate") from None


class StoreBase:
    """The connection and what every part of the store shares. Safe to share between threads."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        memory = path == ":memory:"
        if not memory:
            # The database holds the signing key: it must be private before SQLite opens it
            # (SQLite gives its -wal and -shm files the database's mode and owner).
            directory = Path(path).absolute().parent
            files.private_dirs(directory)
            files.check_dir(directory)
            os.close(files.open_private(path, os.O_RDWR | os.O_CREAT, "database"))
            files.check_side_files(path)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout = 10000")
            if not memory:
                # WAL lets every uvicorn worker read while one writes; NORMAL keeps each commit
                # durable across a process crash (only an OS crash may lose the last ones).
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            # executescript commits on its own; the schema statements are idempotent.
            self._db.executescript(SCHEMA)
            # Each part of the store may declare its own tables (a TABLES string on its
            # class), so that a new resource brings its schema with it instead of growing
            # this one.
            for part in type(self).__mro__:
                tables = part.__dict__.get("TABLES")
                if isinstance(tables, str):
                    self._db.executescript(tables)
        except sqlite3.DatabaseError as exc:
            raise _database_error(path, exc) from None
        self._seal_key = self._load_seal_key(memory)

    def _identity_deleted(self, db: sqlite3.Connection, account_id: str, iam_id: str) -> None:
        """Called inside the transaction that deletes an identity, for the parts of the store
        that keep something of it (PolicyStore: the policies whose subject it was)."""

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _unstorable_is_invalid():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Row | None:
        with self._lock, _unstorable_is_invalid():
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        with self._lock, _unstorable_is_invalid():
            return self._db.execute(sql, params).fetchall()

    # -- sealing of stored key values ------------------------------------------------------

    def _load_seal_key(self, memory: bool) -> bytes:
        if memory:
            return secrets.token_bytes(32)
        key_path = self.path + ".sealkey"
        for _ in range(2):  # a second round when another worker made the file meanwhile
            try:
                fd = files.open_private(key_path, os.O_RDONLY, "seal key file")
            except files.StoreFileError:
                if os.path.lexists(key_path):
                    raise
            else:
                with os.fdopen(fd, "rb") as f:
                    data = f.read(33)
                if len(data) != 32:
                    raise files.StoreFileError(f"{key_path} is damaged (expected 32 bytes)")
                return data
            if self._one("SELECT 1 FROM api_keys WHERE sealed_value IS NOT NULL LIMIT 1"):
                # A new key would open none of them: every such key would answer 500 for ever.
                raise files.StoreFileError(
                    f"the seal key file {key_path} is missing, and the database holds API key "
                    "values sealed with it; restore the file (a new one cannot open them)"
                )
            try:
                fd = os.open(
                    key_path,
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o600,
                )
            except FileExistsError:
                continue
            except OSError as exc:
                raise files.StoreFileError(
                    f"cannot create the seal key file {key_path}: {exc.strerror}"
                ) from None
            key = secrets.token_bytes(32)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
                f.flush()
                os.fsync(f.fileno())
            return key
        raise files.StoreFileError(f"cannot open the seal key file {key_path}")

    def _seal(self, value: str, key_id: str) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self._seal_key).encrypt(nonce, value.encode(), key_id.encode())

    def _unseal(self, sealed: bytes, key_id: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self._seal_key).decrypt(sealed[:12], sealed[12:], key_id.encode()).decode()

    # -- meta -------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def page_token_key(self) -> bytes:
        """The key that authenticates this database's page tokens (a pagetoken names a place in
        a list; a forged one must be refused, not followed). Derived from the seal key, so every
        worker of one database, and every restart of it, accepts the tokens of the others."""
        return hmac.new(self._seal_key, b"iamcli pagetoken v1", hashlib.sha256).digest()

    def _page(
        self,
        table: str,
        where: list[str],
        params: list[Any],
        sort: str | None,
        allowed: set[str],
        descending: bool,
        offset: int,
        limit: int,
        after: PageKey | None = None,
    ) -> list[sqlite3.Row]:
        """Up to LIMIT + 1 rows (one more tells that more follow), each with its place in the
        order as `_sortkey` and `_rowid` (see page_key). With AFTER, the rows that come after
        that place (keyset paging: no rows are counted off, and rows added or deleted before
        it move nothing); else after skipping OFFSET rows."""
        if sort is not None and sort not in allowed:
            raise Invalid(f"sort must be one of {', '.join(sorted(allowed))}")
        direction = "DESC" if descending else "ASC"
        # rowid breaks ties, so that pages neither repeat nor skip rows of equal sort keys. A
        # missing description sorts as an empty one: a row value with NULL compares as nothing.
        column = sort or "created_at"
        key = f"IFNULL({column}, '')" if column == "description" else column
        order = f"{key} {direction}, rowid {direction}"
        where = list(where)
        params = list(params)
        if after is not None:
            compare = "<" if descending else ">"
            if len(after) > 2:
                # The page token names its row (a sort key too long to carry, cloud/common.py):
                # that row's key while it exists; else the prefix the token kept, stretched to
                # sort after every key it begins in a descending list, so that the next page
                # may repeat rows but never skips one.
                prefix = after[0] + ("\U0010ffff" * 2 if descending else "")
                where.append(
                    f"({key}, rowid) {compare} "
                    f"(COALESCE((SELECT {key} FROM {table} WHERE rowid = ?), ?), ?)"
                )
                params.extend([after[1], prefix, after[1]])
            else:
                where.append(f"({key}, rowid) {compare} (?, ?)")
                params.extend(after)
            offset = 0
        sql = (
            f"SELECT {key} AS _sortkey, rowid AS _rowid, * FROM {table} "
            f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        return self._all(sql, [*params, limit + 1, offset])

    def _listing(
        self,
        table: str,
        equal: dict[str, str | None],
        filter_expr: str | None,
        sort: str | None,
        allowed: set[str],
        descending: bool,
        offset: int,
        limit: int,
        after: PageKey | None = None,
    ) -> tuple[list[sqlite3.Row], bool]:
        """One page of TABLE's rows whose columns equal EQUAL's values (None: any) and meet
        IBM's FILTER_EXPR; and whether more follow."""
        where = [f"{column} = ?" for column, value in equal.items() if value is not None]
        params: list[Any] = [value for value in equal.values() if value is not None]
        if filter_expr:
            clause, extra = filter_sql(filter_expr)
            where.append(clause)
            params.extend(extra)
        rows = self._page(table, where, params, sort, allowed, descending, offset, limit, after)
        return rows[:limit], len(rows) > limit

    # -- signing keys ------------------------------------------------------------------------

    def signing_keys(self) -> list[tuple[str, str]]:
        return [
            (r["kid"], r["private_pem"])
            for r in self._all("SELECT * FROM signing_keys ORDER BY created_at DESC")
        ]

    def add_signing_key(self, kid: str, private_pem: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO signing_keys VALUES (?, ?, ?)",
                (kid, private_pem, formats.now()),
            )
