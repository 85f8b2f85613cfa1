"""The emulator's state: one SQLite database shared by both API families.

Secrets never rest here in usable form. API key values, refresh tokens and opaque access tokens
are stored as SHA-256 digests (they are 256-bit random values, so a slow password hash would buy
nothing), and user passwords as scrypt hashes. The only readable key values are those of
service-ID keys created with `store_value`, and those are sealed with AES-GCM under a key kept
in a separate 0600 file next to the database, so the database file alone holds no usable key.

The store speaks in rows and plain exceptions; each route module renders them in its family's
wire format.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import formats

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
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash BLOB PRIMARY KEY, iam_id TEXT NOT NULL, account_id TEXT NOT NULL,
    api_key_id TEXT, client_id TEXT NOT NULL, grant_type TEXT NOT NULL,
    expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash BLOB PRIMARY KEY, iam_id TEXT NOT NULL, account_id TEXT NOT NULL,
    issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, created_at INTEGER NOT NULL);
"""

SERVICE_ID_SORTS = {"name", "description", "created_at", "modified_at"}
API_KEY_SORTS = {"name", "description", "created_at", "created_by"}
ACTIONS_WHEN_LEAKED = {"none", "disable", "delete"}
MAX_NAME = 1024
MAX_DESCRIPTION = 4096


