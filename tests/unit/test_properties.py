"""Property tests for the parsers the CLI owns: secrets from @files and stdin, CRNs, endpoint
URLs, and name-or-ID resolution. Each either answers correctly or raises the documented error
(a UsageError and its kin), never anything else."""

from __future__ import annotations

import io
import json
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamcli.endpoints import normalize_endpoint
from iamcli.errors import IamcliError, NotFoundError, UsageError
from iamcli.keyfile import read_secret_arg
from iamcli.models import ServiceId
from iamcli.services.identities import (
    AmbiguousName,
    owner_from_bound_to,
    resolve_service_id,
)

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Printable keys without white space; a file whose text starts with "{" is read as the JSON
# export, and no API key (IBM's alphabet is [A-Za-z0-9_-]) starts that way.
keys = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=120).filter(
    lambda k: not k.startswith("{")
)
blank = st.sampled_from(["", " ", "\n", "\r\n", "\t", "  \n\n"])


@SETTINGS
@given(key=keys, before=blank, after=blank)
def test_raw_key_files_and_stdin(key: str, before: str, after: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "key"
        path.write_text(before + key + after)
        assert read_secret_arg(f"@{path}", stdin=None) == key
    assert read_secret_arg("-", stdin=io.StringIO(before + key + after)) == key
    if not key.startswith(("@", "-")):
        assert read_secret_arg(key, stdin=None) == key


@SETTINGS
@given(
    key=keys,
    extra=st.dictionaries(
        st.sampled_from(["name", "description", "createdAt", "id"]), st.text(max_size=20)
    ),
)
def test_json_export_files(key: str, extra: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "key.json"
        path.write_text(json.dumps({**extra, "apikey": key}, indent=2))
        assert read_secret_arg(f"@{path}", stdin=None) == key


@SETTINGS
@given(content=st.binary(max_size=200))
def test_any_file_content_is_a_key_or_a_usage_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "key"
        path.write_bytes(content)
        try:
            value = read_secret_arg(f"@{path}", stdin=None)
        except UsageError:
            return
        assert value and value == value.strip() and not any(c.isspace() for c in value)


# -- endpoints ----------------------------------------------------------------------------

hosts = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)


@SETTINGS
@given(
    scheme=st.sampled_from(["", "http://", "https://", "HTTPS://"]),
    host=hosts,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=st.sampled_from(
        ["", "/", "/identity", "/identity/token", "/iam-token", "/prefix", "/prefix/"]
    ),
)
def test_endpoints_are_canonical_and_stable(
    scheme: str, host: str, port: int | None, path: str
) -> None:
    text = f"{scheme}{host}{'' if port is None else f':{port}'}{path}"
    url = normalize_endpoint(text)
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https")
    assert parts.hostname is not None and parts.hostname.endswith(host.lower())
    assert not url.endswith("/") and not parts.query and not parts.fragment
    assert not parts.path.endswith(("/identity", "/identity/token"))
    assert normalize_endpoint(url) == url  # canonical: a second pass changes nothing


@SETTINGS
@given(text=st.text(max_size=80))
def test_any_endpoint_text_is_a_url_or_a_usage_error(text: str) -> None:
    try:
        url = normalize_endpoint(text)
    except UsageError:
        return
    assert urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname


def test_endpoint_examples() -> None:
    assert normalize_endpoint("cloud.ibm.com") == "https://iam.cloud.ibm.com"
    assert normalize_endpoint("https://iam.cloud.ibm.com/identity/token") == (
        "https://iam.cloud.ibm.com"
    )
    assert normalize_endpoint("https://cluster:443/") == "https://cluster"
    assert normalize_endpoint("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    for bad in ("ftp://x", "https://user:pw@host", "https://host?x=1", "https://", "a b"):
        with pytest.raises(UsageError):
            normalize_endpoint(bad)


# -- service IDs by name or ID, and CRNs ---------------------------------------------------


class FakeFlavor:
    """Only what resolution reads: the service IDs there are."""

    name = "cloud"

    def __init__(self, items: list[ServiceId]) -> None:
        self.items = items

    def service_ids(self, *, name: str | None = None) -> Iterator[ServiceId]:
        return iter([s for s in self.items if name is None or s.name == name])

    def service_id(self, sid: str) -> ServiceId:
        for s in self.items:
            if s.id == sid:
                return s
        raise NotFoundError("not found", status=404)


names = st.lists(st.sampled_from(["ci", "deploy", "ci-bot", "x", "Ci"]), min_size=0, max_size=8)


@SETTINGS
@given(taken=names, asked=st.sampled_from(["ci", "deploy", "ci-bot", "x", "Ci", "none"]))
def test_names_and_ids_resolve_or_fail_as_documented(taken: list[str], asked: str) -> None:
    items = [ServiceId(id=f"ServiceId-{uuid.uuid4()}", name=n) for n in taken]
    flavor = FakeFlavor(items)
    for item in items:
        assert resolve_service_id(flavor, item.id) is item  # type: ignore[arg-type]
    matches = [s for s in items if s.name == asked]
    if len(matches) == 1:
        assert resolve_service_id(flavor, asked) is matches[0]  # type: ignore[arg-type]
    elif not matches:
        with pytest.raises(NotFoundError):
            resolve_service_id(flavor, asked)  # type: ignore[arg-type]
    else:
        with pytest.raises(AmbiguousName) as info:
            resolve_service_id(flavor, asked)  # type: ignore[arg-type]
        assert all(m.id in info.value.message for m in matches)
    with pytest.raises(NotFoundError):
        resolve_service_id(flavor, f"ServiceId-{uuid.uuid4()}")  # type: ignore[arg-type]


@SETTINGS
@given(
    cluster=st.from_regex(r"[a-z0-9-]{0,12}", fullmatch=True),
    namespace=st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True),
    account=st.from_regex(r"[a-f0-9]{32}", fullmatch=True),
)
def test_service_id_crns_of_every_form(cluster: str, namespace: str, account: str) -> None:
    sid = ServiceId(id=f"ServiceId-{uuid.uuid4()}", name="s")
    flavor = FakeFlavor([sid])
    for crn in (
        f"crn:v1:icp:private:k8::n/{namespace}::serviceid:{sid.id}",
        f"crn:v1:icp:private:iam-identity:{cluster}:n/{namespace}::serviceid:{sid.id}",
        f"crn:v1:bluemix:public:iam-identity::a/{account}::serviceid:{sid.id}",
    ):
        assert owner_from_bound_to(flavor, crn).service_id is sid  # type: ignore[arg-type]
    user = f"crn:v1:icp:private:iam-identity:::IBMid:user:{namespace}"
    assert owner_from_bound_to(flavor, user).is_self  # type: ignore[arg-type]
    assert owner_from_bound_to(flavor, "self").is_self  # type: ignore[arg-type]


@SETTINGS
@given(text=st.text(max_size=120))
def test_any_bound_to_text_is_an_owner_or_a_documented_error(text: str) -> None:
    try:
        owner = owner_from_bound_to(FakeFlavor([]), text)  # type: ignore[arg-type]
    except IamcliError:
        return
    assert owner.is_self  # with no service IDs, only `self` and user CRNs can succeed
