"""RS256 signing of the emulator's access tokens, and their verification.

The key pair is made once and kept in the store, so tokens issued before a restart still
verify after it. Keys are parsed once per process: parsing a PEM costs more than signing.

Signing goes through PyJWT. Verification, which every bearer request pays for, is done here
with `cryptography` directly: PyJWT 2.15 checks each base64 character in a Python loop, which
cost several times the RSA verification itself. The rules are PyJWT's, made stricter where a
token of ours can never differ (no `crit`, canonical base64 only, numeric times, no `aud`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from .store import Store

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
# Far above any token of ours (about 1 KB); a bound keeps hostile input cheap to refuse.
MAX_TOKEN = 8192


class InvalidToken(Exception):
    """The token is not one this server issued, or it is no longer valid."""


@dataclass(frozen=True)
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    public: rsa.RSAPublicKey


class Signer:
    def __init__(self, store: Store) -> None:
        stored = store.signing_keys()
        if not stored:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            # IBM's key IDs are timestamps (20171030-00:00:00, 202110180819).
            store.add_signing_key(time.strftime("%Y%m%d%H%M%S", time.gmtime()), pem)
            # Another worker may have raced us to it; the store keeps the first.
            stored = store.signing_keys()
        self._keys: dict[str, _Key] = {}
        for kid, pem in stored:
            private_key = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(private_key, rsa.RSAPrivateKey)
            self._keys[kid] = _Key(kid, private_key, private_key.public_key())
        self._current = self._keys[stored[0][0]]
        self._jwks = {"keys": [self._jwk(k) for k in self._keys.values()]}

    @property
    def kid(self) -> str:
        return self._current.kid

    def sign(self, claims: dict[str, Any]) -> str:
        claims.setdefault("jti", str(uuid.uuid4()))
        # IBM's token headers carry only kid and alg; PyJWT drops typ when it is None.
        return jwt.encode(
            claims,
            self._current.private,
            algorithm="RS256",
            headers={"kid": self._current.kid, "typ": None},
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this server signed, still unexpired; else InvalidToken."""
        parts = token.split(".") if len(token) <= MAX_TOKEN else []
        if len(parts) != 3:
            raise InvalidToken("malformed token")
        # Every segment is checked before any is used: the signing input must be ASCII.
        header_raw, payload_raw, signature = (_segment(part) for part in parts)
        header = _json_object(header_raw)
        # Only RS256 with one of our own kids: this refuses alg "none", HS256 signed with our
        # public key as the secret, and tokens signed by any other key. No extension of ours
        # is critical, so a `crit` header names one we cannot honour.
        if header.get("alg") != "RS256" or "crit" in header:
            raise InvalidToken("unsupported token algorithm")
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        try:
            key.public.verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise InvalidToken("invalid token") from None
        claims = _json_object(payload_raw)
        _check_claims(claims, time.time())
        return claims

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    @staticmethod
    def _jwk(key: _Key) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public))
        # IBM's published keys carry no "use" member; clients must not depend on one.
        jwk.pop("use", None)
        jwk.update({"kid": key.kid, "alg": "RS256"})
        return jwk


def _segment(text: str) -> bytes:
    """The bytes of one base64url segment, refusing padding, stray characters and non-canonical
    encodings (so that one signature cannot be spelt two ways)."""
    if not _SEGMENT.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidToken("malformed token")
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("malformed token") from None
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != text.encode("ascii"):
        raise InvalidToken("malformed token")
    return decoded


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("malformed token") from None
    if not isinstance(value, dict):
        raise InvalidToken("malformed token")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_claims(claims: dict[str, Any], now: float) -> None:
    for name in ("exp", "iat", "iam_id"):
        if claims.get(name) is None:
            raise InvalidToken("invalid token")
    if not all(_number(claims[t]) for t in ("exp", "iat", "nbf") if t in claims):
        raise InvalidToken("invalid token")
    if not isinstance(claims["iam_id"], str) or not isinstance(claims.get("sub", ""), str):
        raise InvalidToken("invalid token")
    # ID tokens of the private identity provider carry an audience; they are not access tokens.
    if "aud" in claims:
        raise InvalidToken("invalid token")
    if claims["exp"] <= now:
        raise InvalidToken("token expired")
    if claims["iat"] > now or claims.get("nbf", 0) > now:
        raise InvalidToken("token not yet valid")
