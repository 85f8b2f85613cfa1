"""Every command, traced: no secret on stderr or in the trace, and on stdout only where asked.

Asked for means: `oauth-tokens` (the tokens), a create's `API Key` line or JSON (the new key),
and `--file -` (the export). Everything else must be clean of every secret in play: API keys,
access and refresh tokens, and passwords.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import Emulator, stored_secret


class Secrets:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.known: set[str] = set()

    def add(self, *values: str | None) -> None:
        self.known |= {v for v in values if v and len(v) >= 12}

    def harvest(self) -> None:
        """Pick up the tokens the last command cached, and any refresh token it stored."""
        for path in (self.home / "cache" / "tokens").glob("*.json"):
            self.add(json.loads(path.read_text())["access_token"])
        for profile in ("default", "bot"):
            self.add(stored_secret(profile, "refresh_token"))

    def leaked(self, text: str, allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
        return [s[:12] + "…" for s in self.known - allowed if s in text]


@pytest.mark.parametrize("flavor", ["cloud", "private"])
def test_every_command_traced_leaks_nothing(
    cli, emulator: Emulator, home: Path, tmp_path: Path, flavor: str
) -> None:
    secrets = Secrets(home)
    secrets.add(emulator.a.apikey, emulator.a.password)
    traced: list[int] = []

    def run(
        *args: str, stdin: str = "", allowed_out: set[str] | None = None, expect: int = 0
    ) -> str:
        r = cli(*args, "--trace", stdin=stdin)
        assert r.code == expect, (args, r.stderr[-2000:])
        traced.append(r.stderr.count("REQUEST:"))
        secrets.harvest()
        assert secrets.leaked(r.stderr) == [], (args, "stderr")
        assert secrets.leaked(r.stdout, allowed_out or set()) == [], (args, "stdout")
        return r.stdout

    run("login", "-a", emulator.url, "--flavor", flavor, "--apikey", "-", stdin=emulator.a.apikey)
    run("target")
    token = json.loads((home / "cache" / "tokens" / "default.json").read_text())["access_token"]
    run("oauth-tokens", "--output", "json", allowed_out={token})
    run("introspect")
    name = f"traced-{flavor}"
    sid = json.loads(run("service-id-create", name, "--output", "json"))["id"]
    run("service-ids", "-n", name)
    run("service-id", name)
    run("service-id-update", name, "-d", "traced", "-f")

    created = json.loads(cli("service-api-key-create", "k1", name, "--output", "json").stdout)
    secrets.add(created["apikey"])
    text = cli("service-api-key-create", "k2", name, "--trace")
    value = text.stdout.splitlines()[-1].split()[-1]
    secrets.add(value)
    assert secrets.leaked(text.stderr) == []
    assert secrets.leaked(text.stdout, {value}) == []

    key_file = tmp_path / f"k3-{flavor}.json"
    run("service-api-key-create", "k3", name, "--file", str(key_file))
    secrets.add(json.loads(key_file.read_text())["apikey"])
    exported = cli("api-key-create", "mine", "--file", "-", "--trace")
    mine = json.loads(exported.stdout)["apikey"]
    secrets.add(mine)
    assert secrets.leaked(exported.stderr) == []
    assert secrets.leaked(exported.stdout, {mine}) == []

    run("service-api-keys", name)
    run("apikeys", "list")
    run("apikeys", "get", created["id"])
    run("apikeys", "update", created["id"], "--name", "renamed", "-f")
    run("apikeys", "delete", created["id"], "-f")
    run(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        flavor,
        "--apikey",
        f"@{key_file}",
        "--profile",
        "bot",
    )
    run("oauth-tokens", "--profile", "bot", allowed_out=secrets.known)
    if flavor == "cloud":
        run("service-id-lock", sid, "-f")
        run("service-id-unlock", sid, "-f")
    else:
        run(
            "login",
            "-a",
            emulator.url,
            "--flavor",
            flavor,
            "-u",
            emulator.a.username,
            "-p",
            emulator.a.password,
            "--profile",
            "pw",
        )
        run("oauth-tokens", "--profile", "pw", allowed_out=secrets.known)
    run("service-id-delete", sid, "-f")
    run("logout")
    run("logout", "--profile", "bot")
    # Failures leak nothing either.
    run("login", "-a", emulator.url, "--flavor", flavor, "--apikey", "-", stdin="n" * 44, expect=4)
    assert len(secrets.known) >= 8  # keys, passwords and tokens of the session
    assert sum(traced) >= 20  # the traces were there to be checked
