"""Does `iamcli serve` stay as fast with 100,000 service IDs in one account as with 100?

    .venv/bin/python benchmarks/serve_scale.py [--big N] [--requests R]

Two databases are seeded straight through the store (one transaction of bulk inserts: a path
that exists only here, not a route): one account with 100 service IDs, one with N (100,000),
each with one more service ID that has an API key. A server runs on each (one worker), and
three requests are sent to both, alternately, R times each (200), one at a time over one
kept-alive connection: get that service ID by ID, list the service IDs with a name filter
(`?name=`), and the API-key token grant of its key. Prints the median of each at both sizes
and their ratio; the target is <= 1.5x.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve_load import APIKEY_GRANT, SEED, server  # noqa: E402

from iamcli.emulator import formats  # noqa: E402
from iamcli.emulator.store import Store  # noqa: E402

TARGET = 1.5
SMALL = 100


@dataclass(frozen=True)
class Seeded:
    path: str
    service_id: str
    name: str
    api_key: str


def seed(path: str, count: int) -> Seeded:
    store = Store(path)
    try:
        boot = store.bootstrap(seed_apikey=SEED)
        account = boot.account_id
        # Far past the default 2,000 service IDs: the size is what is measured.
        store.set_identity_limit(account, "serviceids", count + 100)
        owner = store.account_owner(account)
        assert owner is not None
        t = formats.now()
        rows = []
        for i in range(count):
            sid = formats.new_service_id()
            rows.append(
                (
                    sid,
                    "iam-" + sid,
                    account,
                    f"bulk-{i:06d}",
                    None,
                    "default",
                    0,
                    1,
                    t,
                    t,
                    owner,
                    "[]",
                )
            )
        with store._tx() as db:  # one transaction: a bulk path for this benchmark only
            db.executemany(
                "INSERT INTO service_ids (id, iam_id, account_id, name, description, namespace, "
                "locked, version, created_at, modified_at, created_by, unique_instance_crns) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        probe = store.create_service_id(
            account_id=account, name="scale-probe", description=None, created_by=owner
        )
        _, value = store.create_api_key(
            account_id=account, iam_id=probe.iam_id, name="k", description=None, created_by=owner
        )
        return Seeded(path, probe.id, probe.name, value)
    finally:
        store.close()


@dataclass(frozen=True)
class Row:
    name: str
    small_ms: float
    big_ms: float

    @property
    def ratio(self) -> float:
        return self.big_ms / self.small_ms


def run(big: int, requests: int) -> list[Row]:
    directory = Path(tempfile.mkdtemp(prefix="serve-scale-"))
    try:
        started = time.perf_counter()
        small_db = seed(str(directory / "small.db"), SMALL)
        big_db = seed(str(directory / "big.db"), big)
        print(f"seeded {SMALL:,} and {big:,} service IDs in {time.perf_counter() - started:.1f} s")
        with (
            server(1, db=small_db.path) as (small_url, _),
            server(1, db=big_db.path) as (big_url, _),
            httpx.Client(base_url=small_url, timeout=30) as small,
            httpx.Client(base_url=big_url, timeout=30) as large,
        ):
            pairs = [(small, small_db), (large, big_db)]
            auth = {id(c): _bearer(c) for c, _ in pairs}
            cases = {
                "get a service ID by ID": lambda c, s: c.get(
                    f"/v1/serviceids/{s.service_id}", headers=auth[id(c)]
                ),
                "list service IDs, name filter": lambda c, s: c.get(
                    "/v1/serviceids/",
                    params={"account_id": _account(c, auth[id(c)]), "name": s.name},
                    headers=auth[id(c)],
                ),
                "API-key token grant": lambda c, s: c.post(
                    "/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": s.api_key}
                ),
            }
            rows = []
            for name, call in cases.items():
                times: dict[int, list[float]] = {id(c): [] for c, _ in pairs}
                for _ in range(10):  # warm-up: the route's first use, caches
                    for c, s in pairs:
                        call(c, s).raise_for_status()
                for _ in range(requests):
                    for c, s in pairs:
                        t = time.perf_counter()
                        r = call(c, s)
                        times[id(c)].append((time.perf_counter() - t) * 1000)
                        r.raise_for_status()
                        if name.startswith("list") and len(r.json()["serviceids"]) != 1:
                            raise RuntimeError("the name filter did not find the one service ID")
                rows.append(
                    Row(
                        name,
                        statistics.median(times[id(small)]),
                        statistics.median(times[id(large)]),
                    )
                )
            return rows
    finally:
        shutil.rmtree(directory, ignore_errors=True)


_accounts: dict[str, str] = {}


def _bearer(c: httpx.Client) -> dict[str, str]:
    r = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": SEED})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _account(c: httpx.Client, headers: dict[str, str]) -> str:
    key = str(c.base_url)
    if key not in _accounts:
        r = c.get("/v1/apikeys", headers=headers)
        r.raise_for_status()
        _accounts[key] = r.json()["apikeys"][0]["account_id"]
    return _accounts[key]


def report(rows: list[Row], big: int, requests: int) -> bool:
    all_met = True
    print(f"{f'case (median of {requests} sequential)':<44} {SMALL:>7,} {big:>9,}  ratio  target")
    for row in rows:
        met = row.ratio <= TARGET
        all_met &= met
        print(
            f"{row.name:<44} {row.small_ms:>5.2f}ms {row.big_ms:>7.2f}ms {row.ratio:>5.2f}x  "
            f"<= {TARGET}x: {'met' if met else 'MISSED'}"
        )
    return all_met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    return 0 if report(run(args.big, args.requests), args.big, args.requests) else 1


if __name__ == "__main__":
    sys.exit(main())
