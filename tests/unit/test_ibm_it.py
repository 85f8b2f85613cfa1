"""scripts/ibm-it-report, the verdict of `make ibm-it`: per suite, against the expected list,
from the result files pytest (JUnit XML) and jest (--json) write; and the refusals of
scripts/ibm-it before it installs or starts anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[2] / "scripts" / "ibm-it-report"


def junit(path: Path, cases: dict[str, str]) -> None:
    body = {
        "passed": "",
        "failed": '<failure message="boom">trace</failure>',
        "skipped": '<skipped message="no config"/>',
    }
    rows = "".join(
        f'<testcase classname="t.T" name="{name}">{body[status]}</testcase>'
        for name, status in cases.items()
    )
    path.write_text(f"<testsuites><testsuite>{rows}</testsuite></testsuites>", encoding="utf-8")


def jest(path: Path, cases: dict[str, str]) -> None:
    assertions = [
        {"fullName": name, "title": name.split(" ", 1)[-1], "status": status}
        for name, status in cases.items()
    ]
    report = {"testResults": [{"status": "failed", "assertionResults": assertions}]}
    path.write_text(json.dumps(report), encoding="utf-8")


def run(tmp_path: Path, expected: str, *suites: str) -> subprocess.CompletedProcess[str]:
    listed = tmp_path / "expected.txt"
    listed.write_text(expected, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(REPORT), str(tmp_path), str(listed), *suites],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_all_passed_is_success(tmp_path: Path) -> None:
    junit(tmp_path / "py-it.xml", {"test_a": "passed", "test_b": "passed"})
    jest(tmp_path / "node-it.json", {"Suite a()": "passed"})
    r = run(tmp_path, "# nothing expected\n", "py-it", "node-it")
    assert r.returncode == 0, r.stdout
    assert "py-it: ok: 2 passed, 0 failed" in r.stdout
    assert r.stdout.splitlines()[-1] == "ibm-it: 3 passed, 0 failed, 0 skipped"


def test_a_listed_failure_is_expected_and_an_unlisted_one_fails(tmp_path: Path) -> None:
    jest(tmp_path / "node-it.json", {"Suite a()": "failed", "Suite b()": "failed"})
    r = run(tmp_path, "node-it | Suite a() | needs a real IBMid\n", "node-it")
    assert r.returncode == 1
    assert "1 failed, 1 expected failures" in r.stdout
    assert "  failed: Suite b()" in r.stdout
    assert "Suite a()" not in r.stdout.replace("Suite b()", "")


def test_skipped_counts_as_not_passed(tmp_path: Path) -> None:
    # IBM's suites skip everything when their config file is missing: that is no pass.
    junit(tmp_path / "py-it.xml", {"test_a": "skipped"})
    r = run(tmp_path, "", "py-it")
    assert r.returncode == 1
    assert "  skipped: test_a" in r.stdout


def test_a_listed_test_that_passes_must_leave_the_list(tmp_path: Path) -> None:
    junit(tmp_path / "py-it.xml", {"test_a": "passed"})
    r = run(tmp_path, "py-it | test_a | was thought impossible\n", "py-it")
    assert r.returncode == 1
    assert "remove it from the list" in r.stdout


def test_a_suite_without_results_fails(tmp_path: Path) -> None:
    r = run(tmp_path, "", "py-examples")
    assert r.returncode == 1
    assert "py-examples: NO RESULTS" in r.stdout


def test_a_malformed_expected_line_is_one_clear_error(tmp_path: Path) -> None:
    junit(tmp_path / "py-it.xml", {"test_a": "passed"})
    r = run(tmp_path, "py-it test_a no separators\n", "py-it")
    assert r.returncode == 1
    assert "expected.txt:1: expected 'SUITE | TEST | WHY'" in r.stderr
    assert "Traceback" not in r.stderr


RUNNER = REPORT.parent / "ibm-it"


def runner(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IBM_")}
    return subprocess.run(
        ["bash", str(RUNNER), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**clean, "IBM_IT_DIR": str(tmp_path / "work"), **env},
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("py-it",), {}, "IBM_PY_SDK_DIR is not set"),
        (("node-it",), {}, "IBM_NODE_SDK_DIR is not set"),
        (("py-unit",), {}, "unknown suite 'py-unit'"),
        (("py-it",), {"IBM_PY_SDK_DIR": "/nonexistent"}, "is not a directory"),
    ],
)
def test_the_runner_refuses_in_one_line(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    r = runner(tmp_path, *args, **env)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


def test_the_runner_wants_the_pinned_version(tmp_path: Path) -> None:
    # An unpacked tree of another release: refused before anything is installed.
    tree = tmp_path / "sdk" / "ibm_platform_services"
    tree.mkdir(parents=True)
    (tree / "version.py").write_text("__version__ = '0.1.0'\n", encoding="utf-8")
    r = runner(tmp_path, "py-it", IBM_PY_SDK_DIR=str(tree.parent))
    assert r.returncode == 2
    assert "is not version" in r.stderr and "check out tag v" in r.stderr
    assert not (tmp_path / "work" / "venv").exists()
