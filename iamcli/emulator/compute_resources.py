"""The compute-resource token issuers `iamcli serve --compute-resources FILE` trusts, and the
check of a compute-resource (CR) token against them (reference/profiles-policies-authz.md §2.2).

FILE is a JSON array of `{"iss", "jwks", "cr_type", "crn", "service_instance"?,
"resource_group_id"?, "location"?}`: the issuer a token's `iss` names, where its signing keys
are (a JWKS file, absolute or relative to FILE, or an http(s) URL), and what IBM would know of
the resource (the cluster's CRN and ID, its resource group and location). A token is accepted
when its signature verifies against one of its issuer's keys, it has not expired, and its `aud`
contains `iam`, the audience IBM's docs give projected service-account tokens. UNCONFIRMED:
which checks IBM applies to CR tokens beyond these.

For Kubernetes service accounts (IKS_SA, ROKS_SA) the token's `kubernetes.io` claims become the
claims IBM's rules name: `namespace`, `name` (the service account) and `pod`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .profile_match import KUBERNETES, ComputeResource
from .store.profiles import account_of_crn

CR_TYPES = ("VSI", "PVS", "BMS", "IKS_SA", "ROKS_SA", "CE")
AUDIENCE = "iam"
# Asymmetric algorithms only: a symmetric one would let anyone who has the JWKS sign.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY = 10  # seconds of clock skew between a cluster and this server
JWKS_TTL = 300.0
JWKS_REFETCH_PAUSE = 30.0  # an unknown kid fetches the URL again, at most this often
JWKS_MAX_BYTES = 256 * 1024
_OPTIONAL = ("service_instance", "resource_group_id", "location")
# Claims of the token itself, which say nothing about the resource.
_REGISTERED = {"iss", "aud", "exp", "iat", "nbf", "jti", "kubernetes.io"}


class UntrustedToken(Exception):
    """The CR token is not one this server accepts; the message says why (never the token)."""


@dataclass(frozen=True)
class Issuer:
    iss: str
    jwks: str  # an absolute path, or an http(s) URL
    cr_type: str
    crn: str
    service_instance: str | None = None
    resource_group_id: str | None = None
    location: str | None = None

    @property
    def jwks_is_url(self) -> bool:
        return self.jwks.startswith(("http://", "https://"))


def load_issuers(path: str) -> tuple[Issuer, ...]:
    """The issuers of FILE; ValueError with a one-line reason if it is not a valid list."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, list):
        raise ValueError(f"{path} must hold a JSON array of issuers")
    issuers = []
    for n, item in enumerate(data):
        where = f"{path}: issuer {n + 1}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} is not an object")
        unknown = set(item) - {"iss", "jwks", "cr_type", "crn", *_OPTIONAL}
        if unknown:
            raise ValueError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        for key in ("iss", "jwks", "cr_type", "crn", *_OPTIONAL):
            value = item.get(key)
            required = key in ("iss", "jwks", "cr_type", "crn")
            if (required and not value) or (value is not None and not isinstance(value, str)):
                raise ValueError(f"{where}: {key!r} must be a non-empty string")
        if item["cr_type"] not in CR_TYPES:
            raise ValueError(f"{where}: cr_type must be one of {', '.join(CR_TYPES)}")
        if account_of_crn(item["crn"]) is None:
            raise ValueError(f"{where}: crn must name an account (crn:v1:…:a/<account>:…)")
        jwks = item["jwks"]
        if not jwks.startswith(("http://", "https://")):
            resolved = (file.parent / jwks).resolve()
            _read_jwks_file(str(resolved))  # a broken key file stops the start, not a login
            jwks = str(resolved)
        issuers.append(Issuer(**{**item, "jwks": jwks}))
    seen = [i.iss for i in issuers]
    if len(set(seen)) != len(seen):
        raise ValueError(f"{path}: an issuer is listed twice")
    return tuple(issuers)


def _read_jwks_file(path: str) -> dict[str, Any]:
    try:
        return _jwks_of(Path(path).read_bytes()[: JWKS_MAX_BYTES + 1], path)
    except OSError as exc:
        raise ValueError(f"cannot read the JWKS {path}: {exc.strerror or exc}") from None


