"""The metadata server of `iamcli exec --metadata-server`, over real HTTP on 127.0.0.1: the
VPC instance metadata token flow as IBM's VPCInstanceAuthenticator calls it, and refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from iamcli.errors import NetworkError
from iamcli.metadata_server import MetadataServer
from iamcli.token_cache import CachedToken

VERSION = {"version": "2022-03-01"}
FLAVOR = {"Metadata-Flavor": "ibm"}


class Source:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    def __call__(self) -> CachedToken:
        self.calls += 1
        if self.fail:
            raise NetworkError("cannot reach the IAM server")
        now = int(time.time())
        return CachedToken(f"jwt-{self.calls}", "Bearer", now + 600, now, "http://iam", "iam-x")


@pytest.fixture
def served() -> Iterator[tuple[MetadataServer, Source]]:
    source = Source()
    with MetadataServer(source) as server:
        yield server, source


def identity_token(
    client: httpx.Client, url: str, path: str = "/instance_identity/v1/token"
) -> str:
    r = client.put(url + path, params=VERSION, headers=FLAVOR, json={"expires_in": 300})
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 300
    return str(r.json()["access_token"])


@pytest.mark.parametrize(
    ("token_path", "iam_path"),
    [
        ("/instance_identity/v1/token", "/instance_identity/v1/iam_token"),
        ("/identity/v1/token", "/identity/v1/iam_tokens"),  # VPC_IMS_VERSION=2025-08-26
    ],
)
def test_the_two_calls(served, token_path: str, iam_path: str) -> None:  # type: ignore[no-untyped-def]
    server, source = served
    with httpx.Client(timeout=10) as c:
        iit = identity_token(c, server.url, token_path)
        r = c.post(
            server.url + iam_path, params=VERSION, headers={"Authorization": f"Bearer {iit}"}
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["access_token"] == "jwt-1" and 590 <= body["expires_in"] <= 600
    assert set(body) == {"access_token", "created_at", "expires_at", "expires_in"}
    assert source.calls == 1


def test_refusals(served) -> None:  # type: ignore[no-untyped-def]
    server, source = served
    base = server.url
    root = base.rsplit("/", 1)[0]
    with httpx.Client(timeout=10) as c:
        path = "/instance_identity/v1/token"
        # Without the per-run secret: nothing is there.
        assert c.put(root + path, params=VERSION, headers=FLAVOR).status_code == 404
        assert (
            c.put(root + "/wrong-secret" + path, params=VERSION, headers=FLAVOR).status_code == 404
        )
        assert c.put(base + path, params=VERSION).status_code == 400  # no Metadata-Flavor
        assert c.put(base + path, headers=FLAVOR).status_code == 400  # no version
        rebound = {**FLAVOR, "Host": f"attacker.example:{server.port}"}
        assert c.put(base + path, params=VERSION, headers=rebound).status_code == 403
        too_long = c.put(base + path, params=VERSION, headers=FLAVOR, json={"expires_in": 7200})
        assert too_long.status_code == 400
        iam = base + "/instance_identity/v1/iam_token"
        assert c.post(iam, params=VERSION).status_code == 401
        assert (
            c.post(iam, params=VERSION, headers={"Authorization": "Bearer forged"}).status_code
            == 401
        )
        iit = identity_token(c, base)
        bearer = {"Authorization": f"Bearer {iit}"}
        profile = c.post(iam, params=VERSION, headers=bearer, json={"trusted_profile": {"id": "x"}})
        assert profile.status_code == 400
        assert profile.json()["errors"][0]["code"] == "trusted_profile_not_linked"
        assert c.get(base + path, params=VERSION).status_code == 405
        source.fail = True
        down = c.post(iam, params=VERSION, headers=bearer)
        assert down.status_code == 503
        assert down.json()["errors"][0]["message"] == "cannot reach the IAM server"
    assert source.calls == 1


def test_it_stops_with_the_block() -> None:
    with MetadataServer(Source()) as server:
        url = server.url
        with httpx.Client(timeout=10) as c:
            identity_token(c, url)
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=2) as c:
        c.put(url + "/instance_identity/v1/token", params=VERSION, headers=FLAVOR)
