"""Where the API key and the refresh token of a profile live.

Resolution order of the API key (:func:`resolve_api_key`), first match wins:

1. ``--apikey VALUE | @FILE | -``
2. ``IAMCLI_API_KEY`` (value or ``@FILE``)
3. ``IBMCLOUD_API_KEY`` (value or ``@FILE``), as ``ibmcloud`` reads it
4. the secret stored at login: the OS keyring (service ``iamcli``, user ``<profile>/apikey``), or
   the plaintext file ``<data>/credentials.json`` if the user asked for ``--insecure-storage``

Steps 1-3 never import ``keyring``: that import and its backend discovery cost ~200 ms, and in
CI there is no keyring to find. Every keyring call runs in a worker thread bounded by
``IAMCLI_KEYRING_TIMEOUT`` (default 3 s), because Secret Service calls can hang forever on a
locked collection or a missing prompter. A keyring that is missing, locked, hanging, disabled
(``null``), or plaintext (``keyrings.alt``) is *unusable*, and storing then fails with a message
that names the two ways on; it never falls back to a plaintext file on its own.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from iamcli.config import (
    LOCK_TIMEOUT,
    dirs,
    ensure_private_dir,
    file_lock,
    load_profile,
    read_json,
    validate_profile_name,
    write_private_json,
)
from iamcli.errors import CredentialStoreError
from iamcli.keyfile import read_secret_arg
from iamcli.paths import env_api_key_name

# Not `from typing import TYPE_CHECKING`: importing typing costs ~5 ms on the fast path;
# mypy treats a name TYPE_CHECKING as true all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal, TextIO, TypeVar

    from iamcli.config import SecretStore

    SecretKind = Literal["apikey", "refresh_token"]
    T = TypeVar("T")

SERVICE = "iamcli"


def service_name() -> str:
    """The keyring service of this iamcli home.

    `IAMCLI_HOME` makes a separate installation (its own config, cache and data), as CI jobs
    use one per job; its keyring entries are kept apart too, so that two homes of one user
    never read or delete each other's secrets.
    """
    home = os.environ.get("IAMCLI_HOME", "").strip()
    return f"{SERVICE}@{os.path.abspath(home)}" if home else SERVICE


DEFAULT_KEYRING_TIMEOUT = 3.0
DISCOVERY_FACTOR = 5
_KINDS: tuple[SecretKind, ...] = ("apikey", "refresh_token")
# The probe entry's name starts with this; each process adds its own suffix, so that processes
# probing at once (parallel logins) never read each other's sentinel.
_PROBE_USER = "__iamcli_probe__"
_LABELS = {"apikey": "API key", "refresh_token": "refresh token"}


def resolve_api_key(
    profile_name: str, flag: str | None, *, stdin: TextIO | None
) -> tuple[str, str] | None:
    """``(api_key, source)`` by the order in the module docstring, or None when there is none.

    ``source`` is ``--apikey``, ``IAMCLI_API_KEY``, ``IBMCLOUD_API_KEY``, ``keyring`` or
    ``file <path>``. An empty env var counts as unset.
    """
    if flag is not None:
        return read_secret_arg(flag, stdin=stdin, source="--apikey"), "--apikey"
    var = env_api_key_name()
    if var is not None:
        return read_secret_arg(os.environ[var].strip(), stdin=None, source=var), var
    profile = load_profile(profile_name)
    if profile is None:
        return None
    key = load_secret(profile_name, "apikey", store=profile.secret_store)
    if key is None:
        return None
    source = f"file {plaintext_path()}" if profile.secret_store == "file" else "keyring"
    return key, source


def store_secrets(
    profile: str, apikey: str | None, refresh_token: str | None, *, insecure: bool
) -> SecretStore:
    """Store the secrets of a login; return where they went (``keyring`` or ``file``).

    The keyring when it is usable. Otherwise, only if ``insecure`` (``--insecure-storage``),
    the 0600 plaintext file, with a warning; else CredentialStoreError. A ``None`` secret
    removes any stored one.
    """
    validate_profile_name(profile)
    usable, reason = keyring_usable()
    if usable:
        try:
            pairs: tuple[tuple[SecretKind, str | None], ...] = (
                ("apikey", apikey),
                ("refresh_token", refresh_token),
            )
            for kind, value in pairs:
                if value is None:
                    _keyring_delete(profile, kind)
                else:
                    _keyring_set(profile, kind, value)
        except CredentialStoreError as exc:
            if not insecure:
                raise CredentialStoreError(exc.message, hint=_store_hint()) from None
            reason = exc.message
        else:
            # An older --insecure-storage login may have left a plaintext copy: remove it.
            _plaintext_update(profile, None)
            return "keyring"
    if not insecure:
        raise CredentialStoreError(
            f"cannot keep the API key of profile {profile} in the OS keyring: {reason}",
            hint=_store_hint(),
        )
    _plaintext_update(profile, {"apikey": apikey, "refresh_token": refresh_token})
    return "file"


def _store_hint() -> str:
    if keyring_busy():
        # Slow, not unfit: plaintext storage is not the answer to a keyring that is busy or
        # waiting to be unlocked.
        return (
            "unlock the keyring, or if many iamcli processes use it at once, try again or raise "
            "IAMCLI_KEYRING_TIMEOUT; in CI, set IAMCLI_API_KEY instead of logging in"
        )
    return (
        "in CI, set IAMCLI_API_KEY instead of logging in; or pass --insecure-storage "
        f"to keep it in a 0600 file ({plaintext_path()})"
    )


def store_refresh_token(
    profile: str, token: str | None, *, store: SecretStore | None = None
) -> None:
    """Replace the refresh token where the profile keeps its secrets (``None`` removes it)."""
    store = _store_of(profile, store)
    if store == "keyring":
        if token is None:
            _keyring_delete(profile, "refresh_token")
        else:
            _keyring_set(profile, "refresh_token", token)
    elif store == "file":
        entry = _plaintext_entry(profile) or {}
        _plaintext_update(profile, {**entry, "refresh_token": token})


def load_secret(profile: str, kind: SecretKind, *, store: SecretStore | None = None) -> str | None:
    """A stored secret, or None. ``store`` defaults to the profile's ``secret_store``."""
    store = _store_of(profile, store)
    if store == "keyring":
        return _keyring_get(profile, kind)
    if store == "file":
        value = (_plaintext_entry(profile) or {}).get(kind)
        if isinstance(value, str) and value:
            _warn_plaintext(profile, (kind,))
            return value
    return None