class StoreError(Exception):
    """Base of what the store refuses; the message is safe to show a caller."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


class StaleVersion(Conflict):
    """An If-Match entity tag that is no longer current."""


class Locked(StoreError):
    pass


class Invalid(StoreError):
    pass


@dataclass(frozen=True)
class User:
    iam_id: str
    account_id: str
    username: str
    email: str
    given_name: str
    family_name: str
    created_at: int

    @property
    def identifier(self) -> str:
        return self.iam_id.removeprefix("IBMid-")

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class ServiceId:
    id: str
    iam_id: str
    account_id: str
    name: str
    description: str | None
    namespace: str
    locked: bool
    version: int
    created_at: int
    modified_at: int
    created_by: str
    unique_instance_crns: tuple[str, ...] = ()

    @property
    def entity_tag(self) -> str:
        return _entity_tag(self.id, self.version, self.modified_at)


@dataclass(frozen=True)
class ApiKey:
    id: str
    account_id: str
    iam_id: str
    owner_kind: str  # "user" or "serviceid"
    name: str
    description: str | None
    locked: bool
    disabled: bool
    support_sessions: bool
    action_when_leaked: str
    expires_at: int | None
    version: int
    created_at: int
    modified_at: int
    created_by: str
    has_sealed_value: bool

    @property
    def entity_tag(self) -> str:
        return _entity_tag(self.id, self.version, self.modified_at)

    def usable(self, at: int) -> bool:
        return not self.disabled and (self.expires_at is None or self.expires_at > at)


Identity = User | ServiceId


@dataclass(frozen=True)
class RefreshGrant:
    iam_id: str
    account_id: str
    api_key_id: str | None
    client_id: str
    grant_type: str
    expires_at: int


@dataclass(frozen=True)
class Bootstrap:
    account_id: str
    created_apikey: str | None  # the admin key, only when this start generated it
    created_password: str | None  # the admin password, only when this start generated it
    username: str


@dataclass(frozen=True)
class Page:
    items: list[Any]
    offset: int
    has_more: bool


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _entity_tag(entity_id: str, version: int, modified_at: int) -> str:
    return f"{version}-{hashlib.md5(f'{entity_id}:{version}:{modified_at}'.encode()).hexdigest()}"


def _hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    hashed = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${hashed.hex()}"


def _check_password(password: str, stored: str) -> bool:
    try:
        _, salt_hex, _ = stored.split("$")
    except ValueError:
        return False
    return hmac.compare_digest(_hash_password(password, bytes.fromhex(salt_hex)), stored)


_FILTER_TERM = re.compile(r'^\s*(name|description)\s+(eq|co|sw|ew)\s+"((?:[^"\\]|\\.)*)"\s*$')


def _filter_sql(expression: str) -> tuple[str, list[str]]:
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


class Store:
    """All emulator state. Safe to share between threads; one instance per process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        memory = path == ":memory:"
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # The database holds the signing key: create it private before SQLite opens it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
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
        self._seal_key = self._load_seal_key(memory)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- sealing of stored key values ------------------------------------------------------

    def _load_seal_key(self, memory: bool) -> bytes:
        if memory:
            return secrets.token_bytes(32)
        key_path = Path(self.path + ".sealkey")
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            data = key_path.read_bytes()
            if len(data) != 32:
                raise StoreError(f"{key_path} is damaged (expected 32 bytes)") from None
            return data
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return key

    def _seal(self, value: str, key_id: str) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self._seal_key).encrypt(nonce, value.encode(), key_id.encode())

    def _unseal(self, sealed: bytes, key_id: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self._seal_key).decrypt(sealed[:12], sealed[12:], key_id.encode()).decode()

    # -- bootstrap ---------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def bootstrap(
        self,
        *,
        account_id: str | None = None,
        seed_apikey: str | None = None,
        username: str = "admin",
        password: str | None = None,
    ) -> Bootstrap:
        """Make sure an account with an admin user and key exists.

        An empty database gets a new account and admin, whose key is generated unless
        `seed_apikey` names it. With `seed_apikey`, the call is idempotent: a key of that value
        that already exists is left alone; otherwise it is added to the admin of `account_id`
        (created when missing), so one database can hold several seeded accounts.
        """
        if account_id is not None and not formats.ACCOUNT_ID_RE.match(account_id):
            raise Invalid("account ID must be 1-64 characters of [A-Za-z0-9_-]")
        if seed_apikey is not None and not seed_apikey.strip():
            raise Invalid("the seed API key must not be empty")
        if seed_apikey is not None and any(c.isspace() for c in seed_apikey):
            raise Invalid("the seed API key must not contain white space")
        with self._tx() as db:
            if seed_apikey is not None:
                row = db.execute(
                    "SELECT account_id FROM api_keys WHERE key_hash = ?", (digest(seed_apikey),)
                ).fetchone()
                if row is not None:
                    return Bootstrap(row["account_id"], None, None, username)
            if account_id is None:
                row = db.execute("SELECT id FROM accounts ORDER BY created_at LIMIT 1").fetchone()
                if row is not None and seed_apikey is None:
                    return Bootstrap(row["id"], None, None, username)
                account_id = row["id"] if row is not None else formats.new_account_id()
            t = formats.now()
            db.execute(
                "INSERT OR IGNORE INTO accounts VALUES (?, ?, ?)",
                (account_id, f"Account {account_id[:8]}", t),
            )
            user = db.execute(
                "SELECT iam_id, username FROM users WHERE account_id = ? ORDER BY created_at",
                (account_id,),
            ).fetchone()
            created_password = None
            if user is None:
                if db.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                    # Usernames are global (password login names no account): suffix the admin
                    # of each further account with its account ID.
                    username = f"{username}-{account_id}"
                if password is None:
                    password = created_password = secrets.token_urlsafe(12)
                iam_id = formats.new_user_iam_id()
                db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        iam_id,
                        account_id,
                        username,
                        f"{username}@example.com",
                        username.capitalize(),
                        "Administrator",
                        _hash_password(password),
                        t,
                    ),
                )
            else:
                iam_id, username = user["iam_id"], user["username"]
                if password is not None:
                    db.execute(
                        "UPDATE users SET password_hash = ? WHERE iam_id = ?",
                        (_hash_password(password), iam_id),
                    )
            has_key = db.execute(
                "SELECT 1 FROM api_keys WHERE iam_id = ? LIMIT 1", (iam_id,)
            ).fetchone()
            if has_key is not None and seed_apikey is None:
                return Bootstrap(account_id, None, created_password, username)
            value = seed_apikey or formats.new_api_key_value()
            self._insert_api_key(
                db,
                account_id=account_id,
                iam_id=iam_id,
                owner_kind="user",
                name="admin-key",
                description="Created by iamcli serve for the administrator",
                value=value,
                store_value=False,
                locked=False,
                disabled=False,
                support_sessions=False,
                action_when_leaked="disable",
                expires_at=None,
                created_by=iam_id,
                at=t,
            )
        return Bootstrap(account_id, None if seed_apikey else value, created_password, username)

    # -- identities --------------------------------------------------------------------------

    def account_exists(self, account_id: str) -> bool:
        return self._one("SELECT 1 FROM accounts WHERE id = ?", (account_id,)) is not None

    def user(self, iam_id: str) -> User | None:
        row = self._one("SELECT * FROM users WHERE iam_id = ?", (iam_id,))
        return None if row is None else _user(row)

    def user_by_name(self, username: str) -> User | None:
        row = self._one("SELECT * FROM users WHERE username = ?", (username,))
        return None if row is None else _user(row)

    def check_password(self, username: str, password: str) -> User | None:
        row = self._one("SELECT * FROM users WHERE username = ?", (username,))
        if row is None or row["password_hash"] is None:
            # Spend the same time as a real check so that timing does not reveal user names.
            _check_password(password, _hash_password("x"))
            return None
        return _user(row) if _check_password(password, row["password_hash"]) else None

    def identity(self, iam_id: str) -> Identity | None:
        if iam_id.startswith("iam-ServiceId-"):
            row = self._one("SELECT * FROM service_ids WHERE iam_id = ?", (iam_id,))
            return None if row is None else _service_id(row)
        return self.user(iam_id)

    # -- service IDs -------------------------------------------------------------------------

    def create_service_id(
        self,
        *,
        account_id: str,
        name: str,
        description: str | None,
        namespace: str = "default",
        locked: bool = False,
        unique_instance_crns: list[str] | None = None,
        created_by: str,
        entity_id: str | None = None,
    ) -> ServiceId:
        """A new service ID; `entity_id` is for seeding a database with known IDs."""
        _check_text(name, description)
        if not name.strip():
            raise Invalid("name must not be empty")
        sid = entity_id or formats.new_service_id()
        t = formats.now()
        with self._tx() as db:
            db.execute(
                "INSERT INTO service_ids VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (
                    sid,
                    "iam-" + sid,
                    account_id,
                    name,
                    description,
                    namespace,
                    int(locked),
                    t,
                    t,
                    created_by,
                    json.dumps(unique_instance_crns or []),
                ),
            )
        return self.service_id(sid)  # type: ignore[return-value]

    def service_id(self, sid: str) -> ServiceId | None:
        row = self._one("SELECT * FROM service_ids WHERE id = ?", (sid,))
        return None if row is None else _service_id(row)

    def list_service_ids(
        self,
        account_id: str,
        *,
        name: str | None = None,
        namespace: str | None = None,
        filter_expr: str | None = None,
        sort: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> Page:
        where, params = ["account_id = ?"], [account_id]
        if name is not None:
            where.append("name = ?")
            params.append(name)
        if namespace is not None:
            where.append("namespace = ?")
            params.append(namespace)
        if filter_expr:
            clause, extra = _filter_sql(filter_expr)
            where.append(clause)
            params.extend(extra)
        rows = self._page(
            "service_ids", where, params, sort, SERVICE_ID_SORTS, descending, offset, limit
        )
        return Page([_service_id(r) for r in rows[:limit]], offset, len(rows) > limit)

    def update_service_id(
        self,
        sid: str,
        *,
        if_match: str | None,
        name: str | None = None,
        description: str | None = None,
        unique_instance_crns: list[str] | None = None,
    ) -> ServiceId:
        _check_text(name, description)
        if name is not None and not name.strip():
            raise Invalid("name must not be empty")
        with self._tx() as db:
            current = self._current_service_id(db, sid, if_match)
            crns = (
                current.unique_instance_crns
                if unique_instance_crns is None
                else (unique_instance_crns)
            )
            db.execute(
                "UPDATE service_ids SET name = ?, description = ?, unique_instance_crns = ?, "
                "version = version + 1, modified_at = ? WHERE id = ?",
                (
                    current.name if name is None else name,
                    current.description if description is None else description,
                    json.dumps(list(crns)),
                    formats.now(),
                    sid,
                ),
            )
        return self.service_id(sid)  # type: ignore[return-value]

    def delete_service_id(self, sid: str) -> None:
        with self._tx() as db:
            current = self._current_service_id(db, sid, None)
            # Its keys go first, as IBM deletes them first; then every grant it holds.
            db.execute("DELETE FROM api_keys WHERE iam_id = ?", (current.iam_id,))
            db.execute("DELETE FROM refresh_tokens WHERE iam_id = ?", (current.iam_id,))
            db.execute("DELETE FROM access_tokens WHERE iam_id = ?", (current.iam_id,))
            db.execute("DELETE FROM service_ids WHERE id = ?", (sid,))

    def set_service_id_locked(self, sid: str, locked: bool) -> ServiceId:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM service_ids WHERE id = ?", (sid,)).fetchone() is None:
                raise NotFound(f"Service ID {sid} not found")
            db.execute(
                "UPDATE service_ids SET locked = ?, version = version + 1, modified_at = ? "
                "WHERE id = ?",
                (int(locked), formats.now(), sid),
            )
        return self.service_id(sid)  # type: ignore[return-value]

    def _current_service_id(
        self, db: sqlite3.Connection, sid: str, if_match: str | None
    ) -> ServiceId:
        row = db.execute("SELECT * FROM service_ids WHERE id = ?", (sid,)).fetchone()
        if row is None:
            raise NotFound(f"Service ID {sid} not found")
        current = _service_id(row)
        if current.locked:
            raise Locked(f"Service ID {sid} is locked")
        if if_match not in (None, "*") and if_match != current.entity_tag:
            raise StaleVersion(
                f"Service ID {sid} was changed by someone else (version {current.entity_tag})"
            )
        return current

    # -- API keys ----------------------------------------------------------------------------

    def create_api_key(
        self,
        *,
        account_id: str,
        iam_id: str,
        name: str,
        description: str | None,
        value: str | None = None,
        store_value: bool = False,
        locked: bool = False,
        disabled: bool = False,
        support_sessions: bool = False,
        action_when_leaked: str = "disable",
        expires_at: int | None = None,
        created_by: str,
        entity_id: str | None = None,
    ) -> tuple[ApiKey, str]:
        """The new key and its value, which is not kept and cannot be read again (unless
        `store_value`). `entity_id` is for seeding a database with known IDs."""
        _check_text(name, description)
        if value is not None and not formats.APIKEY_VALUE_RE.match(value):
            raise Invalid("apikey must be 32 to 256 characters without white space")
        if action_when_leaked not in ACTIONS_WHEN_LEAKED:
            raise Invalid("action_when_leaked must be one of none, disable, delete")
        owner_kind = "serviceid" if iam_id.startswith("iam-ServiceId-") else "user"
        if store_value and owner_kind == "user":
            raise Invalid("store_value is only allowed for API keys of service IDs")
        value = value or formats.new_api_key_value()
        with self._tx() as db:
            kid = self._insert_api_key(
                db,
                account_id=account_id,
                iam_id=iam_id,
                owner_kind=owner_kind,
                name=name,
                description=description,
                value=value,
                store_value=store_value,
                locked=locked,
                disabled=disabled,
                support_sessions=support_sessions,
                action_when_leaked=action_when_leaked,
                expires_at=expires_at,
                created_by=created_by,
                at=formats.now(),
                entity_id=entity_id,
            )
        return self.api_key(kid), value  # type: ignore[return-value]

    def _insert_api_key(
        self,
        db: sqlite3.Connection,
        *,
        value: str,
        store_value: bool,
        at: int,
        entity_id: str | None = None,
        **fields: Any,
    ) -> str:
        kid = entity_id or formats.new_api_key_id()
        key_hash = digest(value)
        if db.execute("SELECT 1 FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone():
            raise Conflict("An API key with this value already exists")
        db.execute(
            "INSERT INTO api_keys (id, account_id, iam_id, owner_kind, name, description, "
            "key_hash, sealed_value, locked, disabled, support_sessions, action_when_leaked, "
            "expires_at, version, created_at, modified_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (
                kid,
                fields["account_id"],
                fields["iam_id"],
                fields["owner_kind"],
                fields["name"],
                fields["description"],
                key_hash,
                self._seal(value, kid) if store_value else None,
                int(fields["locked"]),
                int(fields["disabled"]),
                int(fields["support_sessions"]),
                fields["action_when_leaked"],
                fields["expires_at"],
                at,
                at,
                fields["created_by"],
            ),
        )
        return kid

    def api_key(self, kid: str) -> ApiKey | None:
        row = self._one("SELECT * FROM api_keys WHERE id = ?", (kid,))
        return None if row is None else _api_key(row)

    def api_key_by_value(self, value: str) -> ApiKey | None:
        # The lookup goes through the digest's index, so its timing depends only on a one-way
        # hash of the value: no prefix of a real key can be learnt from response times.
        row = self._one("SELECT * FROM api_keys WHERE key_hash = ?", (digest(value),))
        return None if row is None else _api_key(row)

    def stored_value(self, key: ApiKey) -> str | None:
        row = self._one("SELECT sealed_value FROM api_keys WHERE id = ?", (key.id,))
        if row is None or row["sealed_value"] is None:
            return None
        return self._unseal(row["sealed_value"], key.id)

    def list_api_keys(
        self,
        account_id: str,
        *,
        iam_id: str | None = None,
        owner_kind: str | None = None,
        filter_expr: str | None = None,
        sort: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> Page:
        where, params = ["account_id = ?"], [account_id]
        if iam_id is not None:
            where.append("iam_id = ?")
            params.append(iam_id)
        if owner_kind is not None:
            where.append("owner_kind = ?")
            params.append(owner_kind)
        if filter_expr:
            clause, extra = _filter_sql(filter_expr)
            where.append(clause)
            params.extend(extra)
        rows = self._page("api_keys", where, params, sort, API_KEY_SORTS, descending, offset, limit)
        return Page([_api_key(r) for r in rows[:limit]], offset, len(rows) > limit)

    def update_api_key(
        self,
        kid: str,
        *,
        if_match: str | None,
        name: str | None = None,
        description: str | None = None,
        support_sessions: bool | None = None,
        action_when_leaked: str | None = None,
        expires_at: int | None = None,
    ) -> ApiKey:
        _check_text(name, description)
        if name is not None and not name.strip():
            raise Invalid("name must not be empty")
        if action_when_leaked is not None and action_when_leaked not in ACTIONS_WHEN_LEAKED:
            raise Invalid("action_when_leaked must be one of none, disable, delete")
        with self._tx() as db:
            c = self._current_api_key(db, kid, if_match)
            db.execute(
                "UPDATE api_keys SET name = ?, description = ?, support_sessions = ?, "
                "action_when_leaked = ?, expires_at = ?, version = version + 1, "
                "modified_at = ? WHERE id = ?",
                (
                    c.name if name is None else name,
                    c.description if description is None else description,
                    int(c.support_sessions if support_sessions is None else support_sessions),
                    action_when_leaked or c.action_when_leaked,
                    c.expires_at if expires_at is None else expires_at,
                    formats.now(),
                    kid,
                ),
            )
        return self.api_key(kid)  # type: ignore[return-value]

    def delete_api_key(self, kid: str) -> None:
        with self._tx() as db:
            self._current_api_key(db, kid, None)
            # Tokens already issued stay valid until they expire, as IBM documents; only the
            # key's own refresh grants end with it.
            db.execute("DELETE FROM refresh_tokens WHERE api_key_id = ?", (kid,))
            db.execute("DELETE FROM api_keys WHERE id = ?", (kid,))

    def set_api_key_flag(self, kid: str, flag: str, value: bool) -> ApiKey:
        if flag not in ("locked", "disabled"):
            raise ValueError(flag)
        with self._tx() as db:
            row = db.execute("SELECT * FROM api_keys WHERE id = ?", (kid,)).fetchone()
            if row is None:
                raise NotFound(f"API key {kid} not found")
            if flag == "disabled" and row["locked"]:
                raise Locked(f"API key {kid} is locked")
            db.execute(
                f"UPDATE api_keys SET {flag} = ?, version = version + 1, modified_at = ? "
                "WHERE id = ?",
                (int(value), formats.now(), kid),
            )
        return self.api_key(kid)  # type: ignore[return-value]

    def _current_api_key(self, db: sqlite3.Connection, kid: str, if_match: str | None) -> ApiKey:
        row = db.execute("SELECT * FROM api_keys WHERE id = ?", (kid,)).fetchone()
        if row is None:
            raise NotFound(f"API key {kid} not found")
        current = _api_key(row)
        if current.locked:
            raise Locked(f"API key {kid} is locked")
        if if_match not in (None, "*") and if_match != current.entity_tag:
            raise StaleVersion(
                f"API key {kid} was changed by someone else (version {current.entity_tag})"
            )
        return current

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
    ) -> list[sqlite3.Row]:
        if sort is not None and sort not in allowed:
            raise Invalid(f"sort must be one of {', '.join(sorted(allowed))}")
        direction = "DESC" if descending else "ASC"
        # rowid breaks ties, so that pages neither repeat nor skip rows of equal sort keys.
        order = f"{sort or 'created_at'} {direction}, rowid {direction}"
        sql = f"SELECT * FROM {table} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ? OFFSET ?"
        return self._all(sql, [*params, limit + 1, offset])

    # -- grants ------------------------------------------------------------------------------

    def add_refresh_token(self, grant: RefreshGrant) -> str:
        token = secrets.token_urlsafe(48)
        with self._tx() as db:
            db.execute(
                "INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    digest(token),
                    grant.iam_id,
                    grant.account_id,
                    grant.api_key_id,
                    grant.client_id,
                    grant.grant_type,
                    grant.expires_at,
                ),
            )
            # Expired grants are useless; sweeping them here keeps the table small.
            db.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (formats.now() - 86400,))
        return token

    def refresh_grant(self, token: str) -> RefreshGrant | None:
        row = self._one("SELECT * FROM refresh_tokens WHERE token_hash = ?", (digest(token),))
        if row is None:
            return None
        return RefreshGrant(
            row["iam_id"],
            row["account_id"],
            row["api_key_id"],
            row["client_id"],
            row["grant_type"],
            row["expires_at"],
        )

    def add_opaque_access_token(self, iam_id: str, account_id: str, ttl: int) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        issued = formats.now()
        with self._tx() as db:
            db.execute(
                "INSERT INTO access_tokens VALUES (?, ?, ?, ?, ?)",
                (digest(token), iam_id, account_id, issued, issued + ttl),
            )
            db.execute("DELETE FROM access_tokens WHERE expires_at < ?", (issued - 86400,))
        return token, issued + ttl

    def opaque_access_token(self, token: str) -> tuple[str, str, int, int] | None:
        """(iam_id, account_id, issued_at, expires_at) of an opaque user access token."""
        row = self._one("SELECT * FROM access_tokens WHERE token_hash = ?", (digest(token),))
        if row is None:
            return None
        return row["iam_id"], row["account_id"], row["issued_at"], row["expires_at"]

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


