"""`oauth-tokens` and `introspect`: the cache, refresh, env-only use, and inactive tokens."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from support import Emulator, files_containing

FLAVORS = ["cloud", "private"]


def log_in(cli, emulator: Emulator, flavor: str = "cloud", profile: str = "default") -> None:  # type: ignore[no-untyped-def]
    r = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        flavor,
        "--apikey",
        "-",
        "--profile",
        profile,
        stdin=emulator.a.apikey,
    )
    assert r.code == 0, r.stderr


def cache_file(home: Path, profile: str = "default") -> Path:
    return home / "cache" / "tokens" / f"{profile}.json"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_oauth_tokens_text_and_json(cli, emulator: Emulator, flavor: str) -> None:
    log_in(cli, emulator, flavor)
    text = cli("oauth-tokens")
    assert text.code == 0 and text.stderr == ""
    [line] = text.out_lines
    assert line.startswith("IAM token:  Bearer ey")
    as_json = cli("oauth-tokens", "--output", "json")
    body = json.loads(as_json.stdout)
    assert body["iam_token"] == line.removeprefix("IAM token:  ")
    claims = jwt.decode(body["iam_token"].split()[1], options={"verify_signature": False})
    assert claims["account"]["bss"] == emulator.a.account_id
    # `awk '{print $4}'` is how IBM's docs scrape it: the token is the fourth field.
    assert line.split()[3] == body["iam_token"].split()[1]


def test_cached_token_is_reused_then_refreshed_when_expired(
    cli, emulator: Emulator, home: Path
) -> None:
    log_in(cli, emulator)
    first = cli("oauth-tokens").stdout
    assert cli("oauth-tokens").stdout == first  # from the cache, no new token
    cached = json.loads(cache_file(home).read_text())
    cached["expires_at"] = int(time.time()) - 1
    cache_file(home).write_text(json.dumps(cached))
    refreshed = cli("oauth-tokens")
    assert refreshed.code == 0 and refreshed.stdout != first
    new = json.loads(cache_file(home).read_text())
    assert new["expires_at"] > time.time() + 3000


def test_token_due_for_refresh_is_replaced_early(cli, emulator: Emulator, home: Path) -> None:
    log_in(cli, emulator)
    first = cli("oauth-tokens").stdout
    cached = json.loads(cache_file(home).read_text())
    # 85% of its life gone: still valid, but IBM's SDKs would mint a new one now.
    cached["issued_at"] -= 3060
    cached["expires_at"] -= 3060
    cache_file(home).write_text(json.dumps(cached))
    assert cli("oauth-tokens").stdout != first


def test_password_session_refreshes_through_its_refresh_token(
    cli, emulator: Emulator, home: Path
) -> None:
    r = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        "private",
        "-u",
        emulator.a.username,
        "-p",
        emulator.a.password,
    )
    assert r.code == 0
    first = cli("oauth-tokens").out_lines[0]
    cached = json.loads(cache_file(home).read_text())
    cached["expires_at"] = int(time.time()) - 1
    cache_file(home).write_text(json.dumps(cached))
    again = cli("oauth-tokens")
    assert again.code == 0 and again.out_lines[0] != first
    assert cli("introspect").code == 0


def test_env_key_alone_in_a_fresh_home(cli, emulator: Emulator, home: Path) -> None:
    env = {"IAMCLI_API_KEY": emulator.b.apikey, "IAMCLI_ENDPOINT": emulator.url}
    r = cli("oauth-tokens", "--output", "json", env=env)
    assert r.code == 0, r.stderr
    token = json.loads(r.stdout)["iam_token"].split()[1]
    assert jwt.decode(token, options={"verify_signature": False})["account"]["bss"] == (
        emulator.b.account_id
    )
    assert cli("oauth-tokens", "--output", "json", env=env).stdout == r.stdout  # cached
    assert files_containing(home, emulator.b.apikey) == []
    info = json.loads(cli("target", "--output", "json", env=env).stdout)
    assert info["credential_source"] == "environment variable IAMCLI_API_KEY"
    # Another key in the same variable never gets the first key's cached token.
    other = cli(
        "oauth-tokens", "--output", "json", env={**env, "IAMCLI_API_KEY": emulator.a.apikey}
    )
    assert other.code == 0 and other.stdout != r.stdout


def test_ibmcloud_api_key_and_private_flavor_from_env(cli, emulator: Emulator) -> None:
    env = {
        "IBMCLOUD_API_KEY": emulator.a.apikey,
        "IAMCLI_ENDPOINT": emulator.url,
        "IAMCLI_FLAVOR": "private",
    }
    r = cli("oauth-tokens", "--output", "json", env=env)
    assert r.code == 0, r.stderr
    claims = jwt.decode(
        json.loads(r.stdout)["iam_token"].split()[1], options={"verify_signature": False}
    )
    assert claims["iss"].endswith("/iam-token/oidc/token")


def test_env_path_never_imports_keyring(cli_process, emulator: Emulator, tmp_path: Path) -> None:
    code = (
        "import sys, iamcli.__main__ as m; rc = m.main(['oauth-tokens']);"
        " print('keyring' in sys.modules, rc)"
    )
    import subprocess
    import sys

    env = {
        "IAMCLI_API_KEY": emulator.a.apikey,
        "IAMCLI_ENDPOINT": emulator.url,
        "IAMCLI_HOME": str(tmp_path / "h"),
    }
    import os

    for _ in range(2):  # once minting, once from the cache
        r = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=60,
        )
        assert r.stdout.splitlines()[-1] == "False 0", r.stderr


def test_not_logged_in(cli) -> None:
    r = cli("oauth-tokens")
    assert r.code == 4
    assert r.stderr.startswith("FAILED\nNot logged in")
    assert "iamcli login" in r.stderr and "IAMCLI_API_KEY" in r.stderr


@pytest.mark.parametrize("flavor", FLAVORS)
def test_introspect_active_and_inactive(cli, emulator: Emulator, flavor: str) -> None:
    log_in(cli, emulator, flavor)
    active = cli("introspect", "--output", "json")
    assert active.code == 0, active.stderr
    body = json.loads(active.stdout)
    assert body["active"] is True and body["iam_id"].startswith("IBMid-")
    token = cli("oauth-tokens").out_lines[0].split()[3]
    piped = cli("introspect", "-", stdin=f"Bearer {token}\n")
    assert piped.code == 0 and piped.out_lines[0].split() == ["Active", "true"]

    garbage = cli("introspect", "not-a-token", "--output", "json")
    assert garbage.code == 4 and json.loads(garbage.stdout)["active"] is False
    assert "not active" in garbage.stderr


def _forge(claims: dict[str, object], key: object, alg: str, kid: str) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})  # type: ignore[arg-type]


def test_cloud_introspect_refuses_forged_and_expired_tokens(cli, emulator: Emulator) -> None:
    log_in(cli, emulator, "cloud")
    real = cli("oauth-tokens").out_lines[0].split()[3]
    claims = jwt.decode(real, options={"verify_signature": False})
    kid = jwt.get_unverified_header(real)["kid"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = emulator.server.app.state.signer.jwks()["keys"][0]["n"]
    cases = {
        "another key": _forge(claims, stranger, "RS256", kid),
        "unknown kid": _forge(claims, stranger, "RS256", "not-our-kid"),
        "HS256": _forge(claims, public_pem, "HS256", kid),
        "none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),
        "expired": emulator.server.app.state.signer.sign(
            {**claims, "exp": int(time.time()) - 5, "iat": int(time.time()) - 100}
        ),
        "other issuer": emulator.server.app.state.signer.sign(
            {**claims, "iss": "https://iam.example.com/identity"}
        ),
    }
    for name, token in cases.items():
        r = cli("introspect", token, "--output", "json")
        assert r.code == 4, name
        assert json.loads(r.stdout)["active"] is False, name
        assert "Traceback" not in r.stderr


def test_introspect_human_layout(cli, emulator: Emulator) -> None:
    log_in(cli, emulator, "cloud")
    lines = cli("introspect").out_lines
    assert lines[0].split() == ["Active", "true"]
    exp = next(line for line in lines if line.startswith("exp "))
    assert exp.endswith("Z)")  # epoch seconds shown with their date


def test_an_unusable_cache_warns_but_does_not_fail(cli, emulator: Emulator, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "cache").write_text("not a directory")
    env = {"IAMCLI_API_KEY": emulator.a.apikey, "IAMCLI_ENDPOINT": emulator.url}
    r = cli("oauth-tokens", "--output", "json", env=env)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["iam_token"].startswith("Bearer ")
    assert "not using the token cache" in r.stderr


@pytest.mark.parametrize("flavor", FLAVORS)
def test_json_gives_expiration_and_expires_in(cli, emulator: Emulator, flavor: str) -> None:
    log_in(cli, emulator, flavor)
    body = json.loads(cli("oauth-tokens", "--output", "json").stdout)
    exp = jwt.decode(body["iam_token"].split()[1], options={"verify_signature": False})["exp"]
    assert body["expiration"] == exp
    assert 0 < body["expires_in"] <= exp - time.time() + 1
    assert list(body) == ["iam_token", "expiration", "expires_in"]


def test_raw_prints_the_bare_token(cli, emulator: Emulator) -> None:
    log_in(cli, emulator)
    raw = cli("oauth-tokens", "--raw")
    assert raw.code == 0 and raw.stderr == ""
    assert (
        "Bearer " + raw.stdout.strip()
        == json.loads(cli("oauth-tokens", "--output", "json").stdout)["iam_token"]
    )
    assert raw.stdout.count(".") == 2 and raw.stdout.endswith("\n")
    both = cli("oauth-tokens", "--raw", "--output", "json")
    assert both.code == 2 and "--raw" in both.stderr


@pytest.mark.parametrize("flavor", FLAVORS)
def test_min_valid_mints_when_the_cached_token_ends_too_soon(
    cli, emulator: Emulator, home: Path, flavor: str
) -> None:
    log_in(cli, emulator, flavor)
    first = cli("oauth-tokens", "--raw").stdout
    cached = json.loads(cache_file(home).read_text())
    # Fresh by the 80% rule (issued 5 min ago, 20 min left), but not for 30 minutes.
    now = int(time.time())
    cached["issued_at"], cached["expires_at"] = now - 300, now + 1200
    cache_file(home).write_text(json.dumps(cached))
    assert cli("oauth-tokens", "--raw", "--min-valid", "10m").stdout == first
    again = cli("oauth-tokens", "--raw", "--min-valid", "30m")
    assert again.code == 0 and again.stdout != first
    left = json.loads(cli("oauth-tokens", "--output", "json", "--min-valid", "30m").stdout)
    assert left["expires_in"] >= 1800


def test_min_valid_past_the_servers_token_life(cli, emulator: Emulator) -> None:
    log_in(cli, emulator)
    r = cli("oauth-tokens", "--min-valid", "2d")
    assert r.code == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "FAILED",
        "the server's tokens live 1h: no token is valid for --min-valid 2d",
    ]
    bad = cli("oauth-tokens", "--min-valid", "soon")
    assert bad.code == 2 and bad.stderr.splitlines()[1].startswith("--min-valid: 'soon' is not")
