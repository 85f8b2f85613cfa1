"""What every `/v1` Identity-API route of the public-cloud family shares: the caller, the
account check, IBM's opaque page tokens and list bodies, entity tags."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PageStart:
    """Where a pagetoken says the page starts: its offset in the list (for the `offset` member
    and offset paging), the account it lists, and, for keyset paging, the place of the row
    before it (store.base.PageKey)."""

    offset: int
    account: str | None
    after: tuple[Any, ...] | None


_NOT_A_TOKEN = "Validation of property 'pagetoken' failed: not a page token"
MAX_PAGE_TOKEN = 4096
# The longest sort key (as JSON) a page token holds as it is; longer ones are named by row.
LONG_KEY = 300


def decode_page_token(request: Request, token: str | None) -> PageStart:
    """The start of a page named by a token this server made for this list and this order;
    400 for anything else, of any shape, size or type: the token is the caller's to tamper with,
    and it is authenticated (an HMAC) so that a changed one is refused rather than followed."""
    if token is None:
        return PageStart(0, None, None)
    body, _, mac = token.partition(".")
    try:
        if len(token) > MAX_PAGE_TOKEN:
            raise ValueError
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
    except (ValueError, binascii.Error):  # non-ASCII text is a ValueError
        raise Problem(400, _NOT_A_TOKEN) from None
    if not raw or not hmac.compare_digest(given, _mac(request, raw)):
        raise Problem(400, _NOT_A_TOKEN)
    data = json.loads(raw)  # made by page_token below, and authenticated
    after = data.get("k")
    if data.get("s") != _ordering(request):
        # A place in one order is no place in another.
        raise Problem(400, "Validation of property 'pagetoken' failed: the sort or order changed")
    return PageStart(data["o"], data["a"], None if after is None else tuple(after[:3]))


def page_token(
    request: Request, offset: int, account_id: str, after: tuple[Any, int] | None
) -> str:
    """IBM's opaque pagetoken: base64url JSON of where the page starts, bound to the list (the
    path), its order (sort, order) and the account, with an HMAC of the database's key."""
    data = {"o": min(offset, MAX_OFFSET), "a": account_id, "s": _ordering(request)}
    if after is not None:
        value, rowid = after[0], after[1]
        if isinstance(value, str) and len(json.dumps(value)) > LONG_KEY:
            # A name or description of kilobytes would make a link longer than a query may be:
            # the token names the row, and keeps a prefix for when the row is gone meanwhile
            # (store.base._page: its place is then approximated, repeating rows, never skipping).
            prefix = value[: LONG_KEY // 12]
            data["k"] = [prefix, rowid, 1]
        else:
            data["k"] = [value, rowid]
    raw = json.dumps(data, separators=(",", ":")).encode()
    return f"{_b64(raw)}.{_b64(_mac(request, raw))}"


def _ordering(request: Request) -> str:
    return f"{request.query_params.get('sort', '')} {request.query_params.get('order', '')}"


def _mac(request: Request, raw: bytes) -> bytes:
    key = web.store(request).page_token_key
    return hmac.new(key, request.url.path.encode() + b"\0" + raw, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def list_body(
    request: Request,
    key: str,
    page: Page,
    pagesize: int,
    account_id: str,
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    """IBM's list body. `next` pages by keyset (from the last row of this page: rows added or
    deleted meanwhile neither repeat nor skip any); `previous` by offset, the only way back
    from a keyset page (UNCONFIRMED how IBM's previous behaves under changes)."""
    params = {k: v for k, v in request.query_params.items() if k != "pagetoken"}
    url = web.base_url(request) + request.url.path

    def link(offset: int | None, after: tuple[Any, int] | None = None) -> str:
        query = dict(params)
        if offset or after is not None:
            query["pagetoken"] = page_token(request, offset or 0, account_id, after)
        return f"{url}?{urlencode(query)}" if query else url

    body: dict[str, Any] = {"offset": page.offset, "limit": pagesize, "first": link(None)}
    if page.offset > 0:
        body["previous"] = link(max(0, page.offset - pagesize))
    if page.has_more:
        body["next"] = link(page.offset + pagesize, page.after)
    body[key] = items
    return body


def order_desc(order: str | None) -> bool:
    return order == "desc"


def etag(entity: ServiceId | ApiKey | ServiceIdGroup | AccountSettings) -> dict[str, str]:
    return {"ETag": entity.entity_tag}
