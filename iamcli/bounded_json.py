"""JSON decoding with a bound on nesting, for text that comes from a server or a file.

`json.loads` recurses once per level: a document of a few kilobytes of ``[`` raises
RecursionError (not ValueError), and one just shallow enough to decode can still overflow
whatever recurses over it next (an encoder, a redactor). iamcli's own documents nest a few
levels; anything deeper than MAX_DEPTH is refused as not what it claims to be.
"""

from __future__ import annotations

import json

# Not `from typing import ...`: this module is on the cached-token path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

MAX_DEPTH = 64


class TooDeep(ValueError):
    """Nested deeper than the limit (a ValueError, so callers treat it as invalid JSON)."""


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(data)``, raising ValueError (TooDeep) for anything nested deeper than
    ``max_depth`` levels instead of RecursionError or a document nothing else can walk."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep(f"nested more than {max_depth} levels deep") from None
    if _deeper_than(value, max_depth):
        raise TooDeep(f"nested more than {max_depth} levels deep")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    # Iterative: the point is not to recurse.
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any] = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
