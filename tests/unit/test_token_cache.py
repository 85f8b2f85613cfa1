from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamcli import token_cache
from iamcli.errors import IamcliError, ProtocolError
from iamcli.token_cache import (
    CachedToken,
    clear,
    expiry_from_jwt,
    is_expired,
    load,
    needs_refresh,
    refresh_lock,
    save,
    token_times,
)

ACCESS = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-access-secret"


def _token(**kw: object) -> CachedToken:
    base: dict[str, object] = {
        "access_token": ACCESS,
        "token_type": "Bearer",
        "expires_at": 4600,
        "issued_at": 1000,
        "endpoint": "https://iam.example.com",
        "iam_id": "iam-ServiceId-1",
    }
    base.update(kw)
    return CachedToken(**base)  # type: ignore[arg-type]


def _path(home: Path, profile: str = "default") -> Path:
    return home / "cache" / "tokens" / f"{profile}.json"


def test_round_trip_private_and_without_refresh_token(isolated_home: Path) -> None:
    old = os.umask(0)
    try:
        save("default", _token())
    finally:
        os.umask(old)
    path = _path(isolated_home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert set(json.loads(path.read_text())) == {
        "access_token",
        "token_type",
        "expires_at",
        "issued_at",
        "endpoint",
        "iam_id",
        "credential",
        "has_refresh_token",  # a flag only: the refresh token itself is never here
    }
    assert load("default") == _token()
    save("default", _token(credential="env:abc"))
    assert load("default") == _token(credential="env:abc")


def test_cache_written_without_credential_still_loads(isolated_home: Path) -> None:
    save("default", _token())
    path = _path(isolated_home)
    data = json.loads(path.read_text())
    del data["credential"]
    path.write_text(json.dumps(data))
    assert load("default") == _token(credential="")
    assert load("other") is None


def test_repr_hides_the_token() -> None:
    assert ACCESS not in repr(_token())
    assert _token().authorization == f"Bearer {ACCESS}"


@pytest.mark.parametrize(
    "content",
    [
        "{",
        "[]",
        '{"access_token": "x"}',
        json.dumps({**json.loads(json.dumps(_token().to_dict())), "expires_at": "soon"}),
        json.dumps({**_token().to_dict(), "issued_at": True}),
        json.dumps({**_token().to_dict(), "access_token": ""}),
    ],
)
def test_corrupt_cache_reads_as_none(isolated_home: Path, content: str) -> None:
    save("default", _token())
    _path(isolated_home).write_text(content)
    assert load("default") is None


def test_symlinked_or_group_writable_cache_is_ignored(isolated_home: Path, tmp_path: Path) -> None:
    save("default", _token())
    path = _path(isolated_home)
    path.chmod(0o666)
    assert load("default") is None
    path.chmod(0o600)
    assert load("default") == _token()
    elsewhere = tmp_path / "planted.json"
    elsewhere.write_text(path.read_text())
    path.unlink()
    path.symlink_to(elsewhere)
    assert load("default") is None


def test_clear(isolated_home: Path) -> None:
    clear("default")  # missing is fine
    save("default", _token())
    clear("default")
    assert load("default") is None and not _path(isolated_home).exists()


def test_expiry_policy_boundaries() -> None:
    tok = _token(issued_at=1000, expires_at=4600)
    # 80 % of 3600 s is 2880 s: refresh from 3880; expired from 4590 (10 s window).
    assert not needs_refresh(tok, 3879.9)
    assert needs_refresh(tok, 3880)
    assert not is_expired(tok, 4589.9)
    assert is_expired(tok, 4590)
    assert needs_refresh(tok, 5000)


def test_expiry_from_a_real_jwt() -> None:
    token = jwt.encode({"iat": 1700000000, "exp": 1700003600, "sub": "x"}, "k" * 32, "HS256")
    assert expiry_from_jwt(token) == (1700000000, 1700003600)


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b",
        "eyJ.!!!.sig",
        "x." + "bm90IGpzb24" + ".y",
        jwt.encode({"exp": 5}, "k" * 32, "HS256"),
        jwt.encode({"iat": 10, "exp": 5}, "k" * 32, "HS256"),
        jwt.encode({"iat": "1", "exp": "2"}, "k" * 32, "HS256"),
    ],
)
def test_expiry_from_jwt_rejects_what_it_cannot_use(token: str) -> None:
    assert expiry_from_jwt(token) is None


