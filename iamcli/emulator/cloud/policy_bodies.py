"""The Policy Management API's bodies: validation of v1 and v2 policies, and their JSON.

Validation follows IBM's SDK docstrings (reference §3.1-§3.2): an access policy names one subject
(`iam_id` or `access_group_id`); its resource carries `accountId` (the caller's) and one of
`serviceType`, `serviceName`, `resourceGroupId`, `service_group_id`; v1 operators are
`stringEquals`/`stringMatch`; values are 1-1000 characters; roles are known CRNs. Every refusal is
a 400 `invalid_body` naming the field. Stored bodies keep only the fields IBM defines, as sent,
so that a client reading its policy back finds what it wrote.
"""

from __future__ import annotations

from typing import Any

from .. import formats
from ..authz import Resource, catalog
from ..authz.conditions import OPERATORS, STRING_OPERATORS, TIME_OPERATORS
from ..problems import Problem
from ..store import PolicyRow, Store

TYPES = ("access", "authorization")
V1_OPERATORS = ("stringEquals", "stringMatch")
PATTERNS = (
    "time-based-conditions:once",
    "time-based-conditions:weekly",
    "time-based-conditions:weekly:all-day",
    "time-based-conditions:weekly:custom-hours",
    "attribute-based-condition:resource:literal-and-wildcard",
)
SUBJECT_NAMES = ("iam_id", "access_group_id")
AUTHZ_SUBJECT_NAMES = (
    "serviceName",
    "serviceInstance",
    "region",
    "resourceType",
    "resource",
    "accountId",
    "resourceGroupId",
)
SCOPE_NAMES = ("serviceType", "serviceName", "resourceGroupId", "service_group_id")
MAX_VALUE = 1000
MAX_DESCRIPTION = 300
MAX_CONDITIONS = 10
UNSUPPORTED_ROLE = "crn:v1:bluemix:public:iam::::role:UnsupportedVersion"


def invalid(message: str) -> Problem:
    return Problem(400, message, code="invalid_body")


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid body: '{where}' must be an object")
    return value


def _list(value: Any, where: str, *, min_items: int = 1, max_items: int = 100) -> list[Any]:
    if not isinstance(value, list) or not min_items <= len(value) <= max_items:
        raise invalid(f"Invalid body: '{where}' must be a list of {min_items}-{max_items} items")
    return value


def _text(value: Any, where: str, *, limit: int = MAX_VALUE) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise invalid(f"Invalid body: '{where}' must be a string of 1-{limit} characters")
    return value


def _description(body: dict[str, Any], out: dict[str, Any]) -> None:
    if body.get("description") is not None:
        out["description"] = _text(body["description"], "description", limit=MAX_DESCRIPTION)


def _type(body: dict[str, Any], current_type: str | None) -> str:
    kind = body.get("type")
    if kind not in TYPES:
        raise invalid("Invalid body: 'type' must be access or authorization")
    if current_type is not None and kind != current_type:
        raise invalid("Invalid body: a policy's 'type' cannot be changed")
    return str(kind)


def _role_ids(store: Store, account_id: str, items: Any, where: str) -> list[dict[str, str]]:
    roles = []
    for i, item in enumerate(_list(items, where)):
        role_id = _text(_obj(item, f"{where}[{i}]").get("role_id"), f"{where}[{i}].role_id")
        if not catalog.is_builtin(role_id):
            custom = store.custom_role_by_crn(role_id)
            if custom is None or custom.account_id != account_id:
                raise invalid(f"Invalid body: role '{role_id[:200]}' does not exist")
        roles.append({"role_id": role_id})
    return roles


def _attribute(
    item: Any, where: str, name_key: str, operators: tuple[str, ...] | frozenset[str]
) -> dict[str, Any]:
    attr = _obj(item, where)
    name = _text(attr.get(name_key), f"{where}.{name_key}", limit=100)
    out: dict[str, Any] = {name_key: name}
    operator = attr.get("operator")
    if operator is not None or name_key == "key":
        if operator not in operators:
            raise invalid(f"Invalid body: '{where}.operator' must be one of {', '.join(operators)}")
        out["operator"] = operator
    value = attr.get("value")
    if operator == "stringExists":
        if not isinstance(value, bool):
            raise invalid(f"Invalid body: '{where}.value' must be true or false")
    elif operator in ("stringEqualsAnyOf", "stringMatchAnyOf"):
        for j, v in enumerate(_list(value, f"{where}.value", max_items=10)):
            _text(v, f"{where}.value[{j}]")
    else:
        _text(value, f"{where}.value")
    out["value"] = value
    return out


