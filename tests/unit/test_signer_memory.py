"""The signer remembers verified tokens, never their validity in time."""

from __future__ import annotations

import time

import pytest

from iamcli.emulator import signer as signer_module
from iamcli.emulator.signer import InvalidToken, Signer
from iamcli.emulator.store import Store


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer(Store(":memory:"))
    now = int(time.time())
    token = signer.sign({"iam_id": "IBMid-x", "iat": now - 5, "exp": now + 60})
    assert signer.verify(token)["iam_id"] == "IBMid-x"
    assert token in signer._verified
    later = now + 61.0
    monkeypatch.setattr(signer_module.time, "time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify(token)


def test_callers_cannot_change_what_is_remembered() -> None:
    signer = Signer(Store(":memory:"))
    now = int(time.time())
    token = signer.sign({"iam_id": "IBMid-x", "iat": now, "exp": now + 60})
    signer.verify(token)["iam_id"] = "IBMid-someone-else"
    assert signer.verify(token)["iam_id"] == "IBMid-x"


def test_a_forged_token_is_never_remembered() -> None:
    signer = Signer(Store(":memory:"))
    other = Signer(Store(":memory:"))
    now = int(time.time())
    forged = other.sign({"iam_id": "IBMid-x", "iat": now, "exp": now + 60})
    for _ in range(2):
        with pytest.raises(InvalidToken):
            signer.verify(forged)
    assert forged not in signer._verified


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signer_module, "VERIFIED_KEPT", 3)
    signer = Signer(Store(":memory:"))
    now = int(time.time())
    tokens = [signer.sign({"iam_id": f"IBMid-{i}", "iat": now, "exp": now + 60}) for i in range(5)]
    for token in tokens:
        signer.verify(token)
    assert len(signer._verified) == 3
    assert list(signer._verified) == tokens[2:]
