"""Injected faults (`iamcli serve --fault-rate/--fault-status/--latency-ms/--drop-rate`).

Rates are checked over a few hundred requests against bounds several standard deviations
wide; the seeded generator makes each run the same, so a pass is not luck.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter

import httpx
import pytest
from servers import ADMIN_KEY, Running, running

from iamcli.emulator.app import Settings
from iamcli.emulator.faults import FaultPlan
from support import APIKEY_GRANT, iamcli_command, serve_process

FAULTS = {500, 502, 503, 429}
TOKEN_FORM = {"grant_type": APIKEY_GRANT, "apikey": ADMIN_KEY}


def settings(**plan: object) -> Settings:
    return Settings(db=":memory:", access_log=False, faults=FaultPlan(**plan))  # type: ignore[arg-type]


def statuses(server: Running, n: int, path: str = "/identity/keys") -> Counter[int]:
    with server.client() as c:
        return Counter(c.get(path).status_code for _ in range(n))


def test_fault_rate_and_statuses_are_observed() -> None:
    with running(settings(rate=0.3, seed=7)) as server:
        seen = statuses(server, 400)
    faulted = sum(n for status, n in seen.items() if status in FAULTS)
    assert set(seen) <= FAULTS | {200}
    assert 80 <= faulted <= 160, seen  # 20% to 40% of 400
    # Uniform over the four statuses: about 30 each.
    assert all(10 <= seen[status] <= 55 for status in FAULTS), seen


def test_chosen_statuses_only() -> None:
    with running(settings(rate=0.5, statuses=(502,), seed=1)) as server:
        seen = statuses(server, 100)
    assert set(seen) == {200, 502}


def test_same_seed_same_faults() -> None:
    def sequence() -> list[int]:
        with running(settings(rate=0.5, seed=42)) as server, server.client() as c:
            return [c.get("/identity/keys").status_code for _ in range(50)]

    first = sequence()
    assert first == sequence()
    assert len(set(first)) > 1


@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("/identity/keys", {"context", "errorCode", "errorMessage"}),
        ("/v1/serviceids/", {"context", "status_code", "errors", "trace"}),
        ("/iam-token/oidc/keys", {"errorCode", "errorMessage", "errorDetails", "context"}),
        ("/idprovider/v1/auth/identitytoken", {"error", "error_description"}),
    ],
)
@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_faults_answer_in_the_family_shape(path: str, keys: set[str], status: int) -> None:
    with running(settings(rate=1.0, statuses=(status,))) as server, server.client() as c:
        r = c.get(path, headers={"X-Request-ID": "fault-trace-1"})
    assert r.status_code == status
    assert set(r.json()) == keys
    assert r.headers["Transaction-Id"] == "fault-trace-1"
    if status in (429, 503):
        assert r.headers["Retry-After"] == "1"
    else:
        assert "Retry-After" not in r.headers
    if "status_code" in keys:
        assert r.json()["status_code"] == str(status)


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_drops_are_dropped_connections_not_500s(http: str) -> None:
    with running(settings(drop_rate=1.0), http=http) as server, server.client() as c:
        for _ in range(3):
            with pytest.raises(httpx.RemoteProtocolError):
                c.post("/identity/token", data=TOKEN_FORM)


def test_drop_rate_is_observed_and_the_server_lives_on() -> None:
    outcomes: Counter[str] = Counter()
    with running(settings(drop_rate=0.25, seed=3)) as server, server.client() as c:
        for _ in range(200):
            try:
                outcomes[str(c.get("/identity/keys").status_code)] += 1
            except httpx.RemoteProtocolError:
                outcomes["dropped"] += 1
    assert set(outcomes) == {"200", "dropped"}
    assert 25 <= outcomes["dropped"] <= 75, outcomes  # 12.5% to 37.5% of 200


def test_latency_is_added_to_every_request() -> None:
    with running(settings(latency_ms=150)) as server, server.client() as c:
        for _ in range(4):
            started = time.monotonic()
            assert c.get("/identity/keys").status_code == 200
            assert time.monotonic() - started >= 0.150


@pytest.mark.parametrize("plan", [{"rate": 1.0, "statuses": (500, 503)}, {"drop_rate": 1.0}])
def test_faulted_creates_leave_nothing_behind(plan: dict[str, object]) -> None:
    with running(Settings(db=":memory:", access_log=False)) as plain:
        token = plain.token()
    # The same store behind a faulty server: the token stays valid across the two apps.
    with running(settings(**plan), store=plain.store) as server, server.client() as c:
        for n in range(20):
            try:
                r = c.post(
                    "/v1/serviceids/",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"account_id": server.account_id, "name": f"faulted-{n}"},
                )
                assert r.status_code >= 500
            except httpx.RemoteProtocolError:
                pass
    assert server.store.list_service_ids(server.account_id, limit=100).items == []


def test_every_acknowledged_create_exists_and_no_other() -> None:
    with running(Settings(db=":memory:", access_log=False)) as plain:
        token = plain.token()
    created = []
    with running(settings(rate=0.4, seed=11), store=plain.store) as server, server.client() as c:
        for n in range(60):
            r = c.post(
                "/v1/serviceids/",
                headers={"Authorization": f"Bearer {token}"},
                json={"account_id": server.account_id, "name": f"maybe-{n}"},
            )
            assert r.status_code in FAULTS | {201}
            if r.status_code == 201:
                created.append(r.json()["id"])
    stored = server.store.list_service_ids(server.account_id, limit=100).items
    assert 0 < len(created) < 60
    assert sorted(s.id for s in stored) == sorted(created)


def test_zero_rates_change_nothing() -> None:
    plan = FaultPlan(rate=0.0, drop_rate=0.0, latency_ms=0, seed=1)
    assert not plan.active
    with running(Settings(db=":memory:", access_log=False, faults=plan)) as server:
        assert statuses(server, 200) == Counter({200: 200})
        with server.client() as c:
            assert c.post("/identity/token", data=TOKEN_FORM).status_code == 200


@pytest.mark.parametrize(
    "plan",
    [
        {"rate": 1.5},
        {"rate": -0.1},
        {"drop_rate": 2},
        {"statuses": ()},
        {"statuses": (200,)},
        {"statuses": (600,)},
        {"latency_ms": -1},
    ],
)
def test_plans_are_validated(plan: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultPlan(**plan)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--fault-rate", "1.5"], "--fault-rate"),
        (["--drop-rate", "-1"], "--drop-rate"),
        (["--fault-status", "500,oops"], "fault statuses are codes separated by commas"),
        (["--fault-status", "200"], "a fault status must be a 4xx or 5xx code, not 200"),
        (["--fault-status", ","], "at least one fault status is needed"),
        (["--latency-ms", "-5"], "--latency-ms"),
    ],
)
def test_serve_refuses_bad_fault_options(args: list[str], fragment: str) -> None:
    r = subprocess.run(
        [*iamcli_command(), "serve", "--db", ":memory:", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_help_documents_faults() -> None:
    r = subprocess.run(
        [*iamcli_command(), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    for option in ("--fault-rate", "--fault-status", "--latency-ms", "--drop-rate", "--fault-seed"):
        assert option in text
    assert "before the request reaches the server's routes" in text


def test_serve_process_drops_and_faults_and_logs_them() -> None:
    with serve_process(
        "--db",
        ":memory:",
        "--seed-apikey",
        ADMIN_KEY,
        "--drop-rate",
        "0.3",
        "--fault-rate",
        "0.3",
        "--fault-seed",
        "5",
    ) as server:
        outcomes: Counter[str] = Counter()
        with httpx.Client(base_url=server.url, timeout=10) as c:
            for _ in range(60):
                try:
                    outcomes[str(c.post("/identity/token", data=TOKEN_FORM).status_code)] += 1
                except httpx.RemoteProtocolError:
                    outcomes["dropped"] += 1
        assert server.stop() == 0
    assert outcomes["dropped"] > 0 and outcomes["200"] > 0
    assert any(s in outcomes for s in map(str, FAULTS)), outcomes
    log = "".join(server.stderr_lines)
    assert log.count("POST /identity/token dropped") == outcomes["dropped"]
    assert log.count("POST /identity/token 200") == outcomes["200"]
    assert "Traceback" not in log and "ASGI" not in log and "Exception" not in log
