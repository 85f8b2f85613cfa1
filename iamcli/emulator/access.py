"""What the Identity API's routes of both families ask the decision engine, and about what.

A service ID is the resource `serviceName=iam-identity, resourceType=serviceid,
resource=ServiceId-…` (reference §3.1); an API key of a service ID is judged on its service ID,
and a user's API key by its owner (reference §4.2 rule 4, in authz/engine.py).
"""

from __future__ import annotations

from . import authz
from .store import ApiKey, Identity, ServiceId, Store
from .tokens import Caller

ADMINISTRATOR = "crn:v1:bluemix:public:iam::::role:Administrator"


def service_id_resource(s: ServiceId) -> authz.Resource:
    return authz.Resource(
        s.account_id,
        resource_type="serviceid",
        resource=s.id,
        created_by=s.created_by,
        attributes={"namespaceId": s.namespace},
    )


def identity_resource(owner: Identity) -> authz.Resource:
    """The resource an API key of OWNER is: its service ID, or the user."""
    if isinstance(owner, ServiceId):
        r = service_id_resource(owner)
        return authz.Resource(
            r.account_id,
            resource_type="serviceid",
            resource=r.resource,
            owner_iam_id=owner.iam_id,
            attributes=r.attributes,
        )
    return authz.Resource(owner.account_id, owner_iam_id=owner.iam_id)


def api_key_resource(key: ApiKey) -> authz.Resource:
    if key.owner_kind == "serviceid":
        return authz.Resource(
            key.account_id,
            resource_type="serviceid",
            resource=key.iam_id.removeprefix("iam-"),
            owner_iam_id=key.iam_id,
        )
    return authz.Resource(key.account_id, owner_iam_id=key.iam_id)


def resource_of(action: str, entity: ServiceId | ApiKey | Identity) -> authz.Resource:
    """What ACTION on ENTITY is judged on: a key by its owner; a service ID itself, except for
    `apikey.*` actions, which are about its keys."""
    if isinstance(entity, ApiKey):
        return api_key_resource(entity)
    if isinstance(entity, ServiceId) and not action.startswith("iam-identity.apikey."):
        return service_id_resource(entity)
    return identity_resource(entity)


def require(caller: Caller, action: str, entity: ServiceId | ApiKey | Identity) -> None:
    """The API's 403 unless CALLER may perform ACTION on ENTITY."""
    authz.require(authz.subject_of(caller), action, resource_of(action, entity))


def may(caller: Caller, action: str, entity: ServiceId | ApiKey | Identity) -> bool:
    return authz.decide(authz.subject_of(caller), action, resource_of(action, entity)).permitted


def _restriction(store: Store, account_id: str, setting: str) -> dict[str, str]:
    value = store.account_settings(account_id).values.get(setting)
    return {setting: value} if isinstance(value, str) else {}


def require_service_id_create(store: Store, caller: Caller) -> None:
    """Any member creates service IDs, unless the account restricts it (reference §4.2 rule 5)."""
    restriction = _restriction(store, caller.account_id, "restrict_create_service_id")
    resource = authz.Resource(caller.account_id, resource_type="serviceid", attributes=restriction)
    authz.require(authz.subject_of(caller), "iam-identity.serviceid.create", resource)


def require_key_create(store: Store, caller: Caller, owner: Identity) -> None:
    """Creating an API key for OWNER: its user alone (subject to the account's restriction on
    user API keys), or a role on its service ID."""
    resource = identity_resource(owner)
    if not isinstance(owner, ServiceId):
        restriction = _restriction(store, owner.account_id, "restrict_create_platform_apikey")
        resource = authz.Resource(
            resource.account_id, owner_iam_id=resource.owner_iam_id, attributes=restriction
        )
    authz.require(authz.subject_of(caller), "iam-identity.apikey.create", resource)


def all_service_ids(caller: Caller, action: str = "iam-identity.serviceid.get") -> bool:
    """Whether CALLER holds ACTION on every service ID of its account (a policy with no
    `resource`), so that a list needs no filter."""
    type_level = authz.Resource(caller.account_id, resource_type="serviceid")
    return authz.decide(authz.subject_of(caller), action, type_level).permitted


def visible_service_ids(store: Store, caller: Caller) -> list[str] | None:
    """The IDs of the service IDs CALLER may read, or None for all of them."""
    if all_service_ids(caller):
        return None
    return [
        s.id
        for s in store.service_ids_of(caller.account_id)
        if may(caller, "iam-identity.serviceid.get", s)
    ]


def visible_key_owners(store: Store, caller: Caller) -> list[str] | None:
    """The IAM IDs whose API keys CALLER may list, or None for every identity's."""
    subject = authz.subject_of(caller)
    users = authz.decide(
        subject, "iam-identity.apikey.list", authz.Resource(caller.account_id, owner_iam_id="")
    ).permitted
    if users and all_service_ids(caller, "iam-identity.apikey.list"):
        return None
    owners = [caller.iam_id]
    owners += [
        s.iam_id
        for s in store.service_ids_of(caller.account_id)
        if may(caller, "iam-identity.apikey.list", s)
    ]
    if users:
        owners += store.user_ids_of(caller.account_id)
    return owners


def grant_creator(store: Store, caller: Caller, created: ServiceId) -> None:
    """IBM's automatic policy (reference §4.2 rule 1): a member who creates a service ID
    without already managing it gets Administrator on that one ID."""
    if may(caller, "iam-identity.serviceid.delete", created):
        return
    store.create_policy(
        account_id=created.account_id,
        api="v1",
        body={
            "type": "access",
            "subjects": [{"attributes": [{"name": "iam_id", "value": caller.iam_id}]}],
            "roles": [{"role_id": ADMINISTRATOR}],
            "resources": [
                {
                    "attributes": [
                        {"name": "accountId", "value": created.account_id},
                        {"name": "serviceName", "value": "iam-identity"},
                        {"name": "resourceType", "value": "serviceid"},
                        {"name": "resource", "value": created.id},
                    ]
                }
            ],
            "description": f"Created by IAM for the creator of {created.id}",
        },
        created_by=caller.iam_id,
    )
