"""IBM's built-in roles and the actions each holds (reference §3.3, §4.1).

Platform ("system") roles and the generic service roles are the same CRNs for every service; what
they allow depends on the service. For `iam-identity` the actions are IBM's documented lists. For
any other service IBM publishes actions per service, which an offline server cannot know, so a
role holds the actions whose last segment is one of its verbs (our convention, documented in the
README): `Reader`/`Viewer` read (`books.read`, `dashboard.view`, ...), `Writer`/`Editor` also write,
`Operator` reads and operates, `Manager`/`Administrator` hold every action of the service.

Two actions are our own: `iam-identity.serviceid.lock` and `iam-identity.apikey.lock`. IBM says
locking needs Editor or Administrator (ACCT iam-serviceid) while its action lists give Operator
the same `update` as Editor; a separate action is the only way to say both.
"""

from __future__ import annotations

from dataclasses import dataclass

PLATFORM = "crn:v1:bluemix:public:iam::::role:"
SERVICE = "crn:v1:bluemix:public:iam::::serviceRole:"
IDENTITY = "iam-identity"


@dataclass(frozen=True)
class Role:
    crn: str
    display_name: str
    description: str
    # Exact action names, or `<service>.*.<verb>` / `<service>.*` patterns for services whose
    # actions are not known here.
    actions: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "display_name": self.display_name,
            "description": self.description,
            "actions": list(self.actions),
            "crn": self.crn,
        }


SYSTEM_ROLE_NAMES = ("Viewer", "Operator", "Editor", "Administrator")
SERVICE_ROLE_NAMES = ("Reader", "Writer", "Manager")

_DESCRIPTIONS = {
    "Viewer": "As a viewer, you can view service instances, but you can't modify them.",
    "Operator": "As an operator, you can perform platform actions required to configure and "
    "operate service instances, such as viewing a service's dashboard.",
    "Editor": "As an editor, you can perform all platform actions except for managing the "
    "account and assigning access policies.",
    "Administrator": "As an administrator, you can perform all platform actions based on the "
    "resource this role is being assigned, including assigning access policies to other users.",
    "Reader": "As a reader, you can perform read-only actions within a service such as viewing "
    "service-specific resources.",
    "Writer": "As a writer, you have permissions beyond the reader role, including creating and "
    "editing service-specific resources.",
    "Manager": "As a manager, you have permissions beyond the writer role to complete privileged "
    "actions as defined by the service. In addition, you can create and edit service-specific "
    "resources.",
}

READ_VERBS = ("read", "get", "list", "view", "retrieve", "search")
WRITE_VERBS = ("write", "create", "update", "delete", "patch", "add", "remove", "set", "manage")
OPERATE_VERBS = ("update", "operate", "start", "stop", "restart")

# What Administrator on a resource adds everywhere: managing access to that resource.
POLICY_ACTIONS = (
    "iam.policy.create",
    "iam.policy.update",
    "iam.policy.delete",
    "iam.policy.read",
    "iam.role.assign",
)


def _ids(*names: str) -> tuple[str, ...]:
    return tuple(f"{IDENTITY}.{n}" for n in names)


# ACCT iam-service-roles, IAM Identity section (reference §4.1), plus the two lock actions.
_IDENTITY_ACTIONS: dict[str, tuple[str, ...]] = {
    "Viewer": _ids(
        "serviceid.get",
        "profile.get",
        "serviceid-group.get",
        "serviceid-group.list",
        "account.get",
        "activity.get",
    ),
    "Editor": _ids(
        "serviceid.get",
        "serviceid.update",
        "serviceid.lock",
        "apikey.get",
        "apikey.list",
        "apikey.update",
        "apikey.lock",
        "apikey.review",
        "profile.get",
        "profile.update",
        "profile.linkToResource",
        "idp.get",
        "idp.list",
        "idp.test",
        "idp.update",
        "account.get",
        "account.update",
    ),
    "Operator": _ids(
        "serviceid.get",
        "serviceid.update",
        "serviceid.delete",
        "apikey.create",
        "apikey.get",
        "apikey.list",
        "apikey.update",
        "apikey.delete",
        "apikey.review",
        "profile.get",
        "profile.update",
        "profile.delete",
        "profile.linkToResource",
        "profile.get_session",
        "profile.revoke_session",
        "idp.create",
        "idp.delete",
        "idp.get",
        "idp.list",
        "idp.update",
        "account.create",
        "account.delete",
    ),
    "Administrator": (
        *_ids(
            "serviceid.get",
            "serviceid.update",
            "serviceid.delete",
            "serviceid.lock",
            "apikey.create",
            "apikey.get",
            "apikey.list",
            "apikey.update",
            "apikey.delete",
            "apikey.lock",
            "apikey.manage",
            "apikey.review",
            "profile.create",
            "profile.get",
            "profile.update",
            "profile.delete",
            "profile.linkToResource",
            "profile.get_session",
            "profile.revoke_session",
            "idp.create",
            "idp.delete",
            "idp.get",
            "idp.list",
            "idp.update",
            "serviceid-group.get",
            "serviceid-group.list",
            "serviceid-group.create",
            "serviceid-group.update",
            "serviceid-group.delete",
            "account.get",
            "account.update",
            "session.manage",
            "mfa-status.get",
            "report.get",
        ),
        *POLICY_ACTIONS,
    ),
}

