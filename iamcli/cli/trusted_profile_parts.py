"""A trusted profile's claim rules and links: `trusted-profile-rule-create`, `-rule-update`,
`-rule-delete`, `-rules`, `-link-create`, `-link-delete`, `-links`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from ..errors import UsageError
from .params import ForceOpt, Run, command
from .trusted_profile_views import (
    LINK_COLUMNS,
    RULE_COLUMNS,
    link_record,
    link_row,
    rule_record,
    rule_row,
)
from .trusted_profiles import TrustedProfileRef, profile_api
from .views import confirm

if TYPE_CHECKING:
    from ..trusted_profile_models import ClaimRule

RuleRef = Annotated[str, typer.Argument(metavar="(RULE_NAME|RULE_ID)", help="Claim rule.")]
LinkRef = Annotated[str, typer.Argument(metavar="(LINK_NAME|LINK_ID)", help="Link.")]
NameOpt = Annotated[str | None, typer.Option("--name", metavar="NAME", help="Its name.")]
TypeOpt = Annotated[
    str | None, typer.Option("--type", metavar="Profile-SAML|Profile-CR", help="Kind of rule.")
]
ConditionsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--conditions",
        metavar="claim:CLAIM,operator:OPERATOR,value:VALUE",
        help="A condition the identity's claims must meet (repeat for more; all must hold). "
        "VALUE is bare (value:default); with operator IN, a comma list (value:a,b).",
    ),
]
RealmOpt = Annotated[
    str | None,
    typer.Option("--realm-name", metavar="REALM", help="IdP entity ID (Profile-SAML)."),
]
ExpirationOpt = Annotated[
    int | None,
    typer.Option("--expiration", metavar="SECONDS", help="Session length (Profile-SAML)."),
]
CrTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--cr-type", metavar="VSI|IKS_SA|ROKS_SA|CE|PVS|BMS", help="Compute-resource type."
    ),
]
IdsOnlyOpt = Annotated[bool, typer.Option("--id", help="Print only the IDs, one a line.")]


class _Listed(Protocol):
    @property
    def id(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


L = TypeVar("L", bound=_Listed)


def _list(
    run: Run, items: Sequence[L], columns: list[str], row: Callable[[L], list[str]], ids: bool
) -> None:
    if ids:
        for item in items:
            run.out.line(item.id)
        return
    if run.json:
        run.out.json_stream_list(None, (i.to_json() for i in items))
        return
    run.out.ok()
    run.out.table(columns, (row(i) for i in items))


def delete_part(
    run: Run, label: str, profile: str, force: bool, delete: Callable[[], None]
) -> None:
    if not confirm(f"Delete {label} of trusted profile {profile}?", force=force, action="delete"):
        run.out.status("Not deleted.")
        return
    run.out.status(f"Deleting {label}...")
    delete()
    run.out.ok()
    run.out.status(f"{label[0].upper()}{label[1:]} of trusted profile {profile} is deleted")


# -- claim rules ---------------------------------------------------------------------------------


@command
def trusted_profile_rule_create(
    run: Run,
    ref: TrustedProfileRef,
    rule_type: TypeOpt = None,
    conditions: ConditionsOpt = None,
    name: NameOpt = None,
    realm_name: RealmOpt = None,
    expiration: ExpirationOpt = None,
    cr_type: CrTypeOpt = None,
) -> None:
    """Add a claim rule: identities whose claims meet its conditions may log in as the profile.

    Example:
      iamcli trusted-profile-rule-create my-profile --name cluster --type Profile-CR
        --cr-type IKS_SA --conditions claim:namespace,operator:EQUALS,value:default
    """
    from ..services.trusted_profiles import resolve_profile, rule_spec

    if rule_type is None:
        raise UsageError("--type Profile-SAML|Profile-CR is required")
    spec = rule_spec(
        rule_type=rule_type,
        conditions=conditions or [],
        name=name,
        realm_name=realm_name,
        cr_type=cr_type,
        expiration=expiration,
    )
    api = profile_api(run)
    profile = resolve_profile(api, ref)
    run.out.status(f"Creating claim rule for trusted profile {profile.name}...")
    rule = api.create_rule(profile.id, spec)
    run.out.ok()
    _show_rule(run, rule)


def _show_rule(run: Run, rule: ClaimRule) -> None:
    if run.json:
        run.out.json_value(rule.to_json())
    else:
        run.out.record(rule_record(rule))


@command
def trusted_profile_rule_update(
    run: Run,
    ref: TrustedProfileRef,
    rule_ref: RuleRef,
    rule_type: TypeOpt = None,
    conditions: ConditionsOpt = None,
    name: NameOpt = None,
    realm_name: RealmOpt = None,
    expiration: ExpirationOpt = None,
    cr_type: CrTypeOpt = None,
    force: ForceOpt = False,
) -> None:
    """Change a claim rule. What is not given stays; --conditions replaces all conditions.

    Sends the version read just before (If-Match): a change made meanwhile is refused (exit 5).
    """
    from ..services.trusted_profiles import find_rule, resolve_profile, updated_rule_spec

    if all(v is None for v in (rule_type, conditions, name, realm_name, expiration, cr_type)):
        raise UsageError("nothing to change: give --type, --conditions, --name, ... to change")
    api = profile_api(run)
    profile = resolve_profile(api, ref)
    current = find_rule(api, profile, rule_ref)
    spec = updated_rule_spec(
        current,
        rule_type=rule_type,
        conditions=conditions,
        name=name,
        realm_name=realm_name,
        cr_type=cr_type,
        expiration=expiration,
    )
    if not confirm(
        f"Update claim rule {current.name or current.id} of trusted profile {profile.name}?",
        force=force,
        action="update",
    ):
        run.out.status("Not updated.")
        return
    run.out.status(f"Updating claim rule {current.name or current.id}...")
    updated = api.update_rule(profile.id, current, spec)
    run.out.ok()
    _show_rule(run, updated)


@command
def trusted_profile_rule_delete(
    run: Run, ref: TrustedProfileRef, rule_ref: RuleRef, force: ForceOpt = False
) -> None:
    """Delete a claim rule."""
    from ..services.trusted_profiles import find_rule, resolve_profile

    api = profile_api(run)
    profile = resolve_profile(api, ref)
    current = find_rule(api, profile, rule_ref)
    label = f"claim rule {current.name or current.id}"
    delete_part(run, label, profile.name, force, lambda: api.delete_rule(profile.id, current.id))


@command
def trusted_profile_rules(run: Run, ref: TrustedProfileRef, ids: IdsOnlyOpt = False) -> None:
    """List a trusted profile's claim rules."""
    from ..services.trusted_profiles import resolve_profile

    api = profile_api(run)
    profile = resolve_profile(api, ref)
    if not ids:
        run.out.status(f"Getting claim rules of trusted profile {profile.name}...")
    _list(run, api.rules(profile.id), RULE_COLUMNS, rule_row, ids)


