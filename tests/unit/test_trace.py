from __future__ import annotations

import io
import json
import os
import re
import stat
from pathlib import Path

import httpx
import pytest

from iamcli.errors import UsageError
from iamcli.http import HttpSettings, Retry, make_client, send
from iamcli.trace import (
    HIDDEN,
    MAX_TRACE_BODY,
    Trace,
    redact_headers,
    redact_json_value,
    redact_text,
    redact_url,
)

JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ"
    ".eyJpYW1faWQiOiJpYW0tU2VydmljZUlkLTEiLCJleHAiOjQxMDI0NDQ4MDB9"
    ".c2lnbmF0dXJlLWJ5dGVz"
)
SECRET = "s3cr3t-V4lue_xyz"


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "authorization",
        "Proxy-Authorization",
        "Cookie",
        "Set-Cookie",
        "IAM-ApiKey",
        "X-Auth-Token",
        "X-Auth-Refresh-Token",
        "x-auth-user-token",
    ],
)
def test_secret_headers_are_hidden(name: str) -> None:
    out = redact_headers([(name, f"Bearer {SECRET}"), ("Content-Type", "application/json")])
    assert out == [(name, HIDDEN), ("Content-Type", "application/json")]


def test_other_headers_survive_in_order_and_case() -> None:
    headers = [("X-Request-ID", "abc-123"), ("Accept", "application/json"), ("Host", "h")]
    assert redact_headers(headers) == headers


def test_jwt_in_an_innocent_header_is_hidden() -> None:
    assert redact_headers([("X-Debug", f"token was {JWT}")]) == [("X-Debug", f"token was {HIDDEN}")]


@pytest.mark.parametrize(
    "key",
    [
        "apikey",
        "password",
        "refresh_token",
        "access_token",
        "token",
        "passcode",
        "client_secret",
        "id_token",
        "cr_token",
        "security_code",
    ],
)
def test_secret_form_fields_are_hidden(key: str) -> None:
    body = f"grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&{key}={SECRET}&x=1"
    out = redact_text(body, "application/x-www-form-urlencoded")
    assert SECRET not in out
    assert f"{key}={HIDDEN}" in out
    assert "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey" in out
    assert out.endswith("&x=1")


def test_form_detected_without_content_type() -> None:
    out = redact_text(f"apikey={SECRET}&response_type=cloud_iam")
    assert out == f"apikey={HIDDEN}&response_type=cloud_iam"


@pytest.mark.parametrize(
    "key",
    [
        "access_token",
        "refresh_token",
        "token",
        "apikey",
        "apiKey",
        "api_key",
        "password",
        "client_secret",
        "passcode",
        "delegated_refresh_token",
        "ims_token",
    ],
)
def test_secret_json_keys_are_hidden(key: str) -> None:
    body = json.dumps({"name": "ci-bot", "nested": {key: SECRET}, "expires_in": 3600})
    out = json.loads(redact_text(body, "application/json"))
    assert out == {"name": "ci-bot", "nested": {key: HIDDEN}, "expires_in": 3600}


def test_json_lists_keep_non_secret_fields() -> None:
    body = {
        "apikeys": [{"id": "ApiKey-1", "name": "deploy", "apikey": SECRET}],
        "token_type": "Bearer",
        "entity": {"apiKey": SECRET, "boundTo": "crn:v1:icp:x"},
        "tokens": [SECRET, SECRET],
        "password": {"value": SECRET, "n": 5},
    }
    out = redact_json_value(body)
    assert out == {
        "apikeys": [{"id": "ApiKey-1", "name": "deploy", "apikey": HIDDEN}],
        "token_type": "Bearer",
        "entity": {"apiKey": HIDDEN, "boundTo": "crn:v1:icp:x"},
        "tokens": [HIDDEN, HIDDEN],
        "password": {"value": HIDDEN, "n": HIDDEN},
    }


def test_truncated_json_is_still_redacted() -> None:
    body = f'{{"access_token":"{SECRET}","refresh_token":"{SECRET}2","token_type":"Bea'
    out = redact_text(body, "application/json")
    assert SECRET not in out
    assert '"token_type":"Bea' in out


@pytest.mark.parametrize(
    "text",
    [
        f"<html><body>your token {JWT} expired</body></html>",
        f"Authorization failed for {JWT}",
        json.dumps({"note": f"x {JWT} y"}),
    ],
)
def test_any_jwt_is_hidden(text: str) -> None:
    out = redact_text(text)
    assert "eyJ" not in out
    assert HIDDEN in out


def test_opaque_bearer_token_in_text_is_hidden() -> None:
    out = redact_text(f"sent Bearer {SECRET}abcdefgh to the server")
    assert SECRET not in out
    assert out == f"sent Bearer {HIDDEN} to the server"


def test_prose_survives() -> None:
    text = "Service ID ci-bot was created in account 1234 (tokens expire in 3600 s)"
    assert redact_text(text) == text


