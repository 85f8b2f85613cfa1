"""A profile's stored secret, and the token it minted, go only to the endpoint (and flavor) it
was logged in with. Two real `iamcli serve` processes: the profile logs in to the first, and
commands pointed at the second by IAMCLI_ENDPOINT must never reach it with the stored key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import REAL_KEYRING, ServeProcess, serve_process

KEY_A = "binding-admin-key-a-" + "a" * 24
KEY_B = "binding-admin-key-b-" + "b" * 24


def requests_seen(server: ServeProcess) -> list[str]:
    time.sleep(0.3)  # let the access log lines of the last command arrive
    return [line for line in server.stderr_lines if line.startswith("127.0.0.1 ")]


@pytest.fixture(scope="module")
def two_servers() -> Iterator[tuple[ServeProcess, ServeProcess]]:
    with (
        serve_process("--db", ":memory:", "--seed-apikey", KEY_A) as a,
        serve_process("--db", ":memory:", "--seed-apikey", KEY_B) as b,
    ):
        yield a, b


def login(cli_process, url: str, home: Path, *extra: str) -> None:  # type: ignore[no-untyped-def]
    args = ["login", "-a", url, "--apikey", "-", *extra]
    if not REAL_KEYRING:
        args.append("--insecure-storage")
    r = cli_process(*args, stdin=KEY_A, env={"IAMCLI_HOME": str(home)})
    assert r.code == 0, r.stderr


@pytest.mark.parametrize(
    "args",
    [["oauth-tokens"], ["service-ids"], ["introspect"], ["service-id", "anything"]],
    ids=lambda a: a[0],
)
def test_another_endpoint_never_gets_the_stored_key(
    cli_process, two_servers: tuple[ServeProcess, ServeProcess], home: Path, args: list[str]
) -> None:  # type: ignore[no-untyped-def]
    a, b = two_servers
    login(cli_process, a.url, home)
    before = len(requests_seen(b))

    r = cli_process(*args, env={"IAMCLI_HOME": str(home), "IAMCLI_ENDPOINT": b.url})

    assert r.code == 4, r.stderr
    assert r.stderr.splitlines()[1] == (
        f"Not logged in to {b.url}: profile 'default' is logged in to {a.url}, "
        "and its stored credential is sent only there."
    )
    assert "Traceback" not in r.stderr
    assert requests_seen(b)[before:] == []  # not the key, not the cached token: nothing


def test_another_flavor_of_the_same_endpoint_is_refused_too(
    cli_process, two_servers: tuple[ServeProcess, ServeProcess], home: Path
) -> None:  # type: ignore[no-untyped-def]
    a, _ = two_servers
    login(cli_process, a.url, home, "--flavor", "cloud")
    (home / "cache" / "tokens" / "default.json").unlink()
    before = len(requests_seen(a))
    r = cli_process("oauth-tokens", env={"IAMCLI_HOME": str(home), "IAMCLI_FLAVOR": "private"})
    assert r.code == 4, r.stderr
    assert f"Not logged in to {a.url} (private)" in r.stderr
    assert requests_seen(a)[before:] == []


def test_an_environment_key_reaches_the_other_endpoint(
    cli_process, two_servers: tuple[ServeProcess, ServeProcess], home: Path
) -> None:  # type: ignore[no-untyped-def]
    a, b = two_servers
    login(cli_process, a.url, home)
    env = {"IAMCLI_HOME": str(home), "IAMCLI_ENDPOINT": b.url, "IAMCLI_API_KEY": KEY_B}
    r = cli_process("oauth-tokens", "--output", "json", env=env)
    assert r.code == 0, r.stderr
    assert any("POST /identity/token" in line for line in requests_seen(b))
    # ...and the profile's own token is still the one from the first server.
    r = cli_process("oauth-tokens", "--output", "json", env={"IAMCLI_HOME": str(home)})
    assert r.code == 0, r.stderr
    cached = json.loads((home / "cache" / "tokens" / "default.json").read_text())
    assert cached["endpoint"] == a.url