def _jwks_of(raw: bytes, where: str) -> dict[str, Any]:
    if len(raw) > JWKS_MAX_BYTES:
        raise ValueError(f"the JWKS {where} is larger than {JWKS_MAX_BYTES} bytes")
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError(f"the JWKS {where} is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError(f"the JWKS {where} has no 'keys' list")
    return data


class Verifier:
    """Checks CR tokens against the configured issuers; keys of URL issuers are fetched on
    first use and cached. Shared by the request threads of one process."""

    def __init__(self, issuers: Sequence[Issuer]) -> None:
        self._issuers = {i.iss: i for i in issuers}
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[float, dict[str, Any]]] = {}  # iss → (fetched at, JWKS)

    @property
    def configured(self) -> bool:
        return bool(self._issuers)

    def verify(self, token: str) -> ComputeResource:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise UntrustedToken("The compute resource token is not a JWT") from None
        issuer = self._issuers.get(str(unverified.get("iss", "")))
        if issuer is None:
            raise UntrustedToken("The compute resource token's issuer is not trusted")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise UntrustedToken("The compute resource token's algorithm is not accepted")
        key = self._key(issuer, header.get("kid"), str(alg))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(alg)],
                audience=AUDIENCE,
                issuer=issuer.iss,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise UntrustedToken("The compute resource token has expired") from None
        except jwt.InvalidAudienceError:
            raise UntrustedToken(f"The compute resource token's aud lacks {AUDIENCE!r}") from None
        except jwt.PyJWTError as exc:
            raise UntrustedToken(f"The compute resource token is not valid: {exc}") from None
        return _resource(issuer, claims)

    def _key(self, issuer: Issuer, kid: Any, alg: str) -> Any:
        import jwt

        for attempt in range(2):
            jwks = self._jwks(issuer, refetch=attempt == 1)
            candidates = [
                k
                for k in jwks.get("keys", [])
                if isinstance(k, dict) and (kid is None or k.get("kid") == kid)
            ]
            if kid is None and len(candidates) > 1:
                raise UntrustedToken("The compute resource token names no key (kid)")
            if candidates:
                try:
                    return jwt.PyJWK(candidates[0], algorithm=alg).key
                except jwt.PyJWTError:
                    raise UntrustedToken("The issuer's key does not fit the token") from None
            if not issuer.jwks_is_url:
                break
        raise UntrustedToken("The compute resource token's key is not one of its issuer's")

    def _jwks(self, issuer: Issuer, *, refetch: bool) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            cached = self._keys.get(issuer.iss)
            if cached is not None:
                age = now - cached[0]
                if age < (JWKS_REFETCH_PAUSE if refetch else JWKS_TTL):
                    return cached[1]
            try:
                jwks = _fetch(issuer.jwks) if issuer.jwks_is_url else _read_jwks_file(issuer.jwks)
            except ValueError as exc:
                if cached is not None:
                    return cached[1]  # keep the last good keys through a failing fetch
                raise UntrustedToken(f"The issuer's keys cannot be had: {exc}") from None
            self._keys[issuer.iss] = (now, jwks)
            return jwks


def _fetch(url: str) -> dict[str, Any]:
    import httpx

    try:
        # Never follow redirects: the configured URL is the one trusted.
        with httpx.Client(timeout=5, follow_redirects=False) as client:
            r = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ValueError(f"{url}: {type(exc).__name__}") from None
    if r.status_code != 200:
        raise ValueError(f"{url} answered {r.status_code}")
    return _jwks_of(r.content, url)


def _resource(issuer: Issuer, claims: dict[str, Any]) -> ComputeResource:
    attributes: dict[str, Any] = {
        k: v for k, v in claims.items() if k not in _REGISTERED and not isinstance(v, dict)
    }
    name = str(claims.get("name") or claims.get("sub") or issuer.crn)
    if issuer.cr_type in KUBERNETES:
        namespace, account, pod = _service_account(claims)
        attributes.update({"namespace": namespace, "name": account})
        if pod is not None:
            attributes["pod"] = pod
        name = account
    attributes["crn"] = issuer.crn
    for key in _OPTIONAL:
        value = getattr(issuer, key)
        if value is not None:
            attributes[key] = value
    return ComputeResource(issuer.cr_type, issuer.crn, attributes, name)


def _service_account(claims: dict[str, Any]) -> tuple[str, str, str | None]:
    """(namespace, service account, pod) of a projected service-account token."""
    k8s = claims.get("kubernetes.io")
    if isinstance(k8s, dict):
        sa = k8s.get("serviceaccount")
        pod = k8s.get("pod")
        namespace = k8s.get("namespace")
        account = sa.get("name") if isinstance(sa, dict) else None
        if isinstance(namespace, str) and isinstance(account, str):
            pod_name = pod.get("name") if isinstance(pod, dict) else None
            return namespace, account, pod_name if isinstance(pod_name, str) else None
    # Older (legacy secret) tokens carry the same in `sub`: system:serviceaccount:<ns>:<name>.
    parts = str(claims.get("sub", "")).split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and all(parts[2:]):
        return parts[2], parts[3], None
    raise UntrustedToken("The compute resource token names no Kubernetes service account")
