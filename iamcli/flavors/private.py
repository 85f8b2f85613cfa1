"""The private family (IBM Cloud Private / Cloud Pak): `/iam-token/*` and the identity
provider's password login (reference/icp-iam.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import ProtocolError
from ..http import Retry, delete, json_object, send
from ..models import ApiKey, Introspection, Owner, ServiceId, TokenGrant, Whoami
from . import APIKEY_GRANT, PAGE_SIZE, Flavor, paged
from ._wire import Reader

# ICP's default cluster name; it only appears in the namespace CRN a service ID is bound to.
DEFAULT_CLUSTER = "mycluster"


class Private(Flavor):
    name = "private"

    # -- tokens ----------------------------------------------------------------------------

    def _grant(self, path: str, form: dict[str, str]) -> TokenGrant:
        response = send(self.client, "POST", path, retry=Retry.TOKEN, data=form)
        body = Reader(json_object(response), self.where)
        return TokenGrant(
            access_token=body.text("access_token"),
            token_type=body.opt_text("token_type") or "Bearer",
            refresh_token=body.opt_text("refresh_token") or None,
            expires_in=_int_or_text(body, "expires_in"),
            expiration=_int_or_text(body, "expiration"),
        )

    def token_from_apikey(self, apikey: str) -> TokenGrant:
        return self._grant(
            "/iam-token/oidc/token",
            {"grant_type": APIKEY_GRANT, "apikey": apikey, "response_type": "cloud_iam"},
        )

    def token_from_password(self, username: str, password: str) -> TokenGrant:
        return self._grant(
            "/idprovider/v1/auth/identitytoken",
            {
                "grant_type": "password",
                "username": username,
                "password": password,
                "scope": "openid",
            },
        )

    def token_from_refresh(self, refresh_token: str) -> TokenGrant:
        return self._grant(
            "/idprovider/v1/auth/identitytoken",
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    def introspect(self, access_token: str) -> Introspection:
        response = send(
            self.client,
            "POST",
            "/iam-token/oidc/introspect",
            retry=Retry.TOKEN,
            data={"token": access_token},
        )
        body = json_object(response)
        active = body.get("active") is True
        claims = {k: v for k, v in body.items() if k != "active"}
        return Introspection(active, claims, None if active else "the server says not active")

    def whoami(self, access_token: str) -> Whoami:
        found = self.introspect(access_token)
        if not found.active:
            raise ProtocolError(f"{self.where} does not recognise the token it just issued")
        claims = Reader(found.claims, self.where)
        account = found.claims.get("account")
        service = found.claims.get("sub_type") == "ServiceId"
        return Whoami(
            iam_id=claims.text("iam_id"),
            account_id=account.get("bss") if isinstance(account, dict) else None,
            name=str((found.claims.get("name") if service else found.claims.get("sub")) or ""),
            kind="serviceid" if service else "user",
        )

    # -- service IDs -----------------------------------------------------------------------

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[Reader]:
        # ICP answers {currentPage, pageSize, items}; a page shorter than asked is the last.
        sizes: dict[int, int] = {}

        def fetch(number: int) -> list[Reader]:
            response = send(
                self.client,
                "GET",
                path,
                retry=Retry.IDEMPOTENT,
                headers=self.auth_headers(),
                params={**params, "currentPage": number, "pageSize": PAGE_SIZE},
            )
            body = Reader(json_object(response), self.where)
            # A server may cap the page size below what was asked: a full page is one as
            # long as the page size it reports.
            sizes[number] = _int_or_text(body, "pageSize") or PAGE_SIZE
            return body.items("items")

        def following(number: int, items: list[Reader]) -> int | None:
            return number + 1 if items and len(items) >= sizes.pop(number) else None

        yield from paged(fetch, 1, following, where=self.where, identity=_item_id)

    def service_ids(self, *, name: str | None = None) -> Iterator[ServiceId]:
        for item in self._pages("/iam-token/serviceids/", {}):
            sid = _service_id(item)
            if name is None or sid.name == name:
                yield sid

    def service_id(self, sid: str) -> ServiceId:
        return _service_id(self._get(f"/iam-token/serviceids/{sid}"))

    def create_service_id(self, name: str, description: str | None, *, locked: bool) -> ServiceId:
        cluster = self.cluster_name or DEFAULT_CLUSTER
        body = {"name": name, "boundTo": f"crn:v1:icp:private:k8:{cluster}:n/{self.namespace}:::"}
        if description is not None:
            body["description"] = description
        response = send(
            self.client,
            "POST",
            "/iam-token/serviceids/",
            retry=Retry.CREATE,
            json=body,
            headers=self.auth_headers(),
        )
        return _service_id(Reader(json_object(response), self.where))

    def update_service_id(
        self, current: ServiceId, *, name: str | None, description: str | None
    ) -> ServiceId:
        return _service_id(
            self._put(f"/iam-token/serviceids/{current.id}", current, name, description)
        )

    def delete_service_id(self, sid: str) -> None:
        delete(self.client, f"/iam-token/serviceids/{sid}", headers=self.auth_headers())

    def lock_service_id(self, sid: str, locked: bool) -> None:
        raise self.unsupported("locking service IDs")

    # -- API keys --------------------------------------------------------------------------

    @staticmethod
    def _bound_to(owner: Owner) -> str:
        if owner.service_id is None:
            return "self"
        if owner.service_id.crn is None:
            raise ProtocolError(f"service ID {owner.service_id.id} has no CRN")
        return owner.service_id.crn

    def api_keys(self, owner: Owner) -> Iterator[ApiKey]:
        for item in self._pages("/iam-token/apikeys/", {"boundTo": self._bound_to(owner)}):
            yield _api_key(item)

    def api_key(self, kid: str) -> ApiKey:
        return _api_key(self._get(f"/iam-token/apikeys/{kid}"))

    def create_api_key(
        self,
        owner: Owner,
        name: str,
        description: str | None,
        *,
        locked: bool,
        like: ApiKey | None = None,
        value: str | None = None,
    ) -> ApiKey:
        # ICP keys have no leak action or expiry to carry over, and the server picks the value.
        body = {"name": name, "boundTo": self._bound_to(owner)}
        if description is not None:
            body["description"] = description
        response = send(
            self.client,
            "POST",
            "/iam-token/apikeys/",
            retry=Retry.CREATE,
            json=body,
            headers=self.auth_headers(),
        )
        key = _api_key(Reader(json_object(response), self.where))
        if key.apikey is None:
            raise ProtocolError(f"{self.where} created API key {key.id} but sent no value")
        return key

    def update_api_key(
        self, current: ApiKey, *, name: str | None, description: str | None
    ) -> ApiKey:
        return _api_key(self._put(f"/iam-token/apikeys/{current.id}", current, name, description))

    def delete_api_key(self, kid: str) -> None:
        delete(self.client, f"/iam-token/apikeys/{kid}", headers=self.auth_headers())

    def _put(
        self, path: str, current: ServiceId | ApiKey, name: str | None, description: str | None
    ) -> Reader:
        # ICP's PUT replaces both fields: send the current value of the one not changed.
        body = {
            "name": current.name if name is None else name,
            "description": current.description if description is None else description,
        }
        headers = self.auth_headers()
        # ICP documents no versions; when a server does send one, guard the update with it.
        if current.entity_tag:
            headers["If-Match"] = current.entity_tag
        response = send(
            self.client, "PUT", path, retry=Retry.IDEMPOTENT, json=body, headers=headers
        )
        return Reader(json_object(response), self.where)


def _item_id(item: Reader) -> object:
    meta = item.data.get("metadata")
    return meta.get("uuid") if isinstance(meta, dict) else None


def _int_or_text(body: Reader, key: str) -> int | None:
    # ICP clients declare these as strings; accept either, as they do.
    value = body.data.get(key)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return body.opt_int(key)


def _service_id(r: Reader) -> ServiceId:
    meta, entity = r.obj("metadata"), r.obj("entity")
    crn = meta.opt_text("crn")
    return ServiceId(
        id=meta.text("uuid"),
        name=entity.text("name"),
        description=entity.opt_text("description"),
        iam_id=meta.opt_text("iam_id") or "iam-" + meta.text("uuid"),
        crn=crn,
        created_at=meta.opt_text("createdAt"),
        modified_at=meta.opt_text("modifiedAt"),
        entity_tag=meta.opt_text("version"),
        bound_to=entity.opt_text("boundTo"),
    )


def _api_key(r: Reader) -> ApiKey:
    meta, entity = r.obj("metadata"), r.obj("entity")
    return ApiKey(
        id=meta.text("uuid"),
        name=entity.text("name"),
        description=entity.opt_text("description"),
        crn=meta.opt_text("crn"),
        created_at=meta.opt_text("createdAt"),
        modified_at=meta.opt_text("modifiedAt"),
        entity_tag=meta.opt_text("version"),
        bound_to=entity.opt_text("boundTo"),
        apikey=entity.opt_text("apiKey"),
    )
