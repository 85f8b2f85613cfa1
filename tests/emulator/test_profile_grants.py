"""Profile tokens from IBM's own authenticators over HTTP: `IAMAssumeAuthenticator` (assume),
`ContainerAuthenticator` (cr-token, with tokens a test issuer signs) and
`VPCInstanceAuthenticator` (the VPC metadata flow), accepted where the profile trusts the
caller and refused where it does not."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import (
    ContainerAuthenticator,
    IAMAssumeAuthenticator,
    VPCInstanceAuthenticator,
)
from servers import ADMIN_KEY, Running, running

from iamcli.emulator.app import Settings
from iamcli.emulator.cloud.vpc_metadata import parse_vpc_instance
from iamcli.emulator.compute_resources import load_issuers
from support import APIKEY_GRANT

ISSUER = "https://kubernetes.default.svc.cluster.local"
URL_ISSUER = "https://oidc.example.test/cluster-2"
CLUSTER = "c0pigdctkkc07fs7pm06"
INSTANCE_ID = "0717_6f3e8b4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
ASSUME = "urn:ibm:params:oauth:grant-type:assume"


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def refusal(auth: Any) -> int:
    """The status with which the server refuses AUTH's token request."""
    with pytest.raises(ApiException) as info:
        auth.token_manager.get_token()
    return int(info.value.status_code)


