"""Running the emulator: open the store, make sure an account exists, bind, serve."""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from .app import Settings, create_app
from .signer import Signer
from .store import Store


class ServeError(Exception):
    """The server could not start; the message says why."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 0
    seed_apikey: str | None = None
    account_id: str | None = None
    admin_user: str = "admin"
    admin_password: str | None = None
    tls_dir: str | None = None  # serve HTTPS with a self-signed certificate kept here
    workers: int = 1
    # Member users to make sure of: (name, API key value or None for a generated one).
    users: tuple[tuple[str, str | None], ...] = ()
    # Accounts made children of the seeded account (an enterprise), for enterprise templates.
    child_accounts: tuple[str, ...] = ()
    # (limit name, maximum): the seeded account's identity limits, other than IBM's defaults.
    identity_limits: tuple[tuple[str, int], ...] = ()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def prepare(settings: Settings, options: ServeOptions, err: TextIO) -> Store:
    """Open the store and make sure it has an account, printing a new admin key once."""
    store = Store(settings.db)
    boot = store.bootstrap(
        account_id=options.account_id,
        seed_apikey=options.seed_apikey,
        username=options.admin_user,
        password=options.admin_password,
    )
    if boot.created_apikey:
        err.write(
            f"Created account {boot.account_id} with administrator {boot.username}.\n"
            f"Administrator API key (shown once, keep it safe): {boot.created_apikey}\n"
        )
    if boot.created_password:
        err.write(f"Administrator password (shown once): {boot.created_password}\n")
    for name, key in options.users:
        user, value, created = store.add_member(boot.account_id, name, key=key)
        if created:
            err.write(f"Created user {name} ({user.iam_id}) in account {boot.account_id}.\n")
        if value:
            err.write(f"User {name} API key (shown once, keep it safe): {value}\n")
    for child in options.child_accounts:
        store.add_child_account(boot.account_id, child)
    for name, maximum in options.identity_limits:
        store.set_identity_limit(boot.account_id, name, maximum)
    return store


def _graceful_server_class() -> type[Any]:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """On SIGINT or SIGTERM: stop accepting, finish the requests in flight, return.

        uvicorn itself re-raises the signal after its shutdown, so the process would end
        "killed by SIGTERM"; a stop that was asked for is a normal end, exit status 0.
        """

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {
                sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
            }
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer


def serve(settings: Settings, options: ServeOptions, *, err: TextIO = sys.stderr) -> None:

    if options.workers > 1 and settings.db == ":memory:":
        raise ServeError("several workers need a database file: each would have its own :memory:")
    # The port first: a server that cannot listen must not have made (and shown) a new
    # administrator key that nobody can use.
    try:
        sock = bind(options.host, options.port)
    except OSError as exc:
        raise ServeError(
            f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}"
        ) from None
    try:
        _serve_on(sock, settings, options, err)
    finally:
        sock.close()


def _serve_on(sock: socket.socket, settings: Settings, options: ServeOptions, err: TextIO) -> None:
    import uvicorn

    store = prepare(settings, options, err)
    # Made here, once, before any worker could race another to it.
    Signer(store)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if not is_loopback(options.host):
        err.write(
            f"Warning: iamcli serve is listening on {options.host}, reachable from other "
            "machines; it is a test server. Use --host 127.0.0.1 unless you mean it.\n"
        )
        if settings.vpc_instance is not None:
            err.write(
                "Warning: with --vpc-instance anyone who reaches this port gets the tokens of "
                "the trusted profiles linked to that instance.\n"
            )
    tls: dict[str, str] = {}
    scheme = "http"
    if options.tls_dir is not None:
        from pathlib import Path

        from .tls import self_signed

        cert, key = self_signed(Path(options.tls_dir), [options.host])
        tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        scheme = "https"
        err.write(f"TLS certificate (self-signed; trust it with --ca-bundle): {cert}\n")

    def announce() -> None:
        workers = f", {options.workers} workers" if options.workers > 1 else ""
        err.write(
            f"iamcli serve listening on {scheme}://{shown}:{port} (database {settings.db}"
            f"{workers}); Ctrl-C stops it\n"
        )
        err.flush()

    config: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",  # the shutdown step flushes the access log
        "server_header": False,
        "date_header": True,
        **tls,
    }
    started = True
    if options.workers > 1:
        from . import workers

        store.close()
        started = workers.run(config, settings, sock, options.workers, announce)
    else:
        from .workers import settle

        app = create_app(settings, store, log=err)
        settle()
        announce()
        _graceful_server_class()(uvicorn.Config(app, **config)).run(sockets=[sock])
        store.close()
    if not started:
        raise ServeError("the server's workers did not start; see the errors above")
    err.write("iamcli serve stopped\n")