def _check_resource(attrs: list[dict[str, Any]], name_key: str, account_id: str) -> None:
    values = {a[name_key]: a["value"] for a in attrs}
    if values.get("accountId") != account_id:
        raise invalid("Invalid body: the resource must carry accountId, the caller's account")
    if not any(n in values for n in SCOPE_NAMES):
        raise invalid(
            "Invalid body: the resource must carry one of serviceType, serviceName, "
            "resourceGroupId, service_group_id"
        )
    if values.get("serviceType", "service") not in ("service", "platform_service"):
        raise invalid("Invalid body: serviceType must be service or platform_service")


def _check_subject(attrs: list[dict[str, Any]], name_key: str, kind: str, where: str) -> None:
    names = [a[name_key] for a in attrs]
    if kind == "access":
        if len(names) != 1 or names[0] not in SUBJECT_NAMES:
            raise invalid(
                f"Invalid body: '{where}' must be one attribute, iam_id or access_group_id"
            )
        if attrs[0].get("operator", "stringEquals") != "stringEquals":
            raise invalid(f"Invalid body: '{where}' names its subject with stringEquals")
        return
    if any(n not in AUTHZ_SUBJECT_NAMES for n in names) or "accountId" not in names:
        raise invalid(f"Invalid body: '{where}' of an authorization policy needs accountId")
    if "serviceName" not in names and "resourceGroupId" not in names:
        raise invalid(f"Invalid body: '{where}' needs serviceName or resourceGroupId")


def v1_body(
    store: Store, account_id: str, body: Any, *, current_type: str | None = None
) -> dict[str, Any]:
    """A v1 policy body, validated and reduced to IBM's fields."""
    body = _obj(body, "body")
    kind = _type(body, current_type)
    subjects = []
    for i, s in enumerate(_list(body.get("subjects"), "subjects", max_items=1)):
        items = _list(_obj(s, f"subjects[{i}]").get("attributes"), f"subjects[{i}].attributes")
        attrs = [
            _attribute(a, f"subjects[{i}].attributes[{j}]", "name", V1_OPERATORS)
            for j, a in enumerate(items)
        ]
        _check_subject(attrs, "name", kind, f"subjects[{i}].attributes")
        subjects.append({"attributes": attrs})
    resources = []
    for i, r in enumerate(_list(body.get("resources"), "resources", max_items=1)):
        r = _obj(r, f"resources[{i}]")
        items = _list(r.get("attributes"), f"resources[{i}].attributes")
        attrs = [
            _attribute(a, f"resources[{i}].attributes[{j}]", "name", V1_OPERATORS)
            for j, a in enumerate(items)
        ]
        _check_resource(attrs, "name", account_id)
        resource: dict[str, Any] = {"attributes": attrs}
        if r.get("tags") is not None:
            tags = _list(r["tags"], f"resources[{i}].tags", max_items=10)
            resource["tags"] = [
                _attribute(t, f"resources[{i}].tags[{j}]", "name", ("stringEquals", "stringMatch"))
                for j, t in enumerate(tags)
            ]
        resources.append(resource)
    out: dict[str, Any] = {
        "type": kind,
        "subjects": subjects,
        "roles": _role_ids(store, account_id, body.get("roles"), "roles"),
        "resources": resources,
    }
    _description(body, out)
    return out


