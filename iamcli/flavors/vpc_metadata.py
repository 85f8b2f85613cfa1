"""A VPC instance's metadata service: the instance identity token, traded for an IAM token of
a trusted profile (reference/profiles-policies-authz.md §2.3).

The instance never calls `/identity/token` itself: the metadata service does, so the profile
token comes from this service, not from the IAM endpoint of the profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..http import Retry, json_object, send
from ..models import TokenGrant
from ._wire import Reader

if TYPE_CHECKING:
    import httpx

    from ..trusted_profile_models import ProfileRef

# The version IBM's Python SDK asks for by default; its paths are `/instance_identity/v1/*`.
VERSION = "2022-03-01"
# The shortest-lived instance identity token that covers the one exchange it is made for.
IDENTITY_TOKEN_SECONDS = 300
_HEADERS = {"Metadata-Flavor": "ibm", "Accept": "application/json"}


def iam_token(client: httpx.Client, profile: ProfileRef | None) -> TokenGrant:
    """An IAM access token for `profile`, or for the instance's default linked profile."""
    where = client.base_url.host or str(client.base_url)
    identity = Reader(
        json_object(
            send(
                client,
                "PUT",
                "/instance_identity/v1/token",
                retry=Retry.TOKEN,
                params={"version": VERSION},
                json={"expires_in": IDENTITY_TOKEN_SECONDS},
                headers=_HEADERS,
            )
        ),
        where,
    ).text("access_token")
    body: dict[str, Any] | None = None
    if profile is not None:
        if profile.kind not in ("id", "crn"):
            raise UsageError("on a VPC instance a trusted profile is named by its ID or CRN")
        body = {"trusted_profile": {profile.kind: profile.value}}
    answer = Reader(
        json_object(
            send(
                client,
                "POST",
                "/instance_identity/v1/iam_token",
                retry=Retry.TOKEN,
                params={"version": VERSION},
                headers={**_HEADERS, "Authorization": f"Bearer {identity}"},
                **({"json": body} if body is not None else {}),
            )
        ),
        where,
    )
    return TokenGrant(
        access_token=answer.text("access_token"),
        expires_in=answer.opt_int("expires_in"),
    )
