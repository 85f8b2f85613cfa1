"""Checking an IBM Cloud access token locally against the server's JWKS."""

from __future__ import annotations

from typing import Any

import jwt

from ..errors import ProtocolError
from ..models import Introspection
from ._wire import jwt_claims


def verify_locally(
    token: str, jwks: dict[str, Any], *, issuer: str, where: str = "the server"
) -> Introspection:
    """Active only with an RS256 signature by a published key, the expected issuer and an
    unexpired `exp`. The claims are returned either way, for display; `reason` says why not."""
    claims = jwt_claims(token) or {}
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return Introspection(False, {}, "not a JWT")
    # Refuse "none" and HMAC algorithms before anything else looks at the token.
    if header.get("alg") != "RS256":
        return Introspection(False, claims, f"algorithm {header.get('alg')!r} is not RS256")
    published = jwks.get("keys")
    if not isinstance(published, list):
        raise ProtocolError(f"unexpected answer from {where}: 'keys' is not a list")
    keys = [k for k in published if isinstance(k, dict)]
    match = [k for k in keys if k.get("kid") == header.get("kid")]
    if not match:
        return Introspection(False, claims, "signed by a key the server does not publish")
    try:
        key = jwt.PyJWK(match[0], algorithm="RS256")
        verified = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=issuer,
            options={"require": ["exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        return Introspection(False, claims, "expired")
    except jwt.InvalidIssuerError:
        return Introspection(False, claims, f"issued by {claims.get('iss')!r}, not {issuer!r}")
    except (jwt.PyJWTError, ValueError) as exc:
        return Introspection(False, claims, f"invalid: {exc}")
    return Introspection(True, verified)
