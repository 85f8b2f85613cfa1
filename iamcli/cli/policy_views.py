"""How access policies and roles look in the human layout.

A policy is printed as `cloudctl iam service-policy-create` prints one (ICP §7.4, the one
transcript known; ibmcloud's own layout is UNCONFIRMED and taken to be the same):

    Policy ID:   <id>
    Roles:       Administrator, ClusterAdministrator
    Resources:
                 Service Name   idmgmt
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Policy, Role

ROLE_COLUMNS = ["Name", "CRN", "Description"]
_LABELS = {
    "serviceName": "Service Name",
    "serviceInstance": "Service Instance",
    "region": "Region",
    "resourceType": "Resource Type",
    "resource": "Resource",
    "resourceGroupId": "Resource Group ID",
    "serviceType": "Service Type",
    "namespaceId": "Namespace",
}
# Always the account's own; the layout leaves it out as cloudctl's does.
_HIDDEN = {"accountId"}


def policy_record(p: Policy) -> list[tuple[str, str]]:
    pairs = [
        ("Policy ID:", p.id),
        ("Roles:", ", ".join(r.display_name for r in p.roles)),
    ]
    if p.api_version == "v2" and p.wire is not None and "control" not in p.wire:
        pairs.append(("Version:", "v2 (shown by --api-version v2)"))
    if p.description:
        pairs.append(("Description:", p.description))
    if p.conditions:
        pattern = (p.wire or {}).get("pattern")
        pairs.append(("Conditions:", str(pattern) if pattern else "yes (see --output json)"))
    pairs.append(("Resources:", ""))
    shown = [(_LABELS.get(k, k), v) for k, v in p.resources if k not in _HIDDEN]
    width = max((len(label) for label, _ in shown), default=0)
    pairs += [("", f"{label.ljust(width)}   {value}") for label, value in shown]
    return pairs


def role_row(r: Role) -> list[str]:
    return [r.display_name, r.crn, r.description or ""]
