"""The routes of enterprise templates, in IBM's shapes, made once per template kind
(cloud/templates.py names the kinds; template_assignments.py makes their assignments' routes).

Who may: the identities of the enterprise account that holds the template, as the decision
engine rules for `iam-identity.<kind>-template.*` and `iam-identity.<kind>-assignment.*`;
a target must be a child account of that enterprise (`iamcli serve --child-account`).

Choices where IBM's reference is silent: a committed version cannot change (409) and only a
committed version can be assigned (400); deleting a version or template that an assignment uses
is 409; one assignment per template and target (409, update it instead); lists page with
`limit` and this server's `pagetoken` (IBM's `offset`, `limit`, `first`, `previous`, `next`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from .. import authz, formats, web
from ..problems import Problem
from ..store import Assignment, Page, Template
from .common import caller_of, decode_page_token, list_body, own_account

router = APIRouter()


PageToken = Annotated[str | None, Query(max_length=1024)]
SortKey = Annotated[str | None, Query(max_length=50)]
SortOrder = Annotated[str | None, Query(max_length=10)]


class TemplateBody(BaseModel):
    """What every kind's template body has; each kind adds its components."""

    account_id: Annotated[str | None, Field(max_length=64)] = None
    name: Annotated[str | None, Field(max_length=300)] = None
    description: Annotated[str | None, Field(max_length=1000)] = None


@dataclass(frozen=True)
class Kind:
    name: str  # the store's kind
    templates: str  # URL of the templates collection
    assignments: str  # URL of the assignments collection, with IBM's trailing slash
    list_key: str  # the key of the template list
    crn_kind: str
    tag: str
    body: type[TemplateBody]  # the request body of a template version
    # The stored components of a request (None: none sent), checked; the request asks.
    components: Callable[[Request, TemplateBody], dict[str, Any] | None]
    # The stored components as the template's JSON fields.
    render: Callable[[dict[str, Any]], dict[str, Any]]


def template_json(kind: Kind, t: Template, *, history: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": t.id,
        "version": t.version,
        "account_id": t.account_id,
        "name": t.name,
        "committed": t.committed,
        **kind.render(t.body),
        "entity_tag": t.entity_tag,
        "crn": formats.cloud_crn(t.account_id, kind.crn_kind, f"{t.id}/{t.version}"),
        "created_at": formats.ibm_time(t.created_at),
        "created_by_id": t.created_by,
        "last_modified_at": formats.ibm_time(t.modified_at),
        "last_modified_by_id": t.modified_by,
    }
    if t.description is not None:
        body["description"] = t.description
    if history:
        body["history"] = list(t.history)
    return body


def version_number(request: Request, text: str) -> int:
    # Who asks comes first: a request without a token is 401 whatever its path says.
    caller_of(request)
    version = formats.whole_number(text, 1, 1_000_000)
    if version is None:
        raise Problem(400, "Validation of property 'version' failed: expected a version number")
    return version


def require_access(request: Request, kind: Kind, what: str, verb: str, account_id: str) -> str:
    caller = caller_of(request)
    own_account(caller, account_id)
    authz.require(
        authz.subject_of(caller),
        f"iam-identity.{kind.name.replace('_', '-')}-{what}.{verb}",
        authz.Resource(account_id=account_id, resource_type=f"{kind.name}_{what}"),
    )
    return caller.iam_id


def listed_account(
    request: Request, kind: Kind, what: str, account_id: str | None, pagetoken: str | None
) -> tuple[int, str]:
    """The offset and the account of a list, which the caller may list (else 403). IBM: the
    account is required unless a page token names it; here it defaults to the caller's."""
    offset, token_account = decode_page_token(pagetoken)
    account = account_id or token_account or caller_of(request).account_id
    require_access(request, kind, what, "list", account)
    return offset, account


def _template(request: Request, kind: Kind, tid: str, version: int | None, verb: str) -> Template:
    caller_of(request)  # 401 before 404
    found = web.store(request).template(kind.name, tid, version)
    if found is None:
        raise Problem(404, f"Template {tid[:100]} not found")
    require_access(request, kind, "template", verb, found.account_id)
    return found


Handler = TypeVar("Handler", bound=Callable[..., Response])


def _taking(model: type[BaseModel], handler: Handler) -> Handler:
    """HANDLER, with its `body` parameter declared as MODEL (each kind's own body), so that
    FastAPI validates and documents the kind's body."""
    signature = inspect.signature(handler)
    handler.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            p.replace(annotation=model) if p.name == "body" else p
            for p in signature.parameters.values()
        ]
    )
    return handler


def etag_header(entity: Template | Assignment) -> dict[str, str]:
    return {"ETag": entity.entity_tag}


