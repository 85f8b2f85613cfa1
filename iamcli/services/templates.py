"""Enterprise templates and their assignments, for every template kind: finding a template by
name or ID, the body a create or update sends, and updates guarded by the version read before.

A template's `--file` is the body of IBM's create request (`name`, `description` and the
kind's own part: `account_settings`, or `profile` and `policy_template_references`); the
command line's NAME and `--description` win over the file's. The account is always the
current one. (ibmcloud's docs do not show the file's layout; IBM's API body is the one a user
can look up, so that is what is taken.)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import ConflictError, NotFoundError, UsageError
from .identities import not_found, one_match

if TYPE_CHECKING:
    from ..account_models import Assignment, Template
    from ..flavors.cloud_account import TemplateApi

TEMPLATE_ID_RE = re.compile(r"^[A-Za-z]+Template-[0-9a-fA-F-]{36}$")
TARGET_TYPES = ("Account", "AccountGroup")
# The parts of IBM's template bodies, per kind; anything else in a --file is a mistake.
BODY_KEYS = {
    "account_settings": frozenset({"name", "description", "account_id", "account_settings"}),
    "profile": frozenset(
        {"name", "description", "account_id", "profile", "policy_template_references"}
    ),
}
COMPONENTS = frozenset({"account_settings", "profile", "policy_template_references"})


def resolve_template(api: TemplateApi, ref: str, what: str) -> Template:
    """The latest version of the template a user named by ID or by (unique) name."""
    ref = ref.strip()
    if not ref:
        raise UsageError(f"a template name or ID is required ({what})")
    if TEMPLATE_ID_RE.match(ref):
        try:
            return api.latest(ref)
        except NotFoundError:
            raise not_found(what, ref) from None
    return one_match(list(api.templates()), what, ref, lambda t: t.name == ref)


def resolve_version(api: TemplateApi, ref: str, version: str, what: str) -> Template:
    number = version_number(version)  # a usage error before any request
    template = resolve_template(api, ref, what)
    try:
        return api.version(template.id, number)
    except NotFoundError:
        raise not_found(f"{what} version", f"{template.name} {number}") from None


def version_number(text: str) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 7 or int(value) < 1:
        raise UsageError(f"TEMPLATE_VERSION must be a version number (1, 2, ...), not {text!r}")
    return int(value)


def template_body(
    component: str, file: str | None, name: str | None, description: str | None
) -> dict[str, Any]:
    """What a create or update sends: the --file's body, with NAME and --description over it."""
    from .policies import read_policy_file

    body: dict[str, Any] = {}
    if file is not None:
        body = read_policy_file(file, what="a template")
        unknown = sorted(set(body) - BODY_KEYS[component])
        if unknown:
            allowed = ", ".join(sorted(BODY_KEYS[component] - {"account_id"}))
            raise UsageError(
                f"--file: unknown field {unknown[0]!r} in the template (it takes {allowed})"
            )
        if component in body and not isinstance(body[component], dict):
            raise UsageError(f"--file: '{component}' is a JSON object")
        body.pop("account_id", None)  # always the current account
    if name is not None:
        if not name.strip():
            raise UsageError("the template name must not be empty")
        body["name"] = name
    if description is not None:
        body["description"] = description
    return body


def update_version(api: TemplateApi, current: Template, body: dict[str, Any]) -> Template:
    """IBM's update replaces the version: what the body leaves out is kept from the version as
    it is (its name, description and component), so an update names only what changes."""
    full = {
        "name": current.name,
        **({"description": current.description} if current.description is not None else {}),
        **{k: v for k, v in current.raw.items() if k in COMPONENTS},
        **body,
    }
    try:
        return api.update_version(current, full)
    except ConflictError as exc:
        exc.hint = exc.hint or "it was changed meanwhile: nothing was changed; run it again"
        raise


def target_type(value: str) -> str:
    canonical = {t.lower(): t for t in TARGET_TYPES}.get(value.strip().lower())
    if canonical is None:
        raise UsageError(f"TARGET_TYPE must be Account or AccountGroup, not {value!r}")
    return canonical


def assign(api: TemplateApi, template: Template, target_kind: str, target: str) -> Assignment:
    if not target.strip():
        raise UsageError("TARGET must not be empty: an account ID or account group ID")
    return api.assign(template.id, template.version, target_type(target_kind), target.strip())


def resolve_assignment(api: TemplateApi, aid: str) -> Assignment:
    aid = aid.strip()
    if not aid:
        raise UsageError("an assignment ID is required")
    try:
        return api.assignment(aid)
    except NotFoundError:
        raise not_found("assignment", aid) from None
