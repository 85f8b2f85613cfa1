"""How account settings, templates and assignments look in the human layout.

ibmcloud documents only `--output JSON` for these: one entity is a key/value block and a list
is a table, as for service IDs. Settings are shown with the API's own values (`NOT_SET` where
the service default applies), so that what is shown is what `account-settings-update` takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..account_models import AccountSettings, Assignment, LimitUsage, Template

# (label, API name), in the order ibmcloud's flags list them.
SETTING_LABELS = (
    ("Restrict Create Service ID", "restrict_create_service_id"),
    ("Restrict Create Platform API Key", "restrict_create_platform_apikey"),
    ("Allowed IP Addresses", "allowed_ip_addresses"),
    ("MFA", "mfa"),
    ("Session Expiration In Seconds", "session_expiration_in_seconds"),
    ("Session Invalidation In Seconds", "session_invalidation_in_seconds"),
    ("Max Sessions Per Identity", "max_sessions_per_identity"),
    ("Access Token Expiration In Seconds", "system_access_token_expiration_in_seconds"),
    ("Refresh Token Expiration In Seconds", "system_refresh_token_expiration_in_seconds"),
    ("Restrict User List Visibility", "restrict_user_list_visibility"),
)
TEMPLATE_COLUMNS = ["ID", "Name", "Version", "Committed", "Last Modified", "Description"]
ASSIGNMENT_COLUMNS = ["ID", "Template ID", "Version", "Target Type", "Target", "Status"]


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return str(value)


def _user_mfa(entries: Any) -> str:
    if not isinstance(entries, list) or not entries:
        return "-"
    return ", ".join(
        f"{e.get('iam_id', '?')}={e.get('mfa', '?')}" for e in entries if isinstance(e, dict)
    )


def settings_pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = [(label, _text(values.get(key))) for label, key in SETTING_LABELS if key in values]
    if "user_mfa" in values:
        pairs.append(("MFA Exemptions", _user_mfa(values["user_mfa"])))
    return pairs


def settings_record(s: AccountSettings) -> list[tuple[str, str]]:
    return [
        ("Account ID", s.account_id),
        *settings_pairs(s.values),
        ("Version", _text(s.entity_tag)),
    ]


def template_record(t: Template, component: str) -> list[tuple[str, str]]:
    pairs = [
        ("ID", t.id),
        ("Name", t.name),
        ("Version", str(t.version)),
        ("Description", t.description or ""),
        ("Committed", str(t.committed).lower()),
        ("Account ID", _text(t.account_id)),
        ("Last Modified", _text(t.modified_at)),
    ]
    body = t.raw.get(component)
    if component == "account_settings" and isinstance(body, dict):
        pairs += settings_pairs(body)
    elif component == "profile" and isinstance(body, dict):
        pairs += profile_component_pairs(body)
    refs = t.raw.get("policy_template_references")
    if isinstance(refs, list) and refs:
        pairs.append(
            (
                "Policy Templates",
                ", ".join(
                    f"{r.get('id', '?')}/{r.get('version', '?')}"
                    for r in refs
                    if isinstance(r, dict)
                ),
            )
        )
    pairs.append(("Entity Tag", _text(t.entity_tag)))
    return pairs


def profile_component_pairs(body: dict[str, Any]) -> list[tuple[str, str]]:
    rules = body.get("rules")
    identities = body.get("identities")
    return [
        ("Profile Name", _text(body.get("name"))),
        ("Profile Description", _text(body.get("description"))),
        ("Rules", str(len(rules)) if isinstance(rules, list) else "0"),
        (
            "Identities",
            ", ".join(
                f"{i.get('type', '?')}:{i.get('identifier', '?')}"
                for i in identities
                if isinstance(i, dict)
            )
            if isinstance(identities, list) and identities
            else "-",
        ),
    ]


def template_row(t: Template) -> list[str]:
    return [
        t.id,
        t.name,
        str(t.version),
        str(t.committed).lower(),
        _text(t.modified_at),
        t.description or "",
    ]


def assignment_record(a: Assignment) -> list[tuple[str, str]]:
    pairs = [
        ("ID", a.id),
        ("Template ID", a.template_id),
        ("Template Version", str(a.template_version)),
        ("Target Type", a.target_type),
        ("Target", a.target),
        ("Status", _text(a.status)),
    ]
    resources = a.raw.get("resources")
    if isinstance(resources, list):
        for r in resources:
            if isinstance(r, dict):
                pairs.append(("Resource", _resource_text(r)))
    pairs.append(("Entity Tag", _text(a.entity_tag)))
    return pairs


def _resource_text(r: dict[str, Any]) -> str:
    """One resource an assignment made: `TARGET: profile Profile-... succeeded` (IBM's
    TemplateAssignmentResponseResource: per part, its `id` or `resource_created.id`, its status
    and any error message)."""
    parts = []
    for key, value in r.items():
        if not isinstance(value, dict):
            continue
        created = value.get("resource_created")
        ident = value.get("id") or (created.get("id") if isinstance(created, dict) else None)
        text = f"{key} {_text(ident)} {_text(value.get('status'))}"
        if value.get("error_message"):
            text += f" ({value['error_message']})"
        parts.append(text)
    return f"{_text(r.get('target'))}: {'; '.join(parts) or '-'}"


def assignment_row(a: Assignment) -> list[str]:
    return [a.id, a.template_id, str(a.template_version), a.target_type, a.target, _text(a.status)]


LIMIT_COLUMNS = ["Entity", "Limit"]
USAGE_COLUMNS = ["Entity", "ID", "Used", "Limit"]
# The answer's entries, as a person reads them.
LIMIT_LABELS = {
    "serviceid_groups": "Service ID groups",
    "serviceids_per_group": "Service IDs per group",
    "profiles": "Trusted profiles",
    "apikeys_per_identity": "API keys per identity",
    "profile_templates": "Trusted profile templates",
    "account_settings_templates": "Account settings templates",
    "template_versions_per_template": "Versions per template",
    "idps": "Identity providers",
    "claim_rules_per_group": "Claim rules per access group",
    "claim_rules_per_profile": "Claim rules per trusted profile",
    "cr_links": "Compute resource links",
    "cr_links_per_profile": "Compute resource links per profile",
    "cr_rules": "Compute resource rules",
    "cr_rules_per_profile": "Compute resource rules per profile",
}


def limit_label(entity: str) -> str:
    return LIMIT_LABELS.get(entity, entity)


def limit_rows(lines: Iterable[LimitUsage]) -> list[list[str]]:
    """One row per entity: its maximum."""
    seen: dict[str, str] = {}
    for line in lines:
        seen.setdefault(line.entity, _text(line.limit))
    return [[limit_label(e), limit] for e, limit in seen.items()]


def usage_rows(lines: Iterable[LimitUsage], entities: tuple[str, ...]) -> list[list[str]]:
    return [
        [limit_label(u.entity), _text(u.item), _text(u.used), _text(u.limit)]
        for u in lines
        if u.entity in entities
    ]
