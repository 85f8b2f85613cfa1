"""An account's identity settings and the enterprise templates that set them, on the wire:
`/v1/accounts/{id}/settings/identity`, `/v1/account_settings_templates`,
`/v1/profile_templates` and their assignments (IBM's IAM Identity API).

Only the public cloud has them: `Flavor.account_settings()` and `Flavor.templates()` hand these
adapters out there and refuse elsewhere, so commands never ask which family they talk to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..account_models import (
    AccountSettings,
    Assignment,
    IdentityLimits,
    LimitUsage,
    Template,
)
from ..errors import NotFoundError, ProtocolError
from ..http import Retry
from ._wire import Reader
from .cloud_api import CloudApi
from .cloud_api import seg as _seg

if TYPE_CHECKING:
    import httpx

    from .cloud import Cloud


@dataclass(frozen=True)
class TemplateKind:
    """Where one kind of template lives on the wire, and what its body is called."""

    templates: str
    assignments: str  # IBM's collection URL, with its trailing slash
    list_key: str
    component: str  # the part of the body that is the kind's own: account_settings, profile


ACCOUNT_SETTINGS_TEMPLATES = TemplateKind(
    templates="/v1/account_settings_templates",
    assignments="/v1/account_settings_assignments/",
    list_key="account_settings_templates",
    component="account_settings",
)
PROFILE_TEMPLATES = TemplateKind(
    templates="/v1/profile_templates",
    assignments="/v1/profile_assignments/",
    list_key="profile_templates",
    component="profile",
)
KINDS = {"account_settings": ACCOUNT_SETTINGS_TEMPLATES, "profile": PROFILE_TEMPLATES}
# IBM's template lists take `limit` (at most 100), not `pagesize`.
_LIMIT = 100


class _Api(CloudApi):
    @property
    def account_id(self) -> str:
        if not self.cloud.account_id:
            raise ProtocolError("the login names no account: log in again")
        return self.cloud.account_id


class AccountSettingsApi(_Api):
    def _path(self) -> str:
        return f"/v1/accounts/{_seg(self.account_id)}/settings/identity"

    def settings(self) -> AccountSettings:
        response = self._send("GET", self._path())
        return _settings(self._read(response), response.headers.get("ETag"))

    def update_settings(self, entity_tag: str, changes: dict[str, str]) -> AccountSettings:
        response = self._send("PUT", self._path(), json=changes, headers={"If-Match": entity_tag})
        return _settings(self._read(response), response.headers.get("ETag"))

    def limits(self, asked: dict[str, Any] | None = None) -> IdentityLimits:
        """The account's identity limits; with `asked` (IBM's consumption request: flags and
        lists of IDs), how much of them it uses too. The POST form carries the lists in a body,
        so that long lists do not make a long URL; it changes nothing, so it is resent freely."""
        path = f"/v1/accounts/{_seg(self.account_id)}/limits/identity"
        response = self._send("POST", path, json=asked) if asked else self._send("GET", path)
        return _limits(self._read(response))


class TemplateApi(_Api):
    """One kind's templates and assignments, in the logged-in (enterprise) account."""

    def __init__(self, cloud: Cloud, kind: TemplateKind) -> None:
        super().__init__(cloud)
        self.kind = kind

    def _one(self, tid: str) -> str:
        return f"{self.kind.templates}/{_seg(tid)}"

    def _template(self, response: httpx.Response) -> Template:
        return _template(self._read(response), response.headers.get("ETag"))

    # -- templates -------------------------------------------------------------------------

    def templates(self) -> Iterator[Template]:
        """The latest version of each template of the account."""
        params = {"account_id": self.account_id, "limit": _LIMIT}
        for item in self.cloud.pages(self.kind.templates, self.kind.list_key, params):
            yield _template(item, None)

    def versions(self, tid: str) -> Iterator[Template]:
        path = self._one(tid) + "/versions"
        for item in self.cloud.pages(path, self.kind.list_key, {"limit": _LIMIT}):
            yield _template(item, None)

    def latest(self, tid: str) -> Template:
        return self._template(self._send("GET", self._one(tid)))

    def version(self, tid: str, version: int) -> Template:
        return self._template(self._send("GET", f"{self._one(tid)}/versions/{version}"))

    def create(self, body: dict[str, Any]) -> Template:
        body = {"account_id": self.account_id, **body}
        return self._template(
            self._send("POST", self.kind.templates, retry=Retry.CREATE, json=body)
        )

    def create_version(self, tid: str, body: dict[str, Any]) -> Template:
        body = {"account_id": self.account_id, **body}
        path = self._one(tid) + "/versions"
        return self._template(self._send("POST", path, retry=Retry.CREATE, json=body))

    def update_version(self, current: Template, body: dict[str, Any]) -> Template:
        # IBM's update replaces the version's settings; the name and account go with them.
        body = {"account_id": current.account_id or self.account_id, **body}
        response = self._send(
            "PUT",
            f"{self._one(current.id)}/versions/{current.version}",
            json=body,
            headers={"If-Match": current.entity_tag or "*"},
        )
        return self._template(response)

    def commit(self, tid: str, version: int) -> None:
        # A commit changes nothing twice: a resend after a lost answer is harmless.
        self._send("POST", f"{self._one(tid)}/versions/{version}/commit")

    def delete_version(self, tid: str, version: int) -> None:
        self._delete(f"{self._one(tid)}/versions/{version}")

    def delete_template(self, tid: str) -> None:
        self._delete(self._one(tid))

    # -- assignments -----------------------------------------------------------------------

    def assignments(self, *, template_id: str | None = None) -> Iterator[Assignment]:
        params: dict[str, Any] = {"account_id": self.account_id, "limit": _LIMIT}
        if template_id is not None:
            params["template_id"] = template_id
        for item in self.cloud.pages(self.kind.assignments, "assignments", params):
            yield _assignment(item, None)

    def assignment(self, aid: str) -> Assignment:
        response = self._send("GET", self.kind.assignments + _seg(aid))
        return _assignment(self._read(response), response.headers.get("ETag"))

    def assign(self, tid: str, version: int, target_type: str, target: str) -> Assignment:
        body = {
            "template_id": tid,
            "template_version": version,
            "target_type": target_type,
            "target": target,
        }
        response = self._send("POST", self.kind.assignments, retry=Retry.CREATE, json=body)
        return _assignment(self._read(response), response.headers.get("ETag"))

    def update_assignment(self, current: Assignment, version: int) -> Assignment:
        response = self._send(
            "PATCH",
            self.kind.assignments + _seg(current.id),
            json={"template_version": version},
            headers={"If-Match": current.entity_tag or "*"},
        )
        return _assignment(self._read(response), response.headers.get("ETag"))

    def delete_assignment(self, aid: str) -> Assignment | None:
        """IBM answers 202 with the assignment being removed; None if it was already gone."""
        try:
            response = self._send("DELETE", self.kind.assignments + _seg(aid))
        except NotFoundError as exc:
            if exc.attempts == 1:
                raise
            return None
        if not response.content:
            return None
        return _assignment(self._read(response), None)


