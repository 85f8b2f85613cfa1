"""Token grants and access-token claims for both families, and who a bearer token speaks for.

Claims follow the decoded IBM tokens in reference/ibmcloud-iam.md §2 (public cloud) and the
ICP samples in the seed document (private). Whether IBM puts `sub_type` in user tokens is
unconfirmed; we leave it out, as every decoded user token in the reference does.
"""

from __future__ import annotations

import base64
import hmac
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import formats
from .problems import Problem
from .signer import InvalidToken, Signer
from .store import ApiKey, Identity, RefreshGrant, ServiceId, Store, User

if TYPE_CHECKING:
    from .authz import Engine

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
# The only OAuth client IBM's CLI uses, and the only one that gets a usable refresh token.
CLI_CLIENT = ("bx", "bx")

UNKNOWN_KEY = Problem(400, "Provided API key could not be found", code="BXNIM0415E")


@dataclass(frozen=True)
class Caller:
    identity: Identity
    account_id: str
    claims: dict[str, Any]
    # The decision engine of the server that authenticated the caller (authz.subject_of).
    engine: Engine | None = field(default=None, compare=False, repr=False)

    @property
    def iam_id(self) -> str:
        return self.identity.iam_id


@dataclass(frozen=True)
class Minted:
    access_token: str
    issued_at: int
    expires_at: int


