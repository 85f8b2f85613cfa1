"""The public-cloud token endpoint's wire format, without an HTTP client: what an API-key
grant sends and how an answer reads (reference/ibmcloud-iam.md §1).

Shared by :class:`iamcli.flavors.cloud.Cloud` and the fast path's stdlib token grant
(iamcli/lean_http.py), so that both send the same form and read the same answer.
"""

from __future__ import annotations

from ..models import TokenGrant
from . import APIKEY_GRANT
from ._wire import Reader

TOKEN_PATH = "/identity/token"
# IBM Cloud's OpenID discovery document: a server that serves it speaks this family.
DISCOVERY_PATH = "/identity/.well-known/openid-configuration"


def apikey_form(apikey: str) -> dict[str, str]:
    return {"grant_type": APIKEY_GRANT, "apikey": apikey, "response_type": "cloud_iam"}


def read_grant(body: Reader) -> TokenGrant:
    refresh = body.opt_text("refresh_token")
    return TokenGrant(
        access_token=body.text("access_token"),
        token_type=body.opt_text("token_type") or "Bearer",
        # IBM answers the literal "not_supported" when no client credentials were sent.
        refresh_token=None if refresh in (None, "", "not_supported") else refresh,
        expires_in=body.opt_int("expires_in"),
        expiration=body.opt_int("expiration"),
    )
