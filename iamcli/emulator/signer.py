"""RS256 signing of the emulator's access tokens, and their verification.

The key pair is made once and kept in the store, so tokens issued before a restart still
verify after it. Keys are parsed once per process: parsing a PEM costs more than signing.

Signing and verification are done here with `cryptography` directly, not through PyJWT: its
import alone costs ~40 ms of the server's start, its encode re-checks the key and the claims
on every token, and PyJWT 2.15 checks each base64 character of a token to verify in a Python
loop, several times the RSA verification itself. The tokens are the ones PyJWT made (the header
`{"alg","kid"}` with sorted keys, compact JSON); the verification rules are PyJWT's, made
stricter where a token of ours can never differ (no `crit`, canonical base64 only, numeric
times, no `aud`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .store import Store

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
# Far above any token of ours (about 1 KB); a bound keeps hostile input cheap to refuse.
MAX_TOKEN = 8192
# Verified tokens remembered (about 2 KB each with their claims).
VERIFIED_KEPT = 4096


class InvalidToken(Exception):
    """The token is not one this server issued, or it is no longer valid."""


@dataclass(frozen=True)
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    public: rsa.RSAPublicKey


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _load(pem: str) -> rsa.RSAPrivateKey:
    # The keys are this server's own, made by new_private_key and kept in its private (0600)
    # database: the full RSA consistency check, which costs more than many signatures, finds
    # nothing to refuse in them.
    key = serialization.load_pem_private_key(
        pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


class Signer:
    def __init__(self, store: Store, fresh: rsa.RSAPrivateKey | None = None) -> None:
        """The signer of the store's keys; the store gets one (`fresh`, or a new one) when it
        has none."""
        stored = store.signing_keys()
        made: dict[str, rsa.RSAPrivateKey] = {}
        if not stored:
            private = fresh or new_private_key()
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            # IBM's key IDs are timestamps (20171030-00:00:00, 202110180819).
            kid = time.strftime("%Y%m%d%H%M%S", time.gmtime())
            store.add_signing_key(kid, pem)
            made[pem] = private
            # Another worker may have raced us to it; the store keeps the first.
            stored = store.signing_keys()
        self._keys: dict[str, _Key] = {}
        for kid, pem in stored:
            private_key = made.get(pem) or _load(pem)
            self._keys[kid] = _Key(kid, private_key, private_key.public_key())
        self._current = self._keys[stored[0][0]]
        # IBM's token headers carry only kid and alg (PyJWT's order: sorted keys).
        header = json.dumps({"alg": "RS256", "kid": self._current.kid}, separators=(",", ":"))
        self._header = _b64(header.encode())
        self._jwks = {"keys": [self._jwk(k) for k in self._keys.values()]}
        self._verified: dict[str, dict[str, Any]] = {}

    @property
    def kid(self) -> str:
        return self._current.kid

    def sign(self, claims: dict[str, Any]) -> str:
        claims.setdefault("jti", str(uuid.uuid4()))
        payload = json.dumps(claims, separators=(",", ":"), allow_nan=False)
        signing_input = f"{self._header}.{_b64(payload.encode())}"
        signature = self._current.private.sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64(signature)}"

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this server signed, still unexpired; else InvalidToken.

        A token whose signature was verified once is remembered (VERIFIED_KEPT of them, the
        oldest forgotten first): a client sends one token with many requests, and the RSA
        check with the token's decoding is a fifth of a bearer request's CPU. Only the
        signature's verdict is kept; the times are checked at every use, and the caller reads
        the identity afresh (tokens.Tokens.caller). The signing keys never change while the
        process runs, so a verdict cannot go stale. A copy is returned: callers may change it.
        """
        known = self._verified.get(token)
        if known is None:
            known = self._verify(token)
            if len(self._verified) >= VERIFIED_KEPT:
                # Dicts keep insertion order: the first key is the oldest. A race between
                # threads can at worst forget one entry too many.
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    del self._verified[next(iter(self._verified))]
            self._verified[token] = known
        _check_claims(known, time.time())
        return dict(known)

    def _verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this server signed (its times not checked yet)."""
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
        _check_claims(claims, time.time())  # a bad token is not remembered
        return claims

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    @staticmethod
    def _jwk(key: _Key) -> dict[str, Any]:
        numbers = key.public.public_numbers()
        # The members PyJWT's to_jwk gave, in its order. IBM's published keys carry no "use"
        # member; clients must not depend on one.
        return {
            "kty": "RSA",
            "key_ops": ["verify"],
            "n": _b64(_unsigned(numbers.n)),
            "e": _b64(_unsigned(numbers.e)),
            "kid": key.kid,
            "alg": "RS256",
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unsigned(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")


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
