"""What the private family's routes share: the cluster, the issuer, the caller, ICP's paging.

Where ICP's behaviour is unconfirmed, the choices are:
- list paging takes `currentPage` (1-based) and `pageSize` (1-100, default 20), the names the
  responses use; a page shorter than `pageSize` is the last one;
- `boundTo` is required to list API keys (as IBM's older API answered "boundTo is missing");
- creates answer 201, deletes 204; reads never return an API key's value, because only its
  hash is kept (the ICP 3.1 samples show `apiKey` on reads);
- PUT honours an `If-Match` entity tag when one is sent, and ignores its absence.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from .. import formats, web
from ..store import ServiceId, Store, User
from ..tokens import Caller

CurrentPage = Annotated[int, Query(alias="currentPage", ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(alias="pageSize", ge=1, le=100)]


def cluster_of(request: Request) -> str:
    name: str = request.app.state.settings.cluster_name
    return name


def issuer_of(request: Request) -> str:
    return web.base_url(request) + "/iam-token/oidc/token"


def caller_of(request: Request) -> Caller:
    # Read here rather than declared as a parameter: the bearer token is documented as a
    # security scheme (see openapi.py), and FastAPI's parameter machinery costs on every call.
    return web.tokens(request).caller(request.headers.get("authorization"), allow_opaque=True)


def page_body(items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    return {"currentPage": page, "pageSize": size, "items": items}


def owner_crn(request: Request, store: Store, iam_id: str) -> str:
    identity = store.identity(iam_id)
    if isinstance(identity, ServiceId):
        return formats.private_service_id_crn(cluster_of(request), identity.namespace, identity.id)
    if isinstance(identity, User):
        return formats.private_user_crn(identity.username)
    return ""
