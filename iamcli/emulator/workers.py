"""Several uvicorn worker processes on one listening socket, for throughput.

RS256 signing is CPU-bound and Python runs one thread at a time, so a second core needs a
second process. The parent binds the socket, bootstraps the database and makes the signing key
before any worker starts (so first-start output happens once and workers never race to create a
key); each worker then opens its own Store on the same WAL database and parses the keys once.

Supervision is uvicorn's own (restart of a dead worker, health checks, stop on SIGINT/SIGTERM).
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from .app import Settings, create_app

WORKER_START_TIMEOUT = 30.0


def default_workers(db: str) -> int:
    if db == ":memory:":
        return 1  # each worker would have a database of its own
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_app(settings: Settings, parent: int) -> FastAPI:
    """The app of one worker process (an app factory; uvicorn calls it in the worker)."""
    _die_with_parent(parent)
    app = create_app(settings, log=sys.stderr)
    settle()
    return app


def settle() -> None:
    """Exempt everything made at start-up from garbage collection, and collect from now on.

    The modules and the app are some 60,000 objects that live as long as the process; a full
    collection walks them all, a pause of about 30 ms here, which lands on some unlucky
    request's latency. Collection is off while the server starts (`iamcli serve` turns it off
    before its imports, ~10% of the start): the little cyclic garbage the imports leave is
    frozen with the rest rather than collected, which would cost a full collection (~50 ms)
    before the first answer.
    """
    gc.freeze()
    gc.enable()


def _die_with_parent(parent: int) -> None:
    # A worker outliving a SIGKILLed parent would keep the port and the database busy; on Linux
    # the kernel can end it with its parent.
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def run(
    config_kwargs: dict[str, Any],
    settings: Settings,
    sock: socket.socket,
    workers: int,
    on_ready: Callable[[], None],
) -> bool:
    """Serve with `workers` processes until SIGINT or SIGTERM. False when they could not start."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    class Supervisor(Multiprocess):
        failed = False

        def init_processes(self) -> None:
            super().init_processes()
            if all(
                p.wait_until_ready(WORKER_START_TIMEOUT, self.should_exit) for p in self.processes
            ):
                on_ready()
            else:
                self.failed = True
                self.should_exit.set()

    config = uvicorn.Config(
        functools.partial(worker_app, settings, os.getpid()),
        factory=True,
        workers=workers,
        **config_kwargs,
    )
    supervisor = Supervisor(config, sockets=[sock])
    supervisor.run()
    return not supervisor.failed
