"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support import Emulator, seeded_emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for the session, on 127.0.0.1, with two seeded accounts."""
    db = tmp_path_factory.mktemp("emulator") / "serve.db"
    emu = seeded_emulator(str(db))
    yield emu
    emu.server.stop()


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A server for one test module: account A is an enterprise with one child account, B."""
    emu = seeded_emulator(str(tmp_path_factory.mktemp("ent") / "iam.db"))
    emu.store.add_child_account(emu.a.account_id, emu.b.account_id)
    yield emu
    emu.server.stop()
