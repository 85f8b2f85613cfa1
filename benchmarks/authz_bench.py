"""Cost of one access decision in `iamcli serve`, in process (no HTTP): the engine against a
real SQLite store with N policies in the account.

    .venv/bin/python benchmarks/authz_bench.py [--policies N] [--decisions M]

Prints microseconds per decision for the paths a bearer request takes: the owner, an identity's
own key, a subject holding a policy (permit) and one without (deny). The per-request cost of
HTTP on this server is about 250 µs per core, so a decision of tens of µs keeps a bearer GET
within its throughput target.
"""

from __future__ import annotations

import argparse
import time

from iamcli.emulator.authz import Engine, Resource, Subject, decide
from iamcli.emulator.store import Store


def viewer_policy(store: Store, account: str, by: str, iam_id: str) -> None:
    store.create_policy(
        account_id=account,
        api="v1",
        body={
            "type": "access",
            "subjects": [{"attributes": [{"name": "iam_id", "value": iam_id}]}],
            "roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:Viewer"}],
            "resources": [
                {
                    "attributes": [
                        {"name": "accountId", "value": account},
                        {"name": "serviceName", "value": "iam-identity"},
                    ]
                }
            ],
        },
        created_by=by,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policies", type=int, default=200)
    parser.add_argument("--decisions", type=int, default=20000)
    args = parser.parse_args()
    store = Store(":memory:")
    boot = store.bootstrap(seed_apikey="authz-bench-admin-key-" + "k" * 24)
    account = boot.account_id
    owner = store.account_owner(account)
    assert owner is not None
    engine = Engine(store)
    reader = store.create_service_id(
        account_id=account, name="r", description=None, created_by=owner
    )
    other = store.create_service_id(
        account_id=account, name="o", description=None, created_by=owner
    )
    target = store.create_service_id(
        account_id=account, name="t", description=None, created_by=owner
    )
    for i in range(args.policies):
        viewer_policy(store, account, owner, f"IBMid-{i}")
    viewer_policy(store, account, owner, reader.iam_id)
    sid = Resource(account, resource_type="serviceid", resource=target.id)
    cases = {
        "owner": (Subject(owner, account, "user", {}, engine), "iam-identity.serviceid.get", sid),
        "own key": (
            Subject(reader.iam_id, account, "serviceid", {}, engine),
            "iam-identity.apikey.get",
            Resource(account, owner_iam_id=reader.iam_id),
        ),
        "policy permits": (
            Subject(reader.iam_id, account, "serviceid", {}, engine),
            "iam-identity.serviceid.get",
            sid,
        ),
        "no policy, deny": (
            Subject(other.iam_id, account, "serviceid", {}, engine),
            "iam-identity.serviceid.get",
            sid,
        ),
    }
    for name, (subject, action, resource) in cases.items():
        decide(subject, action, resource)  # warm the index
        started = time.perf_counter()
        for _ in range(args.decisions):
            decide(subject, action, resource)
        per = (time.perf_counter() - started) / args.decisions * 1e6
        print(f"{name:18} {per:7.1f} µs per decision ({args.policies + 1} policies in the account)")


if __name__ == "__main__":
    main()
