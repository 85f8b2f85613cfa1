"""Lists and requests always end, whatever the server does: a `next` link that repeats a page
token, a server that ignores `currentPage`, and an answer dripped a byte a second."""

from __future__ import annotations

import time
import uuid
from http.server import BaseHTTPRequestHandler

from hostile_server import hostile_server, send_json, token_answer


def env_for(url: str, flavor: str) -> dict[str, str]:
    return {
        "IAMCLI_ENDPOINT": url,
        "IAMCLI_FLAVOR": flavor,
        "IAMCLI_API_KEY": "hostile-test-key-" + "h" * 20,
        "IAMCLI_HTTP_TIMEOUT": "2",
    }


def cloud_sid(sid: str) -> dict[str, object]:
    return {"id": sid, "iam_id": f"iam-{sid}", "name": sid, "entity_tag": "1-x", "locked": False}


def test_a_next_link_that_repeats_its_page_token_ends_the_list(cli_process) -> None:  # type: ignore[no-untyped-def]
    def respond(h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/identity/token"):
            return token_answer(h)
        # Fresh items every time, so only the repeated token gives the loop away.
        items = [cloud_sid(f"ServiceId-{uuid.uuid4()}") for _ in range(2)]
        send_json(h, {"serviceids": items, "next": "/v1/serviceids/?pagetoken=again"})

    with hostile_server(respond) as server:
        r = cli_process("service-ids", env=env_for(server.url, "cloud"), timeout=60)
    assert r.code == 1, r.stderr
    assert "does not end: its next page is one it already sent" in r.stderr
    assert "Traceback" not in r.stderr
    lists = [q for q in server.requests if q.startswith("GET /v1/serviceids")]
    assert len(lists) == 2  # the first page, and the page its token named: no more


def test_a_server_that_ignores_current_page_ends_the_list(cli_process) -> None:  # type: ignore[no-untyped-def]
    page = [
        {"metadata": {"uuid": f"ServiceId-{i}"}, "entity": {"name": f"s{i}"}} for i in range(100)
    ]

    def respond(h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/iam-token/oidc/token"):
            return token_answer(h)
        if h.path.startswith("/iam-token/oidc/introspect"):
            return send_json(h, {"active": True, "iam_id": "x", "account": {"bss": "a"}})
        send_json(h, {"currentPage": 1, "pageSize": 100, "items": page})  # whatever was asked

    with hostile_server(respond) as server:
        r = cli_process("service-ids", env=env_for(server.url, "private"), timeout=60)
    assert r.code == 1, r.stderr
    assert "does not end: page 2 brought nothing new" in r.stderr
    lists = [q for q in server.requests if q.startswith("GET /iam-token/serviceids")]
    assert len(lists) == 2


def test_an_answer_dripped_a_byte_a_second_is_given_up_on(cli_process) -> None:  # type: ignore[no-untyped-def]
    def respond(h: BaseHTTPRequestHandler) -> None:
        # Each byte well within the 2 s read timeout; the whole would take ten minutes.
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "600")
        h.end_headers()
        for _ in range(600):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(1)

    with hostile_server(respond) as server:
        # Bounded by the subprocess timeout: without an overall deadline this never ends in time.
        r = cli_process("oauth-tokens", env=env_for(server.url, "cloud"), timeout=30)
    assert r.code == 6, r.stderr
    assert "within 2 s (IAMCLI_HTTP_TIMEOUT)" in r.stderr
    # A dripping answer is not tried again: the time it was allowed is spent.
    assert len(server.requests) == 1
