from __future__ import annotations

import re

import pytest

from iamcli import errors
from iamcli.errors import (
    ApiError,
    AuthError,
    ConflictError,
    CredentialStoreError,
    ExitCode,
    FileExportError,
    IamcliError,
    NetworkError,
    NotFoundError,
    NotLoggedInError,
    ProtocolError,
    RateLimitError,
    ServerError,
    UsageError,
    api_error_class,
    exit_code_for,
    exit_code_table,
)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        pytest.param(IamcliError("x"), 1, id="base"),
        pytest.param(UsageError("x"), 2, id="usage"),
        pytest.param(NotLoggedInError("x"), 4, id="not-logged-in"),
        pytest.param(CredentialStoreError("x"), 1, id="credential-store"),
        pytest.param(NetworkError("x"), 6, id="network"),
        pytest.param(ProtocolError("x"), 1, id="protocol"),
        pytest.param(FileExportError("x"), 1, id="file-export"),
        pytest.param(ApiError("x", status=400), 1, id="api-400"),
        pytest.param(AuthError("x", status=401), 4, id="auth"),
        pytest.param(NotFoundError("x", status=404), 3, id="not-found"),
        pytest.param(ConflictError("x", status=409), 5, id="conflict"),
        pytest.param(RateLimitError("x", status=429), 1, id="rate-limit"),
        pytest.param(ServerError("x", status=503), 1, id="server"),
        pytest.param(KeyboardInterrupt(), 130, id="ctrl-c"),
        pytest.param(ValueError("bug"), 1, id="bug"),
    ],
)
def test_exit_code_for(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == code


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, None, ApiError),
        (400, "BXNIM0106E", ApiError),
        (400, "BXNIM0415E", AuthError),
        (400, "BXNIM0408E", AuthError),
        (400, "BXNIM0407E", AuthError),
        (400, "BXNIM0439E", AuthError),
        (401, None, AuthError),
        (403, None, AuthError),
        (404, None, NotFoundError),
        (409, None, ConflictError),
        (412, None, ConflictError),
        (418, None, ApiError),
        (429, None, RateLimitError),
        (500, None, ServerError),
        (503, "BXNIM0415E", ServerError),
    ],
)
def test_api_error_class_by_status_and_code(status: int, code: str | None, cls: type) -> None:
    assert api_error_class(status, code) is cls


def test_error_carries_message_hint_and_api_fields() -> None:
    exc = NotFoundError(
        "BXNIM0xxxE: gone",
        status=404,
        code="BXNIM0xxxE",
        request_id="rid-1",
        method="GET",
        url="https://iam.example.com/v1/serviceids/x",
        hint="check the ID",
    )
    assert str(exc) == "BXNIM0xxxE: gone"
    assert (exc.message, exc.hint, exc.status, exc.code) == (
        "BXNIM0xxxE: gone",
        "check the ID",
        404,
        "BXNIM0xxxE",
    )
    assert (exc.request_id, exc.method, exc.url) == (
        "rid-1",
        "GET",
        "https://iam.example.com/v1/serviceids/x",
    )
    assert "rid-1" in repr(exc) and "NotFoundError" in repr(exc)


def test_exit_code_table_lists_every_code_once() -> None:
    table = exit_code_table()
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    found = {int(line.split("|")[1]): line.split("|")[2].strip(" `") for line in rows}
    assert found == {c.value: c.name for c in ExitCode}
    assert table.startswith("| Code | Name | Meaning |")


def test_docstring_tree_names_every_exception_class() -> None:
    doc = errors.__doc__ or ""
    classes = [
        obj.__name__
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, IamcliError)
    ]
    assert len(classes) == 15
    for name in classes:
        assert name in doc, name
