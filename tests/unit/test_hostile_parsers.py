"""Fuzzing what the CLI parses from outside: every answer a server could give to every verb of
both API families, and whatever could sit in config.json or the token cache. Each either
works or raises IamcliError (one line and a documented exit code), never anything else.

The values mix the field names IBM's APIs use with every JSON type: huge and negative
integers, floats (NaN and infinity, which Python's decoder accepts), unpaired surrogates,
control characters, deep nesting, and the wrong type in every slot."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamcli import config, token_cache
from iamcli.errors import IamcliError
from iamcli.flavors import Flavor, flavor_class
from iamcli.http import HttpSettings, make_client
from iamcli.models import Owner
from iamcli.output import Output
from iamcli.session import Session

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FIELDS = [
    "access_token", "token_type", "refresh_token", "expires_in", "expiration", "keys", "kid",
    "kty", "n", "e", "alg", "active", "iam_id", "account", "bss", "sub", "sub_type", "name",
    "serviceids", "apikeys", "next", "items", "currentPage", "pageSize", "id", "entity_tag",
    "crn", "created_at", "modified_at", "description", "locked", "metadata", "entity", "uuid",
    "boundTo", "apiKey", "apikey", "errors", "errorCode", "errorMessage", "errorDetails",
    "context", "requestId", "message", "code", "message_code", "iat", "exp", "iss", "version",
    "profiles", "endpoint", "flavor", "secret_store", "has_refresh_token", "ca_bundle",
    "skip_ssl_validation", "account_id", "namespace", "cluster_name", "credential",
    "expires_at", "issued_at",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["\ud800", "\x1b]2;x\x07", "\u202e", "", " ", "-1", "9" * 30]),
    st.sampled_from(["eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "/v1/x?pagetoken=a", "Bearer"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6)
    ),
    max_leaves=20,
)
answers = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=8),
    values,
    st.sampled_from(["[" * 5000, '{"keys": 5}', '{"keys": [{"kid": "k", "kty": "RSA", "n": 5}]}']),
)


def body_of(answer: Any) -> bytes:
    if isinstance(answer, str) and answer.startswith(("[", "{")):
        return answer.encode()
    return json.dumps(answer, allow_nan=True).encode("utf-8", "surrogatepass")


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


TOKEN = f"{b64({'alg': 'RS256', 'kid': 'k'})}.{b64({'iam_id': 'x', 'exp': 1, 'iat': 0})}.c2ln"
VERBS: dict[str, Callable[[Flavor], object]] = {
    "token": lambda f: f.token_from_apikey("k" * 20),
    "refresh": lambda f: f.token_from_refresh("r" * 20),
    "whoami": lambda f: f.whoami(TOKEN),
    "introspect": lambda f: f.introspect(TOKEN),
    "service-ids": lambda f: list(f.service_ids()),
    "service-id": lambda f: f.service_id("ServiceId-1"),
    "api-keys": lambda f: list(f.api_keys(Owner())),
    "api-key": lambda f: f.api_key("ApiKey-1"),
    "create-service-id": lambda f: f.create_service_id("n", None, locked=False),
    "create-api-key": lambda f: f.create_api_key(Owner(), "n", None, locked=False),
    "delete-api-key": lambda f: f.delete_api_key("ApiKey-1"),
}


@pytest.fixture(autouse=True)
def no_retries() -> Iterator[None]:
    os.environ["IAMCLI_HTTP_RETRIES"] = "0"
    yield
    del os.environ["IAMCLI_HTTP_RETRIES"]


@pytest.mark.parametrize("flavor", ["cloud", "private"])
@pytest.mark.parametrize("verb", sorted(VERBS))
@SETTINGS
@given(answer=answers, status=st.sampled_from([200, 201, 400, 401, 404, 409, 500]))
def test_any_answer_to_any_verb_is_handled(
    flavor: str, verb: str, answer: Any, status: int
) -> None:
    body = body_of(answer)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    client = make_client(HttpSettings("https://iam.test"), transport=httpx.MockTransport(handler))
    with client:
        adapter = flavor_class(flavor)(client, account_id="acct")
        adapter.bearer = "Bearer x"
        try:
            result = VERBS[verb](adapter)
        except IamcliError:
            return
        # What was accepted can be rendered: the human layout and JSON.
        out = Output(stdout=_Sink(), stderr=_Sink())
        for item in result if isinstance(result, list) else [result]:
            to_json = getattr(item, "to_json", None)
            if to_json is not None:
                out.json_value(to_json())


class _Sink:
    def write(self, text: str) -> int:
        text.encode("utf-8")  # what a terminal or pipe would do: no unencodable text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@SETTINGS
@given(content=st.one_of(answers, st.binary(max_size=64)))
def test_any_config_file_is_read_or_refused_in_one_line(isolated_home: Path, content: Any) -> None:
    path = isolated_home / "config" / "config.json"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else body_of(content))
    try:
        config.list_profiles()
        session = Session("default", out=Output(stdout=_Sink(), stderr=_Sink()))
        session.place()
    except IamcliError:
        pass


@SETTINGS
@given(content=st.one_of(answers, st.binary(max_size=64)))
def test_any_token_cache_file_is_used_or_ignored(isolated_home: Path, content: Any) -> None:
    path = Path(token_cache.tokens_dir()) / "default.json"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else body_of(content))
    path.chmod(0o600)
    cached = token_cache.load("default")
    if cached is not None:
        token_cache.needs_refresh(cached)
        cached.authorization.encode("utf-8", "surrogatepass")