IDENTITY_SERVICE_ROLES = (
    Role(
        f"crn:v1:bluemix:public:{IDENTITY}::::serviceRole:ServiceIdCreator",
        "Service ID creator",
        "Can create service IDs when the account setting to restrict service ID creation is "
        "enabled.",
        _ids("serviceid.create"),
    ),
    Role(
        f"crn:v1:bluemix:public:{IDENTITY}::::serviceRole:UserApiKeyCreator",
        "User API key creator",
        "Can create API keys when the account setting to restrict API key creation is enabled.",
        _ids("user-apikey.create"),
    ),
    # IBM documents the role; its CRN name is our choice (reference §3.3: UNCONFIRMED).
    Role(
        f"crn:v1:bluemix:public:{IDENTITY}::::serviceRole:ApiKeyReviewer",
        "API key reviewer",
        "Can review API keys of identities in the account, without seeing their values.",
        _ids("apikey.review"),
    ),
)

_GENERIC_VERBS: dict[str, tuple[str, ...] | None] = {
    # None: every action of the service.
    "Viewer": READ_VERBS,
    "Reader": READ_VERBS,
    "Operator": READ_VERBS + OPERATE_VERBS,
    "Editor": READ_VERBS + WRITE_VERBS,
    "Writer": READ_VERBS + WRITE_VERBS,
    "Administrator": None,
    "Manager": None,
}


def _generic_actions(name: str, service: str) -> tuple[str, ...]:
    verbs = _GENERIC_VERBS[name]
    if verbs is None:
        actions: tuple[str, ...] = (f"{service}.*",)
    else:
        actions = tuple(f"{service}.*.{v}" for v in verbs)
    return actions + POLICY_ACTIONS if name == "Administrator" else actions


def system_roles(service: str | None) -> list[Role]:
    return [
        Role(PLATFORM + n, n, _DESCRIPTIONS[n], _role_actions(n, service))
        for n in SYSTEM_ROLE_NAMES
    ]


def service_roles(service: str | None) -> list[Role]:
    roles = [
        Role(SERVICE + n, n, _DESCRIPTIONS[n], _role_actions(n, service))
        for n in SERVICE_ROLE_NAMES
    ]
    if service in (None, IDENTITY):
        roles.extend(IDENTITY_SERVICE_ROLES)
    return roles


def _role_actions(name: str, service: str | None) -> tuple[str, ...]:
    if service == IDENTITY and name in _IDENTITY_ACTIONS:
        return _IDENTITY_ACTIONS[name]
    if service == IDENTITY:
        return ()  # the generic service roles hold nothing on IAM Identity
    return _generic_actions(name, service or "*")


# The private family's roles (reference/icp-iam.md §1, §7.4): the cluster administrator holds
# what Administrator does, the auditor what Viewer does (our mapping; ICP's is unconfirmed).
ICP = "crn:v1:icp:private:iam::::role:"
ICP_ROLES = {
    "ClusterAdministrator": "Administrator",
    "Administrator": "Administrator",
    "Operator": "Operator",
    "Editor": "Editor",
    "Viewer": "Viewer",
    "Auditor": "Viewer",
}

_BY_CRN: dict[str, str] = {
    **{PLATFORM + n: n for n in SYSTEM_ROLE_NAMES},
    **{SERVICE + n: n for n in SERVICE_ROLE_NAMES},
    **{ICP + n: platform for n, platform in ICP_ROLES.items()},
}
_IDENTITY_BY_CRN = {r.crn: r for r in IDENTITY_SERVICE_ROLES}


def is_builtin(crn: str) -> bool:
    return crn in _BY_CRN or crn in _IDENTITY_BY_CRN


def builtin_display_name(crn: str) -> str | None:
    if crn.startswith(ICP) and crn in _BY_CRN:
        return crn.removeprefix(ICP)
    if crn in _BY_CRN:
        return _BY_CRN[crn]
    role = _IDENTITY_BY_CRN.get(crn)
    return None if role is None else role.display_name


def builtin_description(crn: str) -> str | None:
    if crn in _BY_CRN:
        return _DESCRIPTIONS[_BY_CRN[crn]]
    role = _IDENTITY_BY_CRN.get(crn)
    return None if role is None else role.description


def builtin_allows(crn: str, action: str) -> bool:
    """Whether built-in role CRN holds ACTION (whose first segment names its service)."""
    name = _BY_CRN.get(crn)
    if name is None:
        role = _IDENTITY_BY_CRN.get(crn)
        return role is not None and action in role.actions
    if action in POLICY_ACTIONS:
        return name == "Administrator"
    service = action.split(".", 1)[0]
    if service == IDENTITY:
        return action in _IDENTITY_ACTIONS.get(name, ())
    verbs = _GENERIC_VERBS[name]
    return verbs is None or action.rsplit(".", 1)[-1] in verbs