def add_template_routes(kind: Kind) -> None:
    tags: list[Any] = [kind.tag]
    one = kind.templates + "/{template_id}"
    version_path = one + "/versions/{version}"

    def create(request: Request, body: TemplateBody) -> Response:
        caller = caller_of(request)
        account_id = body.account_id or caller.account_id
        by = require_access(request, kind, "template", "create", account_id)
        if not body.name:
            raise Problem(400, "Property missing or empty. Property: name")
        created = web.store(request).create_template(
            kind.name,
            account_id=account_id,
            name=body.name,
            description=body.description,
            body=kind.components(request, body) or {},
            by=by,
        )
        return web.json_response(
            template_json(kind, created, history=False), 201, etag_header(created)
        )

    def listing(
        request: Request,
        account_id: str | None = None,
        limit: Annotated[str | None, Query(max_length=10)] = None,
        pagetoken: PageToken = None,
        sort: SortKey = None,
        order: SortOrder = None,
        include_history: bool = False,
    ) -> Response:
        offset, account = listed_account(request, kind, "template", account_id, pagetoken)
        size = _page_size(limit)
        found = sorted_by(
            web.store(request).list_templates(kind.name, account), _TEMPLATE_SORTS, sort, order
        )
        return paged(
            request,
            kind.list_key,
            found,
            lambda t: template_json(kind, t, history=include_history),
            size,
            offset,
            account,
        )

    def latest(request: Request, template_id: str, include_history: bool = False) -> Response:
        found = _template(request, kind, template_id, None, "get")
        return web.json_response(
            template_json(kind, found, history=include_history), headers=etag_header(found)
        )

    def delete_all(request: Request, template_id: str) -> Response:
        _template(request, kind, template_id, None, "delete")
        web.store(request).delete_template(kind.name, template_id)
        return web.no_content()

    def versions(
        request: Request,
        template_id: str,
        limit: Annotated[str | None, Query(max_length=10)] = None,
        pagetoken: PageToken = None,
        sort: SortKey = None,
        order: SortOrder = None,
        include_history: bool = False,
    ) -> Response:
        found = _template(request, kind, template_id, None, "list")
        offset, _ = decode_page_token(pagetoken)
        size = _page_size(limit)
        every = web.store(request).list_templates(
            kind.name, found.account_id, template_id=template_id
        )
        return paged(
            request,
            kind.list_key,
            sorted_by(every, _TEMPLATE_SORTS, sort, order),
            lambda t: template_json(kind, t, history=include_history),
            size,
            offset,
            found.account_id,
        )

    def create_version(request: Request, template_id: str, body: TemplateBody) -> Response:
        current = _template(request, kind, template_id, None, "create")
        created = web.store(request).create_template(
            kind.name,
            account_id=body.account_id or current.account_id,
            name=body.name or current.name,
            description=body.description if body.description is not None else current.description,
            body=kind.components(request, body) or current.body,
            by=caller_of(request).iam_id,
            template_id=template_id,
        )
        return web.json_response(
            template_json(kind, created, history=False), 201, etag_header(created)
        )

    def get_version(
        request: Request, template_id: str, version: str, include_history: bool = False
    ) -> Response:
        found = _template(request, kind, template_id, version_number(request, version), "get")
        return web.json_response(
            template_json(kind, found, history=include_history), headers=etag_header(found)
        )

    def update_version(
        request: Request,
        template_id: str,
        version: str,
        body: TemplateBody,
        if_match: Annotated[str, Header()],
    ) -> Response:
        number = version_number(request, version)
        current = _template(request, kind, template_id, number, "update")
        if body.account_id not in (None, current.account_id):
            raise Problem(400, "A template cannot move to another account")
        updated = web.store(request).update_template(
            kind.name,
            template_id,
            number,
            if_match=if_match,
            name=body.name,
            description=body.description,
            body=kind.components(request, body),
            by=caller_of(request).iam_id,
        )
        return web.json_response(
            template_json(kind, updated, history=False), headers=etag_header(updated)
        )

    def delete_version(request: Request, template_id: str, version: str) -> Response:
        number = version_number(request, version)
        _template(request, kind, template_id, number, "delete")
        web.store(request).delete_template(kind.name, template_id, number)
        return web.no_content()

    def commit(request: Request, template_id: str, version: str) -> Response:
        number = version_number(request, version)
        _template(request, kind, template_id, number, "commit")
        web.store(request).commit_template(
            kind.name, template_id, number, by=caller_of(request).iam_id
        )
        return web.no_content()

    for path, handler, method, status in (
        (kind.templates, _taking(kind.body, create), "POST", 201),
        (kind.templates, listing, "GET", 200),
        (one, latest, "GET", 200),
        (one, delete_all, "DELETE", 204),
        (one + "/versions", versions, "GET", 200),
        (one + "/versions", _taking(kind.body, create_version), "POST", 201),
        (version_path, get_version, "GET", 200),
        (version_path, _taking(kind.body, update_version), "PUT", 200),
        (version_path, delete_version, "DELETE", 204),
        (version_path + "/commit", commit, "POST", 204),
    ):
        router.add_api_route(
            path,
            handler,
            methods=[method],
            status_code=status,
            tags=tags,
            name=f"{kind.name}_template_{handler.__name__}",
        )


Entity = TypeVar("Entity", Template, Assignment)


def paged(
    request: Request,
    key: str,
    entities: list[Entity],
    render: Callable[[Entity], dict[str, Any]],
    size: int,
    offset: int,
    account: str,
) -> Response:
    """One page of ENTITIES (only those rendered), with IBM's paging links."""
    page = Page(
        [render(e) for e in entities[offset : offset + size]],
        offset,
        offset + size < len(entities),
    )
    return web.json_response(list_body(request, key, page, size, account, list(page.items)))


def _page_size(limit: str | None) -> int:
    if limit is None:
        return 20
    size = formats.whole_number(limit, 1, 100)
    if size is None:
        raise Problem(400, "Validation of property 'limit' failed: expected 1 to 100")
    return size


_TEMPLATE_SORTS: dict[str | None, Callable[[Template], Any]] = {
    None: lambda t: (t.created_at, t.version),
    "created_at": lambda t: (t.created_at, t.version),
    "last_modified_at": lambda t: (t.modified_at, t.version),
    "name": lambda t: (t.name, t.version),
}


def sorted_by(
    items: list[Entity],
    keys: dict[str | None, Callable[[Entity], Any]],
    sort: str | None,
    order: str | None,
) -> list[Entity]:
    if sort not in keys:
        names = ", ".join(k for k in keys if k)
        raise Problem(400, f"Validation of property 'sort' failed: one of {names}")
    if order not in (None, "asc", "desc"):
        raise Problem(400, "Validation of property 'order' failed: asc or desc")
    return sorted(items, key=keys[sort], reverse=order == "desc")
