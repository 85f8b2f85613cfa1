"""The three ways of becoming a trusted profile, end to end against `iamcli serve` over HTTP:
a compute-resource token (signed here by a test issuer the server trusts), a VPC instance's
metadata service (the server answering as one instance), and assuming from an API key login.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from iamcli import compute_resource, token_cache
from support import files_containing, serve_process, stored_secret

ADMIN_KEY = "profile-logins-admin-key-" + "k" * 24
ACCOUNT = "f" * 32
ISSUER = "https://kubernetes.default.svc.cluster.local"
CLUSTER_ID = "c0pigdctkkc07fs7pm06"
CLUSTER_CRN = (
    f"crn:v1:bluemix:public:containers-kubernetes:us-south:a/{ACCOUNT}::cluster:{CLUSTER_ID}"
)
INSTANCE_CRN = f"crn:v1:bluemix:public:is:us-south-1:a/{ACCOUNT}::instance:0717_test-vsi"


@dataclass
class Issuer:
    key: rsa.RSAPrivateKey
    kid: str

    def sign(self, *, namespace: str = "default", name: str = "deployer", **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": ["iam"],
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": name, "uid": str(uuid.uuid4())},
                "pod": {"name": f"{name}-7d4b9c-x2x9z", "uid": str(uuid.uuid4())},
            },
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})


@dataclass
class Server:
    url: str
    issuer: Issuer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("trusted-logins")
    issuer = Issuer(rsa.generate_private_key(public_exponent=65537, key_size=2048), "test-kid")
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(issuer.key.public_key()))
    (root / "jwks.json").write_text(
        json.dumps({"keys": [{**jwk, "kid": issuer.kid, "use": "sig"}]})
    )
    resources = [
        {
            "iss": ISSUER,
            "jwks": "jwks.json",  # relative to the file
            "cr_type": "IKS_SA",
            "crn": CLUSTER_CRN,
            "service_instance": CLUSTER_ID,
        }
    ]
    (root / "compute-resources.json").write_text(json.dumps(resources))
    with serve_process(
        "--db",
        str(root / "serve.db"),
        "--seed-apikey",
        ADMIN_KEY,
        "--account-id",
        ACCOUNT,
        "--compute-resources",
        str(root / "compute-resources.json"),
        "--vpc-instance",
        f"{INSTANCE_CRN},zone=us-south-1",
        "--quiet",
    ) as process:
        yield Server(process.url, issuer)


@pytest.fixture
def admin(cli, server: Server) -> None:  # type: ignore[no-untyped-def]
    r = cli("login", "-a", server.url, "--apikey", ADMIN_KEY, "--profile", "admin")
    assert r.code == 0, r.stderr


def new_profile(cli, *extra: list[str]) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    name = f"tp-{uuid.uuid4().hex[:8]}"
    r = cli("trusted-profile-create", name, "--profile", "admin", "--output", "json")
    assert r.code == 0, r.stderr
    pid = json.loads(r.stdout)["id"]
    for args in extra:
        made = cli(*args[:1], pid, *args[1:], "--profile", "admin")
        assert made.code == 0, made.stderr
    return name, pid


def namespace_rule(namespace: str = "default") -> list[str]:
    return [
        "trusted-profile-rule-create",
        "--type",
        "Profile-CR",
        "--cr-type",
        "IKS_SA",
        "--conditions",
        f"claim:namespace,operator:EQUALS,value:{namespace}",
    ]


def claims_of(token: str) -> dict[str, Any]:
    token = token.split()[-1]
    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]


def expire_cached_token(profile: str) -> None:
    cached = token_cache.load(profile)
    assert cached is not None
    data = cached.to_dict() | {"issued_at": 1, "expires_at": 2}
    token_cache.save(profile, token_cache.CachedToken(**data))


def oauth_claims(cli, profile: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = cli("oauth-tokens", "--profile", profile, "--output", "json")
    assert r.code == 0, r.stderr
    return claims_of(json.loads(r.stdout)["iam_token"])


def test_cr_token_login_reads_the_file_again_at_every_refresh(
    cli, admin: None, server: Server, tmp_path: Path, home: Path
) -> None:
    name, pid = new_profile(cli, namespace_rule())
    token_file = tmp_path / "sa-token"
    first = server.issuer.sign()
    token_file.write_text(first + "\n")

    r = cli(
        "login",
        "-a",
        server.url,
        "--cr-token",
        f"@{token_file}",
        "--trusted-profile",
        name,
        "--profile",
        "pod",
        "--output",
        "json",
    )
    assert r.code == 0, r.stderr
    login = json.loads(r.stdout)
    assert login["iam_id"] == f"iam-{pid}" and login["identity_kind"] == "profile"
    assert login["compute_resource"] == "cr-token" and login["cr_token_file"] == str(token_file)
    claims = oauth_claims(cli, "pod")
    assert claims["iam_id"] == f"iam-{pid}" and claims["sub_type"] == "Profile"

    # No secret is kept anywhere: not in the keyring, not in any file of iamcli's.
    assert stored_secret("pod", "apikey") is None and stored_secret("pod", "refresh_token") is None
    assert files_containing(home, first) == []
    target = cli("target", "--profile", "pod", "--output", "json")
    assert str(token_file) in json.loads(target.stdout)["credential_source"]

    # Kubernetes rotates the file: a refresh reads it again. A token the profile's rule does
    # not match (another namespace) is refused, so the file was read, not a copy of it.
    token_file.write_text(server.issuer.sign(namespace="kube-system"))
    expire_cached_token("pod")
    refused = cli("oauth-tokens", "--profile", "pod")
    assert refused.code == 4, refused.stderr
    token_file.write_text(server.issuer.sign())
    again = oauth_claims(cli, "pod")
    assert again["iam_id"] == f"iam-{pid}" and again["iat"] >= claims["iat"]

    # And the commands work as the profile (it may read itself only with access; the server
    # refuses or answers, but the token is the profile's).
    whoami = cli("target", "--profile", "pod")
    assert f"iam-{pid}" in whoami.stdout


def test_cr_token_from_ibm_environment_variables(cli, admin: None, server: Server) -> None:
    _, pid = new_profile(cli, namespace_rule())
    token = server.issuer.sign()
    env = {"IBMCLOUD_CR_TOKEN": token, "IBMCLOUD_CR_PROFILE": pid}
    r = cli("login", "-a", server.url, "--profile", "envpod", env=env)
    assert r.code == 0, r.stderr
    assert oauth_claims(cli, "envpod")["iam_id"] == f"iam-{pid}"
    # The value was never stored: without the variable, a refresh has nothing to send.
    expire_cached_token("envpod")
    gone = cli("oauth-tokens", "--profile", "envpod")
    assert gone.code == 4 and "IBMCLOUD_CR_TOKEN" in gone.stderr
    again = cli("oauth-tokens", "--profile", "envpod", env=env)
    assert again.code == 0, again.stderr


def test_cr_token_from_the_default_token_files(
    cli, admin: None, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, pid = new_profile(cli, namespace_rule())
    present = tmp_path / "sa-token"
    present.write_text(server.issuer.sign())
    # The defaults IBM's SDKs read, relocated: the first is absent, the second is read.
    monkeypatch.setattr(
        compute_resource, "DEFAULT_TOKEN_FILES", (str(tmp_path / "vault-token"), str(present))
    )
    r = cli(
        "login",
        "-a",
        server.url,
        "--trusted-profile",
        name,
        "--profile",
        "dflt",
        "--output",
        "json",
    )
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["cr_token_file"] == str(present)
    assert oauth_claims(cli, "dflt")["iam_id"] == f"iam-{pid}"
    present.unlink()
    none = cli("login", "-a", server.url, "--trusted-profile", name, "--profile", "dflt2")
    assert none.code == 2 and "no compute-resource token" in none.stderr


def test_cr_token_refusals(cli, admin: None, server: Server, tmp_path: Path) -> None:
    name, _ = new_profile(cli, namespace_rule("prod"))
    token_file = tmp_path / "sa-token"
    token_file.write_text(server.issuer.sign(namespace="default"))
    base = ["login", "-a", server.url, "--profile", "bad"]
    no_match = cli(*base, "--cr-token", f"@{token_file}", "--trusted-profile", name)
    assert no_match.code == 4, no_match.stderr
    # Signed by a key the server does not trust.
    stranger = Issuer(rsa.generate_private_key(public_exponent=65537, key_size=2048), "test-kid")
    token_file.write_text(stranger.sign(namespace="prod"))
    forged = cli(*base, "--cr-token", f"@{token_file}", "--trusted-profile", name)
    assert forged.code == 4, forged.stderr
    assert cli("target", "--profile", "bad").code == 4  # nothing was saved
    no_profile = cli(*base, "--cr-token", f"@{token_file}")
    assert no_profile.code == 2 and "--trusted-profile" in no_profile.stderr
    both = cli(*base, "--cr-token", f"@{token_file}", "--apikey", "x", "--trusted-profile", name)
    assert both.code == 2
    missing = cli(*base, "--cr-token", f"@{tmp_path / 'nope'}", "--trusted-profile", name)
    assert missing.code == 2 and "cannot read the token file" in missing.stderr


def test_vpc_instance_login(cli, admin: None, server: Server) -> None:
    link = [
        "trusted-profile-link-create",
        "--cr-type",
        "VSI",
        "--link-crn",
        INSTANCE_CRN,
    ]
    _, pid = new_profile(cli, link)
    env = {"IBMCLOUD_CR_VPC_URL": server.url}
    r = cli(
        "login",
        "-a",
        server.url,
        "--vpc-cri",
        "--trusted-profile",
        pid,
        "--profile",
        "vsi",
        "--output",
        "json",
        env=env,
    )
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["compute_resource"] == "vpc"
    first = oauth_claims(cli, "vsi")
    assert first["iam_id"] == f"iam-{pid}"
    # A refresh asks the metadata service again (the URL was remembered at login).
    expire_cached_token("vsi")
    assert oauth_claims(cli, "vsi")["iam_id"] == f"iam-{pid}"

    # Without --trusted-profile, the instance's default: the one profile linked to it here.
    default = cli("login", "-a", server.url, "--vpc-cri", "--profile", "vsi-default", env=env)
    assert default.code == 0, default.stderr
    assert oauth_claims(cli, "vsi-default")["iam_id"] == f"iam-{pid}"

    _, unlinked = new_profile(cli)
    refused = cli(
        "login",
        "-a",
        server.url,
        "--vpc-cri",
        "--trusted-profile",
        unlinked,
        "--profile",
        "vsi2",
        env=env,
    )
    assert refused.code == 4, refused.stderr
    by_name = cli("login", "-a", server.url, "--vpc-cri", "--trusted-profile", "some-name", env=env)
    assert by_name.code == 2 and "ID or CRN" in by_name.stderr


def test_assume_and_leave(cli, admin: None, server: Server) -> None:
    me = json.loads(cli("target", "--profile", "admin", "--output", "json").stdout)["iam_id"]
    name, pid = new_profile(
        cli, ["trusted-profile-identity-create", "--id", me, "--id-type", "USER"]
    )
    assert cli("login", "-a", server.url, "--apikey", ADMIN_KEY, "--profile", "ops").code == 0
    shown = cli("trusted-profile-assume", "--profile", "ops")
    assert shown.code == 0 and "has not assumed" in shown.stderr

    r = cli("trusted-profile-assume", name, "--profile", "ops", "--output", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == {"id": pid, "name": name, "iam_id": f"iam-{pid}"}
    claims = oauth_claims(cli, "ops")
    assert claims["iam_id"] == f"iam-{pid}" and claims["sub_type"] == "Profile"
    target = cli("target", "--profile", "ops")
    assert f"{name} ({pid})" in target.stdout
    now = cli("trusted-profile-assume", "--profile", "ops", "--output", "json")
    assert json.loads(now.stdout)["id"] == pid

    # A refresh assumes again, from the login's own API key.
    expire_cached_token("ops")
    assert oauth_claims(cli, "ops")["iam_id"] == f"iam-{pid}"

    left = cli("trusted-profile-leave", "--profile", "ops")
    assert left.code == 0 and f"Left trusted profile {name}" in left.stderr
    assert oauth_claims(cli, "ops")["iam_id"] == me
    assert cli("trusted-profile-leave", "--profile", "ops").code == 0  # nothing to leave

    # Only a listed identity may assume: a profile without identities refuses.
    closed, _ = new_profile(cli)
    refused = cli("trusted-profile-assume", closed, "--profile", "ops")
    assert refused.code == 4, refused.stderr
    assert oauth_claims(cli, "ops")["iam_id"] == me  # nothing changed


def test_traces_hide_the_compute_resource_and_assumed_tokens(
    cli, admin: None, server: Server, tmp_path: Path
) -> None:
    name, pid = new_profile(cli, namespace_rule())
    me = json.loads(cli("target", "--profile", "admin", "--output", "json").stdout)["iam_id"]
    cli(
        "trusted-profile-identity-create",
        pid,
        "--id",
        me,
        "--id-type",
        "USER",
        "--profile",
        "admin",
    )
    token = server.issuer.sign()
    token_file = tmp_path / "sa-token"
    token_file.write_text(token)
    r = cli(
        "login",
        "-a",
        server.url,
        "--cr-token",
        f"@{token_file}",
        "--trusted-profile",
        name,
        "--profile",
        "traced",
        "--trace",
    )
    assert r.code == 0, r.stderr
    assert "cr_token=" in r.stderr and token not in r.stderr
    own = token_cache.load("admin")  # the token the assume grant sends
    assert own is not None
    assumed = cli("trusted-profile-assume", name, "--profile", "admin", "--trace")
    assert assumed.code == 0, assumed.stderr
    profile_token = token_cache.load("admin")
    assert profile_token is not None and profile_token.access_token != own.access_token
    for secret in (own.access_token, profile_token.access_token):
        assert secret not in assumed.stderr + assumed.stdout
    assert "access_token=" in assumed.stderr
    assert cli("trusted-profile-leave", "--profile", "admin").code == 0
