"""The decision engine on its own: rules, roles, conditions and the policy index, no server."""

from __future__ import annotations

from datetime import UTC, datetime

from iamcli.emulator.authz import (
    AccountFacts,
    Engine,
    Grant,
    Resource,
    Subject,
    decide,
)
from iamcli.emulator.authz.conditions import rule_holds, string_matches

ACCOUNT = "acct1"
OWNER = "IBMid-OWNER"
ALICE = "IBMid-ALICE"
SID = "ServiceId-11111111-1111-1111-1111-111111111111"
OTHER_SID = "ServiceId-22222222-2222-2222-2222-222222222222"
ROLE = "crn:v1:bluemix:public:iam::::role:"
CUSTOM = "crn:v1:bluemix:public:iam-access-management::a/acct1::customRole:BookReader"


class Source:
    def __init__(self) -> None:
        self.generation = 1
        self.grants: list[Grant] = []
        self.custom: dict[str, frozenset[str]] = {}
        self.reads = 0

    def authz_generation(self, account_id: str) -> int:
        return self.generation

    def authz_facts(self, account_id: str) -> AccountFacts:
        self.reads += 1
        return AccountFacts(OWNER, tuple(self.grants), dict(self.custom))

    def grant(self, iam_id: str, role: str, *attrs: tuple[str, str], rule: object = None) -> None:
        pairs = [("accountId", ACCOUNT), *attrs]
        resource = tuple((k, "stringEquals", v) for k, v in pairs)
        self.grants.append(
            Grant(f"p{len(self.grants)}", iam_id, resource, (role,), rule)  # type: ignore[arg-type]
        )
        self.generation += 1


def subject(source: Source, iam_id: str, kind: str = "user", clock: float | None = None) -> Subject:
    engine = Engine(source, clock=(lambda: clock) if clock is not None else __import__("time").time)
    return Subject(iam_id, ACCOUNT, kind, {}, engine)


def service_id(sid: str = OTHER_SID) -> Resource:
    return Resource(ACCOUNT, resource_type="serviceid", resource=sid)


def key_of(owner: str, sid: str | None = None) -> Resource:
    return Resource(
        ACCOUNT, resource_type="serviceid" if sid else None, resource=sid, owner_iam_id=owner
    )


def test_a_service_id_without_a_policy_touches_no_other_identity() -> None:
    me = subject(Source(), "iam-" + SID, "serviceid")
    for action in ("get", "update", "delete", "lock"):
        assert not decide(me, f"iam-identity.serviceid.{action}", service_id()).permitted
    assert not decide(
        me, "iam-identity.apikey.create", key_of("iam-" + OTHER_SID, OTHER_SID)
    ).permitted
    assert not decide(me, "iam-identity.apikey.create", key_of(OWNER)).permitted
    # What any identity may do: read itself, manage its own keys, create service IDs.
    assert decide(me, "iam-identity.serviceid.get", service_id(SID)).permitted
    assert decide(me, "iam-identity.apikey.delete", key_of("iam-" + SID, SID)).permitted
    assert decide(me, "iam-identity.serviceid.create", Resource(ACCOUNT)).permitted


def test_operator_on_iam_identity_manages_other_service_ids_and_their_keys() -> None:
    source = Source()
    me = subject(source, "iam-" + SID, "serviceid")
    source.grant("iam-" + SID, ROLE + "Operator", ("serviceName", "iam-identity"))
    assert decide(me, "iam-identity.serviceid.delete", service_id()).permitted
    assert decide(me, "iam-identity.apikey.create", key_of("iam-" + OTHER_SID, OTHER_SID)).permitted
    # Locking needs Editor or Administrator; users' keys need Administrator; policies too.
    assert not decide(me, "iam-identity.serviceid.lock", service_id()).permitted
    assert not decide(me, "iam-identity.apikey.get", key_of(ALICE)).permitted
    assert not decide(me, "iam.policy.create", service_id()).permitted


def test_viewer_reads_but_does_not_change() -> None:
    source = Source()
    source.grant(ALICE, ROLE + "Viewer", ("serviceName", "iam-identity"))
    alice = subject(source, ALICE)
    assert decide(alice, "iam-identity.serviceid.get", service_id()).permitted
    assert not decide(alice, "iam-identity.serviceid.update", service_id()).permitted
    assert not decide(alice, "iam-identity.serviceid.delete", service_id()).permitted


