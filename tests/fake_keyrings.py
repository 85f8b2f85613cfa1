"""Keyring backends for tests that need one other than the real Secret Service.

Importable by name (`PYTHON_KEYRING_BACKEND=fake_keyrings.LockedKeyring`) when `tests/` is on
PYTHONPATH, so a CLI subprocess can be given a locked keyring too.
"""

from __future__ import annotations

import keyring.backend
import keyring.errors


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A working keyring that lives in this process only."""

    # Never chosen (or chained) by keyring on its own: tests install it by name.
    priority = 0  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError(username)
        del self.entries[(service, username)]


class LockedKeyring(MemoryKeyring):
    """A collection that stays locked, as on a headless login with no prompter."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")