# -- links ---------------------------------------------------------------------------------------


@command
def trusted_profile_link_create(
    run: Run,
    ref: TrustedProfileRef,
    cr_type: CrTypeOpt = None,
    link_crn: Annotated[
        str | None, typer.Option("--link-crn", metavar="CRN", help="CRN of the compute resource.")
    ] = None,
    link_namespace: Annotated[
        str | None,
        typer.Option("--link-namespace", metavar="NAMESPACE", help="Kubernetes namespace."),
    ] = None,
    link_name: Annotated[
        str | None,
        typer.Option("--link-name", metavar="NAME", help="Kubernetes service account."),
    ] = None,
    link_component_type: Annotated[
        str | None,
        typer.Option("--link-component-type", metavar="TYPE", help="Code Engine component type."),
    ] = None,
    link_component_name: Annotated[
        str | None,
        typer.Option("--link-component-name", metavar="NAME", help="Code Engine component."),
    ] = None,
    name: NameOpt = None,
) -> None:
    """Trust one compute resource directly: it may log in as the profile.

    IKS_SA and ROKS_SA links name the cluster's CRN, a namespace and a service account.
    """
    from ..services.trusted_profiles import cr_type_arg, resolve_profile
    from ..trusted_profile_models import LinkTarget

    if cr_type is None or not link_crn:
        raise UsageError("--cr-type and --link-crn are required")
    kind = cr_type_arg(cr_type)
    if kind in ("IKS_SA", "ROKS_SA") and not (link_namespace and link_name):
        raise UsageError(f"a {kind} link needs --link-namespace and --link-name")
    if kind != "CE" and (link_component_type or link_component_name):
        raise UsageError("--link-component-type and --link-component-name are for CE links")
    target = LinkTarget(
        crn=link_crn,
        namespace=link_namespace,
        name=link_name,
        component_type=link_component_type,
        component_name=link_component_name,
    )
    api = profile_api(run)
    profile = resolve_profile(api, ref)
    run.out.status(f"Creating link for trusted profile {profile.name}...")
    link = api.create_link(profile.id, kind, target, name)
    run.out.ok()
    if run.json:
        run.out.json_value(link.to_json())
    else:
        run.out.record(link_record(link))


@command
def trusted_profile_link_delete(
    run: Run, ref: TrustedProfileRef, link_ref: LinkRef, force: ForceOpt = False
) -> None:
    """Delete a link."""
    from ..services.trusted_profiles import find_link, resolve_profile

    api = profile_api(run)
    profile = resolve_profile(api, ref)
    link = find_link(api, profile, link_ref)
    label = f"link {link.name or link.id}"
    delete_part(run, label, profile.name, force, lambda: api.delete_link(profile.id, link.id))


@command
def trusted_profile_links(run: Run, ref: TrustedProfileRef, ids: IdsOnlyOpt = False) -> None:
    """List a trusted profile's links."""
    from ..services.trusted_profiles import resolve_profile

    api = profile_api(run)
    profile = resolve_profile(api, ref)
    if not ids:
        run.out.status(f"Getting links of trusted profile {profile.name}...")
    _list(run, api.links(profile.id), LINK_COLUMNS, link_row, ids)