def test_a_policy_on_one_service_id_covers_only_that_one() -> None:
    source = Source()
    source.grant(
        ALICE,
        ROLE + "Administrator",
        ("serviceName", "iam-identity"),
        ("resourceType", "serviceid"),
        ("resource", OTHER_SID),
    )
    alice = subject(source, ALICE)
    assert decide(alice, "iam-identity.serviceid.delete", service_id(OTHER_SID)).permitted
    assert not decide(alice, "iam-identity.serviceid.delete", service_id(SID)).permitted


def test_no_one_but_the_user_creates_a_users_api_key() -> None:
    source = Source()
    source.grant("iam-" + SID, ROLE + "Administrator", ("serviceName", "iam-identity"))
    admin_sid = subject(source, "iam-" + SID, "serviceid")
    owner = subject(source, OWNER)
    alice = subject(source, ALICE)
    for who in (admin_sid, owner):
        assert not decide(who, "iam-identity.apikey.create", key_of(ALICE)).permitted
        # ... but the owner and an Administrator view and delete them.
        assert decide(who, "iam-identity.apikey.delete", key_of(ALICE)).permitted
    assert decide(alice, "iam-identity.apikey.create", key_of(ALICE)).permitted


def test_all_iam_enabled_services_do_not_cover_account_management() -> None:
    source = Source()
    source.grant(ALICE, ROLE + "Administrator", ("serviceType", "service"))
    alice = subject(source, ALICE)
    assert not decide(alice, "iam-identity.serviceid.delete", service_id()).permitted
    books = Resource(ACCOUNT, service_name="library")
    assert decide(alice, "library.books.delete", books).permitted


def test_the_owner_may_do_everything_else_and_other_accounts_nothing() -> None:
    source = Source()
    owner = subject(source, OWNER)
    assert decide(owner, "iam-identity.serviceid.delete", service_id()).permitted
    assert decide(owner, "iam.policy.create", Resource(ACCOUNT)).permitted
    assert not decide(owner, "iam-identity.serviceid.get", Resource("other")).permitted


def test_custom_role_actions_count() -> None:
    source = Source()
    source.custom[CUSTOM] = frozenset({"library.books.read"})
    source.grant(ALICE, CUSTOM, ("serviceName", "library"))
    alice = subject(source, ALICE)
    books = Resource(ACCOUNT, service_name="library")
    assert decide(alice, "library.books.read", books).permitted
    assert not decide(alice, "library.books.write", books).permitted


def test_time_based_policy_permits_only_inside_its_window() -> None:
    source = Source()
    window = {
        "operator": "and",
        "conditions": [
            {
                "key": "{{environment.attributes.current_date_time}}",
                "operator": "dateTimeGreaterThanOrEquals",
                "value": "2030-01-01T09:00:00+00:00",
            },
            {
                "key": "{{environment.attributes.current_date_time}}",
                "operator": "dateTimeLessThanOrEquals",
                "value": "2030-01-06T17:59:59+00:00",
            },
        ],
    }
    source.grant(ALICE, ROLE + "Viewer", ("serviceName", "iam-identity"), rule=window)
    inside = datetime(2030, 1, 3, 12, tzinfo=UTC).timestamp()
    before = datetime(2029, 12, 31, 12, tzinfo=UTC).timestamp()
    after = datetime(2030, 1, 6, 18, tzinfo=UTC).timestamp()
    action = "iam-identity.serviceid.get"
    assert decide(subject(source, ALICE, clock=inside), action, service_id()).permitted
    assert not decide(subject(source, ALICE, clock=before), action, service_id()).permitted
    assert not decide(subject(source, ALICE, clock=after), action, service_id()).permitted


