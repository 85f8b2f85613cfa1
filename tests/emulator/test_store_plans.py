"""Every statement the server runs after bootstrap finds its rows through an index.

The statements are captured from the store's own connection while it does what the routes
do, then each is put through EXPLAIN QUERY PLAN: a full-table SCAN would make a request's cost
grow with the database (a sweep of expired grants on every login, for one).
"""

from __future__ import annotations

import time
from pathlib import Path

from iamcli.emulator.store import DEFAULT_GROUP, DEFAULT_LIMITS, RefreshGrant, Store

KEY = "plans-admin-key-" + "p" * 30


def test_no_statement_scans_a_table(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "plans.db"))
    boot = store.bootstrap(seed_apikey=KEY, username="admin", password="pw-plans")
    user = store.user_by_name("admin")
    assert user is not None
    statements: list[str] = []
    # The store's connection is private; tracing it is the only way to see its statements.
    store._db.set_trace_callback(statements.append)

    key = store.api_key_by_value(KEY)
    assert key is not None
    store.identity(user.iam_id)
    store.api_key(key.id)
    sid = store.create_service_id(
        account_id=boot.account_id, name="plans", description=None, created_by=user.iam_id
    )
    store.identity(sid.iam_id)
    store.service_id(sid.id)
    sid_key, value = store.create_api_key(
        account_id=boot.account_id,
        iam_id=sid.iam_id,
        name="k",
        description=None,
        created_by=user.iam_id,
        store_value=True,
    )
    store.stored_value(sid_key)
    refresh = store.add_refresh_token(
        RefreshGrant(sid.iam_id, boot.account_id, sid_key.id, "bx", "apikey", int(time.time()) + 60)
    )
    store.refresh_grant(refresh)
    opaque, _ = store.add_opaque_access_token(user.iam_id, boot.account_id, 60)
    store.opaque_access_token(opaque)
    store.check_password("admin", "pw-plans")
    store.list_service_ids(boot.account_id, filter_expr='name sw "pl"', sort="name")
    store.list_api_keys(boot.account_id, iam_id=sid.iam_id, owner_kind="serviceid")
    store.update_service_id(sid.id, if_match="*", name="plans-2")
    store.update_api_key(sid_key.id, if_match="*", description="d")
    store.set_api_key_flag(sid_key.id, "disabled", True)
    store.set_service_id_locked(sid.id, True)
    store.set_service_id_locked(sid.id, False)
    group = store.create_serviceid_group(
        account_id=boot.account_id, name="g", description=None, created_by=user.iam_id
    )
    member = store.create_service_id(
        account_id=boot.account_id,
        name="member",
        description=None,
        created_by=user.iam_id,
        group_id=group.id,
    )
    store.list_service_ids(boot.account_id, group_id=DEFAULT_GROUP)
    store.list_service_ids(boot.account_id, group_id=group.id)
    store.serviceid_group_ids([member.id, sid.id])
    store.list_api_keys(boot.account_id, owners=[member.iam_id], group_id=DEFAULT_GROUP)
    store.list_api_keys(boot.account_id, owners=[member.iam_id], group_id=group.id)
    store.identity_limits(boot.account_id)
    for name in DEFAULT_LIMITS:
        store.account_usage(boot.account_id, name)
        store.entity_usage(boot.account_id, name, group.id)
    store.delete_service_id(member.id)
    store.delete_serviceid_group(group.id)
    store.delete_api_key(sid_key.id)
    store.delete_service_id(sid.id)
    assert store.api_key_by_value(value) is None

    store._db.set_trace_callback(None)
    queries = {s for s in statements if s.split()[0] in ("SELECT", "UPDATE", "DELETE", "INSERT")}
    assert len(queries) > 20
    scans = {}
    for sql in queries:
        plan = [row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        if any(step.startswith("SCAN") for step in plan) and not _bounded_walk(sql, plan):
            scans[sql] = plan
    assert scans == {}, "\n".join(scans)


def _bounded_walk(sql: str, plan: list[str]) -> bool:
    # The password-lockout table keeps its newest MAX_TRACKED names: trimming walks that many
    # entries of its last_at index and never more, since the table never holds more than one
    # name over the limit (store/passwords.py).
    return "FROM login_failures ORDER BY last_at DESC" in sql and all(
        "USING INDEX login_failures_last" in step for step in plan if step.startswith("SCAN")
    )