def test_token_times_prefers_the_jwt_then_the_response() -> None:
    token = jwt.encode({"iat": 100, "exp": 200}, "k" * 32, "HS256")
    assert token_times(token, expiration=999, expires_in=1) == (100, 200)
    assert token_times("opaque", expiration=5000, expires_in=3600) == (1400, 5000)
    assert token_times("opaque", expires_in=3600, now=1000) == (1000, 4600)
    assert token_times("opaque", expiration=5000, now=1000) == (1000, 5000)
    with pytest.raises(ProtocolError):
        token_times("opaque", expires_in="3600", now=1000)
    with pytest.raises(ProtocolError):
        token_times("opaque", now=1000)


def test_refresh_lock_makes_concurrent_processes_mint_once(
    isolated_home: Path, tmp_path: Path
) -> None:
    mints = tmp_path / "mints.log"
    script = textwrap.dedent(
        f"""
        import time
        from iamcli import token_cache as tc
        with tc.refresh_lock("default"):
            tok = tc.load("default")
            if tok is None or tc.needs_refresh(tok):
                with open({str(mints)!r}, "a") as f:
                    f.write("mint\\n")
                time.sleep(0.05)
                now = int(time.time())
                tc.save("default", tc.CachedToken("t", "Bearer", now + 3600, now, "e", "i"))
        """
    )
    env = {**os.environ, "IAMCLI_HOME": str(isolated_home)}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(8)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 8
    assert mints.read_text() == "mint\n"


def test_refresh_lock_wait_is_bounded(isolated_home: Path) -> None:
    (isolated_home / "cache" / "tokens").mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from iamcli import token_cache as tc\n"
            "with tc.refresh_lock('default'):\n"
            "    print('held', flush=True); time.sleep(10)\n",
        ],
        env={**os.environ, "IAMCLI_HOME": str(isolated_home)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with (
            pytest.raises(IamcliError, match="the token of profile 'default'"),
            refresh_lock("default", timeout=0.2),
        ):
            pass
        assert time.monotonic() - started < 2
    finally:
        holder.kill()
        holder.wait()


def test_fast_path_modules_import_only_the_standard_library() -> None:
    code = (
        "import sys\n"
        "import iamcli.token_cache, iamcli.config, iamcli.errors, iamcli.keyfile\n"
        "import iamcli.credentials, iamcli.trace\n"
        "from iamcli import token_cache as tc\n"
        "tc.load('default')\n"
        "heavy = ('platformdirs', 'httpx', 'keyring', 'rich', 'typer', 'pydantic', 'jwt',\n"
        "         'typing', 'secrets')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "IAMCLI_HOME": "/nonexistent-iamcli-home"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_profile_name_is_validated_before_touching_paths() -> None:
    with pytest.raises(IamcliError):
        token_cache.load("../../etc/passwd")


_FLAT_VALUES = st.one_of(
    st.text(max_size=12), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=8), _FLAT_VALUES, max_size=6),
    st.sampled_from([None, 2, 0]),
    st.booleans(),
)
def test_cache_reader_agrees_with_json_on_objects(
    obj: dict[str, object], indent: int | None, ascii_only: bool
) -> None:
    # The reader that keeps json off the fast path reads what json reads, the same way.
    text = json.dumps(obj, indent=indent, ensure_ascii=ascii_only)
    assert token_cache._read(text.encode()) == json.loads(text.encode())


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet='{}[]":,- \t\n\r0123456789.eEtruefalsn\\ax\x00\x7f\u00e9', max_size=40))
def test_cache_reader_agrees_with_json_on_any_text(text: str) -> None:
    try:
        expected: object = json.loads(text.encode())  # bytes, as the cache is read
    except ValueError:
        expected = ValueError
    try:
        got: object = token_cache._read(text.encode())
    except ValueError:
        got = ValueError
    assert got == expected and type(got) is type(expected)


def test_cache_reader_keeps_json_out_of_a_cached_read(isolated_home: Path) -> None:
    save("default", _token())
    code = (
        "import sys\n"
        "from iamcli import token_cache\n"
        "assert token_cache.load('default') is not None\n"
        "print(sorted(m for m in ('json', 're', 'enum') if m in sys.modules))\n"
    )
    env = {**os.environ, "IAMCLI_HOME": str(isolated_home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