def delete_secrets(profile: str, *, store: SecretStore | None = None) -> None:
    """Remove the profile's secrets from the plaintext file and from the keyring.

    Missing entries are fine. A keyring failure is raised only when the profile said its
    secrets are there (``store="keyring"``); otherwise there is nothing to lose.
    """
    validate_profile_name(profile)
    _plaintext_update(profile, None)
    try:
        for kind in _KINDS:
            _keyring_delete(profile, kind)
    except CredentialStoreError:
        if store == "keyring":
            raise


def _store_of(profile: str, store: SecretStore | None) -> SecretStore | None:
    validate_profile_name(profile)
    if store is not None:
        return store
    loaded = load_profile(profile)
    return loaded.secret_store if loaded else None


# --- keyring -----------------------------------------------------------------------------------

_verdict: tuple[bool, str] | None = None
_hung: str | None = None
_state_lock = threading.Lock()


class _KeyringTimeout(Exception):
    pass


def keyring_timeout() -> float:
    raw = os.environ.get("IAMCLI_KEYRING_TIMEOUT", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_KEYRING_TIMEOUT
    except ValueError:
        return DEFAULT_KEYRING_TIMEOUT
    return value if value > 0 else DEFAULT_KEYRING_TIMEOUT


def keyring_usable() -> tuple[bool, str]:
    """``(usable, reason)``; decided once per process.

    Rejects the ``fail`` and ``null`` backends, an empty chainer, and plaintext backends, then
    proves the rest with a set/get/delete round trip of a random sentinel within
    ``IAMCLI_KEYRING_TIMEOUT``. ``reason`` names the backend when usable, the problem otherwise.
    """
    global _verdict
    with _state_lock:
        if _verdict is not None:
            return _verdict
    try:
        backend = _found_backend()
        problem = _backend_problem(backend)
        verdict = (False, problem) if problem else _probe(backend)
    except _KeyringTimeout as exc:
        verdict = (False, str(exc))
    except Exception as exc:
        verdict = (False, _describe_error(exc))
    with _state_lock:
        _verdict = verdict
    return verdict


def keyring_busy() -> bool:
    """Whether the keyring failed by not answering in time (a locked collection waiting for a
    prompt, or a daemon busy with many clients at once), not by being unfit for secrets."""
    with _state_lock:
        return _hung is not None


def reset_keyring_state() -> None:
    """Forget the cached verdict (tests, and long-running callers after the user unlocks)."""
    global _verdict, _hung
    with _state_lock:
        _verdict = None
        _hung = None


def _probe(backend: Any) -> tuple[bool, str]:
    # Each call has the whole timeout to itself: with many clients at once the daemon answers
    # each one slowly, and three calls in one budget would fail where each alone succeeds.
    name = _backend_name(backend)
    sentinel = os.urandom(16).hex()
    user = f"{_PROBE_USER}/{os.getpid()}-{sentinel[:8]}"
    _bounded(lambda: backend.set_password(service_name(), user, sentinel))
    try:
        answer = _bounded(lambda: backend.get_password(service_name(), user))
    finally:
        with contextlib.suppress(Exception):
            _bounded(lambda: backend.delete_password(service_name(), user))
    if answer != sentinel:
        return False, f"the keyring backend {name} accepted a secret but did not return it"
    return True, name


def _backend() -> Any:
    import keyring

    return keyring.get_keyring()


def _found_backend() -> Any:
    """The keyring backend, found within DISCOVERY_FACTOR times the keyring timeout.

    Finding it imports keyring and every installed backend and asks each whether it can run:
    Python work that waits for no prompt, but that takes seconds when many processes start at
    once on a busy machine (16 parallel logins on 2 cores: up to 9 s). Only the calls that can
    wait for a prompt or a hung daemon get the plain timeout.
    """
    return _bounded(_backend, keyring_timeout() * DISCOVERY_FACTOR)


def _backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__name__}"


