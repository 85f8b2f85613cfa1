"""Trusted profiles on the wire: the Identity API's `/v1/profiles` and its rules, links and
identities (reference/profiles-policies-authz.md §1).

Only the public cloud has them: `Flavor.trusted_profiles()` hands out this adapter there and
refuses elsewhere, so commands still never ask which family they talk to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ProtocolError
from ..http import Retry
from ..trusted_profile_models import (
    ClaimRule,
    Condition,
    LinkTarget,
    ProfileIdentity,
    ProfileLink,
    RuleSpec,
    TrustedProfile,
)
from ._wire import Reader
from .cloud_api import CloudApi
from .cloud_api import seg as _seg

if TYPE_CHECKING:
    pass


class TrustedProfileApi(CloudApi):
    @property
    def account_id(self) -> str | None:
        return self.cloud.account_id

    # -- profiles --------------------------------------------------------------------------

    def profiles(self, *, name: str | None = None) -> Iterator[TrustedProfile]:
        params: dict[str, Any] = {"account_id": self.account_id}
        if name is not None:
            params["name"] = name
        for item in self.cloud.pages("/v1/profiles", "profiles", params):
            yield _profile(item)

    def profile(self, pid: str) -> TrustedProfile:
        response = self._send("GET", f"/v1/profiles/{_seg(pid)}")
        return _profile(self._read(response), response.headers.get("ETag"))

    def create_profile(
        self, name: str, description: str | None, email: str | None
    ) -> TrustedProfile:
        body = _present(
            {"name": name, "account_id": self.account_id}, description=description, email=email
        )
        return _profile(
            self._read(self._send("POST", "/v1/profiles", retry=Retry.CREATE, json=body))
        )

    def update_profile(
        self,
        current: TrustedProfile,
        *,
        name: str | None,
        description: str | None,
        email: str | None,
    ) -> TrustedProfile:
        # An empty description or email clears it (IBM's API); None leaves it as it is.
        body = _present({}, name=name, description=description, email=email)
        response = self._send(
            "PUT",
            f"/v1/profiles/{_seg(current.id)}",
            json=body,
            headers={"If-Match": current.entity_tag or "*"},
        )
        return _profile(self._read(response))

    def delete_profile(self, pid: str) -> None:
        self._delete(f"/v1/profiles/{_seg(pid)}")

    # -- claim rules -----------------------------------------------------------------------

    def rules(self, pid: str) -> list[ClaimRule]:
        body = self._read(self._send("GET", f"/v1/profiles/{_seg(pid)}/rules"))
        return [_rule(r) for r in body.items("rules")]

    def rule(self, pid: str, rid: str) -> ClaimRule:
        response = self._send("GET", f"/v1/profiles/{_seg(pid)}/rules/{_seg(rid)}")
        return _rule(self._read(response), response.headers.get("ETag"))

    def create_rule(self, pid: str, spec: RuleSpec) -> ClaimRule:
        response = self._send(
            "POST", f"/v1/profiles/{_seg(pid)}/rules", retry=Retry.CREATE, json=_rule_body(spec)
        )
        return _rule(self._read(response))

    def update_rule(self, pid: str, current: ClaimRule, spec: RuleSpec) -> ClaimRule:
        response = self._send(
            "PUT",
            f"/v1/profiles/{_seg(pid)}/rules/{_seg(current.id)}",
            json=_rule_body(spec),
            headers={"If-Match": current.entity_tag or "*"},
        )
        return _rule(self._read(response))

    def delete_rule(self, pid: str, rid: str) -> None:
        self._delete(f"/v1/profiles/{_seg(pid)}/rules/{_seg(rid)}")

    # -- links -----------------------------------------------------------------------------

    def links(self, pid: str) -> list[ProfileLink]:
        body = self._read(self._send("GET", f"/v1/profiles/{_seg(pid)}/links"))
        return [_link(r) for r in body.items("links")]

    def create_link(
        self, pid: str, cr_type: str, target: LinkTarget, name: str | None
    ) -> ProfileLink:
        link = _present(
            {"crn": target.crn},
            namespace=target.namespace,
            name=target.name,
            component_type=target.component_type,
            component_name=target.component_name,
        )
        body = _present({"cr_type": cr_type, "link": link}, name=name)
        response = self._send(
            "POST", f"/v1/profiles/{_seg(pid)}/links", retry=Retry.CREATE, json=body
        )
        return _link(self._read(response))

    def delete_link(self, pid: str, lid: str) -> None:
        self._delete(f"/v1/profiles/{_seg(pid)}/links/{_seg(lid)}")

    # -- identities ------------------------------------------------------------------------

    def identities(self, pid: str) -> list[ProfileIdentity]:
        body = self._read(self._send("GET", f"/v1/profiles/{_seg(pid)}/identities"))
        # A profile nobody may assume yet may answer without the list at all.
        if body.data.get("identities") is None:
            return []
        return [_identity(r) for r in body.items("identities")]

    def identity(self, pid: str, kind: str, identifier: str) -> ProfileIdentity:
        path = f"/v1/profiles/{_seg(pid)}/identities/{_seg(kind)}/{_seg(identifier)}"
        return _identity(self._read(self._send("GET", path)))

    def add_identity(
        self,
        pid: str,
        kind: str,
        identifier: str,
        *,
        accounts: tuple[str, ...],
        description: str | None,
    ) -> ProfileIdentity:
        body: dict[str, Any] = _present(
            {"identifier": identifier, "type": kind}, description=description
        )
        if accounts:
            body["accounts"] = list(accounts)
        # Adding the same identity twice leaves one: safe to repeat.
        response = self._send(
            "POST", f"/v1/profiles/{_seg(pid)}/identities/{_seg(kind)}", json=body
        )
        return _identity(self._read(response))

    def delete_identity(self, pid: str, kind: str, identifier: str) -> None:
        self._delete(f"/v1/profiles/{_seg(pid)}/identities/{_seg(kind)}/{_seg(identifier)}")


def _present(base: dict[str, Any], **optional: Any) -> dict[str, Any]:
    return {**base, **{k: v for k, v in optional.items() if v is not None}}


def _profile(r: Reader, etag: str | None = None) -> TrustedProfile:
    return TrustedProfile(
        id=r.text("id"),
        name=r.text("name"),
        description=r.opt_text("description"),
        email=r.opt_text("email"),
        iam_id=r.opt_text("iam_id"),
        crn=r.opt_text("crn"),
        account_id=r.opt_text("account_id"),
        created_at=r.opt_text("created_at"),
        modified_at=r.opt_text("modified_at"),
        entity_tag=r.opt_text("entity_tag") or etag,
        wire=r.data,
    )


def _rule_body(spec: RuleSpec) -> dict[str, Any]:
    conditions = [
        {"claim": c.claim, "operator": c.operator, "value": c.value} for c in spec.conditions
    ]
    return _present(
        {"type": spec.type, "conditions": conditions},
        name=spec.name,
        realm_name=spec.realm_name,
        cr_type=spec.cr_type,
        expiration=spec.expiration,
    )


def _rule(r: Reader, etag: str | None = None) -> ClaimRule:
    conditions = tuple(
        Condition(c.text("claim"), c.text("operator"), _condition_value(c))
        for c in r.items("conditions")
    )
    return ClaimRule(
        id=r.text("id"),
        type=r.text("type"),
        conditions=conditions,
        name=r.opt_text("name"),
        realm_name=r.opt_text("realm_name"),
        cr_type=r.opt_text("cr_type"),
        expiration=r.opt_int("expiration"),
        entity_tag=r.opt_text("entity_tag") or etag,
        created_at=r.opt_text("created_at"),
        modified_at=r.opt_text("modified_at"),
        wire=r.data,
    )


def _condition_value(c: Reader) -> str:
    value = c.data.get("value")
    if not isinstance(value, str):
        raise ProtocolError(
            f"unexpected answer from {c.where}: a condition's 'value' is not a string"
        )
    return value


def _link(r: Reader) -> ProfileLink:
    target = r.obj("link")
    return ProfileLink(
        id=r.text("id"),
        cr_type=r.text("cr_type"),
        target=LinkTarget(
            crn=target.opt_text("crn") or "",
            namespace=target.opt_text("namespace"),
            name=target.opt_text("name"),
            component_type=target.opt_text("component_type"),
            component_name=target.opt_text("component_name"),
        ),
        name=r.opt_text("name"),
        created_at=r.opt_text("created_at"),
        wire=r.data,
    )


def _identity(r: Reader) -> ProfileIdentity:
    accounts = r.data.get("accounts") or []
    if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
        raise ProtocolError(
            f"unexpected answer from {r.where}: 'accounts' is not a list of strings"
        )
    return ProfileIdentity(
        identifier=r.text("identifier"),
        type=r.text("type"),
        iam_id=r.opt_text("iam_id"),
        accounts=tuple(accounts),
        description=r.opt_text("description"),
        wire=r.data,
    )
