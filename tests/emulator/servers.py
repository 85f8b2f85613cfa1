"""Emulators with settings of their own (faults, a fresh database), for the tests of this folder.

Like support.ThreadServer, but the app is built from any Settings, the database is
bootstrapped with a known administrator, and uvicorn's HTTP implementation can be chosen.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from iamcli.emulator.app import Settings, create_app
from iamcli.emulator.server import bind
from iamcli.emulator.store import Store
from support import APIKEY_GRANT

ADMIN_KEY = "servers-admin-key-" + "k" * 30
ADMIN_PASSWORD = "servers-admin-password"
START_TIMEOUT = 20.0


@dataclass
class Running:
    url: str
    store: Store
    app: Any
    account_id: str

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)

    def token(self, apikey: str = ADMIN_KEY) -> str:
        with self.client() as c:
            r = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": apikey})
        r.raise_for_status()
        return str(r.json()["access_token"])


@contextmanager
def running(
    settings: Settings, *, http: str = "auto", store: Store | None = None
) -> Iterator[Running]:
    """The emulator under uvicorn in a thread on 127.0.0.1, stopped within a bounded time."""
    store = store or Store(settings.db)
    boot = store.bootstrap(seed_apikey=ADMIN_KEY, username="admin", password=ADMIN_PASSWORD)
    with open(os.devnull, "w") as devnull:
        app = create_app(settings, store, log=devnull)
        sock = bind("127.0.0.1", 0)
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", http=http
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not server.started:
                if time.monotonic() > deadline or not thread.is_alive():
                    raise RuntimeError("emulator did not start")
                time.sleep(0.01)
            yield Running(f"http://127.0.0.1:{sock.getsockname()[1]}", store, app, boot.account_id)
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()


ROLE = "crn:v1:bluemix:public:iam::::role:"


def grant(admin: httpx.Client, account: str, iam_id: str, role: str, **attrs: str) -> str:
    """The ID of a new v1 access policy: ROLE (a platform role's name) for IAM_ID on the
    resource of ACCOUNT that ATTRS name, made by ADMIN (a client with the owner's token)."""
    resource = [{"name": "accountId", "value": account}]
    resource += [{"name": k, "value": v} for k, v in attrs.items()]
    r = admin.post(
        "/v1/policies",
        json={
            "type": "access",
            "subjects": [{"attributes": [{"name": "iam_id", "value": iam_id}]}],
            "roles": [{"role_id": ROLE + role}],
            "resources": [{"attributes": resource}],
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])
