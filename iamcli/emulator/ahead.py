"""What a new database needs, made in a child process while the server starts.

A new database needs an RSA-2048 signing key before the server can answer (its JWKS, its
tokens), 40-200 ms of CPU (a random search for primes), and an administrator password, whose
scrypt hash is ~60 ms more. Neither OpenSSL's key generation nor scrypt lets go of Python's
lock, so a thread would not help; a forked child does both on another core while this process
imports the server (the largest part of its start), and hands them over through a pipe. The
key never touches the disk on the way; the store keeps both as it keeps every key and hash.

Only stdlib is imported here: this runs before the heavy imports it overlaps with.
"""

from __future__ import annotations

import os
import secrets
import sys
from typing import Any

_MAX = 64 * 1024


class Ahead:
    """Work being done; `key()` and `password()` are its results, or None when the child failed
    (the caller then does the work itself)."""

    def __init__(self) -> None:
        self._pid = 0
        self._fd = -1
        self._done: tuple[Any, tuple[str, str] | None] | None = None
        # Made here, so that the child only hashes it (and the parent never reads a password
        # from the pipe that it did not choose).
        self._password = secrets.token_urlsafe(12)
        if not hasattr(os, "fork") or sys.platform == "darwin":
            return  # fork without exec is unsafe on macOS; the caller does the work itself
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: do the work, write it, leave without any cleanup of ours
            status = 1
            try:
                os.close(read)
                hashed = _hash(self._password).encode("ascii")
                message = len(hashed).to_bytes(4, "big") + hashed + _new_key_der()
                view = memoryview(message)
                while view:
                    view = view[os.write(write, view) :]
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._fd = pid, read

    def key(self) -> Any:
        """The new private key (an RSAPrivateKey), or None."""
        return self._results()[0]

    def password(self) -> tuple[str, str] | None:
        """A new administrator password and its hash, or None."""
        return self._results()[1]

    def _results(self) -> tuple[Any, tuple[str, str] | None]:
        if self._done is None:
            self._done = self._read()
        return self._done

    def _read(self) -> tuple[Any, tuple[str, str] | None]:
        if self._pid == 0:
            return None, None
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._fd, _MAX):
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
        data = b"".join(chunks)
        size = int.from_bytes(data[:4], "big")
        if status != 0 or len(data) <= 4 + size:
            return None, None
        from cryptography.hazmat.primitives import serialization

        # Made by our own child a moment ago: the full RSA check would find nothing.
        key = serialization.load_der_private_key(
            data[4 + size :], password=None, unsafe_skip_rsa_key_validation=True
        )
        return key, (self._password, data[4 : 4 + size].decode("ascii"))


def _hash(password: str) -> str:
    from .store.passwords import hash_password

    return hash_password(password)


def _new_key_der() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    # The parameters of signer.new_private_key (not imported: it would import the store).
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