def _rule(rule: Any, where: str, depth: int = 1) -> dict[str, Any]:
    rule = _obj(rule, where)
    if "conditions" in rule:
        if depth > 2:
            raise invalid(f"Invalid body: '{where}' nests conditions deeper than 2 levels")
        if rule.get("operator") not in ("and", "or"):
            raise invalid(f"Invalid body: '{where}.operator' must be and or or")
        items = _list(rule["conditions"], f"{where}.conditions", max_items=MAX_CONDITIONS)
        conditions = [_rule(c, f"{where}.conditions[{i}]", depth + 1) for i, c in enumerate(items)]
        return {"operator": rule["operator"], "conditions": conditions}
    key = _text(rule.get("key"), f"{where}.key", limit=200)
    operator = rule.get("operator")
    if operator not in OPERATORS:
        raise invalid(f"Invalid body: '{where}.operator' is not a known operator")
    if key.startswith("{{environment.attributes.") and operator not in TIME_OPERATORS:
        raise invalid(f"Invalid body: '{where}' compares a time with a string operator")
    value = rule.get("value")
    if operator in ("dayOfWeekAnyOf", "stringEqualsAnyOf", "stringMatchAnyOf"):
        for j, v in enumerate(_list(value, f"{where}.value", max_items=10)):
            _text(v, f"{where}.value[{j}]")
    elif operator == "stringExists":
        if not isinstance(value, bool):
            raise invalid(f"Invalid body: '{where}.value' must be true or false")
    else:
        _text(value, f"{where}.value")
    return {"key": key, "operator": operator, "value": value}


def _count_conditions(rule: dict[str, Any]) -> int:
    if "conditions" in rule:
        return sum(_count_conditions(c) for c in rule["conditions"])
    return 1


def v2_body(
    store: Store, account_id: str, body: Any, *, current_type: str | None = None
) -> dict[str, Any]:
    """A v2 policy body, validated and reduced to IBM's fields."""
    body = _obj(body, "body")
    kind = _type(body, current_type)
    grant = _obj(_obj(body.get("control"), "control").get("grant"), "control.grant")
    out: dict[str, Any] = {
        "type": kind,
        "control": {"grant": {"roles": _role_ids(store, account_id, grant.get("roles"), "roles")}},
    }
    subject = _obj(body.get("subject"), "subject")
    items = _list(subject.get("attributes"), "subject.attributes", max_items=10)
    attrs = [
        _attribute(a, f"subject.attributes[{i}]", "key", STRING_OPERATORS)
        for i, a in enumerate(items)
    ]
    _check_subject(attrs, "key", kind, "subject.attributes")
    out["subject"] = {"attributes": attrs}
    resource = _obj(body.get("resource"), "resource")
    items = _list(resource.get("attributes"), "resource.attributes", max_items=20)
    attrs = [
        _attribute(a, f"resource.attributes[{i}]", "key", STRING_OPERATORS)
        for i, a in enumerate(items)
    ]
    _check_resource(attrs, "key", account_id)
    out["resource"] = {"attributes": attrs}
    if resource.get("tags") is not None:
        tags = _list(resource["tags"], "resource.tags", max_items=10)
        out["resource"]["tags"] = [
            _attribute(t, f"resource.tags[{i}]", "key", ("stringEquals", "stringMatch"))
            for i, t in enumerate(tags)
        ]
    if body.get("pattern") is not None:
        if body["pattern"] not in PATTERNS:
            raise invalid(f"Invalid body: 'pattern' must be one of {', '.join(PATTERNS)}")
        out["pattern"] = body["pattern"]
    if body.get("rule") is not None:
        rule = _rule(body["rule"], "rule")
        if _count_conditions(rule) > MAX_CONDITIONS:
            raise invalid(f"Invalid body: 'rule' has more than {MAX_CONDITIONS} conditions")
        out["rule"] = rule
    _description(body, out)
    return out


# -- what a policy is about ------------------------------------------------------------------


def subject_iam_id(body: dict[str, Any]) -> str | None:
    if "subjects" in body:
        attrs, name_key = body["subjects"][0]["attributes"], "name"
    else:
        attrs, name_key = body["subject"]["attributes"], "key"
    return next((a["value"] for a in attrs if a[name_key] == "iam_id"), None)


def target_of(body: dict[str, Any]) -> Resource:
    """The resource a policy grants access to, as the engine sees it (for `iam.policy.*`)."""
    if "resources" in body:
        attrs = {a["name"]: a["value"] for a in body["resources"][0]["attributes"]}
    else:
        attrs = {a["key"]: a["value"] for a in body["resource"]["attributes"]}
    plain = {k: v for k, v in attrs.items() if isinstance(v, str)}
    known = ("accountId", "serviceName", "resourceType", "resource")
    return Resource(
        plain.get("accountId", ""),
        service_name=plain.get("serviceName", ""),
        resource_type=plain.get("resourceType"),
        resource=plain.get("resource"),
        attributes={k: v for k, v in plain.items() if k not in known},
    )


