"""Accounts and users, bootstrap of a new database, and who an IAM ID names."""

from __future__ import annotations

import secrets
import sqlite3

from .. import formats
from .api_keys import ApiKeyStore
from .passwords import PasswordStore, hash_password
from .records import (
    Bootstrap,
    Identity,
    Invalid,
    User,
    digest,
    profile_from_row,
    service_id_from_row,
    user_from_row,
)


class AccountStore(ApiKeyStore, PasswordStore):
    def bootstrap(
        self,
        *,
        account_id: str | None = None,
        seed_apikey: str | None = None,
        username: str = "admin",
        password: str | None = None,
        generated_password: tuple[str, str] | None = None,
    ) -> Bootstrap:
        """Make sure an account with an admin user and key exists.

        An empty database gets a new account and admin, whose key is generated unless
        `seed_apikey` names it. With `seed_apikey`, the call is idempotent: a key of that value
        that already exists is left alone; otherwise it is added to the admin of `account_id`
        (created when missing), so one database can hold several seeded accounts.
        `generated_password` is (password, its hash_password) to use when one is generated
        (made ahead, in parallel with the server's start).
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
                    self._set_admin_password(db, row["account_id"], password)
                    return Bootstrap(row["account_id"], None, None, username)
            if account_id is None:
                row = db.execute("SELECT id FROM accounts ORDER BY created_at LIMIT 1").fetchone()
                if row is not None and seed_apikey is None:
                    self._set_admin_password(db, row["id"], password)
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
                hashed = None
                if password is None:
                    password, hashed = generated_password or (secrets.token_urlsafe(12), None)
                    created_password = password
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
                        hashed or hash_password(password),
                        t,
                    ),
                )
            else:
                iam_id, username = user["iam_id"], user["username"]
                self._set_admin_password(db, account_id, password)
            has_key = db.execute(
                "SELECT 1 FROM api_keys WHERE iam_id = ? LIMIT 1", (iam_id,)
            ).fetchone()
            if has_key is not None and seed_apikey is None:
                return Bootstrap(account_id, None, created_password, username)
            value = seed_apikey or formats.new_api_key_value()
            self._insert_user_key(
                db, account_id, iam_id, "admin-key", "for the administrator", value, t
            )
        return Bootstrap(account_id, None if seed_apikey else value, created_password, username)

    def _insert_user_key(
        self,
        db: sqlite3.Connection,
        account_id: str,
        iam_id: str,
        name: str,
        purpose: str,
        value: str,
        at: int,
    ) -> None:
        """A user's key made by the server itself (the seed of an account or a member)."""
        self._insert_api_key(
            db,
            account_id=account_id,
            iam_id=iam_id,
            owner_kind="user",
            name=name,
            description=f"Created by iamcli serve {purpose}",
            value=value,
            store_value=False,
            locked=False,
            disabled=False,
            support_sessions=False,
            action_when_leaked="disable",
            expires_at=None,
            created_by=iam_id,
            at=at,
        )

    # -- member users ------------------------------------------------------------------------

    def add_member(
        self, account_id: str, username: str, *, email: str | None = None, key: str | None = None
    ) -> tuple[User, str | None, bool]:
        """A user of ACCOUNT_ID besides its owner: (user, generated key value, created).

        A new user gets an API key: KEY when given, else a generated one, returned once. An
        existing user of the account is left alone, except that a KEY it lacks is added (so
        `serve --user NAME:@FILE` is idempotent and can give an invited user a key)."""
        if not username or len(username) > 256 or any(c.isspace() for c in username):
            raise Invalid("a user name must be 1-256 characters without white space")
        if key is not None and not formats.APIKEY_VALUE_RE.match(key):
            raise Invalid("an API key must be 32 to 256 characters without white space")
        t = formats.now()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise Invalid(f"account {account_id} does not exist")
            row = db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
            created = row is None
            if row is not None and row["account_id"] != account_id:
                raise Invalid(f"user name {username} is taken in another account")
            if row is None:
                iam_id = formats.new_user_iam_id()
                local = username.split("@", 1)[0]
                db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                    (
                        iam_id,
                        account_id,
                        username,
                        email or (username if "@" in username else f"{username}@example.com"),
                        local.capitalize(),
                        "Member",
                        t,
                    ),
                )
            else:
                iam_id = row["iam_id"]
            value: str | None = None
            if key is not None:
                if db.execute(
                    "SELECT 1 FROM api_keys WHERE key_hash = ?", (digest(key),)
                ).fetchone():
                    key = None
            elif created:
                value = key = formats.new_api_key_value()
            if key is not None:
                self._insert_user_key(
                    db, account_id, iam_id, f"{username}-key", "for a member user", key, t
                )
        user = self.user(iam_id)
        assert user is not None
        return user, value, created

    def users_of(self, account_id: str) -> list[User]:
        rows = self._all(
            "SELECT * FROM users WHERE account_id = ? ORDER BY created_at, rowid", (account_id,)
        )
        return [user_from_row(r) for r in rows]

    def remove_user(self, iam_id: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT account_id FROM users WHERE iam_id = ?", (iam_id,)).fetchone()
            if row is not None:
                self._identity_deleted(db, row["account_id"], iam_id)
            db.execute("DELETE FROM api_keys WHERE iam_id = ?", (iam_id,))
            db.execute("DELETE FROM refresh_tokens WHERE iam_id = ?", (iam_id,))
            db.execute("DELETE FROM access_tokens WHERE iam_id = ?", (iam_id,))
            db.execute("DELETE FROM users WHERE iam_id = ?", (iam_id,))

    @staticmethod
    def _set_admin_password(db: sqlite3.Connection, account_id: str, password: str | None) -> None:
        """A restart with --admin-password sets it, whatever else the database holds."""
        if password is None:
            return
        user = db.execute(
            "SELECT iam_id, username FROM users WHERE account_id = ? ORDER BY created_at",
            (account_id,),
        ).fetchone()
        if user is None:
            return
        db.execute(
            "UPDATE users SET password_hash = ? WHERE iam_id = ?",
            (hash_password(password), user["iam_id"]),
        )
        # A new password lifts a lockout, as a reset does for an IBMid.
        db.execute("DELETE FROM login_failures WHERE name_hash = ?", (digest(user["username"]),))

    # -- identities --------------------------------------------------------------------------

    def account_exists(self, account_id: str) -> bool:
        return self._one("SELECT 1 FROM accounts WHERE id = ?", (account_id,)) is not None

    def user(self, iam_id: str) -> User | None:
        row = self._one("SELECT * FROM users WHERE iam_id = ?", (iam_id,))
        return None if row is None else user_from_row(row)

    def user_ids_of(self, account_id: str) -> list[str]:
        return [
            str(r["iam_id"])
            for r in self._all("SELECT iam_id FROM users WHERE account_id = ?", (account_id,))
        ]

    def user_by_name(self, username: str) -> User | None:
        row = self._one("SELECT * FROM users WHERE username = ?", (username,))
        return None if row is None else user_from_row(row)

    def identity(self, iam_id: str) -> Identity | None:
        if iam_id.startswith("iam-Profile-"):
            row = self._one("SELECT * FROM profiles WHERE iam_id = ?", (iam_id,))
            return None if row is None else profile_from_row(row)
        if iam_id.startswith("iam-ServiceId-"):
            row = self._one("SELECT * FROM service_ids WHERE iam_id = ?", (iam_id,))
            return None if row is None else service_id_from_row(row)
        return self.user(iam_id)
