"""`iamcli serve` trusts only files that are its user's alone, makes its own private whatever
the umask, and says what is wrong with a database it cannot use (store/files.py has the
rules)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from iamcli.emulator.store import Store
from support import APIKEY_GRANT, iamcli_command, serve_process

SEED = "files-test-admin-key-" + "f" * 24
OTHER_UID = 4242
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file away")


def serve_once(
    *args: str, env: dict[str, str] | None = None, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `iamcli serve` expecting it to refuse to start."""
    home = {"IAMCLI_HOME": tempfile.mkdtemp(prefix="iamcli-files-")}
    return subprocess.run(
        [*(prefix or []), *iamcli_command(), "serve", "--port", "0", "--workers", "1", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **home, **(env or {})},
    )


def refused(r: subprocess.CompletedProcess[str], *words: str) -> str:
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert "listening on" not in r.stderr and "shown once" not in r.stderr
    message = r.stderr.replace("\n", " ")
    for word in words:
        assert word in message, r.stderr
    return message


@pytest.fixture
def made(tmp_path: Path) -> Path:
    """A database made by a first start, as the server leaves it."""
    db = tmp_path / "iam.db"
    store = Store(str(db))
    store.bootstrap(seed_apikey=SEED)
    # Closed here: a connection left to the garbage collector would checkpoint and delete the
    # -wal file whenever it is collected, perhaps after a test made that file its own.
    store.close()
    return db


# -- files it did not make private are refused ---------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".sealkey", "-wal", "-shm"])
def test_a_file_open_to_others_is_refused(made: Path, suffix: str) -> None:
    path = Path(str(made) + suffix)
    path.touch()
    path.chmod(0o644)
    refused(serve_once("--db", str(made)), str(path), "open to other users", "chmod 600")


@as_root
@pytest.mark.parametrize("suffix", ["", ".sealkey", "-wal"])
def test_a_file_of_another_user_is_refused(made: Path, suffix: str) -> None:
    path = Path(str(made) + suffix)
    path.touch()
    os.chown(path, OTHER_UID, -1)
    refused(serve_once("--db", str(made)), str(path), "belongs to another user")