@dataclass
class World:
    server: Running
    key: rsa.RSAPrivateKey
    url_key: ec.EllipticCurvePrivateKey
    tmp: Path
    cluster_crn: str
    instance_crn: str

    def client(self) -> httpx.Client:
        return self.server.client(headers={"Authorization": f"Bearer {self.server.token()}"})

    def sa_token(
        self,
        namespace: str = "default",
        account: str = "deployer",
        *,
        key: Any = None,
        iss: str = ISSUER,
        aud: Any = ("iam",),
        exp_in: int = 600,
        kid: str = "k8s-1",
        alg: str = "RS256",
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": iss,
            "aud": list(aud),
            "sub": f"system:serviceaccount:{namespace}:{account}",
            "iat": now - 5,
            "nbf": now - 5,
            "exp": now + exp_in,
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": account, "uid": "u-1"},
                "pod": {"name": f"{account}-pod-1", "uid": "p-1"},
            },
        }
        return jwt.encode(claims, key or self.key, algorithm=alg, headers={"kid": kid})

    def token_file(self, token: str, name: str = "sa-token") -> str:
        path = self.tmp / name
        path.write_text(token)
        return str(path)

    def container(self, token: str, name: str, **profile: str) -> ContainerAuthenticator:
        """IBM's ContainerAuthenticator reading TOKEN from a file of its own."""
        path = self.token_file(token, name)
        return ContainerAuthenticator(cr_token_filename=path, url=self.server.url, **profile)

    def profile(self, name: str, **extra: Any) -> dict[str, Any]:
        with self.client() as c:
            r = c.post(
                "/v1/profiles", json={"name": name, "account_id": self.server.account_id, **extra}
            )
        assert r.status_code == 201, r.text
        return dict(r.json())

    def post(self, path: str, body: Any, **kw: Any) -> dict[str, Any]:
        with self.client() as c:
            r = c.request(kw.pop("method", "POST"), path, json=body, **kw)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def admin_iam_id(self) -> str:
        user = self.server.store.user_by_name("admin")
        assert user is not None
        return user.iam_id


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = Path(tmp_path_factory.mktemp("grants"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    url_key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp / "keys").mkdir()
    (tmp / "keys" / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k8s-1"}]}))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(url_key.public_key()))
    handler = type(
        "Jwks", (_Jwks,), {"body": json.dumps({"keys": [{**ec_jwk, "kid": "e1"}]}).encode()}
    )
    jwks_server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=jwks_server.serve_forever, daemon=True).start()
    account = "acct" + "7" * 28
    cluster_crn = f"crn:v1:bluemix:public:containers-kubernetes:us-south:a/{account}:{CLUSTER}::"
    instance_crn = f"crn:v1:bluemix:public:is:us-south-1:a/{account}::instance:{INSTANCE_ID}"
    issuers = [
        {
            "iss": ISSUER,
            "jwks": "keys/jwks.json",  # relative to the file
            "cr_type": "IKS_SA",
            "crn": cluster_crn,
            "service_instance": CLUSTER,
            "location": "us-south",
        },
        {
            "iss": URL_ISSUER,
            "jwks": f"http://127.0.0.1:{jwks_server.server_address[1]}/keys",
            "cr_type": "ROKS_SA",
            "crn": cluster_crn.replace(CLUSTER, "roks-2"),
        },
    ]
    (tmp / "cr.json").write_text(json.dumps(issuers))
    settings = Settings(
        db=str(tmp / "serve.db"),
        access_log=False,
        compute_resources=load_issuers(str(tmp / "cr.json")),
        vpc_instance=parse_vpc_instance(f"{instance_crn},vpc_id=r006-vpc-1,name=web-1"),
    )
    from iamcli.emulator.store import Store

    store = Store(settings.db)
    store.bootstrap(account_id=account, seed_apikey=ADMIN_KEY, username="admin", password="pw")
    with running(settings, store=store) as server:
        yield World(server, key, url_key, tmp, cluster_crn, instance_crn)
    jwks_server.shutdown()


# -- assume --------------------------------------------------------------------------------------


def test_assume_authenticator_gets_the_profiles_token(world: World) -> None:
    me = world.admin_iam_id()
    p = world.profile("assumable")
    identity = {"identifier": me, "type": "user"}
    world.post(f"/v1/profiles/{p['id']}/identities/user", identity)

    for ways in (
        {"iam_profile_id": p["id"]},
        {"iam_profile_crn": p["crn"]},
        {"iam_profile_name": "assumable", "iam_account_id": world.server.account_id},
    ):
        auth = IAMAssumeAuthenticator(ADMIN_KEY, url=world.server.url, **ways)
        claims = claims_of(auth.token_manager.get_token())
        assert claims["iam_id"] == p["iam_id"] and claims["sub"] == p["id"], ways
        assert claims["sub_type"] == "Profile" and claims["realmid"] == "iam"
        assert claims["authn"]["iam_id"] == me
        assert claims["grant_type"] == ASSUME
        assert claims["account"]["bss"] == world.server.account_id

    with world.client() as c:
        seen = c.get(f"/v1/profiles/{p['id']}", params={"include_activity": "true"}).json()
    assert seen["activity"]["authn_count"] >= 1 and seen["activity"]["last_authn"]

    # The profile's token is a bearer token of this server.
    token = IAMAssumeAuthenticator(ADMIN_KEY, url=world.server.url, iam_profile_id=p["id"])
    bearer = {"Authorization": f"Bearer {token.token_manager.get_token()}"}
    with world.server.client() as c:
        r = c.get(f"/v1/profiles/{p['id']}", headers=bearer)
    assert r.status_code != 401, r.text


def test_assume_is_refused_to_an_identity_the_profile_does_not_trust(world: World) -> None:
    p = world.profile("trusts-nobody")
    auth = IAMAssumeAuthenticator(ADMIN_KEY, url=world.server.url, iam_profile_id=p["id"])
    assert refusal(auth) == 403

    # A user trusted from another account only is refused in its own.
    me = world.admin_iam_id()
    world.post(
        f"/v1/profiles/{p['id']}/identities/user",
        {"identifier": me, "type": "user", "accounts": ["acct" + "9" * 28]},
    )
    auth = IAMAssumeAuthenticator(ADMIN_KEY, url=world.server.url, iam_profile_id=p["id"])
    assert refusal(auth) == 403

    for form, status in (
        ({"profile_id": "Profile-none"}, 400),
        ({"profile_name": "trusts-nobody"}, 400),  # a name needs its account
        ({}, 400),
    ):
        with world.server.client() as c:
            r = c.post(
                "/identity/token",
                data={"grant_type": ASSUME, "access_token": world.server.token(), **form},
            )
        assert r.status_code == status and r.json()["errorCode"], r.text
    with world.server.client() as c:
        r = c.post(
            "/identity/token",
            data={"grant_type": ASSUME, "access_token": "forged", "profile_id": p["id"]},
        )
    assert r.status_code == 400 and r.json()["errorCode"] == "BXNIM0407E"


def test_a_trusted_service_id_assumes_and_a_profile_cannot(world: World) -> None:
    sid = world.post("/v1/serviceids", {"account_id": world.server.account_id, "name": "robot"})
    key = world.post("/v1/apikeys", {"name": "k", "iam_id": sid["iam_id"]})["apikey"]
    p = world.profile("for-robots")
    world.post(
        f"/v1/profiles/{p['id']}/identities/serviceid",
        {"identifier": sid["id"], "type": "serviceid"},
    )
    token = IAMAssumeAuthenticator(
        key, url=world.server.url, iam_profile_id=p["id"]
    ).token_manager.get_token()
    claims = claims_of(token)
    assert claims["iam_id"] == p["iam_id"]
    assert claims["authn"] == {
        "sub": sid["id"],
        "iam_id": sid["iam_id"],
        "sub_type": "ServiceId",
        "name": "robot",
    }
    # A profile's own token cannot assume a profile, even one that trusts... nothing can
    # name a profile as an identity, so try the one it is.
    with world.server.client() as c:
        r = c.post(
            "/identity/token",
            data={"grant_type": ASSUME, "access_token": token, "profile_id": p["id"]},
        )
    assert r.status_code == 403


def test_a_deleted_profiles_tokens_stop_working(world: World) -> None:
    me = world.admin_iam_id()
    p = world.profile("short-lived")
    world.post(f"/v1/profiles/{p['id']}/identities/user", {"identifier": me, "type": "user"})
    token = IAMAssumeAuthenticator(
        ADMIN_KEY, url=world.server.url, iam_profile_id=p["id"]
    ).token_manager.get_token()
    with world.client() as c:
        assert c.delete(f"/v1/profiles/{p['id']}").status_code == 204
        r = c.get(
            "/v1/profiles",
            params={"account_id": world.server.account_id},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 401


# -- cr-token ------------------------------------------------------------------------------------


def test_container_authenticator_by_claim_rule(world: World) -> None:
    p = world.profile("k8s-by-rule")
    world.post(
        f"/v1/profiles/{p['id']}/rules",
        {
            "type": "Profile-CR",
            "cr_type": "IKS_SA",
            "conditions": [
                {"claim": "namespace", "operator": "EQUALS", "value": '"default"'},
                {"claim": "service_instance", "operator": "EQUALS", "value": f'"{CLUSTER}"'},
                {"claim": "name", "operator": "IN", "value": '["deployer", "builder"]'},
            ],
        },
    )
    path = world.token_file(world.sa_token())
    auth = ContainerAuthenticator(
        cr_token_filename=path, iam_profile_id=p["id"], url=world.server.url
    )
    claims = claims_of(auth.token_manager.get_token())
    assert claims["iam_id"] == p["iam_id"] and claims["sub_type"] == "Profile"
    assert claims["authn"] == {
        "sub": world.cluster_crn,
        "iam_id": "crn-" + world.cluster_crn,
        "name": "deployer",
    }
    assert claims["grant_type"] == "urn:ibm:params:oauth:grant-type:cr-token"
    by_name = ContainerAuthenticator(
        cr_token_filename=path, iam_profile_name="k8s-by-rule", url=world.server.url
    )
    assert claims_of(by_name.token_manager.get_token())["iam_id"] == p["iam_id"]

    # Another namespace or service account does not meet the rule.
    for other in (world.sa_token(namespace="kube-system"), world.sa_token(account="intruder")):
        assert refusal(world.container(other, "other", iam_profile_id=p["id"])) == 403


def test_container_authenticator_by_link_and_url_keys(world: World) -> None:
    p = world.profile("k8s-by-link")
    roks = world.cluster_crn.replace(CLUSTER, "roks-2")
    world.post(
        f"/v1/profiles/{p['id']}/links",
        {"cr_type": "ROKS_SA", "link": {"crn": roks, "namespace": "apps", "name": "web"}},
    )
    token = world.sa_token("apps", "web", key=world.url_key, iss=URL_ISSUER, kid="e1", alg="ES256")
    auth = world.container(token, "roks", iam_profile_id=p["id"])
    assert claims_of(auth.token_manager.get_token())["iam_id"] == p["iam_id"]
    wrong = world.sa_token("apps", "db", key=world.url_key, iss=URL_ISSUER, kid="e1", alg="ES256")
    assert refusal(world.container(wrong, "roks-db", iam_profile_id=p["id"])) == 403


def test_untrusted_cr_tokens_are_refused(world: World) -> None:
    p = world.profile("k8s-strict")
    world.post(
        f"/v1/profiles/{p['id']}/rules",
        {
            "type": "Profile-CR",
            "cr_type": "IKS_SA",
            "conditions": [{"claim": "namespace", "operator": "EQUALS", "value": '"default"'}],
        },
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hs = jwt.encode(
        {
            "iss": ISSUER,
            "aud": ["iam"],
            "exp": int(time.time()) + 60,
            "sub": "system:serviceaccount:default:deployer",
        },
        "k" * 32,
        algorithm="HS256",
    )
    cases = {
        "signed by another key": world.sa_token(key=stranger),
        "expired": world.sa_token(exp_in=-120),
        "for another audience": world.sa_token(aud=("vault",)),
        "of an unknown issuer": world.sa_token(iss="https://elsewhere"),
        "of an unknown key": world.sa_token(kid="k8s-2"),
        "symmetric": hs,
        "not a JWT": "garbage",
    }
    for why, token in cases.items():
        with world.server.client() as c:
            r = c.post(
                "/identity/token",
                data={
                    "grant_type": "urn:ibm:params:oauth:grant-type:cr-token",
                    "cr_token": token,
                    "profile_id": p["id"],
                },
            )
        assert r.status_code == 400, why
        assert r.json()["errorCode"] == "BXNIM0106E" and token not in r.text, why


# -- VPC instance metadata ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2022-03-01", "2025-08-26"])
def test_vpc_instance_authenticator_gets_the_linked_profiles_token(
    world: World, version: str
) -> None:
    p = world.profile(f"vsi-{version}")
    world.post(
        f"/v1/profiles/{p['id']}/links", {"cr_type": "VSI", "link": {"crn": world.instance_crn}}
    )
    for ways in ({"iam_profile_id": p["id"]}, {"iam_profile_crn": p["crn"]}):
        auth = VPCInstanceAuthenticator(url=world.server.url, service_version=version, **ways)
        claims = claims_of(auth.token_manager.get_token())
        assert claims["iam_id"] == p["iam_id"] and claims["sub_type"] == "Profile"
        assert claims["authn"]["iam_id"] == "crn-" + world.instance_crn
        assert claims["authn"]["name"] == "web-1"
    with world.client() as c:
        c.delete(f"/v1/profiles/{p['id']}")


def test_vpc_instance_by_rule_and_default_profile(world: World) -> None:
    p = world.profile("vsi-by-rule")
    world.post(
        f"/v1/profiles/{p['id']}/rules",
        {
            "type": "Profile-CR",
            "cr_type": "VSI",
            "conditions": [
                {"claim": "vpc_id", "operator": "EQUALS", "value": '"r006-vpc-1"'},
                {"claim": "zone", "operator": "EQUALS", "value": '"us-south-1"'},
            ],
        },
    )
    auth = VPCInstanceAuthenticator(url=world.server.url)  # no profile: the instance's default
    assert claims_of(auth.token_manager.get_token())["iam_id"] == p["iam_id"]
    other = world.profile("vsi-other-vpc")
    world.post(
        f"/v1/profiles/{other['id']}/rules",
        {
            "type": "Profile-CR",
            "cr_type": "VSI",
            "conditions": [{"claim": "vpc_id", "operator": "EQUALS", "value": '"r006-vpc-2"'}],
        },
    )
    refused = VPCInstanceAuthenticator(url=world.server.url, iam_profile_id=other["id"])
    assert refusal(refused) == 403
    with world.client() as c:
        c.delete(f"/v1/profiles/{p['id']}")
        c.delete(f"/v1/profiles/{other['id']}")


def test_vpc_metadata_needs_its_flavor_and_its_own_token(world: World) -> None:
    base = "/instance_identity/v1"
    with world.server.client() as c:
        r = c.put(f"{base}/token", params={"version": "2022-03-01"}, json={"expires_in": 60})
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "missing_metadata_flavor"
        flavor = {"Metadata-Flavor": "ibm"}
        r = c.put(
            f"{base}/token",
            params={"version": "2022-03-01"},
            json={"expires_in": 1},
            headers=flavor,
        )
        assert r.status_code == 400
        r = c.put(
            f"{base}/token",
            params={"version": "2022-03-01"},
            json={"expires_in": 60},
            headers=flavor,
        )
        assert r.status_code == 201
        identity = r.json()["access_token"]
        # The instance identity token is no bearer token of the IAM API ...
        r = c.get(
            "/v1/profiles",
            params={"account_id": world.server.account_id},
            headers={"Authorization": f"Bearer {identity}"},
        )
        assert r.status_code == 401
        # ... and an IAM token is no instance identity token.
        r = c.post(
            f"{base}/iam_token",
            params={"version": "2022-03-01"},
            headers={**flavor, "Authorization": f"Bearer {world.server.token()}"},
        )
        assert r.status_code == 401


def test_delegated_refresh_token(world: World) -> None:
    form = {
        "grant_type": APIKEY_GRANT,
        "apikey": ADMIN_KEY,
        "response_type": "cloud_iam delegated_refresh_token",
        "receiver_client_ids": "aspera_ats",
    }
    with world.server.client() as c:
        r = c.post("/identity/token", data=form)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["delegated_refresh_token"] and body["access_token"]
        # The DRT is for its receivers only, never the CLI's refresh token.
        again = c.post(
            "/identity/token",
            data={"grant_type": "refresh_token", "refresh_token": body["delegated_refresh_token"]},
            auth=("bx", "bx"),
        )
        assert again.status_code == 400
        r = c.post("/identity/token", data={**form, "receiver_client_ids": ""})
        assert r.status_code == 400
        r = c.post("/identity/token", data={**form, "delegated_refresh_token_expiry": "-1"})
        assert r.status_code == 400


def test_a_profile_gets_no_api_keys(world: World) -> None:
    me = world.admin_iam_id()
    p = world.profile("keyless")
    world.post(f"/v1/profiles/{p['id']}/identities/user", {"identifier": me, "type": "user"})
    token = IAMAssumeAuthenticator(
        ADMIN_KEY, url=world.server.url, iam_profile_id=p["id"]
    ).token_manager.get_token()
    as_profile = {"Authorization": f"Bearer {token}"}
    with world.server.client() as c:
        for body, headers in (
            (
                {"name": "k", "iam_id": p["iam_id"]},
                {"Authorization": f"Bearer {world.server.token()}"},
            ),
            ({"name": "k", "iam_id": p["iam_id"]}, as_profile),
        ):
            r = c.post("/v1/apikeys", json=body, headers=headers)
            assert r.status_code in (400, 403), r.text
        r = c.post("/iam-token/apikeys/", json={"name": "k", "boundTo": "self"}, headers=as_profile)
        assert r.status_code in (400, 401, 403), r.text
    assert world.server.store.list_api_keys(world.server.account_id, iam_id=p["iam_id"]).items == []


def test_profiles_an_identity_can_assume(world: World) -> None:
    me = world.admin_iam_id()
    trusted = world.profile("can-assume")
    world.profile("cannot-assume")
    world.post(f"/v1/profiles/{trusted['id']}/identities/user", {"identifier": me, "type": "user"})
    with world.server.client() as c:
        r = c.post("/identity/profiles", data={"access_token": world.server.token()})
        assert r.status_code == 200, r.text
        names = [p["name"] for p in r.json()["profiles"]]
        assert "can-assume" in names and "cannot-assume" not in names
        assert r.json()["count"] == len(names)
        assert c.post("/identity/profiles", data={"access_token": "x"}).status_code == 400
        assert c.post("/identity/profiles", data={}).status_code == 400
