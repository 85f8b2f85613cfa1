"""Hostile callers: forged and stale tokens, other accounts' entities, secrets at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm
from servers import ADMIN_KEY, ADMIN_PASSWORD, running

from iamcli.emulator.app import Settings
from iamcli.emulator.signer import InvalidToken, Signer
from iamcli.emulator.store import ServiceId, Store
from support import APIKEY_GRANT, Emulator

BX = {"Authorization": "Basic " + base64.b64encode(b"bx:bx").decode()}
ENTITY_ROUTES = ("/v1/serviceids/{sid}", "/iam-token/serviceids/{sid}")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def our_private_key(emulator: Emulator) -> rsa.RSAPrivateKey:
    [(_, pem), *_] = emulator.store.signing_keys()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def our_public_pem(emulator: Emulator) -> bytes:
    with emulator.client() as c:
        [jwk] = c.get("/identity/keys").json()["keys"]
    public = RSAAlgorithm.from_jwk(json.dumps(jwk))
    assert isinstance(public, rsa.RSAPublicKey)
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def rs256(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.fixture(scope="module")
def genuine(emulator: Emulator) -> str:
    return emulator.token(fresh=True)


@pytest.fixture(scope="module")
def forgeries(emulator: Emulator, genuine: str) -> dict[str, str]:
    header, claims = parts(genuine)
    kid = header["kid"]
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ours = our_private_key(emulator)

    def ours_signed(extra: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return rs256({"alg": "RS256", "kid": kid, **(headers or {})}, {**claims, **extra}, ours)

    signing_input, _, signature = genuine.rpartition(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    # The same signature bytes spelt another way: the last character of a 256-byte signature
    # carries 2 bits, and these 4 unused ones are set.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelt = signature[:-1] + alphabet[alphabet.index(signature[-1]) | 0b1111]
    assert base64.urlsafe_b64decode(respelt + "==") == base64.urlsafe_b64decode(signature + "==")
    h, p = signing_input.split(".")
    other_account = {**claims, "account": {**claims["account"], "bss": emulator.b.account_id}}
    return {
        "another key with our kid": rs256({"alg": "RS256", "kid": kid}, claims, other_key),
        "alg none, no signature": f"{b64json({'alg': 'none', 'kid': kid})}.{p}.",
        "alg none, our signature": f"{b64json({'alg': 'none', 'kid': kid})}.{p}.{signature}",
        "HS256 keyed with our public PEM": hs256(
            {"alg": "HS256", "kid": kid}, claims, our_public_pem(emulator)
        ),
        "HS256 labelled RS256": hs256({"alg": "RS256", "kid": kid}, claims, b"secret"),
        "payload of another account, our signature": f"{h}.{b64json(other_account)}.{signature}",
        "unknown kid": ours_signed({}, {"kid": "nope"}),
        "kid not a string": ours_signed({}, {"kid": 7}),
        "critical extension": ours_signed({}, {"crit": ["exp"]}),
        "expired": ours_signed({"iat": now - 7200, "exp": now - 3600}),
        "expired a second ago": ours_signed({"exp": now - 1}),
        "issued in the future": ours_signed({"iat": now + 3600, "exp": now + 7200}),
        "not before the future": ours_signed({"nbf": now + 3600}),
        "no iam_id": ours_signed({"iam_id": None}),
        "exp a string": ours_signed({"exp": str(now + 3600)}),
        "an ID token (has aud)": ours_signed({"aud": "iamcli-serve"}),
        "signature padded": f"{genuine}==",
        "signature bit flipped": f"{signing_input}.{flipped}",
        "signature spelt another way": f"{signing_input}.{respelt}",
        "garbage": "garbage",
        "empty segments": "..",
        "three junk segments": "eyJ.eyJ.eyJ",
        "header not an object": f"{b64json([1, 2])}.{p}.{signature}",
        "huge": "A" * 20000,
        "four segments": f"{genuine}.{signature}",
    }


FORGERIES = [
    "another key with our kid",
    "alg none, no signature",
    "alg none, our signature",
    "HS256 keyed with our public PEM",
    "HS256 labelled RS256",
    "payload of another account, our signature",
    "unknown kid",
    "kid not a string",
    "critical extension",
    "expired",
    "expired a second ago",
    "issued in the future",
    "not before the future",
    "no iam_id",
    "exp a string",
    "an ID token (has aud)",
    "signature padded",
    "signature bit flipped",
    "signature spelt another way",
    "garbage",
    "empty segments",
    "three junk segments",
    "header not an object",
    "huge",
    "four segments",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_and_stale_tokens_are_refused(
    emulator: Emulator, forgeries: dict[str, str], forgery: str
) -> None:
    token = forgeries[forgery]
    with emulator.client(headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/v1/apikeys").status_code == 401
        assert c.get("/iam-token/serviceids/").status_code == 401
        introspected = c.post("/iam-token/oidc/introspect", data={"token": token})
    assert introspected.json() == {"active": False}


def test_the_genuine_token_is_accepted(
    emulator: Emulator, genuine: str, forgeries: dict[str, str]
) -> None:
    # The forgeries above are refused for what they change, not because every token is: the
    # same claims, signed the same way, pass.
    assert set(forgeries) == set(FORGERIES)
    header, claims = parts(genuine)
    resigned = rs256(header, claims, our_private_key(emulator))
    for token in (genuine, resigned):
        with emulator.client(headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.get("/v1/apikeys").status_code == 200
    with emulator.client(headers={"Authorization": f"Bearer {genuine}"}) as c:
        assert c.get("/v1/apikeys").status_code == 200
        assert c.get("/iam-token/serviceids/").status_code == 200
        assert c.post("/iam-token/oidc/introspect", data={"token": genuine}).json()["active"]


def test_non_ascii_in_a_token_is_refused_not_a_crash(emulator: Emulator, genuine: str) -> None:
    # Regression: the signing input was encoded as ASCII before the payload segment was checked.
    header, payload, signature = genuine.split(".")
    token = f"{header}.{payload[:10]}é{payload[11:]}.{signature}"
    raw = b"Bearer " + token.encode("latin-1")
    with emulator.client() as c:
        assert c.get("/v1/apikeys", headers={"Authorization": raw}).status_code == 401
        assert c.get("/iam-token/serviceids/", headers={"Authorization": raw}).status_code == 401
        r = c.post("/iam-token/oidc/introspect", data={"token": token})
    assert r.status_code == 200 and r.json() == {"active": False}


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Basic " + base64.b64encode(b"bx:bx").decode(), "Token abc"],
)
def test_missing_or_wrong_scheme_is_refused(emulator: Emulator, authorization: str) -> None:
    with emulator.client() as c:
        assert c.get("/v1/apikeys", headers={"Authorization": authorization}).status_code == 401
        r = c.get("/iam-token/serviceids/", headers={"Authorization": authorization})
        assert r.status_code == 401


def test_tokens_of_a_deleted_service_id_are_refused(emulator: Emulator) -> None:
    sid = emulator.store.create_service_id(
        account_id=emulator.a.account_id, name="doomed", description=None, created_by="t"
    )
    _, value = emulator.store.create_api_key(
        account_id=sid.account_id, iam_id=sid.iam_id, name="k", description=None, created_by="t"
    )
    with emulator.client() as c:
        cloud = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": value})
        private = c.post(
            "/iam-token/oidc/token", data={"grant_type": APIKEY_GRANT, "apikey": value}
        )
        tokens = [cloud.json()["access_token"], private.json()["access_token"]]
        for token in tokens:
            r = c.get("/v1/apikeys", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200
        deleted = c.delete(f"/v1/serviceids/{sid.id}", headers=emulator.auth())
        assert deleted.status_code == 204
        for token in tokens:
            auth = {"Authorization": f"Bearer {token}"}
            assert c.get("/v1/apikeys", headers=auth).status_code == 401
            assert c.get("/iam-token/serviceids/", headers=auth).status_code == 401
            assert c.post("/iam-token/oidc/introspect", data={"token": token}).json() == {
                "active": False
            }


# -- other accounts' entities ----------------------------------------------------------------


@dataclass(frozen=True)
class Victim:
    sid: ServiceId
    kid: str
    key_value: str
    user_iam_id: str
    username: str


@pytest.fixture(scope="module")
def victim(emulator: Emulator) -> Victim:
    store = emulator.store
    user = store.user_by_name(emulator.b.username)
    assert user is not None
    sid = store.create_service_id(
        account_id=emulator.b.account_id, name="victim-sid", description=None, created_by="b"
    )
    key, value = store.create_api_key(
        account_id=sid.account_id,
        iam_id=sid.iam_id,
        name="victim-key",
        description=None,
        created_by="b",
    )
    return Victim(sid, key.id, value, user.iam_id, user.username)


def _sid_crn(v: Victim) -> str:
    return f"crn:v1:icp:private:iam-identity:mycluster:n/default::serviceid:{v.sid.id}"


def _user_crn(v: Victim) -> str:
    return f"crn:v1:icp:private:iam-identity:::IBMid:user:{v.username}"


# (method, path, keyword arguments for the request), with {placeholders} filled from a Victim.
CLOUD_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/serviceids/{sid}", {}),
    ("PUT", "/v1/serviceids/{sid}", {"json": {"name": "pwned"}, "headers": {"If-Match": "*"}}),
    ("DELETE", "/v1/serviceids/{sid}", {}),
    ("POST", "/v1/serviceids/{sid}/lock", {}),
    ("DELETE", "/v1/serviceids/{sid}/lock", {}),
    ("GET", "/v1/serviceids/?account_id={account}", {}),
    ("POST", "/v1/serviceids/", {"json": {"account_id": "{account}", "name": "pwned"}}),
    ("GET", "/v1/apikeys/{kid}", {}),
    ("PUT", "/v1/apikeys/{kid}", {"json": {"name": "pwned"}, "headers": {"If-Match": "*"}}),
    ("DELETE", "/v1/apikeys/{kid}", {}),
    ("POST", "/v1/apikeys/{kid}/lock", {}),
    ("DELETE", "/v1/apikeys/{kid}/lock", {}),
    ("POST", "/v1/apikeys/{kid}/disable", {}),
    ("DELETE", "/v1/apikeys/{kid}/disable", {}),
    ("GET", "/v1/apikeys?account_id={account}", {}),
    ("GET", "/v1/apikeys?iam_id={sid_iam_id}", {}),
    ("GET", "/v1/apikeys?iam_id={user_iam_id}", {}),
    ("POST", "/v1/apikeys", {"json": {"name": "pwned", "iam_id": "{sid_iam_id}"}}),
    ("POST", "/v1/apikeys", {"json": {"name": "pwned", "iam_id": "{user_iam_id}"}}),
    ("GET", "/v1/apikeys/details", {"headers": {"IAM-ApiKey": "{key_value}"}}),
]
PRIVATE_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/iam-token/serviceids/{sid}", {}),
    ("PUT", "/iam-token/serviceids/{sid}", {"json": {"name": "pwned"}}),
    ("DELETE", "/iam-token/serviceids/{sid}", {}),
    ("GET", "/iam-token/apikeys/{kid}", {}),
    ("PUT", "/iam-token/apikeys/{kid}", {"json": {"name": "pwned"}}),
    ("DELETE", "/iam-token/apikeys/{kid}", {}),
    ("GET", "/iam-token/apikeys/?boundTo={sid_crn}", {}),
    ("GET", "/iam-token/apikeys/?boundTo={user_crn}", {}),
    ("POST", "/iam-token/apikeys/", {"json": {"name": "pwned", "boundTo": "{sid_crn}"}}),
    ("POST", "/iam-token/apikeys/", {"json": {"name": "pwned", "boundTo": "{user_crn}"}}),
]


def _fill(value: Any, v: Victim, account: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(x, v, account) for k, x in value.items()}
    if isinstance(value, str):
        return value.format(
            sid=v.sid.id,
            kid=v.kid,
            account=account,
            sid_iam_id=v.sid.iam_id,
            user_iam_id=v.user_iam_id,
            key_value=v.key_value,
            sid_crn=_sid_crn(v),
            user_crn=_user_crn(v),
        )
    return value


def _attacker_token(emulator: Emulator, kind: str) -> str:
    with emulator.client() as c:
        if kind == "cloud":
            return emulator.token()
        if kind == "private":
            r = c.post(
                "/iam-token/oidc/token",
                data={"grant_type": APIKEY_GRANT, "apikey": emulator.a.apikey},
            )
        else:
            r = c.post(
                "/idprovider/v1/auth/identitytoken",
                data={
                    "grant_type": "password",
                    "username": emulator.a.username,
                    "password": emulator.a.password,
                    "scope": "openid",
                },
            )
    return str(r.json()["access_token"])


CASES = [("cloud", *route) for route in CLOUD_ROUTES] + [
    (kind, *route) for kind in ("private", "opaque") for route in PRIVATE_ROUTES
]


@pytest.mark.parametrize(
    ("token_kind", "method", "path", "kwargs"),
    CASES,
    ids=[f"{kind} {method} {path}" for kind, method, path, _ in CASES],
)
def test_other_accounts_entities_are_forbidden(
    emulator: Emulator,
    victim: Victim,
    token_kind: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    token = _attacker_token(emulator, token_kind)
    request = _fill(kwargs, victim, emulator.b.account_id)
    headers = {"Authorization": f"Bearer {token}", **request.pop("headers", {})}
    with emulator.client() as c:
        r = c.request(
            method, _fill(path, victim, emulator.b.account_id), headers=headers, **request
        )
    assert r.status_code == 403, r.text
    # Nothing of the victim's changed.
    after = emulator.store.service_id(victim.sid.id)
    assert after == victim.sid
    key = emulator.store.api_key(victim.kid)
    assert key is not None and not key.locked and not key.disabled and key.name == "victim-key"


# -- secrets at rest -------------------------------------------------------------------------


@pytest.fixture
def session_secrets(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A fresh server on a file database, used the way a CI job would use it; yields the
    database path and every secret that went over the wire."""
    db = tmp_path / "at-rest.db"
    secrets = [ADMIN_KEY, ADMIN_PASSWORD]
    with running(Settings(db=str(db), access_log=False)) as server, server.client() as c:
        auth = {"Authorization": f"Bearer {server.token()}"}
        me = server.store.user_by_name("admin")
        assert me is not None
        created = c.post(
            "/v1/serviceids/",
            headers=auth,
            json={
                "account_id": server.account_id,
                "name": "at-rest-canary-sid",
                "apikey": {"name": "inline", "store_value": True},
            },
        ).json()
        secrets.append(created["apikey"]["apikey"])
        for body in (
            {"name": "user-key", "iam_id": me.iam_id},
            {
                "name": "chosen",
                "iam_id": me.iam_id,
                "apikey": "chosen-pass-through-value-" + "v" * 20,
            },
            {"name": "sid-key", "iam_id": created["iam_id"]},
            {"name": "sid-stored", "iam_id": created["iam_id"], "store_value": True},
        ):
            r = c.post("/v1/apikeys", headers=auth, json=body)
            assert r.status_code == 201, r.text
            secrets.append(r.json()["apikey"])
        private = c.post(
            "/iam-token/oidc/token", data={"grant_type": APIKEY_GRANT, "apikey": ADMIN_KEY}
        ).json()
        secrets.append(private["refresh_token"])
        pauth = {"Authorization": f"Bearer {private['access_token']}"}
        crn = f"crn:v1:icp:private:iam-identity:mycluster:n/default::serviceid:{created['id']}"
        for bound in ("self", crn):
            r = c.post("/iam-token/apikeys/", headers=pauth, json={"name": "p", "boundTo": bound})
            assert r.status_code == 201, r.text
            secrets.append(r.json()["entity"]["apiKey"])
        cloud = c.post(
            "/identity/token", headers=BX, data={"grant_type": APIKEY_GRANT, "apikey": ADMIN_KEY}
        ).json()
        refreshed = c.post(
            "/identity/token",
            headers=BX,
            data={"grant_type": "refresh_token", "refresh_token": cloud["refresh_token"]},
        ).json()
        password = c.post(
            "/identity/token",
            headers=BX,
            data={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
        ).json()
        secrets += [cloud["refresh_token"], refreshed["refresh_token"], password["refresh_token"]]
        login = c.post(
            "/idprovider/v1/auth/identitytoken",
            data={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
        ).json()
        again = c.post(
            "/idprovider/v1/auth/identitytoken",
            data={"grant_type": "refresh_token", "refresh_token": login["refresh_token"]},
        ).json()
        for opaque in (login["access_token"], again["access_token"]):
            r = c.get("/iam-token/serviceids/", headers={"Authorization": f"Bearer {opaque}"})
            assert r.status_code == 200
        secrets += [login["access_token"], login["refresh_token"]]
        secrets += [again["access_token"], again["refresh_token"]]
        yield db, secrets


def test_no_secret_rests_in_the_database_files(session_secrets: tuple[Path, list[str]]) -> None:
    db, secrets = session_secrets
    files = [Path(f"{db}{suffix}") for suffix in ("", "-wal", "-shm")]
    assert all(f.exists() for f in files)
    contents = b"".join(f.read_bytes() for f in files)
    # The scan reads the files the data went to: names are stored in clear.
    assert b"at-rest-canary-sid" in contents
    assert len(secrets) == 17 and all(len(s) >= 16 for s in secrets)
    leaked = [s[:6] + "…" for s in secrets if s.encode() in contents]
    assert leaked == []


# -- the verifier against PyJWT ------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer_and_token() -> tuple[Signer, str]:
    signer = Signer(Store(":memory:"))
    now = int(time.time())
    token = signer.sign({"iam_id": "IBMid-X", "sub": "x", "iat": now, "exp": now + 3600})
    return signer, token


def _pyjwt_accepts(signer: Signer, token: str) -> dict[str, Any] | None:
    jwk = signer.jwks()["keys"][0]
    try:
        if jwt.get_unverified_header(token).get("kid") != jwk["kid"]:
            return None
        claims: dict[str, Any] = jwt.decode(
            token,
            RSAAlgorithm.from_jwk(json.dumps(jwk)),  # type: ignore[arg-type]
            algorithms=["RS256"],
            options={"require": ["exp", "iat", "iam_id"]},
        )
    except jwt.PyJWTError:
        return None
    return claims


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=st.data())
def test_the_verifier_never_accepts_what_pyjwt_refuses(
    signer_and_token: tuple[Signer, str], data: st.DataObject
) -> None:
    signer, token = signer_and_token
    at = data.draw(st.integers(0, len(token)))
    edit = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
    char = data.draw(st.sampled_from("AQgw_-=.eyJ0\x00 é"))
    mutated = {
        "replace": token[:at] + char + token[at + 1 :],
        "insert": token[:at] + char + token[at:],
        "delete": token[:at] + token[at + 1 :],
        "truncate": token[:at],
    }[edit]
    try:
        ours: dict[str, Any] | None = signer.verify(mutated)
    except InvalidToken:
        ours = None
    if ours is not None:
        assert ours == _pyjwt_accepts(signer, mutated)