def _settings(r: Reader, etag: str | None) -> AccountSettings:
    values = {k: v for k, v in r.data.items() if k not in ("account_id", "entity_tag", "history")}
    return AccountSettings(
        account_id=r.text("account_id"),
        entity_tag=etag or r.opt_text("entity_tag"),
        values=values,
        raw=dict(r.data),
    )


def _limits(r: Reader) -> IdentityLimits:
    lines: list[LimitUsage] = []
    for entity, value in r.data.items():
        if not isinstance(value, dict):
            continue
        entry = Reader(value, r.where)
        limit = entry.opt_int("limit")
        items = [v for k, v in value.items() if isinstance(v, list)]
        if not items:
            lines.append(LimitUsage(entity, None, entry.opt_int("count"), limit))
            continue
        for listed in items:
            for item in listed:
                one = Reader(item, r.where)
                key = next((k for k in one.data if k != "count"), None)
                name = one.opt_text(key) if key else None
                lines.append(LimitUsage(entity, name, one.opt_int("count"), limit))
    return IdentityLimits(tuple(lines), dict(r.data))


def _version_number(r: Reader, key: str) -> int:
    # IBM's models have the version as an integer; some answers carry it as a string.
    value = r.data.get(key)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    number = r.opt_int(key)
    if number is None:
        raise ProtocolError(f"unexpected answer from {r.where}: '{key}' is not a version number")
    return number


def _template(r: Reader, etag: str | None) -> Template:
    return Template(
        id=r.text("id"),
        version=_version_number(r, "version"),
        name=r.opt_text("name") or "",
        description=r.opt_text("description"),
        committed=r.flag("committed"),
        account_id=r.opt_text("account_id"),
        entity_tag=etag or r.opt_text("entity_tag"),
        modified_at=r.opt_text("last_modified_at"),
        raw=dict(r.data),
    )


def _assignment(r: Reader, etag: str | None) -> Assignment:
    return Assignment(
        id=r.text("id"),
        template_id=r.text("template_id"),
        template_version=_version_number(r, "template_version"),
        target_type=r.opt_text("target_type") or "",
        target=r.opt_text("target") or "",
        status=r.opt_text("status") or "",
        entity_tag=etag or r.opt_text("entity_tag"),
        raw=dict(r.data),
    )
