"""Creates whose answer is lost after the server acted: each still makes exactly one entity.

The CLI talks to the real emulator; a transport in between lets the first create through to the
server and then loses its answer (a 502 from a proxy, or a cut connection), as happens behind
load balancers. Nothing else is faked.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from iamcli import http as iamcli_http
from support import Emulator


class LoseFirstCreate(httpx.BaseTransport):
    """Loses the answer to the first create (or, with `method="PUT"`, update) that succeeded."""

    def __init__(self, how: str, method: str = "POST") -> None:
        self.inner = httpx.HTTPTransport()
        self.how = how
        self.method = method
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        writing = request.method == self.method and request.url.path.startswith(
            (
                "/v1/serviceids/",
                "/v1/apikeys",
                "/v1/profiles",
                "/iam-token/serviceids/",
                "/iam-token/apikeys/",
            )
        )
        if writing and self.lost == 0 and response.status_code in (200, 201):
            self.lost += 1
            if self.how == "cut":
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            return httpx.Response(
                502,
                text="<html><body>502 Bad Gateway</body></html>",
                headers={"Content-Type": "text/html"},
                request=request,
            )
        return response


@pytest.fixture(params=["502", "cut"])
def lossy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> LoseFirstCreate:
    transport = LoseFirstCreate(request.param)
    real = iamcli_http.make_client
    monkeypatch.setattr(
        iamcli_http,
        "make_client",
        lambda settings, transport_=None: real(settings, transport=transport),
    )
    return transport


@pytest.mark.parametrize("flavor", ["cloud", "private"])
def test_service_id_created_once(
    cli, emulator: Emulator, lossy: LoseFirstCreate, flavor: str
) -> None:
    assert (
        cli(
            "login",
            "-a",
            emulator.url,
            "--flavor",
            flavor,
            "--apikey",
            "-",
            stdin=emulator.a.apikey,
        ).code
        == 0
    )
    name = f"lost-{uuid.uuid4().hex[:8]}"
    r = cli("service-id-create", name, "--output", "json")
    assert lossy.lost == 1
    assert r.code == 0, r.stderr
    assert "answer was lost" in r.stderr
    made = json.loads(r.stdout)
    same_name = [
        s
        for s in emulator.store.list_service_ids(emulator.a.account_id, limit=100).items
        if s.name == name
    ]
    assert [s.id for s in same_name] == [made["id"]]


@pytest.mark.parametrize("flavor", ["cloud", "private"])
def test_api_key_created_once_with_its_value(
    cli, emulator: Emulator, lossy: LoseFirstCreate, flavor: str
) -> None:
    assert (
        cli(
            "login",
            "-a",
            emulator.url,
            "--flavor",
            flavor,
            "--apikey",
            "-",
            stdin=emulator.a.apikey,
        ).code
        == 0
    )
    sid = emulator.store.create_service_id(
        account_id=emulator.a.account_id,
        name=f"owner-{uuid.uuid4().hex[:6]}",
        description=None,
        created_by="test",
    )
    r = cli("service-api-key-create", "k", sid.id, "--output", "json")
    assert lossy.lost == 1
    assert r.code == 0, r.stderr
    created = json.loads(r.stdout)
    keys = emulator.store.list_api_keys(emulator.a.account_id, iam_id=sid.iam_id).items
    assert [k.id for k in keys] == [created["id"]]
    # The value the CLI printed is the one the server holds.
    assert emulator.store.api_key_by_value(created["apikey"]) is not None


@pytest.mark.parametrize("how", ["502", "cut"])
def test_update_whose_answer_was_lost_is_not_a_false_conflict(
    cli, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    assert (
        cli(
            "login",
            "-a",
            emulator.url,
            "--flavor",
            "cloud",
            "--apikey",
            "-",
            stdin=emulator.a.apikey,
        ).code
        == 0
    )
    name = f"upd-{uuid.uuid4().hex[:8]}"
    assert cli("service-id-create", name).code == 0
    transport = LoseFirstCreate(how, method="PUT")
    real = iamcli_http.make_client
    monkeypatch.setattr(
        iamcli_http,
        "make_client",
        lambda settings, transport_=None: real(settings, transport=transport),
    )
    r = cli("service-id-update", name, "-d", "after a lost answer", "-f", "--output", "json")
    assert transport.lost == 1
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["description"] == "after a lost answer"


def test_trusted_profile_created_once(cli, emulator: Emulator, lossy: LoseFirstCreate) -> None:
    login = ["login", "-a", emulator.url, "--flavor", "cloud", "--apikey", "-"]
    assert cli(*login, stdin=emulator.a.apikey).code == 0
    name = f"lost-tp-{uuid.uuid4().hex[:8]}"
    r = cli("trusted-profile-create", name, "--output", "json")
    assert lossy.lost == 1
    assert r.code == 0, r.stderr
    assert "answer was lost" in r.stderr
    listed = cli("trusted-profiles", "-n", name, "--id")
    assert listed.out_lines == [json.loads(r.stdout)["id"]]


def test_trusted_profile_update_after_a_lost_answer(
    cli, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = ["login", "-a", emulator.url, "--flavor", "cloud", "--apikey", "-"]
    assert cli(*login, stdin=emulator.a.apikey).code == 0
    name = f"upd-tp-{uuid.uuid4().hex[:8]}"
    assert cli("trusted-profile-create", name).code == 0
    transport = LoseFirstCreate("502", method="PUT")
    real = iamcli_http.make_client
    monkeypatch.setattr(
        iamcli_http,
        "make_client",
        lambda settings, transport_=None: real(settings, transport=transport),
    )
    r = cli("trusted-profile-update", name, "-e", "ops@example.com", "-f", "--output", "json")
    assert transport.lost == 1
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["email"] == "ops@example.com"


@pytest.mark.parametrize("family", ["cloud", "private"])
def test_policy_created_once(
    cli, emulator: Emulator, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = cli(
        "login", "-a", emulator.url, "--flavor", family, "--apikey", "-", stdin=emulator.a.apikey
    )
    assert r.code == 0, r.stderr
    name = f"pol-{uuid.uuid4().hex[:8]}"
    assert cli("service-id-create", name, "-q").code == 0
    real = iamcli_http.make_client
    service = "iam-identity" if family == "cloud" else "idmgmt"
    for how in ("502", "cut"):
        transport = LoseFirstPolicyCreate(how)
        with monkeypatch.context() as m:
            m.setattr(
                iamcli_http,
                "make_client",
                lambda settings, transport_=None, t=transport: real(settings, transport=t),
            )
            made = cli(
                "service-policy-create",
                name,
                "-r",
                "Viewer",
                "--service-name",
                service,
                "--service-instance",
                f"instance-{how}",
                "-q",
            )
        assert made.code == 0, made.stderr
        assert transport.lost == 1
        assert "the create's answer was lost, but it happened" in made.stderr
    listed = json.loads(cli("service-policies", name, "--output", "json").stdout)
    assert len(listed) == 2  # one per create, none twice


class LoseFirstPolicyCreate(LoseFirstCreate):
    """Loses the answer to the first policy create that succeeded."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        creating = request.method == "POST" and request.url.path.endswith("/policies")
        if creating and self.lost == 0 and response.status_code == 201:
            self.lost += 1
            if self.how == "cut":
                raise httpx.RemoteProtocolError("Server disconnected.", request=request)
            return httpx.Response(502, text="Bad Gateway", request=request)
        return response
