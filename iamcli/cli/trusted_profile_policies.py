"""`trusted-profile-policy-create`, `-policy-update`, `-policies`, `-policy`, `-policy-delete`:
the access policies of a trusted profile, with the flags of `service-policy-*` (cli/policies.py)
and the same services; only the subject differs.

(No `from __future__ import annotations` here: `policy_flags` rebuilds the signature, and the
annotations must be objects, not names to look up in another module.)
"""

from typing import TYPE_CHECKING

from .params import ForceOpt, Run, command
from .policies import ApiVersionOpt, NoPromptOpt, PolicyIdArg, _show, policy_flags
from .service_ids import as_whom
from .trusted_profiles import TrustedProfileRef, profile_api
from .views import confirm, primed

if TYPE_CHECKING:
    from ..flavors.policy_api import PolicyApi
    from ..models import ServiceId
    from ..services.policies import PolicyFlags


def _subject(
    run: Run, ref: str, api_version: str | None
) -> "tuple[PolicyApi, str | None, ServiceId, str]":
    """The policy API, the version asked, the profile as a policy subject, and its name.

    A policy's subject is an `iam_id` whoever it is (IBM: `iam-Profile-…` for a profile), so
    the policy services' subject type carries the profile's ID, name and IAM ID; a profile has
    no lock.
    """
    from ..models import ServiceId
    from ..services import policies
    from ..services.trusted_profiles import resolve_profile

    profile = resolve_profile(profile_api(run), ref)
    api = run.session.flavor().policy_api()
    asked = policies.check_version(api, api_version)
    subject = ServiceId(id=profile.id, name=profile.name, iam_id=profile.iam_id)
    return api, asked, subject, f"trusted profile {profile.name}"


def _foreign(run: Run, request: object, label: str) -> None:
    named = getattr(request, "foreign_subject", None)
    if named:
        run.out.warn(f"the file names {named} as its subject; the policy is for {label} instead")


@command
@policy_flags
def trusted_profile_policy_create(
    run: Run,
    ref: TrustedProfileRef,
    flags: "PolicyFlags",
    api_version: ApiVersionOpt = None,
    force: NoPromptOpt = False,
) -> None:
    """Create an access policy for a trusted profile (the flags of service-policy-create)."""
    from ..services import policies

    api, asked, subject, label = _subject(run, ref, api_version)
    request = policies.plan_create(api, subject, flags, asked)
    _foreign(run, request, label)
    run.out.status(f"Creating policy under current account for {label} as {as_whom(run)}...")
    created = policies.create_policy(api, subject, request)
    run.out.ok()
    run.out.status("Trusted profile policy is successfully created")
    _show(run, created)


@command
@policy_flags
def trusted_profile_policy_update(
    run: Run,
    ref: TrustedProfileRef,
    policy_id: PolicyIdArg,
    flags: "PolicyFlags",
    api_version: ApiVersionOpt = None,
    force: ForceOpt = False,
) -> None:
    """Replace an access policy of a trusted profile (as service-policy-update; If-Match)."""
    from ..services import policies

    api, asked, subject, label = _subject(run, ref, api_version)
    current = policies.get_policy(api, subject, policy_id, asked)
    request = policies.plan_update(api, subject, current, flags, asked)
    _foreign(run, request, label)
    if change := policies.resource_change(current, request):
        run.out.warn(change)
    if not confirm(f"Update policy {current.id} of {label}?", force=force, action="update"):
        run.out.status("Not updated.")
        return
    run.out.status(f"Updating policy {current.id} of {label} as {as_whom(run)}...")
    updated = policies.update_policy(api, subject, current, request)
    run.out.ok()
    run.out.status("Trusted profile policy is successfully updated")
    _show(run, updated)


@command
def trusted_profile_policies(
    run: Run, ref: TrustedProfileRef, api_version: ApiVersionOpt = None
) -> None:
    """List the access policies of a trusted profile."""
    from ..services import policies
    from .policy_views import policy_record

    api, asked, subject, label = _subject(run, ref, api_version)
    run.out.status(f"Getting policies of {label} as {as_whom(run)}...")
    found = primed(policies.list_policies(api, subject, asked, note=run.out.warn))
    if run.json:
        run.out.json_stream_list(None, (p.to_json() for p in found))
        return
    run.out.ok()
    for n, policy in enumerate(found):
        if n:
            run.out.separator()
        run.out.record(policy_record(policy))


@command
def trusted_profile_policy(
    run: Run, ref: TrustedProfileRef, policy_id: PolicyIdArg, api_version: ApiVersionOpt = None
) -> None:
    """Show one access policy of a trusted profile."""
    from ..services import policies

    api, asked, subject, _ = _subject(run, ref, api_version)
    _show(run, policies.get_policy(api, subject, policy_id, asked))


@command
def trusted_profile_policy_delete(
    run: Run,
    ref: TrustedProfileRef,
    policy_id: PolicyIdArg,
    api_version: ApiVersionOpt = None,
    force: ForceOpt = False,
) -> None:
    """Delete an access policy of a trusted profile."""
    from ..services import policies

    api, asked, subject, label = _subject(run, ref, api_version)
    current = policies.get_policy(api, subject, policy_id, asked)
    if not confirm(f"Delete policy {current.id} of {label}?", force=force, action="delete"):
        run.out.status("Not deleted.")
        return
    run.out.status(f"Deleting policy {current.id} of {label} as {as_whom(run)}...")
    policies.delete_policy(api, subject, current)
    run.out.ok()
    run.out.status(f"Trusted profile policy {current.id} is deleted successfully")
