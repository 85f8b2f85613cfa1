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