def _backend_problem(backend: Any) -> str | None:
    """Why a backend cannot hold our secrets, from its class alone; None if it might."""
    name = _backend_name(backend)
    module = type(backend).__module__
    if module.endswith(".fail") or module == "fail":
        return f"no keyring backend is available ({name}); is a D-Bus session running?"
    if module.endswith(".null") or module == "null":
        return f"the keyring is disabled ({name} stores nothing)"
    if module.endswith(".chainer"):
        chained = list(getattr(backend, "backends", []))
        if not chained:
            return f"no keyring backend is available ({name} has nothing to chain)"
        # set_password goes to the first chained backend: that is the one that must be sound.
        return _backend_problem(chained[0])
    if module.startswith("keyrings.alt") or "plaintext" in name.lower():
        return f"{name} keeps secrets unencrypted in a file"
    return None


def _bounded(fn: Callable[[], T], timeout: float | None = None) -> T:
    """Run ``fn`` in a daemon thread and wait at most the keyring timeout for it.

    A daemon thread, not an executor: a hung D-Bus call must not keep the process from exiting.
    After one timeout every later call fails at once rather than stacking up hung threads.
    """
    global _hung, _verdict
    with _state_lock:
        if _hung is not None:
            raise _KeyringTimeout(_hung)
    if timeout is None:
        timeout = keyring_timeout()
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append((False, exc))

    worker = threading.Thread(target=run, name="iamcli-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        reason = f"the keyring did not answer within {timeout:g} s (IAMCLI_KEYRING_TIMEOUT)"
        with _state_lock:
            _hung = reason
            _verdict = (False, reason)
        raise _KeyringTimeout(reason)
    ok, value = outcome[0]
    if not ok:
        raise value
    result: T = value
    return result


def _describe_error(exc: BaseException, secret: str | None = None) -> str:
    text = " ".join(str(exc).split())
    if secret:
        text = text.replace(secret, "[hidden]")
    if len(text) > 200:
        text = text[:199] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _keyring_call(fn: Callable[[], T], what: str, secret: str | None = None) -> T:
    try:
        return _bounded(fn)
    except _KeyringTimeout as exc:
        raise CredentialStoreError(f"cannot {what}: {exc}") from None
    except Exception as exc:
        raise CredentialStoreError(f"cannot {what}: {_describe_error(exc, secret)}") from None


def _checked_backend(what: str) -> Any:
    backend = _keyring_call(_found_backend, what)
    problem = _backend_problem(backend)
    if problem:
        raise CredentialStoreError(f"cannot {what}: {problem}")
    return backend


def _username(profile: str, kind: SecretKind) -> str:
    return f"{profile}/{kind}"


def _keyring_get(profile: str, kind: SecretKind) -> str | None:
    what = f"read the {_LABELS[kind]} of profile {profile} from the keyring"
    backend = _checked_backend(what)
    value = _keyring_call(
        lambda: backend.get_password(service_name(), _username(profile, kind)), what
    )
    return value if isinstance(value, str) and value else None


def _keyring_set(profile: str, kind: SecretKind, value: str) -> None:
    what = f"store the {_LABELS[kind]} of profile {profile} in the keyring"
    backend = _checked_backend(what)
    _keyring_call(
        lambda: backend.set_password(service_name(), _username(profile, kind), value), what, value
    )


def _keyring_delete(profile: str, kind: SecretKind) -> None:
    what = f"remove the {_LABELS[kind]} of profile {profile} from the keyring"
    backend = _checked_backend(what)

    def delete() -> None:
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
            backend.delete_password(service_name(), _username(profile, kind))

    _keyring_call(delete, what)


# --- plaintext file (--insecure-storage) ---------------------------------------------------------


def plaintext_path() -> Path:
    return dirs().data / "credentials.json"


def _warn_plaintext(profile: str, kinds: tuple[str, ...]) -> None:
    what = " and ".join(_LABELS[k] for k in kinds)
    verb = "are" if len(kinds) > 1 else "is"
    print(
        f"Warning: the {what} for profile {profile} {verb} stored in plain text in "
        f"{plaintext_path()}",
        file=sys.stderr,
    )


def _read_plaintext(path: Path) -> dict[str, Any]:
    try:
        data = read_json(path)
        if data is not None:
            st = path.stat()
            if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) != 0o600:
                os.chmod(path, 0o600)
    except (OSError, ValueError) as exc:
        raise CredentialStoreError(f"cannot read {path}: {_describe_error(exc)}") from None
    if data is None:
        return {"version": 1, "profiles": {}}
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
        raise CredentialStoreError(f"{path} is not an iamcli credentials file; fix or remove it")
    return data


def _plaintext_entry(profile: str) -> dict[str, Any] | None:
    entry = _read_plaintext(plaintext_path())["profiles"].get(profile)
    return entry if isinstance(entry, dict) else None


def _plaintext_update(profile: str, entry: dict[str, str | None] | None) -> None:
    """Set (or with None remove) the profile's entry under the lock; warn if one remains."""
    path = plaintext_path()
    if entry is None and not path.exists():
        return
    ensure_private_dir(path.parent)
    with file_lock(path.with_name(path.name + ".lock"), timeout=LOCK_TIMEOUT, what=str(path)):
        data = _read_plaintext(path)
        profiles = data["profiles"]
        kept = {k: v for k, v in (entry or {}).items() if v}
        if kept:
            profiles[profile] = kept
        elif profiles.pop(profile, None) is None:
            return
        if profiles:
            write_private_json(path, data)
        else:
            path.unlink()
    if kept:
        _warn_plaintext(profile, tuple(k for k in _KINDS if k in kept))
