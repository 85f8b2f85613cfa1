"""The public-cloud family: `/identity/*` and the Identity API `/v1/serviceids`, `/v1/apikeys`
(reference/ibmcloud-iam.md §1-3)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ..errors import ApiError, ConflictError, NotFoundError, ProtocolError, refused_credential
from ..http import Retry, delete, json_object, send
from ..models import ApiKey, Introspection, KeySettings, Owner, ServiceId, TokenGrant, Whoami
from ..trusted_profile_models import ProfileRef
from . import PAGE_SIZE, Flavor, paged
from ._wire import Reader, jwt_claims, jwt_header
from .cloud_token import TOKEN_PATH, apikey_form, read_grant
from .policy_api import PolicyApi

if TYPE_CHECKING:
    from .cloud_account import AccountSettingsApi, TemplateApi
    from .cloud_profiles import TrustedProfileApi

# IBM's CLI client. Only the password grant needs it (IBM refuses that grant without it);
# API-key logins go without, so their refresh is a new API-key exchange, as IBM's SDKs do.
_CLI_CLIENT = "Basic " + base64.b64encode(b"bx:bx").decode()
CR_TOKEN_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"
ASSUME_GRANT = "urn:ibm:params:oauth:grant-type:assume"


class Cloud(Flavor):
    name = "cloud"
    creates_are_recognisable = True
    supports_locks = True
    supports_disable = True
    chooses_values = True
    supports_key_settings = True

    # -- tokens ----------------------------------------------------------------------------

    def _token(
        self, form: dict[str, str], *, cli_client: bool = False, response_type: bool = True
    ) -> TokenGrant:
        headers = {"Authorization": _CLI_CLIENT} if cli_client else {}
        data = {**form, "response_type": "cloud_iam"} if response_type else form
        response = send(
            self.client, "POST", TOKEN_PATH, retry=Retry.TOKEN, data=data, headers=headers
        )
        return read_grant(Reader(json_object(response), self.where))

    def token_from_apikey(self, apikey: str) -> TokenGrant:
        return self._token(apikey_form(apikey))

    def token_from_password(self, username: str, password: str) -> TokenGrant:
        return self._token(
            {"grant_type": "password", "username": username, "password": password}, cli_client=True
        )

    def token_from_refresh(self, refresh_token: str) -> TokenGrant:
        return self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, cli_client=True
        )

    def token_from_cr_token(self, cr_token: str, profile: ProfileRef) -> TokenGrant:
        # As IBM's SDKs send it: the compute-resource token and one way of naming the profile
        # (a name is looked up in the resource's own account); no client, no response_type.
        return self._profile_grant(
            {"grant_type": CR_TOKEN_GRANT, "cr_token": cr_token, **_profile_fields(profile)}
        )

    def token_from_assume(self, access_token: str, profile: ProfileRef) -> TokenGrant:
        return self._profile_grant(
            {"grant_type": ASSUME_GRANT, "access_token": access_token, **_profile_fields(profile)}
        )

    def _profile_grant(self, form: dict[str, str]) -> TokenGrant:
        try:
            return self._token(form, response_type=False)
        except ApiError as exc:
            raise refused_credential(exc) from None

    def trusted_profiles(self) -> TrustedProfileApi:
        from .cloud_profiles import TrustedProfileApi

        return TrustedProfileApi(self)

    def account_settings(self) -> AccountSettingsApi:
        from .cloud_account import AccountSettingsApi

        return AccountSettingsApi(self)

    def templates(self, kind: str) -> TemplateApi:
        from .cloud_account import KINDS, TemplateApi

        return TemplateApi(self, KINDS[kind])

    def whoami(self, access_token: str) -> Whoami:
        claims = jwt_claims(access_token)
        if claims is None or not isinstance(claims.get("iam_id"), str):
            raise ProtocolError(f"the access token from {self.where} is not an IBM IAM token")
        # An unsigned token can only come from a server that is not IBM IAM (or an impostor).
        if jwt_header(access_token).get("alg") != "RS256":
            raise ProtocolError(f"the access token from {self.where} is not signed with RS256")
        account = claims.get("account")
        kind = {"ServiceId": "serviceid", "Profile": "profile"}.get(
            str(claims.get("sub_type")), "user"
        )
        return Whoami(
            iam_id=claims["iam_id"],
            account_id=account.get("bss") if isinstance(account, dict) else None,
            name=str(claims.get("name") or claims.get("email") or claims.get("sub") or ""),
            kind=kind,
            subject=str(claims.get("sub") or ""),
        )

    def introspect(self, access_token: str) -> Introspection:
        # IBM Cloud has no introspection endpoint: check the token here, as IBM's own
        # verifiers do, against the server's published keys.
        from ._verify import verify_locally

        keys = json_object(send(self.client, "GET", "/identity/keys", retry=Retry.IDEMPOTENT))
        issuer = str(self.client.base_url).rstrip("/") + "/identity"
        return verify_locally(access_token, keys, issuer=issuer, where=self.where)

    # -- service IDs -----------------------------------------------------------------------

    def pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[Reader]:
        def fetch(query: dict[str, Any]) -> list[Reader]:
            response = send(
                self.client,
                "GET",
                path,
                retry=Retry.IDEMPOTENT,
                params=query,
                headers=self.auth_headers(),
            )
            page = Reader(json_object(response), self.where)
            next_tokens[repr(query)] = _page_token(page, self.where)
            return page.items(key)

        def following(query: dict[str, Any], items: list[Reader]) -> dict[str, Any] | None:
            token = next_tokens.pop(repr(query))
            return None if token is None else {**params, "pagesize": PAGE_SIZE, "pagetoken": token}

        # The next link of each page, by the query that fetched it (fetch runs in the helper
        # thread, following in the caller's; one page at a time).
        next_tokens: dict[str, str | None] = {}
        yield from paged(
            fetch, {**params, "pagesize": PAGE_SIZE}, following, where=self.where, identity=_item_id
        )

    def service_ids(self, *, name: str | None = None) -> Iterator[ServiceId]:
        params: dict[str, Any] = {"account_id": self.account_id}
        if name is not None:
            params["name"] = name
        for item in self.pages("/v1/serviceids/", "serviceids", params):
            yield _service_id(item)

    def service_id(self, sid: str) -> ServiceId:
        return _service_id(self._get(f"/v1/serviceids/{sid}"))

    def create_service_id(self, name: str, description: str | None, *, locked: bool) -> ServiceId:
        body = {"account_id": self.account_id, "name": name}
        if description is not None:
            body["description"] = description
        response = send(
            self.client,
            "POST",
            "/v1/serviceids/",
            retry=Retry.CREATE,
            json=body,
            headers={**self.auth_headers(), "Entity-Lock": str(locked).lower()},
        )
        return _service_id(Reader(json_object(response), self.where))

    def update_service_id(
        self, current: ServiceId, *, name: str | None, description: str | None
    ) -> ServiceId:
        return _service_id(
            self._put(f"/v1/serviceids/{current.id}", current.entity_tag, name, description)
        )

    def delete_service_id(self, sid: str) -> None:
        delete(self.client, f"/v1/serviceids/{sid}", headers=self.auth_headers())

    def lock_service_id(self, sid: str, locked: bool) -> None:
        self._lock(f"/v1/serviceids/{sid}/lock", locked)

    # -- access policies -------------------------------------------------------------------

    def policy_api(self) -> PolicyApi:
        from .cloud_policies import CloudPolicies

        return CloudPolicies(self)

    # -- API keys --------------------------------------------------------------------------

    def _owner_iam_id(self, owner: Owner) -> str:
        if owner.service_id is not None:
            if owner.service_id.iam_id is None:
                raise ProtocolError(f"service ID {owner.service_id.id} has no iam_id")
            return owner.service_id.iam_id
        if self.bearer is None:
            raise RuntimeError("no access token set")
        return self.whoami(self.bearer.split(" ", 1)[-1]).iam_id

    def api_keys(self, owner: Owner) -> Iterator[ApiKey]:
        params = {"account_id": self.account_id, "iam_id": self._owner_iam_id(owner)}
        for item in self.pages("/v1/apikeys", "apikeys", params):
            yield _api_key(item)

    def service_api_keys(self) -> Iterator[ApiKey]:
        params = {"account_id": self.account_id, "scope": "account", "type": "serviceid"}
        for item in self.pages("/v1/apikeys", "apikeys", params):
            yield _api_key(item)

    def api_key(self, kid: str) -> ApiKey:
        return _api_key(self._get(f"/v1/apikeys/{kid}"))

    def create_api_key(
        self,
        owner: Owner,
        name: str,
        description: str | None,
        *,
        locked: bool,
        like: ApiKey | None = None,
        value: str | None = None,
        settings: KeySettings = KeySettings(),
    ) -> ApiKey:
        # The value is made here, with the same 256 bits of randomness IBM's own keys have, and
        # passed through (an API IBM documents). So a create whose answer was lost can be sent
        # again safely: if the first one landed, the value is already taken (409), and the key
        # is found by its value instead of being created twice.
        value = value or new_key_value()
        body: dict[str, Any] = {
            "name": name,
            "iam_id": self._owner_iam_id(owner),
            "apikey": value,
            "store_value": settings.store_value,
        }
        if settings.action_when_leaked is not None:
            body["action_when_leaked"] = settings.action_when_leaked
        if settings.expires_at is not None:
            body["expires_at"] = settings.expires_at
        if self.account_id:
            body["account_id"] = self.account_id
        if description is not None:
            body["description"] = description
        if like is not None:
            body.update(
                (k, v)
                for k, v in (
                    ("action_when_leaked", like.action_when_leaked),
                    ("expires_at", like.expires_at),
                )
                if v is not None
            )
        headers = {**self.auth_headers(), "Entity-Lock": str(locked).lower()}
        try:
            response = send(
                self.client,
                "POST",
                "/v1/apikeys",
                retry=Retry.IDEMPOTENT,
                json=body,
                headers=headers,
            )
        except ConflictError as conflict:
            try:
                return self._by_value(value)
            except NotFoundError:
                raise conflict from None
        key = _api_key(Reader(json_object(response), self.where))
        return _with_value(key, value)

    def api_key_by_value(self, value: str) -> ApiKey | None:
        try:
            return self._by_value(value)
        except NotFoundError:
            return None

    def _by_value(self, value: str) -> ApiKey:
        response = send(
            self.client,
            "GET",
            "/v1/apikeys/details",
            retry=Retry.IDEMPOTENT,
            headers={**self.auth_headers(), "IAM-ApiKey": value},
        )
        key = _api_key(Reader(json_object(response), self.where))
        return _with_value(key, value)

    def update_api_key(
        self,
        current: ApiKey,
        *,
        name: str | None,
        description: str | None,
        action_when_leaked: str | None = None,
    ) -> ApiKey:
        return _api_key(
            self._put(
                f"/v1/apikeys/{current.id}",
                current.entity_tag,
                name,
                description,
                action_when_leaked=action_when_leaked,
            )
        )

    def delete_api_key(self, kid: str) -> None:
        delete(self.client, f"/v1/apikeys/{kid}", headers=self.auth_headers())

    def lock_api_key(self, kid: str, locked: bool) -> None:
        self._lock(f"/v1/apikeys/{kid}/lock", locked)

    def disable_api_key(self, kid: str, disabled: bool = True) -> None:
        self._lock(f"/v1/apikeys/{kid}/disable", disabled)

    def _put(
        self,
        path: str,
        entity_tag: str | None,
        name: str | None,
        description: str | None,
        *,
        action_when_leaked: str | None = None,
    ) -> Reader:
        # Guarded by the version read before: a change made meanwhile gets a 412, not lost.
        fields = (
            ("name", name),
            ("description", description),
            ("action_when_leaked", action_when_leaked),
        )
        body = {k: v for k, v in fields if v is not None}
        response = send(
            self.client,
            "PUT",
            path,
            retry=Retry.IDEMPOTENT,
            json=body,
            headers={**self.auth_headers(), "If-Match": entity_tag or "*"},
        )
        return Reader(json_object(response), self.where)

    def _lock(self, path: str, locked: bool) -> None:
        # POST sets the flag (lock, disable), DELETE clears it (unlock, enable).
        send(
            self.client,
            "POST" if locked else "DELETE",
            path,
            retry=Retry.IDEMPOTENT,
            headers=self.auth_headers(),
        )


def _item_id(item: Reader) -> object:
    return item.data.get("id")


def _page_token(page: Reader, where: str) -> str | None:
    next_link = page.opt_text("next")
    if not next_link:
        return None
    token = parse_qs(urlsplit(next_link).query).get("pagetoken")
    if not token:
        raise ProtocolError(f"unexpected answer from {where}: a 'next' link without a pagetoken")
    return token[0]


def _profile_fields(profile: ProfileRef) -> dict[str, str]:
    if profile.kind == "name":
        # IBM's grants take a name together with the account it is unique in.
        return {
            "profile_name": profile.value,
            **({"account": profile.account} if profile.account else {}),
        }
    return {f"profile_{profile.kind}": profile.value}


def _service_id(r: Reader) -> ServiceId:
    return ServiceId(
        id=r.text("id"),
        name=r.text("name"),
        description=r.opt_text("description"),
        iam_id=r.opt_text("iam_id"),
        crn=r.opt_text("crn"),
        account_id=r.opt_text("account_id"),
        locked=r.flag("locked"),
        created_at=r.opt_text("created_at"),
        modified_at=r.opt_text("modified_at"),
        entity_tag=r.opt_text("entity_tag"),
        wire={k: v for k, v in r.data.items() if k != "apikey"},
    )


def _api_key(r: Reader) -> ApiKey:
    return ApiKey(
        id=r.text("id"),
        name=r.text("name"),
        description=r.opt_text("description"),
        iam_id=r.opt_text("iam_id"),
        crn=r.opt_text("crn"),
        account_id=r.opt_text("account_id"),
        locked=r.flag("locked"),
        disabled=r.flag("disabled"),
        created_at=r.opt_text("created_at"),
        created_by=r.opt_text("created_by"),
        modified_at=r.opt_text("modified_at"),
        entity_tag=r.opt_text("entity_tag"),
        action_when_leaked=r.opt_text("action_when_leaked"),
        expires_at=r.opt_text("expires_at"),
        apikey=r.opt_text("apikey"),
        wire={k: v for k, v in r.data.items() if k != "apikey"},
    )


def new_key_value() -> str:
    return secrets.token_urlsafe(33)


def _with_value(key: ApiKey, value: str) -> ApiKey:
    from dataclasses import replace

    return replace(key, apikey=value)