def test_a_symbolic_link_is_not_followed(made: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.db"
    link.symlink_to(made)
    refused(serve_once("--db", str(link)), "symbolic link")


@as_root
def test_a_directory_others_can_write_or_own_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    refused(serve_once("--db", str(shared / "x.db")), "writable by other users")
    assert not (shared / "x.db").exists()
    shared.chmod(0o700)
    os.chown(shared, OTHER_UID, -1)
    refused(serve_once("--db", str(shared / "x.db")), "belongs to another user")


def test_a_sticky_shared_directory_is_fine(tmp_path: Path) -> None:
    shared = tmp_path / "sticky"
    shared.mkdir()
    shared.chmod(0o1777)
    with serve_process("--db", str(shared / "x.db"), "--seed-apikey", SEED) as server:
        assert mint(server.url, SEED).status_code == 200


def test_missing_seal_key_with_sealed_values_refuses_to_start(made: Path) -> None:
    store = Store(str(made))
    account = store.bootstrap(seed_apikey=SEED).account_id
    sid = store.create_service_id(
        account_id=account, name="ci", description=None, created_by="iam-x"
    )
    store.create_api_key(
        account_id=account,
        iam_id=sid.iam_id,
        name="k",
        description=None,
        store_value=True,
        created_by="iam-x",
    )
    store.close()
    Path(str(made) + ".sealkey").unlink()
    refused(serve_once("--db", str(made)), "seal key file", "is missing", "restore")
    assert not Path(str(made) + ".sealkey").exists()  # no new key was made in its place


def test_without_sealed_values_a_missing_seal_key_is_made_anew(made: Path) -> None:
    Path(str(made) + ".sealkey").unlink()
    with serve_process("--db", str(made), "--workers", "1") as server:
        assert mint(server.url, SEED).status_code == 200
    assert stat.S_IMODE(os.stat(str(made) + ".sealkey").st_mode) == 0o600


# -- what it makes is private, whatever the umask -------------------------------------------


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_everything_it_makes_is_private_under_a_zero_umask(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "iam.db"
    with umask(0), serve_process("--db", str(db), "--workers", "1", "--tls") as server:
        # A request, so that SQLite has made its -wal and -shm files.
        url = server.url
        assert url.startswith("https://")
        cert = db.parent / "serve-tls-cert.pem"
        r = httpx.post(
            f"{url}/identity/token",
            data={"grant_type": APIKEY_GRANT, "apikey": "nope"},
            verify=ssl.create_default_context(cafile=str(cert)),
            timeout=10,
        )
        assert r.status_code == 400
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in db.parent.iterdir()}
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert modes == {
        "iam.db": 0o600,
        "iam.db-wal": 0o600,
        "iam.db-shm": 0o600,
        "iam.db.sealkey": 0o600,
        "serve-tls-key.pem": 0o600,
        "serve-tls-cert.pem": 0o644,
    }


def test_a_kept_tls_key_open_to_others_is_refused(made: Path) -> None:
    with serve_process("--db", str(made), "--workers", "1", "--tls"):
        pass
    key = made.parent / "serve-tls-key.pem"
    key.chmod(0o644)
    refused(serve_once("--db", str(made), "--tls"), str(key), "open to other users")
    key.chmod(0o600)
    (made.parent / "serve-tls-cert.pem").chmod(0o666)
    refused(serve_once("--db", str(made), "--tls"), "TLS certificate", "another user")


# -- errors that say what is wrong ---------------------------------------------------------


def test_a_corrupt_database_is_named_as_such(tmp_path: Path) -> None:
    db = tmp_path / "corrupt.db"
    db.write_bytes(b"this is not SQLite" * 100)
    db.chmod(0o600)
    message = refused(serve_once("--db", str(db)), str(db), "not an SQLite database")
    assert "cannot listen" not in message


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="root, whom permissions do not stop, runs it without CAP_DAC_OVERRIDE via setpriv",
)
def test_a_read_only_database_is_named_as_such(made: Path) -> None:
    made.chmod(0o400)
    caps = "-dac_override,-dac_read_search"
    r = serve_once(
        "--db", str(made), prefix=["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
    )
    message = refused(r, str(made), "read-only")
    assert "cannot listen" not in message


def test_a_busy_port_is_exit_1_and_shows_no_key(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = serve_once("--db", str(tmp_path / "fresh.db"), "--port", str(port))
    refused(r, f"cannot listen on 127.0.0.1:{port}")
    assert not (tmp_path / "fresh.db").exists()  # nothing was made for a server that never ran


# -- secrets on the command line ------------------------------------------------------------


def mint(url: str, apikey: str) -> httpx.Response:
    return httpx.post(
        f"{url}/identity/token", timeout=10, data={"grant_type": APIKEY_GRANT, "apikey": apikey}
    )


def password_login(url: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{url}/identity/token",
        timeout=10,
        data={"grant_type": "password", "username": "admin", "password": password},
        headers={"Authorization": "Basic " + base64.b64encode(b"bx:bx").decode()},
    )


def test_secrets_on_argv_are_warned_about(tmp_path: Path) -> None:
    args = ("--db", ":memory:", "--seed-apikey", SEED, "--admin-password", "argv-password-1")
    with serve_process(*args) as server:
        assert mint(server.url, SEED).status_code == 200
        assert password_login(server.url, "argv-password-1").status_code == 200
        server.stop()
    warnings = [line for line in server.stderr_lines if line.startswith("Warning:")]
    assert len(warnings) == 2, server.stderr_lines
    assert "--seed-apikey @FILE or IAMCLI_SERVE_SEED_APIKEY" in warnings[0] + warnings[1]
    assert "--admin-password @FILE or IAMCLI_SERVE_ADMIN_PASSWORD" in warnings[0] + warnings[1]
    assert not any(SEED in line or "argv-password-1" in line for line in server.stderr_lines)


def test_secrets_from_files_and_the_environment_are_not_warned_about(tmp_path: Path) -> None:
    key_file, password_file = tmp_path / "key.json", tmp_path / "password"
    key_file.write_text(json.dumps({"apikey": SEED}) + "\n")
    password_file.write_text("file password 1\n")
    args = ("--db", ":memory:", "--seed-apikey", f"@{key_file}")
    with serve_process(*args, "--admin-password", f"@{password_file}") as server:
        assert mint(server.url, SEED).status_code == 200
        assert password_login(server.url, "file password 1").status_code == 200
        server.stop()
    env = {"IAMCLI_SERVE_SEED_APIKEY": SEED, "IAMCLI_SERVE_ADMIN_PASSWORD": f"@{password_file}"}
    with serve_process("--db", ":memory:", env=env) as from_env:
        assert mint(from_env.url, SEED).status_code == 200
        assert password_login(from_env.url, "file password 1").status_code == 200
        from_env.stop()
    for lines in (server.stderr_lines, from_env.stderr_lines):
        assert not any(line.startswith("Warning:") for line in lines), lines


def test_a_missing_secret_file_is_a_usage_error(tmp_path: Path) -> None:
    r = serve_once("--db", ":memory:", "--admin-password", f"@{tmp_path / 'none'}")
    assert r.returncode == 2, r.stderr
    assert "--admin-password: cannot read" in r.stderr and "Traceback" not in r.stderr