# -- rendering -------------------------------------------------------------------------------


def _times(request_base: str, row: PolicyRow, api: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "href": f"{request_base}/{api}/policies/{row.id}",
        "created_at": formats.ms_time(row.created_at),
        "created_by_id": row.created_by,
        "last_modified_at": formats.ms_time(row.modified_at),
        "last_modified_by_id": row.modified_by,
        "state": row.state,
    }


def _role_json(store: Store, role_id: str) -> dict[str, Any]:
    name = catalog.builtin_display_name(role_id)
    description = catalog.builtin_description(role_id)
    if name is None:
        custom = store.custom_role_by_crn(role_id)
        if custom is not None:
            name, description = custom.display_name, custom.description
    out: dict[str, Any] = {"role_id": role_id}
    if name is not None:
        out["display_name"] = name
    if description is not None:
        out["description"] = description
    return out


def v1_json(store: Store, base: str, row: PolicyRow) -> dict[str, Any]:
    """A policy as the v1 API answers: itself, or IBM's placeholder for a v2 policy."""
    if row.api != "v1":
        return {
            "type": row.type,
            "subjects": [{"attributes": [{"name": "iam_id", "value": "unsupported version"}]}],
            "roles": [{"role_id": UNSUPPORTED_ROLE, "display_name": "UnsupportedVersion"}],
            "resources": [{"attributes": [{"name": "accountId", "value": row.account_id}]}],
            **_times(base, row, "v2"),
        }
    body = row.body
    out: dict[str, Any] = {"type": row.type}
    if "description" in body:
        out["description"] = body["description"]
    out["subjects"] = body["subjects"]
    out["roles"] = [_role_json(store, r["role_id"]) for r in body["roles"]]
    out["resources"] = body["resources"]
    return {**out, **_times(base, row, "v1")}


def as_v2(body: dict[str, Any]) -> dict[str, Any]:
    """A v1 body in v2 form (how the v2 API shows a v1 policy)."""
    if "subjects" not in body:
        return body

    def attrs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"key": a["name"], "operator": a.get("operator", "stringEquals"), "value": a["value"]}
            for a in items
        ]

    resource: dict[str, Any] = {"attributes": attrs(body["resources"][0]["attributes"])}
    if body["resources"][0].get("tags"):
        resource["tags"] = attrs(body["resources"][0]["tags"])
    out: dict[str, Any] = {
        "type": body["type"],
        "control": {"grant": {"roles": [{"role_id": r["role_id"]} for r in body["roles"]]}},
        "subject": {"attributes": attrs(body["subjects"][0]["attributes"])},
        "resource": resource,
    }
    if "description" in body:
        out["description"] = body["description"]
    return out


def v2_json(store: Store, base: str, row: PolicyRow, *, display: bool = False) -> dict[str, Any]:
    body = as_v2(row.body)
    out: dict[str, Any] = {"type": row.type}
    if "description" in body:
        out["description"] = body["description"]
    out["subject"] = body["subject"]
    control = body["control"]
    if display:
        roles = []
        for r in control["grant"]["roles"]:
            role = _role_json(store, r["role_id"])
            role["actions"] = [{"id": a} for a in _actions_of(store, r["role_id"], body)]
            roles.append(role)
        control = {"grant": {"roles": roles}}
    out["control"] = control
    out["resource"] = body["resource"]
    for field in ("pattern", "rule"):
        if field in body:
            out[field] = body[field]
    return {**out, **_times(base, row, "v2")}


def _actions_of(store: Store, role_id: str, body: dict[str, Any]) -> list[str]:
    custom = store.custom_role_by_crn(role_id)
    if custom is not None:
        return list(custom.actions)
    service = target_of(body).service_name or None
    for role in (*catalog.system_roles(service), *catalog.service_roles(service)):
        if role.crn == role_id:
            return list(role.actions)
    return []
