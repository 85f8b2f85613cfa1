"""What every `/v1` Identity-API route of the public-cloud family shares: the caller, the
account check, IBM's opaque page tokens and list bodies, entity tags."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request

from .. import formats, web
from ..problems import Problem
from ..store import AccountSettings, ApiKey, Page, ServiceId, ServiceIdGroup, Store
from ..tokens import Caller

PageSize = Annotated[int, Query(ge=1, le=100)]


def caller_of(request: Request) -> Caller:
    # Read here rather than declared as a parameter: the bearer token is documented as a
    # security scheme (see openapi.py), and FastAPI's parameter machinery costs on every call.
    return web.tokens(request).caller(request.headers.get("authorization"))


def activity_json(store: Store, entity_id: str) -> dict[str, Any]:
    """IBM's `Activity` of an entity (include_activity=true): its last recorded authentication."""
    seen = store.activity(entity_id)
    if seen is None:
        return {"authn_count": 0}
    return {"last_authn": formats.ibm_time(seen.last_authn), "authn_count": seen.authn_count}


def own_account(caller: Caller, account_id: str | None) -> str:
    if account_id not in (None, caller.account_id):
        raise Problem(403, "You are not allowed to access this account's identities")
    return caller.account_id


# Far beyond any real list, and far inside SQLite's 64-bit integers, even with a page added.
MAX_OFFSET = 2**31 - 1


def decode_page_token(token: str | None) -> tuple[int, str | None]:
    """(offset, account ID) of a page token this server made; 400 for anything else, of any
    shape, size or type: the token is the caller's to tamper with."""
    if token is None:
        return 0, None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, RecursionError, binascii.Error):  # UnicodeDecodeError is a ValueError
        data = None
    offset = data.get("o") if isinstance(data, dict) else None
    account = data.get("a") if isinstance(data, dict) else None
    if (
        type(offset) is not int
        or not 0 <= offset <= MAX_OFFSET
        or not (account is None or isinstance(account, str))
    ):
        raise Problem(400, "Validation of property 'pagetoken' failed: not a page token")
    return offset, account


def page_token(offset: int, account_id: str) -> str:
    raw = json.dumps({"o": offset, "a": account_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def list_body(
    request: Request,
    key: str,
    page: Page,
    pagesize: int,
    account_id: str,
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    params = {k: v for k, v in request.query_params.items() if k != "pagetoken"}
    url = web.base_url(request) + request.url.path

    def link(offset: int | None) -> str:
        query = dict(params)
        if offset:
            query["pagetoken"] = page_token(offset, account_id)
        return f"{url}?{urlencode(query)}" if query else url

    body: dict[str, Any] = {"offset": page.offset, "limit": pagesize, "first": link(None)}
    if page.offset > 0:
        body["previous"] = link(max(0, page.offset - pagesize))
    if page.has_more:
        body["next"] = link(page.offset + pagesize)
    body[key] = items
    return body


def order_desc(order: str | None) -> bool:
    return order == "desc"


def etag(entity: ServiceId | ApiKey | ServiceIdGroup | AccountSettings) -> dict[str, str]:
    return {"ETag": entity.entity_tag}
