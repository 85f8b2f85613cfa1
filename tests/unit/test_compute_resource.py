"""Where a compute-resource login finds its token and its profile, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from iamcli import compute_resource
from iamcli.compute_resource import for_login, for_refresh
from iamcli.config import Profile
from iamcli.errors import NotLoggedInError, UsageError
from iamcli.output import Output


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("IBMCLOUD_CR_TOKEN", "IBMCLOUD_CR_PROFILE", "IBMCLOUD_CR_VPC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(compute_resource, "DEFAULT_TOKEN_FILES", (str(tmp_path / "none"),))


def out() -> Output:
    return Output()


def test_the_flag_wins_and_a_file_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "t"
    token.write_text("aaa.bbb.ccc\n")
    monkeypatch.setenv("IBMCLOUD_CR_TOKEN", "env.env.env")
    monkeypatch.setenv("IBMCLOUD_CR_PROFILE", "from-env")
    got = for_login(cr_token=f"@{token}", trusted_profile="p", vpc_cri=False, out=out())
    assert (got.token, got.token_file, got.profile) == ("aaa.bbb.ccc", str(token), "p")
    from_env = for_login(cr_token=None, trusted_profile=None, vpc_cri=False, out=out())
    assert (from_env.token, from_env.token_file, from_env.profile) == (
        "env.env.env",
        None,
        "from-env",
    )


def test_a_token_on_argv_is_warned_about(capsys: pytest.CaptureFixture[str]) -> None:
    for_login(cr_token="x.y.z", trusted_profile="p", vpc_cri=False, out=out())
    assert "other users of this machine" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["", "  \n", "two words", "x" * (64 * 1024 + 1)])
def test_unusable_token_files(tmp_path: Path, content: str) -> None:
    token = tmp_path / "t"
    token.write_text(content)
    with pytest.raises(UsageError):
        for_login(cr_token=f"@{token}", trusted_profile="p", vpc_cri=False, out=out())


def test_vpc_names_the_profile_by_id_or_crn_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IBMCLOUD_CR_VPC_URL", "http://127.0.0.1:9")
    got = for_login(cr_token=None, trusted_profile=None, vpc_cri=True, out=out())
    assert (got.kind, got.vpc_url, got.profile) == ("vpc", "http://127.0.0.1:9", None)
    with pytest.raises(UsageError, match="ID or CRN"):
        for_login(cr_token=None, trusted_profile="by-name", vpc_cri=True, out=out())
    with pytest.raises(UsageError, match="not both"):
        for_login(cr_token="a.b.c", trusted_profile=None, vpc_cri=True, out=out())


def test_refresh_reads_the_file_again_or_needs_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "t"
    token.write_text("first.t.t")
    profile = Profile(
        name="p", compute_resource="cr-token", trusted_profile="tp", cr_token_file=str(token)
    )
    assert for_refresh(profile).token == "first.t.t"
    token.write_text("second.t.t")
    assert for_refresh(profile).token == "second.t.t"
    kept_nothing = Profile(name="p", compute_resource="cr-token", trusted_profile="tp")
    with pytest.raises(NotLoggedInError):
        for_refresh(kept_nothing)
    monkeypatch.setenv("IBMCLOUD_CR_TOKEN", f"@{token}")
    assert for_refresh(kept_nothing).token == "second.t.t"
