"""The committed completions and command reference match the code (regenerate them with
scripts/gen-docs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iamcli.cli import reference

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("shell", "name"), sorted(reference.SHELLS.items()))
def test_completion_scripts_are_current(shell: str, name: str) -> None:
    committed = (ROOT / "completions" / name).read_text()
    assert committed == reference.completion_script(shell), "run scripts/gen-docs"
    assert "_IAMCLI_COMPLETE" in committed


def test_command_reference_is_current() -> None:
    committed = (ROOT / "docs" / "commands.md").read_text()
    assert committed == reference.commands_markdown(), "run scripts/gen-docs"
    for path in reference.command_paths():
        assert f"## iamcli {' '.join(path)}\n" in committed


def test_completion_answers_from_the_real_program() -> None:
    env = {
        **os.environ,
        "COMP_WORDS": "iamcli apikeys ",
        "COMP_CWORD": "2",
        "_IAMCLI_COMPLETE": "complete_bash",
    }
    r = subprocess.run(
        [sys.executable, "-m", "iamcli"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0
    assert set(r.stdout.split()) == {"list", "get", "update", "delete"}


def test_readme_exit_codes_are_current() -> None:
    from iamcli.errors import exit_code_table

    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- exit-codes:start -->\n") + len("<!-- exit-codes:start -->\n")
    end = readme.index("<!-- exit-codes:end -->")
    assert readme[start:end] == exit_code_table()


@pytest.mark.parametrize("path", [[], *reference.command_paths()], ids=" ".join)
def test_help_reads_well(path: list[str]) -> None:
    """No framework defaults (`<str>`, `<int range>`, `[x>=0]`, `{NAME}`), every option with a
    help line, and examples that keep their line breaks."""
    text = reference._help(path)
    for leftover in ("<str>", "<int", "<float", "x>=", "<=x", "{", "TEXT", "INTEGER"):
        assert leftover not in text, (path, leftover)
    lines = text.splitlines()
    start = lines.index("Options:") + 1
    options = lines[start:]
    for i, line in enumerate(options):
        if not line.startswith("  -"):
            continue
        has_help = len(line.strip().split("  ")) > 1 and line.strip().split("  ")[-1].strip()
        follows = i + 1 < len(options) and options[i + 1].startswith(" " * 10)
        assert has_help or follows, (path, line)


def test_login_examples_keep_their_lines() -> None:
    text = reference._help(["login"])
    assert "\n    iamcli login --apikey @apikey.json\n" in text
    assert '\n    echo "$KEY" | iamcli login -a https://cluster:8443' in text
