"""The curl examples of IBM Cloud Private's API key reference (shared/seeds/004), run as printed
against `iamcli serve --tls`, with only the host and port filled in.

The examples name a service ID, an API key and a key value of IBM's; the test seeds the
emulator's store with those IDs so that each command finds what it refers to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from iamcli.emulator.app import Settings
from iamcli.emulator.store import Store
from support import APIKEY_GRANT, ThreadServer

SERVICE_ID = "ServiceId-63f6b26f-1568-4e3e-b88c-77809cea8c8f"
API_KEY_ID = "ApiKey-1c40ff8e-5b33-441e-b06f-d5cb89cd1a88"
TOKEN_KEY_VALUE = "EiAUSgnt32h800nur9BCPnHlIsOK6G95pH6fNR2T7peZ"
BASE = "https://<Cluster Master Host>:<Cluster Master API Port>"
# The token of the introspect example (signature shortened): long expired, and signed by a
# key this server does not have.
IBM_SAMPLE_TOKEN = (
    "eyJraWQiOiIyMDE3MDUxNS0wMDowMDowMCIsImFsZyI6IlJTMjU2In0.eyJyZWFsbWlkIjoiaWFtIiwic3ViX3R5c"
    "GUiOiJTZXJ2aWNlSWQiLCJpYXQiOjE1MjA1ODAyMjcsImV4cCI6MTUyMDY2NjYyNywiaXNzIjoiaHR0cHM6Ly9sb2N"
    "hbGhvc3Q6NDQzMC9vaWRjL3Rva2VuIiwiZ3JhbnRfdHlwZSI6InVybjppYm06cGFyYW1zOm9hdXRoOmdyYW50LXR5"
    "cGU6YXBpa2V5Iiwic2NvcGUiOiJvcGVuaWQiLCJjbGllbnRfaWQiOiJkZWZhdWx0In0.cJs3O2KFMQj7jM2b3p0iee"
    "m0qCeL1wxC5WAFPWBVe7jpicvjmLkww7LJyaT45o_ickH3ehoGCDVyaZZdtYmiMKr2CFdAZvCEbpVKeq2KHqsZVWae"
)

EXAMPLES = {
    "create": (
        'curl -k -X POST -H "Content-Type: application/json" -H "Accept: application/json" '
        '-H "Authorization: Bearer $ACCESS_TOKEN" -d \'{"name": "test_serviceid_apikey",'
        '"description": "Description for test_serviceid_apikey ","boundTo": '
        '"crn:v1:icp:private:k8::n/kube-system::serviceid:ServiceId-63f6b26f-1568-4e3e-b88c-'
        f'77809cea8c8f"}}\' "{BASE}/iam-token/apikeys/"'
    ),
    "list": (
        'curl -k -X GET -H "Accept: application/json" -H "Authorization: Bearer $ACCESS_TOKEN" '
        f'"{BASE}/iam-token/apikeys/?boundTo=crn:v1:icp:private:k8::n/kube-system::serviceid:'
        'ServiceId-63f6b26f-1568-4e3e-b88c-77809cea8c8f"'
    ),
    "get": (
        'curl -k -X GET -H "Accept: application/json" -H "Authorization: Bearer $ACCESS_TOKEN" '
        f'"{BASE}/iam-token/apikeys/ApiKey-1c40ff8e-5b33-441e-b06f-d5cb89cd1a88"'
    ),
    "update": (
        'curl -k -X PUT -H "Content-Type: application/json" -H "Accept: application/json" '
        '-H "Authorization: Bearer $ACCESS_TOKEN" -d \'{"name": "test_serviceid_apikey",'
        '"description": "Updated Description for test_serviceid_apikey"}\' '
        f'"{BASE}/iam-token/apikeys/ApiKey-1c40ff8e-5b33-441e-b06f-d5cb89cd1a88"'
    ),
    "token": (
        'curl -k -X POST -H "Content-Type: application/x-www-form-urlencoded" '
        '-H "Accept: application/json" -d \'grant_type=urn:ibm:params:oauth:grant-type:apikey'
        f'&apikey={TOKEN_KEY_VALUE}&response_type=cloud_iam\' "{BASE}/iam-token/oidc/token"'
    ),
    "introspect": (
        "curl -k -X POST --header 'Content-Type: application/x-www-form-urlencoded' --header "
        f"'Accept: application/json' -d 'token={IBM_SAMPLE_TOKEN}' "
        f"'{BASE}/iam-token/oidc/introspect'"
    ),
    "delete": (
        'curl -k -X DELETE -H "Accept: application/json" -H "Authorization: Bearer '
        f'$ACCESS_TOKEN" "{BASE}/iam-token/apikeys/ApiKey-1c40ff8e-5b33-441e-b06f-d5cb89cd1a88"'
    ),
}

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadServer, str]]:
    home = tmp_path_factory.mktemp("seed")
    store = Store(str(home / "serve.db"))
    boot = store.bootstrap(seed_apikey="seed-admin-key-" + "a" * 30)
    admin = store.user_by_name(boot.username)
    assert admin is not None
    sid = store.create_service_id(
        account_id=boot.account_id,
        name="seed",
        description=None,
        namespace="kube-system",
        created_by=admin.iam_id,
        entity_id=SERVICE_ID,
    )
    store.create_api_key(
        account_id=boot.account_id,
        iam_id=sid.iam_id,
        name="test_serviceid_apikey",
        description="seeded",
        created_by=admin.iam_id,
        entity_id=API_KEY_ID,
    )
    store.create_api_key(
        account_id=boot.account_id,
        iam_id=sid.iam_id,
        name="token key",
        description=None,
        value=TOKEN_KEY_VALUE,
        created_by=admin.iam_id,
    )
    server = ThreadServer(Settings(db=store.path), store, tls_dir=home).start()
    token = subprocess.run(
        [
            "curl",
            "-sk",
            "-X",
            "POST",
            "-d",
            f"grant_type={APIKEY_GRANT}&apikey=seed-admin-key-{'a' * 30}",
            f"{server.url}/iam-token/oidc/token",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    yield server, json.loads(token)["access_token"]
    server.stop()


def run(example: str, server: ThreadServer, token: str) -> tuple[int, str]:
    command = EXAMPLES[example].replace(BASE, server.url)
    command = command.replace("curl ", "curl -s -w '\\n%{http_code}' --max-time 20 ", 1)
    out = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ACCESS_TOKEN": token},
        check=True,
    ).stdout
    body, _, status = out.rpartition("\n")
    return int(status), body


def test_create_an_api_key(cluster: tuple[ThreadServer, str]) -> None:
    status, body = run("create", *cluster)
    assert status == 201
    created = json.loads(body)
    assert created["entity"]["name"] == "test_serviceid_apikey"
    assert created["entity"]["description"] == "Description for test_serviceid_apikey "
    assert created["entity"]["format"] == "APIKEY" and len(created["entity"]["apiKey"]) == 44
    assert created["entity"]["boundTo"].endswith(f"n/kube-system::serviceid:{SERVICE_ID}")


def test_get_keys_bound_to_a_crn(cluster: tuple[ThreadServer, str]) -> None:
    status, body = run("list", *cluster)
    listed = json.loads(body)
    assert status == 200 and listed["currentPage"] == 1 and listed["pageSize"] == 20
    assert API_KEY_ID in [i["metadata"]["uuid"] for i in listed["items"]]


def test_get_update_delete_one_key(cluster: tuple[ThreadServer, str]) -> None:
    status, body = run("get", *cluster)
    assert status == 200 and json.loads(body)["metadata"]["uuid"] == API_KEY_ID
    status, body = run("update", *cluster)
    assert status == 200
    assert json.loads(body)["entity"]["description"] == (
        "Updated Description for test_serviceid_apikey"
    )
    status, body = run("delete", *cluster)
    assert status == 204 and body == ""
    assert run("get", *cluster)[0] == 404


def test_generate_a_token(cluster: tuple[ThreadServer, str]) -> None:
    status, body = run("token", *cluster)
    minted = json.loads(body)
    assert status == 200 and minted["token_type"] == "Bearer"
    assert minted["access_token"].count(".") == 2 and isinstance(minted["expires_in"], int)


def test_introspect(cluster: tuple[ThreadServer, str]) -> None:
    status, body = run("introspect", *cluster)
    assert status == 200 and json.loads(body) == {"active": False}
    server, token = cluster
    example = EXAMPLES["introspect"].replace(IBM_SAMPLE_TOKEN, token)
    EXAMPLES["introspect-ours"] = example
    try:
        status, body = run("introspect-ours", server, token)
    finally:
        del EXAMPLES["introspect-ours"]
    assert status == 200 and json.loads(body)["active"] is True


def test_ca_bundle_verifies_the_server(cluster: tuple[ThreadServer, str]) -> None:
    server, _ = cluster
    assert server.ca_bundle is not None and Path(server.ca_bundle).exists()
    r = subprocess.run(
        [
            "curl",
            "-s",
            "--cacert",
            str(server.ca_bundle),
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            f"{server.url}/iam-token/oidc/keys",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.stdout == "200"
