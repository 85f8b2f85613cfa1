"""`docker-credential-iamcli`: Docker's credential-helper protocol, answered with fresh IAM
tokens for IBM Cloud Container Registry hosts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jwt
import pytest

from iamcli.docker_credential import registry_host
from support import Emulator

HELPER = [sys.executable, "-m", "iamcli.docker_credential"]


def helper(action: str, stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HELPER, action],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize("sent", ["us.icr.io", "https://us.icr.io\n", "icr.io\n", "de.icr.io/"])
def test_get_answers_with_a_bearer_token(emulator: Emulator, sent: str) -> None:
    env = {"IAMCLI_API_KEY": emulator.a.apikey, "IAMCLI_ENDPOINT": emulator.url}
    r = helper("get", sent, env)
    assert r.returncode == 0, r.stdout + r.stderr
    answer = json.loads(r.stdout)
    assert answer["ServerURL"] == sent.strip()
    assert answer["Username"] == "iambearer"
    claims = jwt.decode(answer["Secret"], options={"verify_signature": False})
    assert claims["account"]["bss"] == emulator.a.account_id
    assert emulator.a.apikey not in r.stdout + r.stderr


def test_other_hosts_are_not_ours(emulator: Emulator) -> None:
    env = {"IAMCLI_API_KEY": emulator.a.apikey, "IAMCLI_ENDPOINT": emulator.url}
    for host in ("docker.io", "https://index.docker.io/v1/", "icr.io.evil.example", "xicr.io"):
        r = helper("get", host, env)
        assert (r.returncode, r.stdout) == (1, "credentials not found in native keychain\n")


@pytest.mark.parametrize("action", ["store", "erase"])
def test_store_and_erase_are_refused(action: str) -> None:
    body = '{"ServerURL": "us.icr.io", "Username": "u", "Secret": "s"}' if action == "store" else ""
    r = helper(action, body, {})
    assert r.returncode == 1
    assert r.stdout.startswith(f"docker-credential-iamcli does not {action} credentials")


def test_not_logged_in_is_one_protocol_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = helper("get", "us.icr.io", {"IAMCLI_HOME": str(tmp_path)})
    assert r.returncode == 1
    assert r.stdout.startswith("iamcli: Not logged in") and r.stdout.count("\n") == 1


def test_list_is_empty_and_usage_is_stated() -> None:
    assert helper("list", "", {}).stdout == "{}\n"
    bad = helper("nonsense", "", {})
    assert bad.returncode == 1 and bad.stderr.startswith("Usage: docker-credential-iamcli")


@pytest.mark.parametrize(
    ("sent", "host"),
    [
        ("icr.io", "icr.io"),
        ("us.icr.io", "us.icr.io"),
        ("HTTPS://JP2.ICR.IO", "jp2.icr.io"),
        ("private.us.icr.io", "private.us.icr.io"),
        ("us.icr.io:443", "us.icr.io"),
        ("a.b.c.icr.io", None),
        ("-x.icr.io", None),
        ("icr.io.example.com", None),
        ("", None),
    ],
)
def test_registry_hosts(sent: str, host: str | None) -> None:
    assert registry_host(sent) == host


def test_the_console_script_is_installed() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "docker-credential-iamcli")
    r = subprocess.run([script, "version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("docker-credential-iamcli (iamcli ")