def _seconds(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


# How long a process trusts what it read of an account's token lifetimes: a change to the
# account settings takes effect for new tokens within this many seconds.
SETTINGS_CACHE_SECONDS = 5.0


class Tokens:
    def __init__(
        self,
        store: Store,
        signer: Signer,
        *,
        ttl: int,
        refresh_ttl: int,
        engine: Engine | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.signer = signer
        self.ttl = ttl
        self.refresh_ttl = refresh_ttl
        self._lifetimes: dict[str, tuple[float, int | None, int | None]] = {}

    def lifetimes(self, account_id: str) -> tuple[int, int]:
        """(access, refresh) token lifetimes for ACCOUNT_ID: the account settings'
        `system_access_token_expiration_in_seconds` and `..._refresh_...` where set, else the
        server's --token-ttl and --refresh-token-ttl."""
        now = time.monotonic()
        cached = self._lifetimes.get(account_id)
        if cached is None or now - cached[0] >= SETTINGS_CACHE_SECONDS:
            values = self.store.account_settings(account_id).values
            if len(self._lifetimes) > 10_000:
                self._lifetimes.clear()
            # Only what the account set is kept: the server's own lifetimes are read at each
            # mint, so that nothing here outlives a change to them.
            cached = (
                now,
                _seconds(values["system_access_token_expiration_in_seconds"]),
                _seconds(values["system_refresh_token_expiration_in_seconds"]),
            )
            self._lifetimes[account_id] = cached
        _, access, refresh = cached
        return access or self.ttl, refresh or self.refresh_ttl

    # -- minting ---------------------------------------------------------------------------

    def mint(
        self,
        identity: Identity,
        account_id: str,
        *,
        family: str,
        issuer: str,
        grant_type: str,
        client_id: str,
    ) -> Minted:
        iat = formats.now()
        exp = iat + self.lifetimes(account_id)[0]
        claims = (
            _cloud_claims(identity, account_id)
            if family == "cloud"
            else _private_claims(identity, account_id)
        )
        claims.update(
            {
                "iat": iat,
                "exp": exp,
                "iss": issuer,
                "grant_type": grant_type,
                "scope": "ibm openid" if family == "cloud" else "openid",
                "client_id": client_id,
            }
        )
        if family == "cloud":
            claims.update({"acr": 1, "amr": ["pwd"]})
        minted = Minted(self.signer.sign(claims), iat, exp)
        # For the inactive-identity report and `include_activity` (store/activity.py).
        self.store.note_authentication(account_id, identity.iam_id)
        return minted

    def new_refresh_token(
        self,
        identity: Identity,
        account_id: str,
        *,
        api_key_id: str | None,
        client_id: str,
        grant_type: str,
    ) -> str:
        return self.store.add_refresh_token(
            RefreshGrant(
                identity.iam_id,
                account_id,
                api_key_id,
                client_id,
                grant_type,
                formats.now() + self.lifetimes(account_id)[1],
            )
        )

    # -- grants ----------------------------------------------------------------------------

    def identity_for_api_key(self, value: str) -> tuple[Identity, ApiKey]:
        """The identity an API key speaks for; BXNIM0415E for an unknown, disabled, expired or
        orphaned key."""
        if not value:
            raise Problem(400, "Property missing or empty. Property: apikey", code="BXNIM0106E")
        key = self.store.api_key_by_value(value)
        if key is None or not key.usable(formats.now()):
            raise UNKNOWN_KEY
        identity = self.store.identity(key.iam_id)
        if identity is None:
            raise UNKNOWN_KEY
        self.store.note_authentication(key.account_id, key.id)
        return identity, key

    def identity_for_refresh_token(
        self, value: str, *, client_id: str
    ) -> tuple[Identity, RefreshGrant]:
        if not value:
            raise Problem(
                400, "Property missing or empty. Property: refresh_token", code="BXNIM0106E"
            )
        grant = self.store.refresh_grant(value)
        if grant is None or grant.client_id != client_id:
            raise Problem(400, "Provided refresh token is invalid", code="BXNIM0407E")
        if grant.expires_at <= formats.now():
            raise Problem(400, "Provided refresh token is expired", code="BXNIM0408E")
        identity = self.store.identity(grant.iam_id)
        if identity is None:
            raise Problem(400, "Provided refresh token is invalid", code="BXNIM0407E")
        if grant.api_key_id is not None:
            key = self.store.api_key(grant.api_key_id)
            if key is None or not key.usable(formats.now()):
                raise UNKNOWN_KEY
        return identity, grant

    # -- callers ---------------------------------------------------------------------------

    def caller(self, authorization: str | None, *, allow_opaque: bool = False) -> Caller:
        """Who a request's `Authorization: Bearer …` speaks for, or a 401 Problem."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "A valid bearer token is required (Authorization: Bearer <token>)")
        if allow_opaque and token.count(".") != 2:
            found = self.store.opaque_access_token(token)
            if found is None or found[3] <= formats.now():
                raise Problem(401, "The access token is invalid or expired")
            user = self.store.user(found[0])
            if user is None:
                raise Problem(401, "The access token's identity no longer exists")
            return Caller(
                user, found[1], {"iam_id": user.iam_id, "sub": user.username}, self.engine
            )
        try:
            claims = self.signer.verify(token)
        except InvalidToken as exc:
            raise Problem(401, f"The access token is not valid: {exc}") from exc
        account_id = str((claims.get("account") or {}).get("bss") or "")
        # Read on every request, never cached: a worker cannot hear that another deleted a
        # service ID, whose tokens must stop working at once. The indexed read costs about
        # 12 µs, a few percent of a bearer request.
        identity = self.store.identity(str(claims["iam_id"]))
        # A deleted service ID's tokens end with it; IBM keeps a deleted *key's* tokens valid
        # until they expire, which the store does by not tracking JWTs per key.
        if identity is None or identity.account_id != account_id:
            raise Problem(401, "The access token's identity no longer exists")
        return Caller(identity, account_id, claims, self.engine)


def basic_client(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, secret) of HTTP Basic client credentials, or None when there are none."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "Malformed Basic client credentials", code="BXNIM0106E") from None
    return client_id, secret


def is_cli_client(client: tuple[str, str] | None) -> bool:
    if client is None:
        return False
    return hmac.compare_digest(client[0], CLI_CLIENT[0]) and hmac.compare_digest(
        client[1], CLI_CLIENT[1]
    )


def _cloud_claims(identity: Identity, account_id: str) -> dict[str, Any]:
    account = {"valid": True, "bss": account_id, "boundary": "global"}
    if isinstance(identity, ServiceId):
        authn = {
            "sub": identity.id,
            "iam_id": identity.iam_id,
            "sub_type": "ServiceId",
            "name": identity.name,
        }
        return {
            "iam_id": identity.iam_id,
            "id": identity.iam_id,
            "realmid": "iam",
            "identifier": identity.id,
            "name": identity.name,
            "sub": identity.id,
            "sub_type": "ServiceId",
            "authn": authn,
            "account": account,
        }
    assert isinstance(identity, User)
    person = {
        "name": identity.name,
        "given_name": identity.given_name,
        "family_name": identity.family_name,
        "email": identity.email,
    }
    return {
        "iam_id": identity.iam_id,
        "id": identity.iam_id,
        "realmid": "IBMid",
        "identifier": identity.identifier,
        **person,
        "sub": identity.email,
        "authn": {"sub": identity.email, "iam_id": identity.iam_id, **person},
        "account": account,
    }


def _private_claims(identity: Identity, account_id: str) -> dict[str, Any]:
    if isinstance(identity, ServiceId):
        return {
            "iam_id": identity.iam_id,
            "id": identity.iam_id,
            "realmid": "iam",
            "sub": identity.id,
            "sub_type": "ServiceId",
            "name": identity.name,
            "account": {"bss": account_id},
        }
    assert isinstance(identity, User)
    return {
        "iam_id": identity.iam_id,
        "id": identity.iam_id,
        "realmid": "IBMid",
        "sub": identity.username,
        "username": identity.username,
        "account": {"bss": account_id},
    }
