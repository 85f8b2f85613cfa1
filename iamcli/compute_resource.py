"""Logging in as a trusted profile from a compute resource: two credentials that are never
stored, because the resource hands out a fresh one whenever it is asked.

- `cr-token`: a compute-resource token (a Kubernetes projected service-account token, a Code
  Engine token) read from a file, traded on the IAM endpoint for a profile token. The file is
  read again at every refresh: Kubernetes rotates it.
- `vpc`: a VPC instance's metadata service makes the profile token itself.

Where the token comes from at login, first match wins: `--cr-token TOKEN|@FILE`, then
`IBMCLOUD_CR_TOKEN` (value or `@FILE`), then the first readable of the files IBM's SDKs read.
The profile comes from `--trusted-profile`, else `IBMCLOUD_CR_PROFILE`; the metadata service
from `IBMCLOUD_CR_VPC_URL`, else IBM's link-local address.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import NotLoggedInError, UsageError

if TYPE_CHECKING:
    from .config import Profile
    from .flavors import Flavor
    from .models import TokenGrant
    from .output import Output
    from .trace import Trace

CR_TOKEN_ENV = "IBMCLOUD_CR_TOKEN"
CR_PROFILE_ENV = "IBMCLOUD_CR_PROFILE"
VPC_URL_ENV = "IBMCLOUD_CR_VPC_URL"
# ibm-cloud-sdk-core's ContainerTokenManager defaults, in its order.
DEFAULT_TOKEN_FILES = (
    "/var/run/secrets/tokens/vault-token",
    "/var/run/secrets/tokens/sa-token",
    "/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token",
)
_MAX_TOKEN_FILE = 64 * 1024
KINDS = ("cr-token", "vpc")
# IBM's link-local metadata address (IBM's SDKs and ibmcloud default to it).
DEFAULT_VPC_URL = "http://169.254.169.254"


@dataclass(frozen=True)
class ComputeCredential:
    kind: str  # "cr-token" or "vpc"
    profile: str | None  # the trusted profile as named (ID, CRN or name); None: VPC's default
    token: str | None = None  # the cr-token read for this run (never stored)
    token_file: str | None = None  # read again at every refresh
    vpc_url: str | None = None
    source: str = ""  # where the token came from, for messages

    def grant(self, flavor: Flavor, *, trace: Trace | None) -> TokenGrant:
        from .services.trusted_profiles import profile_ref

        flavor.trusted_profiles()  # a usage error naming the family where there are none
        named = profile_ref(self.profile) if self.profile else None
        if self.kind == "vpc":
            from .flavors.vpc_metadata import iam_token
            from .http import HttpSettings, make_client

            assert self.vpc_url is not None
            with make_client(HttpSettings(self.vpc_url, verify=True, trace=trace)) as client:
                return iam_token(client, named)
        assert self.token is not None and named is not None
        return flavor.token_from_cr_token(self.token, named)

    def profile_fields(self) -> dict[str, Any]:
        """What the local profile remembers to do this again (no secret)."""
        return {
            "compute_resource": self.kind,
            "trusted_profile": self.profile,
            "cr_token_file": self.token_file,
            "vpc_url": self.vpc_url,
        }


def in_environment() -> bool:
    """Whether IBM's variables ask for a compute-resource login (when no flag says how)."""
    return any(os.environ.get(v, "").strip() for v in (CR_TOKEN_ENV, CR_PROFILE_ENV))


def for_login(
    *, cr_token: str | None, trusted_profile: str | None, vpc_cri: bool, out: Output
) -> ComputeCredential:
    profile = (trusted_profile or os.environ.get(CR_PROFILE_ENV, "")).strip() or None
    if vpc_cri:
        if cr_token is not None:
            raise UsageError("use either --cr-token or --vpc-cri, not both")
        if profile is not None and not (profile.startswith(("crn:", "Profile-"))):
            raise UsageError(
                f"--vpc-cri names the trusted profile by its ID or CRN, not by name ({profile!r})"
            )
        url = os.environ.get(VPC_URL_ENV, "").strip() or DEFAULT_VPC_URL
        from .endpoints import normalize_endpoint

        return ComputeCredential("vpc", profile, vpc_url=normalize_endpoint(url), source=url)
    if profile is None:
        raise UsageError(
            "a compute-resource login needs the trusted profile: --trusted-profile ID|NAME|CRN "
            f"or {CR_PROFILE_ENV}"
        )
    token, token_file, source = _login_token(cr_token, out)
    return ComputeCredential("cr-token", profile, token, token_file, source=source)


def _login_token(flag: str | None, out: Output) -> tuple[str, str | None, str]:
    if flag is not None:
        if not flag.startswith("@"):
            out.warn(
                "a token on the command line can be read by other users of this machine "
                "(ps, /proc) and cannot be read again at refresh; use --cr-token @FILE"
            )
        return _from_value(flag, "--cr-token")
    env = os.environ.get(CR_TOKEN_ENV, "").strip()
    if env:
        return _from_value(env, CR_TOKEN_ENV)
    for path in DEFAULT_TOKEN_FILES:
        if os.access(path, os.R_OK):
            return read_token_file(path), path, path
    raise UsageError(
        "no compute-resource token: pass --cr-token TOKEN|@FILE or set "
        f"{CR_TOKEN_ENV} (none of {', '.join(DEFAULT_TOKEN_FILES)} is readable)"
    )


def _from_value(value: str, source: str) -> tuple[str, str | None, str]:
    if value.startswith("@"):
        path = os.path.abspath(os.path.expanduser(value[1:]))
        if not value[1:]:
            raise UsageError(f"{source}: '@' must be followed by the path of a token file")
        return read_token_file(path), path, path
    return _checked(value, source), None, source


def read_token_file(path: str) -> str:
    from .keyfile import read_small_text

    text = read_small_text(
        path, limit=_MAX_TOKEN_FILE, kind="token file", expected="a compute-resource token"
    )
    return _checked(text, path)


def _checked(token: str, origin: str) -> str:
    token = token.strip()
    if not token:
        raise UsageError(f"the compute-resource token from {origin} is empty")
    if any(ch.isspace() for ch in token):
        raise UsageError(f"the compute-resource token from {origin} contains whitespace")
    return token


def for_refresh(profile: Profile) -> ComputeCredential:
    """The credential of a compute-resource login, read afresh for a new token."""
    kind = profile.compute_resource
    assert kind in KINDS
    if kind == "vpc":
        return ComputeCredential("vpc", profile.trusted_profile, vpc_url=profile.vpc_url)
    if profile.cr_token_file is not None:
        token = read_token_file(profile.cr_token_file)
        source = profile.cr_token_file
    else:
        env = os.environ.get(CR_TOKEN_ENV, "").strip()
        if not env:
            raise NotLoggedInError(
                f"Not logged in: profile {profile.name!r} logged in with a compute-resource "
                "token that is not kept, and its access token has expired.",
                hint=f"log in again with --cr-token @FILE (read again at every refresh) or "
                f"set {CR_TOKEN_ENV}",
            )
        token, _, source = _from_value(env, CR_TOKEN_ENV)
    return ComputeCredential("cr-token", profile.trusted_profile, token, source=source)
