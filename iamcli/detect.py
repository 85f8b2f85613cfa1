"""Telling which IAM API family an endpoint speaks, when nobody said."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .errors import ApiError, NetworkError, ProtocolError, UsageError
from .flavors.cloud_token import DISCOVERY_PATH

if TYPE_CHECKING:
    import httpx


def known_flavor(endpoint: str) -> str | None:
    """The family an endpoint speaks by its host alone: IBM Cloud's hosts speak `cloud`."""
    host = (urlsplit(endpoint).hostname or "").lower()
    return "cloud" if host == "cloud.ibm.com" or host.endswith(".cloud.ibm.com") else None


def answers_probe(body: dict[str, object]) -> bool:
    """Whether a probe's JSON answer shows the family it looks for: a discovery document's
    token endpoint, or a key set."""
    return "token_endpoint" in body or "keys" in body


def detect_flavor(client: httpx.Client, endpoint: str) -> str:
    """`cloud` for IBM Cloud and anything serving IBM Cloud's discovery document, `private`
    for a server with ICP's token keys; a server that speaks both (iamcli serve) is `cloud`."""
    from .http import Retry, json_object, send

    known = known_flavor(endpoint)
    if known is not None:
        return known
    for path, flavor in ((DISCOVERY_PATH, "cloud"), ("/iam-token/oidc/keys", "private")):
        try:
            body = json_object(send(client, "GET", path, retry=Retry.IDEMPOTENT))
        except (ApiError, ProtocolError):
            continue
        except NetworkError:
            raise
        if answers_probe(body):
            return flavor
    raise UsageError(
        f"cannot tell which IAM API family {urlsplit(endpoint).netloc} speaks",
        hint="pass --flavor cloud or --flavor private (or set IAMCLI_FLAVOR)",
    )
