"""RS256 signing of the emulator's access tokens, and their verification.

The key pair is made once and kept in the store, so tokens issued before a restart still
verify after it. Keys are parsed once per process: parsing a PEM costs more than signing.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .store import Store


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
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        # Only RS256 with one of our own kids: this refuses alg "none", HS256 signed with our
        # public key as the secret, and tokens signed by any other key.
        if header.get("alg") != "RS256":
            raise InvalidToken("unsupported token algorithm")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public,
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "iam_id"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid token") from exc
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