def _check_text(name: str | None, description: str | None) -> None:
    if name is not None and len(name) > MAX_NAME:
        raise Invalid(f"name must be at most {MAX_NAME} characters")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise Invalid(f"description must be at most {MAX_DESCRIPTION} characters")


def _user(row: sqlite3.Row) -> User:
    return User(
        row["iam_id"],
        row["account_id"],
        row["username"],
        row["email"],
        row["given_name"],
        row["family_name"],
        row["created_at"],
    )


def _service_id(row: sqlite3.Row) -> ServiceId:
    return ServiceId(
        row["id"],
        row["iam_id"],
        row["account_id"],
        row["name"],
        row["description"],
        row["namespace"],
        bool(row["locked"]),
        row["version"],
        row["created_at"],
        row["modified_at"],
        row["created_by"],
        tuple(json.loads(row["unique_instance_crns"])),
    )


def _api_key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        row["id"],
        row["account_id"],
        row["iam_id"],
        row["owner_kind"],
        row["name"],
        row["description"],
        bool(row["locked"]),
        bool(row["disabled"]),
        bool(row["support_sessions"]),
        row["action_when_leaked"],
        row["expires_at"],
        row["version"],
        row["created_at"],
        row["modified_at"],
        row["created_by"],
        row["sealed_value"] is not None,
    )
