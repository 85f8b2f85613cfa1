"""What a person at a terminal sees: tables at 60, 80 and 200 columns, prompts, Ctrl-C, TAB
completion, and a login that checks the keyring before asking for anything. The CLI runs as a
process on a real pseudo-terminal, against `iamcli serve`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import ServeProcess, iamcli_command, serve_process
from terminal import SilentServer, run_on_terminal

KEY = "terminal-admin-key-" + "t" * 28
DESCRIPTION = (
    "Deploys the administrator dashboard nightly; rotates credentials of the staging cluster"
)
ID_RE = re.compile(r"ServiceId-[0-9a-f-]{36}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}\+0000")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    db = tmp_path_factory.mktemp("serve") / "serve.db"
    with serve_process("--db", str(db), "--seed-apikey", KEY, "--quiet", "--workers", "1") as s:
        yield s


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {**os.environ, "IAMCLI_HOME": str(home), "NO_COLOR": "1"}


def run(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    tests_dir = str(Path(__file__).resolve().parents[1])
    return subprocess.run(
        [*iamcli_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": tests_dir},
        timeout=60,
    )


@pytest.fixture
def logged_in(served: ServeProcess, env: dict[str, str]) -> dict[str, str]:
    r = run("login", "-a", served.url, "--flavor", "cloud", "--apikey", "-", env=env, stdin=KEY)
    assert r.returncode == 0, r.stderr
    return env


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_tables_never_split_ids_dates_or_words(logged_in: dict[str, str], columns: int) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [f"administrator-{tag}-{n}" for n in range(3)]
    for name in names:
        made = run("service-id-create", name, "-d", DESCRIPTION, env=logged_in)
        assert made.returncode == 0, made.stderr
    term = run_on_terminal("service-ids", "-n", tag, env=logged_in, columns=columns)
    assert term.wait() == 0, term.stderr
    lines = term.stdout.splitlines()
    assert lines[0].split()[:2] == ["ID", "Name"]
    rows = [line for line in lines[1:] if ID_RE.search(line)]
    assert len(rows) == 3
    for row in rows:
        # Whole IDs, names, both dates and the boolean, all on the row's first line.
        assert len(ID_RE.findall(row)) == 1 and len(DATE_RE.findall(row)) == 2
        assert any(name in row.split() for name in names) and row.split()[-1] == "false"
    # No fragment of an ID, a date or a name on any other line.
    for line in lines[1:]:
        if line not in rows:
            assert "ServiceId" not in line and "+0000" not in line and tag not in line
    # Words of the description are whole, in order, wherever it wraps.
    words = [w for line in lines[1:] for w in line.split()]
    text = " ".join(words)
    assert text.count(DESCRIPTION.split()[0]) == 3 and "administrator" in text
    for word in DESCRIPTION.split():
        assert word in words, (word, term.stdout)
    widest = max(len(line) for line in lines)
    # The fixed cells (ID to Last Updated) of the widest row, then the gap before Description.
    fixed = max(len(r[: r.index("Deploys")]) for r in rows)
    if columns == 200:
        # Room for the fixed columns and a description wrapped to fit: nothing passes the edge.
        assert widest <= columns and len(lines) > 4
    else:
        # Too narrow even for the fixed columns: the description shrinks to its longest word,
        # and the lines run past the edge, as ibmcloud's do, instead of folding a cell.
        assert widest > columns
        assert widest <= fixed + len("administrator") + len("   Locked")


def test_piped_tables_never_wrap(logged_in: dict[str, str]) -> None:
    tag = uuid.uuid4().hex[:6]
    run("service-id-create", f"pipe-{tag}", "-d", DESCRIPTION, env=logged_in)
    r = run("service-ids", "-n", tag, env={**logged_in, "COLUMNS": "40"})
    assert r.stdout.splitlines()[1].rstrip().endswith("false") and DESCRIPTION in r.stdout


def test_ctrl_c_at_the_api_key_prompt(served: ServeProcess, env: dict[str, str]) -> None:
    term = run_on_terminal("login", "-a", served.url, env=env)
    term.expect("API key: ", on="stderr")
    term.type("\x03")
    assert term.wait() == 130
    assert term.stderr.endswith("API key: \nInterrupted\n"), term.stderr
    assert "Traceback" not in term.stderr + term.stdout


def test_ctrl_c_at_a_confirmation_through_the_full_cli(logged_in: dict[str, str]) -> None:
    name = f"keep-{uuid.uuid4().hex[:6]}"
    assert run("service-id-create", name, env=logged_in).returncode == 0
    term = run_on_terminal("service-id-delete", name, env=logged_in)
    term.expect("[y/N] ", on="stderr")
    term.type("\x03")
    assert term.wait() == 130
    assert term.stderr.endswith("[y/N] \nInterrupted\n"), term.stderr
    assert run("service-id", name, env=logged_in).returncode == 0


def test_a_confirmation_answered_on_the_terminal(logged_in: dict[str, str]) -> None:
    name = f"gone-{uuid.uuid4().hex[:6]}"
    assert run("service-id-create", name, env=logged_in).returncode == 0
    term = run_on_terminal("service-id-delete", name, env=logged_in)
    term.expect("[y/N] ", on="stderr")
    term.type("y\n")
    assert term.wait() == 0, term.stderr
    assert run("service-id", name, env=logged_in).returncode == 3


def test_ctrl_c_on_the_fast_path(env: dict[str, str]) -> None:
    silent = SilentServer()
    try:
        term = run_on_terminal(
            "oauth-tokens",
            env={
                **env,
                "IAMCLI_API_KEY": KEY,
                "IAMCLI_ENDPOINT": silent.url,
                "IAMCLI_FLAVOR": "cloud",
                "IAMCLI_HTTP_TIMEOUT": "60",
            },
        )
        # The request is sent and waits for an answer that never comes; then Ctrl-C.
        deadline = 100
        while not silent._held and deadline:
            term._pump(0.1)
            deadline -= 1
        assert silent._held, "the fast path never connected"
        term.type("\x03")
        assert term.wait() == 130
        assert term.stderr == "\nInterrupted\n", term.stderr
    finally:
        silent.close()


def test_login_without_a_keyring_fails_before_asking(
    served: ServeProcess, env: dict[str, str]
) -> None:
    no_keyring = {**env, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    term = run_on_terminal("login", "-a", served.url, env=no_keyring)
    assert term.wait() == 1
    assert "API key:" not in term.stderr and "Authenticating" not in term.stderr
    assert "cannot keep the API key of profile default in the OS keyring" in term.stderr
    assert "README" in term.stderr


def test_target_does_not_claim_an_unreadable_keyring(logged_in: dict[str, str]) -> None:
    claimed = json.loads(run("target", "--output", "json", env=logged_in).stdout)
    assert claimed["credential_source"] == "OS keyring (API key)"
    no_keyring = {**logged_in, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    shown = json.loads(run("target", "--output", "json", env=no_keyring).stdout)
    assert shown["credential_source"].startswith("OS keyring (API key), but it cannot be read")
    listed = json.loads(run("profiles", "--output", "json", env=no_keyring).stdout)
    assert listed[0]["usable"] is False


def complete(words: str, env: dict[str, str]) -> list[str]:
    """What bash would offer: the completion protocol the generated script speaks."""
    parts = words.split(" ")
    r = subprocess.run(
        iamcli_command(),
        env={
            **env,
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            "_IAMCLI_COMPLETE": "complete_bash",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_completion_offers_values(logged_in: dict[str, str], served: ServeProcess) -> None:
    r = run(
        "login", "-a", served.url, "--apikey", "-", "--profile", "ci-east", env=logged_in, stdin=KEY
    )
    assert r.returncode == 0, r.stderr
    assert complete("iamcli login --flavor ", logged_in) == ["cloud", "private"]
    assert complete("iamcli login --flavor p", logged_in) == ["private"]
    assert complete("iamcli service-ids --output ", logged_in) == ["json", "text"]
    assert complete("iamcli oauth-tokens --profile ", logged_in) == ["ci-east", "default"]
    assert complete("iamcli --profile c", logged_in) == ["ci-east"]
    assert complete("iamcli api-key-update k --action-if-leaked ", logged_in) == [
        "none",
        "disable",
        "delete",
    ]
    assert complete("iamcli service-api-key-create k s --action-if-leaked de", logged_in) == [
        "delete"
    ]
    assert "service-api-key-disable" in complete("iamcli service-api-key-", logged_in)
