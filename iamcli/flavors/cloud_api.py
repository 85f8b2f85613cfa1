"""What every IBM Cloud Identity-API adapter beyond service IDs and API keys sends requests
with: the Cloud flavor's client and token, IBM's encoding of path variables, answers read as
JSON objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..http import Retry, delete, json_object, send
from ._wire import Reader

if TYPE_CHECKING:
    import httpx

    from .cloud import Cloud


def seg(value: str) -> str:
    # IBM's SDKs percent-encode path variables; identity identifiers are CRNs, with '/'.
    return quote(value, safe="")


class CloudApi:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def _send(
        self, method: str, path: str, *, retry: Retry = Retry.IDEMPOTENT, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.cloud.auth_headers(), **kwargs.pop("headers", {})}
        return send(self.cloud.client, method, path, retry=retry, headers=headers, **kwargs)

    def _read(self, response: httpx.Response) -> Reader:
        return Reader(json_object(response), self.cloud.where)

    def _delete(self, path: str) -> None:
        delete(self.cloud.client, path, headers=self.cloud.auth_headers())
