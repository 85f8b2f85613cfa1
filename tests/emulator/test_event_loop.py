"""One slow request never stalls the others on the same worker: SQLite calls, scrypt and RS256
signing run off the event loop.

The slow requests are made slow for certain: a store method of the running server is wrapped to
wait until the test lets it go. If the route ran that method on the event loop, the loop would
be stuck in the wait and the fast request could not be answered until the slow ones were let go.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from servers import ADMIN_KEY, Running, running

from iamcli.emulator import web
from iamcli.emulator.app import Settings
from support import APIKEY_GRANT

BX = {"Authorization": "Basic " + base64.b64encode(b"bx:bx").decode()}
HOLD_LIMIT = 30.0  # a held store call lets go by itself after this, whatever the test does
WAIT = 20.0


@dataclass
class Hold:
    """Wraps one store method so that every call waits for `release` (bounded)."""

    entered: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            with self.changed:
                self.entered += 1
                self.changed.notify_all()
            self.release.wait(HOLD_LIMIT)
            return method(*args, **kwargs)

        return held

    def wait_entered(self, count: int) -> int:
        with self.changed:
            self.changed.wait_for(lambda: self.entered >= count, WAIT)
            return self.entered


@pytest.fixture
def server() -> Iterator[Running]:
    with running(Settings(access_log=False)) as s:
        yield s


@dataclass(frozen=True)
class Slow:
    method: str  # the store method made slow
    path: str
    form: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    bearer: bool = False
    password: bool = False  # runs in the password checks' own pool


SLOW = {
    "cloud password grant": Slow(
        "check_password",
        "/identity/token",
        {"grant_type": "password", "username": "admin", "password": "wrong"},
        BX,
        password=True,
    ),
    "private password login": Slow(
        "check_password",
        "/idprovider/v1/auth/identitytoken",
        {"grant_type": "password", "username": "admin", "password": "wrong", "scope": "openid"},
        password=True,
    ),
    "cloud API key grant": Slow(
        "api_key_by_value", "/identity/token", {"grant_type": APIKEY_GRANT, "apikey": ADMIN_KEY}
    ),
    "private API key grant": Slow(
        "api_key_by_value",
        "/iam-token/oidc/token",
        {"grant_type": APIKEY_GRANT, "apikey": ADMIN_KEY},
    ),
    "private introspection": Slow(
        "api_key_by_value", "/iam-token/oidc/introspect", {"apikey": ADMIN_KEY}
    ),
    "cloud list of service IDs": Slow("list_service_ids", "/v1/serviceids", bearer=True),
    "private list of service IDs": Slow("list_service_ids", "/iam-token/serviceids", bearer=True),
}


def _send(server: Running, slow: Slow, token: str) -> int:
    headers = dict(slow.headers or {})
    params = {}
    if slow.bearer:
        headers["Authorization"] = f"Bearer {token}"
        params = {"account_id": server.account_id}
    with httpx.Client(base_url=server.url, timeout=WAIT + HOLD_LIMIT) as c:
        if slow.form is not None:
            return c.post(slow.path, data=slow.form, headers=headers).status_code
        return c.get(slow.path, params=params, headers=headers).status_code


@pytest.mark.parametrize("name", sorted(SLOW))
def test_a_slow_request_does_not_stall_the_others(
    server: Running, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SLOW[name]
    token = server.token()
    hold = Hold()
    monkeypatch.setattr(server.store, slow.method, hold.wrap(getattr(server.store, slow.method)))
    # Password checks have a pool of their own: more of them than the whole default thread
    # pool holds must still leave room for everything else.
    count = 48 if slow.password else 3
    inside = web.PASSWORD_CHECKS if slow.password else count
    pool = ThreadPoolExecutor(count)
    try:
        pending = [pool.submit(_send, server, slow, token) for _ in range(count)]
        assert hold.wait_entered(inside) >= inside, "the slow requests did not all start"
        with httpx.Client(base_url=server.url, timeout=WAIT) as c:
            keys = c.get("/identity/keys")
            bearer = c.get(
                "/v1/apikeys",
                params={"account_id": server.account_id},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert keys.status_code == 200 and keys.json()["keys"]
        assert bearer.status_code == 200, bearer.text
        assert not any(p.done() for p in pending), "a held request finished before its release"
    finally:
        hold.release.set()
        statuses = [p.result(WAIT + HOLD_LIMIT) for p in pending]
        pool.shutdown()
    assert all(s < 500 for s in statuses), statuses


def test_the_key_set_comes_back_while_real_password_checks_run(server: Running) -> None:
    """With real scrypt (no hold): a burst of wrong-password logins, each for a user of its own
    so that no lockout cuts them short, and a key-set read sent after them; the read is
    answered before the last login is."""
    count = 16
    done: dict[str, float] = {}
    started = threading.Event()
    original = server.store.check_password

    def counted(username: str, password: str) -> Any:
        started.set()
        return original(username, password)

    server.store.check_password = counted  # type: ignore[method-assign]

    def login(i: int) -> int:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            r = c.post(
                "/identity/token",
                data={"grant_type": "password", "username": f"nobody-{i}", "password": "x"},
                headers=BX,
            )
        done[f"login-{i}"] = time.monotonic()
        return r.status_code

    with ThreadPoolExecutor(count) as pool:
        logins = [pool.submit(login, i) for i in range(count)]
        assert started.wait(WAIT)
        with httpx.Client(base_url=server.url, timeout=60) as c:
            assert c.get("/identity/keys").status_code == 200
        done["keys"] = time.monotonic()
        statuses = [f.result(60) for f in logins]
    assert statuses == [400] * count
    assert done["keys"] < max(v for k, v in done.items() if k != "keys")
