"""Running the real CLI on a pseudo-terminal, as a person at a terminal runs it.

stdin and stdout are the terminal (its size set with TIOCSWINSZ, COLUMNS unset, so the program
reads the size as it would in a real one); stderr is a pipe, so a test can tell the two apart.
The terminal is the child's controlling terminal: Ctrl-C typed on it sends SIGINT, as a shell's
would.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from support import iamcli_command

DEADLINE = 60.0


def _controlling_tty() -> None:
    # Runs in the child after setsid(): make the terminal on fd 0 its controlling terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class Terminal:
    proc: subprocess.Popen[bytes]
    master: int
    screen: bytearray = field(default_factory=bytearray)
    errors: bytearray = field(default_factory=bytearray)

    def _pump(self, timeout: float) -> None:
        assert self.proc.stderr is not None
        ready, _, _ = select.select([self.master, self.proc.stderr], [], [], timeout)
        for fd in ready:
            try:
                data = os.read(fd if isinstance(fd, int) else fd.fileno(), 65536)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            (self.screen if fd == self.master else self.errors).extend(data)

    def expect(self, text: str, *, on: str = "any", timeout: float = 30) -> None:
        """Wait until `text` shows (on "screen" = the terminal, "stderr", or "any")."""
        deadline = time.monotonic() + timeout
        needle = text.encode()
        while True:
            places = {"screen": [self.screen], "stderr": [self.errors]}.get(
                on, [self.screen, self.errors]
            )
            if any(needle in bytes(p) for p in places):
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self._pump(0.2)
                if any(needle in bytes(p) for p in places):
                    return
                raise AssertionError(f"{text!r} never showed: {self.stdout!r} / {self.stderr!r}")
            self._pump(0.1)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, timeout: float = DEADLINE) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError("the command did not end")
            self._pump(0.1)
        for _ in range(20):  # what is left in the buffers
            before = len(self.screen) + len(self.errors)
            self._pump(0.05)
            if len(self.screen) + len(self.errors) == before:
                break
        os.close(self.master)
        return self.proc.returncode

    @property
    def stdout(self) -> str:
        return self.screen.decode("utf-8", "replace").replace("\r\n", "\n")

    @property
    def stderr(self) -> str:
        return self.errors.decode("utf-8", "replace")


def run_on_terminal(
    *args: str, env: dict[str, str], columns: int = 80, rows: int = 40, cwd: Path | None = None
) -> Terminal:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    tests_dir = str(Path(__file__).resolve().parent)
    full = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    full["PYTHONPATH"] = os.pathsep.join(p for p in (tests_dir, full.get("PYTHONPATH", "")) if p)
    full.setdefault("TERM", "xterm")
    proc = subprocess.Popen(
        [*iamcli_command(), *args],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=full,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_controlling_tty,  # the child needs the terminal as its controlling one
    )
    os.close(slave)
    return Terminal(proc, master)


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers: a request to it waits."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._held: list[object] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
