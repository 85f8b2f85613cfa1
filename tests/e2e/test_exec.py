"""`iamcli exec`: the child's environment, what passes through, and the metadata server, with
IBM's own SDK in the child."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jwt
import pytest

from support import Emulator, iamcli_command, serve_process

# Prints the child's environment as JSON, for the tests to read.
DUMP_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


def env_for(emulator: Emulator, **extra: str) -> dict[str, str]:
    return {"IAMCLI_API_KEY": emulator.a.apikey, "IAMCLI_ENDPOINT": emulator.url, **extra}


def claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]


@pytest.mark.parametrize("flavor", ["cloud", "private"])
def test_child_gets_the_token_under_ibm_names_and_never_the_key(
    cli_process, emulator: Emulator, flavor: str
) -> None:
    env = env_for(emulator, IBMCLOUD_API_KEY=emulator.b.apikey, IAMCLI_FLAVOR=flavor)
    r = cli_process(
        "exec", "--sdk-service", "iam-identity", "--sdk-service", "MY_SVC", "--", *DUMP_ENV, env=env
    )
    assert r.code == 0, r.stderr
    child = json.loads(r.stdout)
    token = child["IAMCLI_TOKEN"]
    assert not token.startswith("Bearer")
    assert claims(token)["account"]["bss"] == emulator.a.account_id  # type: ignore[index]
    assert child["IAMCLI_TOKEN_EXPIRATION"] == str(claims(token)["exp"])
    for service in ("IAM_IDENTITY", "MY_SVC"):
        assert child[f"{service}_AUTH_TYPE"] == "bearerToken"
        assert child[f"{service}_BEARER_TOKEN"] == token
    assert "IAMCLI_API_KEY" not in child and "IBMCLOUD_API_KEY" not in child
    assert emulator.a.apikey not in r.stdout and emulator.b.apikey not in r.stdout
    assert child["IAMCLI_EXEC"] == "default"
    assert r.stderr == ""


def test_ibm_sdk_in_the_child_authenticates_from_the_environment(
    cli_process, emulator: Emulator, tmp_path: Path
) -> None:
    script = tmp_path / "sdk.py"
    script.write_text(
        textwrap.dedent(f"""
        from ibm_platform_services import IamIdentityV1
        svc = IamIdentityV1.new_instance(service_name="IAM_IDENTITY")
        svc.set_service_url({emulator.url!r})
        r = svc.list_service_ids(account_id={emulator.a.account_id!r})
        print(type(svc.authenticator).__name__, r.get_status_code())
        """)
    )
    r = cli_process(
        "exec", "--sdk-service", "IAM_IDENTITY", "--", sys.executable, str(script),
        env=env_for(emulator),
    )  # fmt: skip
    assert r.code == 0, r.stderr
    assert r.stdout.split() == ["BearerTokenAuthenticator", "200"]


def test_with_apikey_passes_the_key_by_name(cli_process, emulator: Emulator) -> None:
    r = cli_process("exec", "--with-apikey", "--", *DUMP_ENV, env=env_for(emulator))
    assert r.code == 0, r.stderr
    child = json.loads(r.stdout)
    assert child["IAMCLI_API_KEY"] == emulator.a.apikey
    assert "IBMCLOUD_API_KEY" not in child


def test_a_stored_login_hands_on_its_token_not_its_key(cli_process, emulator: Emulator) -> None:
    login = cli_process(
        "login", "-a", emulator.url, "--apikey", "-", "--insecure-storage", stdin=emulator.a.apikey
    )
    assert login.code == 0, login.stderr
    r = cli_process("exec", "--", *DUMP_ENV)
    assert r.code == 0, r.stderr
    assert claims(json.loads(r.stdout)["IAMCLI_TOKEN"])["iam_id"]
    assert emulator.a.apikey not in r.stdout


def test_output_and_exit_status_are_the_commands_own(cli_process, emulator: Emulator) -> None:
    r = cli_process(
        "exec", "--", "sh", "-c", "echo out; echo err >&2; exit 7", env=env_for(emulator)
    )
    assert (r.code, r.stdout, r.stderr) == (7, "out\n", "err\n")


@pytest.mark.parametrize("server", [False, True], ids=["execve", "metadata-server"])
def test_death_by_signal_passes_through(emulator: Emulator, server: bool) -> None:
    flags = ["--metadata-server"] if server else []
    proc = subprocess.run(
        [*iamcli_command(), "exec", *flags, "--", "sh", "-c", "kill -TERM $$"],
        env={**os.environ, **env_for(emulator)},
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGTERM, proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("server", [False, True], ids=["execve", "metadata-server"])
def test_signals_sent_to_iamcli_reach_the_command(
    emulator: Emulator, tmp_path: Path, sig: signal.Signals, server: bool
) -> None:
    ready = tmp_path / "ready"
    child = textwrap.dedent(f"""
        import signal, sys, time, pathlib
        def stop(signum, frame):
            print("got", signum, flush=True)
            sys.exit(40 + signum)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(30)
        """)
    flags = ["--metadata-server"] if server else []
    proc = subprocess.Popen(
        [*iamcli_command(), "exec", *flags, "--", sys.executable, "-c", child],
        env={**os.environ, **env_for(emulator)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # no terminal: the signal goes to iamcli alone
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (40 + sig, f"got {int(sig)}\n"), err


def test_missing_command_exits_127(cli_process, emulator: Emulator) -> None:
    r = cli_process("exec", "--", "no-such-command-here", env=env_for(emulator))
    assert r.code == 127
    assert r.stderr == "iamcli exec: no-such-command-here: command not found\n"


def test_nesting_is_refused(cli_process, emulator: Emulator) -> None:
    inner = [*iamcli_command(), "exec", "--", "true"]
    r = cli_process("exec", "--", *inner, env=env_for(emulator))
    assert r.code == 2
    assert "already inside 'iamcli exec'" in r.stderr and "unset IAMCLI_EXEC" in r.stderr


def test_no_command_is_a_usage_error(cli_process, emulator: Emulator) -> None:
    r = cli_process("exec", env=env_for(emulator))
    assert r.code == 2 and "no command to run" in r.stderr


def test_min_valid_longer_than_any_token_is_one_error_line(cli_process, emulator: Emulator) -> None:
    r = cli_process("exec", "--min-valid", "2h", "--", "true", env=env_for(emulator))
    assert r.code == 1
    assert r.stderr.splitlines() == [
        "FAILED",
        "the server's tokens live 1h: no token is valid for --min-valid 2h",
    ]


def test_terraform_needs_a_refresh_token(cli_process, emulator: Emulator) -> None:
    r = cli_process("exec", "--terraform", "--", "true", env=env_for(emulator))
    assert r.code == 2 and "refresh token" in r.stderr


def test_terraform_gets_token_and_refresh_token_of_a_password_login(
    cli_process, emulator: Emulator
) -> None:
    login = cli_process(
        "login", "-a", emulator.url, "--flavor", "private", "-u", emulator.a.username,
        "-p", "-", "--insecure-storage", stdin=emulator.a.password,
    )  # fmt: skip
    assert login.code == 0, login.stderr
    r = cli_process("exec", "--terraform", "--", *DUMP_ENV)
    assert r.code == 0, r.stderr
    child = json.loads(r.stdout)
    assert child["IC_IAM_TOKEN"] == "Bearer " + child["IAMCLI_TOKEN"]
    assert child["IC_IAM_REFRESH_TOKEN"]


SDK_PAST_ONE_TOKEN = """
import base64, json, os, sys, time
from ibm_platform_services import IamIdentityV1