def test_weekly_custom_hours() -> None:
    rule = {
        "operator": "and",
        "conditions": [
            {
                "key": "{{environment.attributes.day_of_week}}",
                "operator": "dayOfWeekAnyOf",
                "value": ["1+00:00", "2+00:00", "3+00:00", "4+00:00", "5+00:00"],
            },
            {
                "key": "{{environment.attributes.current_time}}",
                "operator": "timeGreaterThanOrEquals",
                "value": "09:00:00+00:00",
            },
            {
                "key": "{{environment.attributes.current_time}}",
                "operator": "timeLessThanOrEquals",
                "value": "17:00:00+00:00",
            },
        ],
    }
    wednesday_noon = datetime(2030, 1, 2, 12, tzinfo=UTC).timestamp()
    wednesday_night = datetime(2030, 1, 2, 22, tzinfo=UTC).timestamp()
    saturday_noon = datetime(2030, 1, 5, 12, tzinfo=UTC).timestamp()

    def hold(t: float) -> bool:
        return rule_holds(rule, now=t, resource={}, subject={})

    assert hold(wednesday_noon)
    assert not hold(wednesday_night)
    assert not hold(saturday_noon)
    # 22:00 UTC is 09:00 the next day at +11:00 (a Thursday).
    east = {
        "key": "{{environment.attributes.current_time}}",
        "operator": "timeGreaterThanOrEquals",
        "value": "09:00:00+11:00",
    }
    assert rule_holds(east, now=wednesday_night, resource={}, subject={})


def test_string_match_wildcards_and_literals() -> None:
    assert string_matches("stringMatch", "ServiceId-*", "ServiceId-abc")
    assert string_matches("stringMatch", "a?c", "abc")
    assert not string_matches("stringMatch", "a?c", "abbc")
    assert string_matches("stringMatch", "a{{*}}", "a*")
    assert not string_matches("stringMatch", "a{{*}}", "ab")
    assert string_matches("stringExists", True, "x")
    assert not string_matches("stringExists", True, None)
    assert string_matches("stringEqualsAnyOf", ["a", "b"], "b")
    assert not string_matches("unknownOperator", "a", "a")


def test_a_rule_on_a_resource_attribute() -> None:
    source = Source()
    rule = {
        "key": "{{resource.attributes.resource}}",
        "operator": "stringMatch",
        "value": "ServiceId-2*",
    }
    source.grant(ALICE, ROLE + "Editor", ("serviceName", "iam-identity"), rule=rule)
    alice = subject(source, ALICE)
    assert decide(alice, "iam-identity.serviceid.update", service_id(OTHER_SID)).permitted
    assert not decide(alice, "iam-identity.serviceid.update", service_id(SID)).permitted


def test_the_index_is_reread_only_when_the_generation_changes() -> None:
    source = Source()
    alice = subject(source, ALICE)
    for _ in range(5):
        assert not decide(alice, "iam-identity.serviceid.get", service_id()).permitted
    assert source.reads == 1
    source.grant(ALICE, ROLE + "Viewer", ("serviceName", "iam-identity"))
    assert decide(alice, "iam-identity.serviceid.get", service_id()).permitted
    assert source.reads == 2


def test_a_subject_without_an_engine_gets_only_the_built_in_rules() -> None:
    bare = Subject(OWNER, ACCOUNT, "user")
    assert not decide(bare, "iam-identity.serviceid.delete", service_id()).permitted
    assert decide(bare, "iam-identity.serviceid.create", Resource(ACCOUNT)).permitted


def test_restricted_creation_binds_even_the_owner() -> None:
    source = Source()
    owner = subject(source, OWNER)
    restricted = {"restrict_create_service_id": "RESTRICTED"}
    create = Resource(ACCOUNT, resource_type="serviceid", attributes=restricted)
    assert not decide(owner, "iam-identity.serviceid.create", create).permitted
    source.grant(
        OWNER,
        "crn:v1:bluemix:public:iam-identity::::serviceRole:ServiceIdCreator",
        ("serviceName", "iam-identity"),
    )
    assert decide(owner, "iam-identity.serviceid.create", create).permitted
    keys = {"restrict_create_platform_apikey": "RESTRICTED"}
    own_key = Resource(ACCOUNT, owner_iam_id=ALICE, attributes=keys)
    alice = subject(source, ALICE)
    assert not decide(alice, "iam-identity.apikey.create", own_key).permitted
    source.grant(
        ALICE,
        "crn:v1:bluemix:public:iam-identity::::serviceRole:UserApiKeyCreator",
        ("serviceName", "iam-identity"),
    )
    assert decide(alice, "iam-identity.apikey.create", own_key).permitted
    # The restriction is about users' keys; a service ID's keys are not affected.
    sid_key = Resource(ACCOUNT, resource_type="serviceid", resource=SID, owner_iam_id="iam-" + SID)
    assert decide(
        subject(source, "iam-" + SID, "serviceid"), "iam-identity.apikey.create", sid_key
    ).permitted