def test_redact_url_hides_query_secrets_and_userinfo() -> None:
    url = f"https://user:{SECRET}@iam.example.com/v1/apikeys?apikey={SECRET}&pagetoken=p2&name=x"
    out = redact_url(url)
    assert SECRET not in out
    assert out == f"https://iam.example.com/v1/apikeys?apikey={HIDDEN}&pagetoken=p2&name=x"


def _trace_buffer() -> tuple[Trace, io.StringIO]:
    buf = io.StringIO()
    return Trace(buf), buf


def test_request_and_response_format() -> None:
    trace, buf = _trace_buffer()
    trace.request(
        "POST",
        "https://iam.example.com/identity/token",
        [("Host", "iam.example.com"), ("Content-Type", "application/x-www-form-urlencoded")],
        f"grant_type=x&apikey={SECRET}".encode(),
    )
    trace.response(
        200,
        "OK",
        [("Content-Type", "application/json")],
        json.dumps({"access_token": JWT, "expires_in": 3600}).encode(),
        elapsed=0.0123,
    )
    text = buf.getvalue()
    assert SECRET not in text and JWT not in text
    lines = text.splitlines()
    assert re.fullmatch(r"REQUEST: \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\]", lines[0])
    assert lines[1:4] == [
        "POST /identity/token HTTP/1.1",
        "Host: iam.example.com",
        "Content-Type: application/x-www-form-urlencoded",
    ]
    assert lines[4] == ""
    assert lines[5] == f"grant_type=x&apikey={HIDDEN}"
    response_at = next(i for i, line in enumerate(lines) if line.startswith("RESPONSE:"))
    assert re.fullmatch(r"RESPONSE: \[[0-9TZ:-]+\] Elapsed: 12ms", lines[response_at])
    assert lines[response_at + 1] == "HTTP/1.1 200 OK"
    assert json.loads(lines[response_at + 4]) == {"access_token": HIDDEN, "expires_in": 3600}


def test_request_without_host_header_gets_one_and_query_is_redacted() -> None:
    trace, buf = _trace_buffer()
    trace.request("GET", f"https://h.example:8443/v1/x?token={SECRET}&limit=5", [], None)
    lines = buf.getvalue().splitlines()
    assert lines[1] == f"GET /v1/x?token={HIDDEN}&limit=5 HTTP/1.1"
    assert lines[2] == "Host: h.example:8443"


def test_binary_and_oversized_bodies_are_summarised() -> None:
    trace, buf = _trace_buffer()
    trace.response(200, "OK", [], b"\xff\xfe\x00binary", elapsed=0)
    trace.response(
        200, "OK", [("Content-Type", "application/json")], b"x" * (MAX_TRACE_BODY + 1), elapsed=0
    )
    text = buf.getvalue()
    assert "[9 bytes of binary data not shown]" in text
    assert f"[{MAX_TRACE_BODY + 1} bytes of application/json not shown]" in text
    assert "xxxx" not in text


@pytest.mark.parametrize(
    ("env", "flag", "expect"),
    [
        (None, False, None),
        (None, True, "stderr"),
        ("true", False, "stderr"),
        ("TRUE", False, "stderr"),
        ("false", False, None),
        ("false", True, "stderr"),
        ("stderr", False, "stderr"),
    ],
)
def test_from_env_and_flag_selects_stderr_or_nothing(
    env: str | None, flag: bool, expect: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is not None:
        monkeypatch.setenv("IAMCLI_TRACE", env)
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    trace = Trace.from_env_and_flag(flag)
    if expect is None:
        assert trace is None
    else:
        assert trace is not None
        trace.note("hello")
        assert err.getvalue() == "hello\n\n"


def test_trace_file_is_private_and_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trace.log"
    monkeypatch.setenv("IAMCLI_TRACE", str(path))
    old = os.umask(0)
    try:
        for word in ("one", "two"):
            trace = Trace.from_env_and_flag(False)
            assert trace is not None
            trace.note(word)
            trace.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "one\n\ntwo\n\n"


def test_trace_file_through_symlink_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    link = tmp_path / "trace.log"
    link.symlink_to(target)
    monkeypatch.setenv("IAMCLI_TRACE", str(link))
    with pytest.raises(UsageError, match="symbolic link"):
        Trace.from_env_and_flag(True)
    assert target.read_text() == "keep\n"


def test_trace_of_a_real_exchange_hides_every_secret() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"access_token": JWT, "refresh_token": SECRET + "-rt", "token_type": "Bearer"},
            headers={"Set-Cookie": f"session={SECRET}"},
        )

    trace, buf = _trace_buffer()
    settings = HttpSettings("https://iam.example.com", timeout=5, trace=trace)
    with make_client(settings, transport=httpx.MockTransport(handler)) as client:
        send(
            client,
            "POST",
            "/identity/token",
            retry=Retry.TOKEN,
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": SECRET},
            headers={"Authorization": "Basic Yng6Yng="},
        )
    text = buf.getvalue()
    assert SECRET not in text
    assert JWT not in text
    assert "Yng6Yng=" not in text
    assert "POST /identity/token HTTP/1.1" in text
    assert "X-Request-ID: " in text
    assert '"token_type": "Bearer"' in text
    assert text.count(HIDDEN) >= 5
