"""Telling which IAM API family an endpoint speaks, when nobody said."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from .errors import ApiError, NetworkError, ProtocolError, UsageError
from .http import Retry, json_object, send


def detect_flavor(client: httpx.Client, endpoint: str) -> str:
    """`cloud` for IBM Cloud and anything serving IBM Cloud's discovery document, `private`
    for a server with ICP's token keys; a server that speaks both (iamcli serve) is `cloud`."""
    host = (urlsplit(endpoint).hostname or "").lower()
    if host == "cloud.ibm.com" or host.endswith(".cloud.ibm.com"):
        return "cloud"
    for path, flavor in (
        ("/identity/.well-known/openid-configuration", "cloud"),
        ("/iam-token/oidc/keys", "private"),
    ):
        try:
            body = json_object(send(client, "GET", path, retry=Retry.IDEMPOTENT))
        except (ApiError, ProtocolError):
            continue
        except NetworkError:
            raise
        if "token_endpoint" in body or "keys" in body:
            return flavor
    raise UsageError(
        f"cannot tell which IAM API family {urlsplit(endpoint).netloc} speaks",
        hint="pass --flavor cloud or --flavor private (or set IAMCLI_FLAVOR)",
    )
