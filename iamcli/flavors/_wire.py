"""Reading fields out of API answers, refusing answers of the wrong shape.

A server that answers 200 with something other than what the API documents gets a
ProtocolError naming the field, not a KeyError deep in a command.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from ..errors import ProtocolError


class Reader:
    """Typed access to one JSON object from `where` (a host, for messages)."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ProtocolError(f"unexpected answer from {where}: expected a JSON object")
        self.data: Mapping[str, Any] = data
        self.where = where

    def _bad(self, key: str, wanted: str) -> ProtocolError:
        return ProtocolError(f"unexpected answer from {self.where}: '{key}' is not {wanted}")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            raise self._bad(key, "a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def opt_int(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def obj(self, key: str) -> Reader:
        return Reader(self.data.get(key), f"{self.where} ('{key}')")

    def items(self, key: str) -> list[Reader]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return [Reader(v, self.where) for v in value]


def _jwt_part(token: str, index: int) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        part = json.loads(base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return part if isinstance(part, dict) else None


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified (for display and identity only), or None."""
    return _jwt_part(token, 1)


def jwt_header(token: str) -> dict[str, Any]:
    return _jwt_part(token, 0) or {}
