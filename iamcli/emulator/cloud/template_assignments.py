"""The routes of assignments of enterprise templates, in IBM's shapes, made once per template
kind like the templates' own (template_routes.py, whose helpers and rules they share).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from .. import formats, web
from ..problems import Problem
from ..store import Assignment
from .common import caller_of
from .template_routes import (
    Kind,
    PageToken,
    SortKey,
    SortOrder,
    etag_header,
    listed_account,
    paged,
    require_access,
    router,
    sorted_by,
    version_number,
)


class AssignmentBody(BaseModel):
    template_id: Annotated[str, Field(max_length=200)]
    template_version: Annotated[int, Field(ge=1, le=1_000_000)]
    target_type: Annotated[str, Field(max_length=50)]
    target: Annotated[str, Field(max_length=64)]


class AssignmentUpdate(BaseModel):
    template_version: Annotated[int, Field(ge=1, le=1_000_000)]


def assignment_json(
    request: Request, kind: Kind, a: Assignment, *, history: bool, resources: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": a.id,
        "account_id": a.account_id,
        "template_id": a.template_id,
        "template_version": a.template_version,
        "target_type": a.target_type,
        "target": a.target,
        "status": a.status,
        "href": f"{web.base_url(request)}{kind.assignments}{a.id}",
        "created_at": formats.ibm_time(a.created_at),
        "created_by_id": a.created_by,
        "last_modified_at": formats.ibm_time(a.modified_at),
        "last_modified_by_id": a.modified_by,
        "entity_tag": a.entity_tag,
    }
    # IBM: the resources are in the answer about one assignment, not in lists.
    if resources:
        body["resources"] = list(a.resources)
    if history:
        body["history"] = list(a.history)
    return body


_ASSIGNMENT_SORTS: dict[str | None, Callable[[Assignment], Any]] = {
    None: lambda a: a.created_at,
    "created_at": lambda a: a.created_at,
    "last_modified_at": lambda a: a.modified_at,
    "template_id": lambda a: (a.template_id, a.created_at),
}


def add_assignment_routes(kind: Kind) -> None:
    tags: list[Any] = [kind.tag]
    one = kind.assignments + "{assignment_id}"

    def found(request: Request, assignment_id: str, verb: str) -> Assignment:
        caller_of(request)  # 401 before 404
        a = web.store(request).assignment(kind.name, assignment_id)
        if a is None:
            raise Problem(404, f"Assignment {assignment_id[:100]} not found")
        require_access(request, kind, "assignment", verb, a.account_id)
        return a

    def create(request: Request, body: AssignmentBody) -> Response:
        caller_of(request)  # 401 before 404
        store = web.store(request)
        template = store.template(kind.name, body.template_id, body.template_version)
        if template is None:
            raise Problem(404, f"Template {body.template_id[:100]} version not found")
        by = require_access(request, kind, "assignment", "create", template.account_id)
        made = store.create_assignment(
            kind.name,
            template_id=body.template_id,
            template_version=body.template_version,
            target_type=body.target_type,
            target=body.target,
            by=by,
        )
        return web.json_response(
            assignment_json(request, kind, made, history=False), 202, etag_header(made)
        )

    def listing(
        request: Request,
        account_id: str | None = None,
        template_id: Annotated[str | None, Query(max_length=200)] = None,
        template_version: Annotated[str | None, Query(max_length=10)] = None,
        target: Annotated[str | None, Query(max_length=64)] = None,
        target_type: Annotated[str | None, Query(max_length=50)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        pagetoken: PageToken = None,
        sort: SortKey = None,
        order: SortOrder = None,
        include_history: bool = False,
    ) -> Response:
        offset, account = listed_account(request, kind, "assignment", account_id, pagetoken)
        every = web.store(request).list_assignments(
            kind.name,
            account,
            template_id=template_id,
            template_version=None
            if template_version is None
            else version_number(request, template_version),
            target=target,
        )
        if target_type is not None:
            every = [a for a in every if a.target_type == target_type]
        return paged(
            request,
            "assignments",
            sorted_by(every, _ASSIGNMENT_SORTS, sort, order),
            lambda a: assignment_json(request, kind, a, history=include_history, resources=False),
            limit,
            offset,
            account,
        )

    def get(request: Request, assignment_id: str, include_history: bool = False) -> Response:
        a = found(request, assignment_id, "get")
        return web.json_response(
            assignment_json(request, kind, a, history=include_history), headers=etag_header(a)
        )

    def update(
        request: Request,
        assignment_id: str,
        body: AssignmentUpdate,
        if_match: Annotated[str, Header()],
    ) -> Response:
        found(request, assignment_id, "update")
        updated = web.store(request).update_assignment(
            kind.name,
            assignment_id,
            if_match=if_match,
            template_version=body.template_version,
            by=caller_of(request).iam_id,
        )
        return web.json_response(
            assignment_json(request, kind, updated, history=False), 202, etag_header(updated)
        )

    def delete(request: Request, assignment_id: str) -> Response:
        found(request, assignment_id, "delete")
        gone = web.store(request).delete_assignment(
            kind.name, assignment_id, by=caller_of(request).iam_id
        )
        # IBM answers 202 with the assignment's record, which a later GET no longer finds.
        return web.json_response(assignment_json(request, kind, gone, history=False), 202)

    for path, handler, method, status in (
        (kind.assignments, create, "POST", 202),
        (kind.assignments, listing, "GET", 200),
        (one, get, "GET", 200),
        (one, update, "PATCH", 202),
        (one, delete, "DELETE", 202),
    ):
        router.add_api_route(
            path,
            handler,
            methods=[method],
            status_code=status,
            tags=tags,
            name=f"{kind.name}_assignment_{handler.__name__}",
        )