svc = IamIdentityV1.new_instance(service_name="IAM_IDENTITY")
svc.set_service_url(os.environ["TEST_IAM_URL"])
seen = []
for round in range(2):
    status = svc.list_service_ids(account_id=os.environ["TEST_ACCOUNT"]).get_status_code()
    token = svc.authenticator.token_manager.get_token()
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    seen.append({"status": status, "exp": payload["exp"], "now": time.time()})
    if round == 0:
        # Past the first token's end, so that the SDK must come back for another.
        time.sleep(max(0.0, payload["exp"] - time.time()) + 1.5)
print(json.dumps({"seen": seen, "auth": type(svc.authenticator).__name__,
                  "env": dict(os.environ)}))
"""


def test_metadata_server_serves_ibm_sdk_past_one_token_life(tmp_path: Path) -> None:
    key = "exec-metadata-key-" + "m" * 30
    script = tmp_path / "long_job.py"
    script.write_text(SDK_PAST_ONE_TOKEN)
    # The shortest token life the server allows.
    with serve_process(
        "--db", ":memory:", "--seed-apikey", key, "--account-id", "acct-meta",
        "--token-ttl", "10", "--quiet",
    ) as server:  # fmt: skip
        env = {
            **os.environ,
            "IAMCLI_API_KEY": key,
            "IAMCLI_ENDPOINT": server.url,
            "TEST_IAM_URL": server.url,
            "TEST_ACCOUNT": "acct-meta",
        }
        r = subprocess.run(
            [*iamcli_command(), "exec", "--metadata-server", "--sdk-service", "IAM_IDENTITY",
             "--", sys.executable, str(script)],
            env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    first, second = out["seen"]
    assert out["auth"] == "VPCInstanceAuthenticator"
    assert first["status"] == second["status"] == 200
    assert second["now"] > first["exp"] and second["exp"] > first["exp"]
    child = out["env"]
    assert child["IAM_IDENTITY_AUTH_TYPE"] == "vpc"
    url = child["IAM_IDENTITY_AUTH_URL"]
    assert url.startswith("http://127.0.0.1:") and len(url.rsplit("/", 1)[1]) >= 24
    assert key not in r.stdout and "IAMCLI_API_KEY" not in child
    assert "IAM_IDENTITY_BEARER_TOKEN" not in child


def test_ctrl_c_at_a_terminal_reaches_the_command_once(emulator: Emulator, tmp_path: Path) -> None:
    import pty

    ready, report = tmp_path / "ready", tmp_path / "report"
    child = textwrap.dedent(f"""
        import signal, sys, time, pathlib
        got = []
        signal.signal(signal.SIGINT, lambda s, f: got.append(s))
        pathlib.Path({str(ready)!r}).touch()
        deadline = time.monotonic() + 30
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # time for a second one to arrive, if it were sent
        pathlib.Path({str(report)!r}).write_text(str(len(got)))
        """)
    argv = [*iamcli_command(), "exec", "--metadata-server", "--", sys.executable, "-c", child]
    env = {**os.environ, **env_for(emulator)}
    pid, master = pty.fork()
    if pid == 0:  # the child: a new session whose terminal is the pty
        os.execvpe(argv[0], argv, env)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.write(master, b"\x03")  # Ctrl-C: the terminal signals its foreground group
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    assert os.waitstatus_to_exitcode(status) == 0
    assert report.read_text() == "1"
