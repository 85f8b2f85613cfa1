"""Repeated wrong passwords lock a user name's password login for a bounded time, in both API
families, without telling which user names exist (store/passwords.py has the rules)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from servers import ADMIN_PASSWORD, Running, running

from iamcli.emulator import formats
from iamcli.emulator.app import Settings
from iamcli.emulator.store import Store, passwords

BX = {"Authorization": "Basic " + base64.b64encode(b"bx:bx").decode()}


@dataclass
class Clock:
    now: int

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(formats.now())
    monkeypatch.setattr(formats, "now", c)
    return c


@pytest.fixture
def server() -> Iterator[Running]:
    with running(Settings(access_log=False)) as s:
        yield s


def cloud_login(server: Running, password: str, username: str = "admin") -> httpx.Response:
    with server.client() as c:
        return c.post(
            "/identity/token",
            data={"grant_type": "password", "username": username, "password": password},
            headers=BX,
        )


def private_login(server: Running, password: str, username: str = "admin") -> httpx.Response:
    with server.client() as c:
        return c.post(
            "/idprovider/v1/auth/identitytoken",
            data={
                "grant_type": "password",
                "username": username,
                "password": password,
                "scope": "openid",
            },
        )


def fail(server: Running, times: int, username: str = "admin") -> None:
    for _ in range(times):
        assert cloud_login(server, "wrong", username).status_code == 400


def test_five_failures_lock_even_the_right_password_out_in_ibms_shapes(
    server: Running, clock: Clock
) -> None:
    fail(server, passwords.MAX_FAILURES - 1)
    assert cloud_login(server, ADMIN_PASSWORD).status_code == 200  # a success clears the count
    fail(server, passwords.MAX_FAILURES)

    cloud = cloud_login(server, ADMIN_PASSWORD)
    assert cloud.status_code == 403
    body = cloud.json()
    assert set(body) == {"context", "errorCode", "errorMessage"}
    assert "locked" in body["errorMessage"]
    assert cloud.headers["retry-after"] == str(passwords.LOCK_SECONDS)

    private = private_login(server, ADMIN_PASSWORD)
    assert private.status_code == 401
    assert private.json()["error"] == "invalid_grant"
    assert "locked" in private.json()["error_description"]
    assert int(private.headers["retry-after"]) > 0


def test_a_lock_ends_and_attempts_during_it_do_not_prolong_it(
    server: Running, clock: Clock
) -> None:
    fail(server, passwords.MAX_FAILURES)
    clock.now += passwords.LOCK_SECONDS - 1
    assert cloud_login(server, "wrong").status_code == 403
    assert cloud_login(server, ADMIN_PASSWORD).headers["retry-after"] == "1"
    clock.now += 1
    assert cloud_login(server, ADMIN_PASSWORD).status_code == 200
    # The success cleared the count: one more failure does not lock again.
    fail(server, 1)
    assert cloud_login(server, ADMIN_PASSWORD).status_code == 200


def test_after_a_lock_each_failure_locks_again_at_once(server: Running, clock: Clock) -> None:
    fail(server, passwords.MAX_FAILURES)
    clock.now += passwords.LOCK_SECONDS
    fail(server, 1)
    assert cloud_login(server, ADMIN_PASSWORD).status_code == 403


def test_unknown_user_names_lock_the_same_way(server: Running, clock: Clock) -> None:
    fail(server, passwords.MAX_FAILURES, username="nobody")
    locked = cloud_login(server, "wrong", username="nobody")
    assert locked.status_code == 403 and "locked" in locked.json()["errorMessage"]
    assert cloud_login(server, ADMIN_PASSWORD).status_code == 200  # other names are unaffected


def test_concurrent_guesses_get_no_more_checks_than_the_limit(server: Running) -> None:
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: cloud_login(server, "wrong").status_code, range(24)))
    assert sorted(statuses) == [400] * passwords.MAX_FAILURES + [403] * (
        24 - passwords.MAX_FAILURES
    )


def test_a_new_admin_password_lifts_the_lock(server: Running, clock: Clock) -> None:
    fail(server, passwords.MAX_FAILURES)
    server.store.bootstrap(password="a-new-password-1")
    assert cloud_login(server, "a-new-password-1").status_code == 200


def test_the_failure_count_is_bounded(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    monkeypatch.setattr(passwords, "MAX_TRACKED", 3)
    store = Store(":memory:")
    for i in range(10):
        clock.now += 1
        assert store.check_password(f"user-{i}", "x") is None
    rows = store._all("SELECT failures FROM login_failures")
    assert len(rows) == 3
    clock.now += passwords.FORGET_AFTER + 1
    store.check_password("late", "x")
    assert len(store._all("SELECT 1 FROM login_failures")) == 1


@pytest.mark.parametrize("seed", [None, "lockout-seed-key-" + "s" * 20])
def test_a_restart_with_admin_password_sets_it(seed: str | None) -> None:
    """Before, a database that already had its account ignored --admin-password (and so a
    restart could not lift a lockout)."""
    store = Store(":memory:")
    store.bootstrap(seed_apikey=seed, password="first-password-1")
    store.bootstrap(seed_apikey=seed, password="second-password-2")
    assert store.check_password("admin", "first-password-1") is None
    assert store.check_password("admin", "second-password-2") is not None
