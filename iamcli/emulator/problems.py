"""Errors the emulator answers with, each in the body shape of the API family that raised it.

IBM uses three shapes (reference/ibmcloud-iam.md §1.5, §3.4; icp-iam.md §6):

- token endpoints (`/identity/*`): `{"context": {...}, "errorCode", "errorMessage"}`
- the Identity API (`/v1/*`): `{"status_code": "404", "errors": [{"code", "message_code",
  "message"}], "trace"}` (status_code is a string, as IBM's SDK models have it)
- the private API (`/iam-token/*`): `{"errorCode", "errorMessage", "errorDetails", "context"}`
- the private identity provider (`/idprovider/*`) answers as an OAuth 2.0 server does
  (RFC 6749 §5.2): `{"error", "error_description"}`. IBM's exact body there is unconfirmed.

The concrete `code`/`message_code` values of Identity-API errors are not documented; the ones
used here (`not_found`, `entity_locked`, ...) are our choice, and BXNIM numbers are only used
where IBM's meaning is known (BXNIM0106E validation, BXNIM0407E invalid token).
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import Response

# Identity-API `code` and `message_code` for each status, unless a Problem names its own.
_IDENTITY_CODES = {
    400: ("bad_request", "BXNIM0106E"),
    401: ("invalid_token", "BXNIM0407E"),
    403: ("forbidden", "forbidden"),
    404: ("not_found", "not_found"),
    405: ("method_not_allowed", "method_not_allowed"),
    409: ("conflict", "conflict"),
    412: ("precondition_failed", "precondition_failed"),
    413: ("request_too_large", "request_too_large"),
    415: ("unsupported_media_type", "unsupported_media_type"),
    429: ("too_many_requests", "too_many_requests"),
    500: ("internal_server_error", "internal_server_error"),
    502: ("bad_gateway", "bad_gateway"),
    503: ("service_unavailable", "service_unavailable"),
    504: ("gateway_timeout", "gateway_timeout"),
}
_PRIVATE_MESSAGES = {
    400: "input error",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    412: "precondition failed",
    413: "request too large",
    415: "unsupported media type",
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}
_OAUTH_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    404: "not_found",
    503: "temporarily_unavailable",
}


class Problem(Exception):
    """An answer other than success. `code` is an IBM error code (BXNIM…) where there is one."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


# The Policy Management API's `ErrorObject.code` values (reference §3.4; the mapping from status
# to code is our choice, IBM's is unconfirmed). Its envelope carries status_code as a number.
_POLICY_CODES = {
    400: "invalid_body",
    401: "invalid_token",
    403: "insufficent_permissions",  # sic: IBM's spelling
    404: "not_found",
    405: "request_not_processed",
    409: "policy_conflict_error",
    412: "request_not_processed",
    413: "request_not_processed",
    415: "unsupported_content_type",
    429: "too_many_requests",
}


def family_of(path: str) -> str:
    if path.startswith(("/v1/policies", "/v2/")):
        return "policy"
    if path.startswith("/v1/"):
        return "identity"
    if path.startswith(("/iam-token/", "/iam-pap/")):
        return "private"
    if path.startswith("/idprovider/"):
        return "oauth"
    return "token"


def render(problem: Problem, *, path: str, request_id: str, user_agent: str = "") -> Response:
    family = family_of(path)
    body: dict[str, Any]
    if family == "identity":
        code, message_code = _IDENTITY_CODES.get(problem.status, ("internal_error", "error"))
        if problem.code is not None:
            code = message_code = problem.code
        body = {
            "context": _identity_context(request_id, path, user_agent),
            "status_code": str(problem.status),
            "errors": [{"code": code, "message_code": message_code, "message": problem.message}],
            "trace": request_id,
        }
    elif family == "policy":
        body = {
            "trace": request_id,
            "errors": [
                {
                    "code": problem.code or _POLICY_CODES.get(problem.status, "unable_to_process"),
                    "message": problem.message,
                }
            ],
            "status_code": problem.status,
        }
    elif family == "private":
        body = {
            "errorCode": problem.code or str(problem.status),
            "errorMessage": _PRIVATE_MESSAGES.get(problem.status, "server error")
            if problem.code is None
            else problem.message,
            "errorDetails": problem.message,
            "context": _token_context(request_id, path, user_agent),
        }
    elif family == "oauth":
        body = {
            "error": problem.code or _OAUTH_ERRORS.get(problem.status, "server_error"),
            "error_description": problem.message,
        }
    else:
        body = {
            "context": _token_context(request_id, path, user_agent),
            "errorCode": problem.code or _token_error_code(problem.status),
            "errorMessage": problem.message,
        }
    return Response(
        json.dumps(body),
        status_code=problem.status,
        media_type="application/json",
        headers=problem.headers,
    )


def _token_error_code(status: int) -> str:
    # BXNIM0106E is IBM's code for a request that failed validation; any other status gets the
    # Identity API's name for it rather than a BXNIM number whose meaning would be a guess.
    if status == 400:
        return "BXNIM0106E"
    return _IDENTITY_CODES.get(status, ("", "server_error" if status >= 500 else "error"))[1]


def _now_text() -> str:
    return time.strftime("%d.%m.%Y %H:%M:%S UTC", time.gmtime())


def _token_context(request_id: str, path: str, user_agent: str) -> dict[str, str]:
    return {
        "requestId": request_id,
        "requestType": "incoming.Identity_Token" if path.endswith("/token") else "incoming",
        "userAgent": user_agent,
        "url": path,
        "startTime": _now_text(),
        "locale": "en_US",
        "clusterName": "iamcli-serve",
    }


def _identity_context(request_id: str, path: str, user_agent: str) -> dict[str, str]:
    return {
        "transaction_id": request_id,
        "operation": path,
        "user_agent": user_agent,
        "url": path,
        "start_time": _now_text(),
        "cluster_name": "iamcli-serve",
    }
