"""Real servers for tests: the emulator in a thread, or `iamcli serve` as a process.

Both listen on 127.0.0.1 with a port the OS picks, and both stop within a bounded time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from iamcli.emulator.app import Settings, create_app
from iamcli.emulator.server import bind
from iamcli.emulator.store import DEFAULT_LIMITS, Store
from iamcli.emulator.tls import self_signed

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
REAL_KEYRING = os.environ.get("IAMCLI_TEST_REAL_KEYRING") == "1"
STARTUP_TIMEOUT = 20.0


class ThreadServer:
    """The emulator app under uvicorn in a background thread."""

    def __init__(self, settings: Settings, store: Store, *, tls_dir: Path | None = None) -> None:
        self.store = store
        self.app = create_app(settings, store, log=open(os.devnull, "w"))  # noqa: SIM115
        self._sock = bind("127.0.0.1", 0)
        self.port = self._sock.getsockname()[1]
        tls: dict[str, str] = {}
        self.ca_bundle: Path | None = None
        if tls_dir is not None:
            cert, key = self_signed(tls_dir, ["127.0.0.1"])
            tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
            self.ca_bundle = cert
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            **tls,  # type: ignore[arg-type]
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> ThreadServer:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


@dataclass
class Account:
    account_id: str
    apikey: str
    username: str
    password: str


@dataclass
class Emulator:
    """A running emulator with two seeded accounts, A and B."""

    server: ThreadServer
    a: Account
    b: Account
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def store(self) -> Store:
        return self.server.store

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)

    def token(self, apikey: str | None = None, *, fresh: bool = False) -> str:
        """An access token for an API key (account A's admin by default), minted over HTTP."""
        apikey = apikey or self.a.apikey
        if fresh or apikey not in self._tokens:
            with self.client() as c:
                r = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": apikey})
            r.raise_for_status()
            self._tokens[apikey] = r.json()["access_token"]
        return self._tokens[apikey]

    def auth(self, apikey: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(apikey)}"}


def seeded_emulator(db: str, **settings: Any) -> Emulator:
    store = Store(db)
    accounts = []
    for n, name in enumerate(("alice", "bob")):
        apikey = f"test-admin-key-{name}-{'x' * 24}"
        password = f"pw-{name}-secret"
        boot = store.bootstrap(
            account_id=f"acct{n}{'0' * 28}", seed_apikey=apikey, username=name, password=password
        )
        accounts.append(Account(boot.account_id, apikey, boot.username, password))
        # The whole suite shares these accounts (hundreds of keys for one service ID, to page
        # through): no count limit may stop it. Limits on what one profile holds keep IBM's
        # defaults, which tests of profiles check; servers of their own test the rest.
        for limit in DEFAULT_LIMITS:
            if not limit.endswith("_per_profile"):
                store.set_identity_limit(boot.account_id, limit, 1_000_000)
    server = ThreadServer(Settings(db=db, **settings), store).start()
    return Emulator(server, accounts[0], accounts[1])


@dataclass
class ServeProcess:
    """`iamcli serve` run as a user runs it, in its own process."""

    proc: subprocess.Popen[str]
    url: str
    stderr_lines: list[str]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def iamcli_command() -> list[str]:
    return [sys.executable, "-m", "iamcli"]


@contextmanager
def serve_process(*args: str, env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    proc = subprocess.Popen(
        [*iamcli_command(), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A private IAMCLI_HOME unless the test names one: never the real data dir.
        env={**os.environ, "IAMCLI_HOME": tempfile.mkdtemp(prefix="iamcli-serve-"), **(env or {})},
    )
    lines: list[str] = []
    url = None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    assert proc.stderr is not None
    while url is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"iamcli serve did not start: {lines}")
        line = proc.stderr.readline()
        if not line:
            proc.wait(5)
            raise RuntimeError(f"iamcli serve exited early: {lines}")
        lines.append(line)
        if m := re.search(r"listening on (https?://\S+)", line):
            url = m[1]
    # Keep draining stderr so the server never blocks on a full pipe.
    drainer = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
    drainer.start()
    served = ServeProcess(proc, url, lines)
    try:
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        drainer.join(5)


def tmp_db(path: Path) -> str:
    return str(path / "serve.db")


def stored_secret(profile: str, kind: str) -> str | None:
    """What the keyring holds for a profile, read through the keyring itself."""
    import keyring

    from iamcli import credentials

    return keyring.get_password(credentials.service_name(), f"{profile}/{kind}")


def files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
