"""Routes that are built when first used, so that the server answers sooner after it starts.

Building a FastAPI route analyses its endpoint's signature and compiles a pydantic validator
for every parameter and body: ~1.5 ms a route, some 200 ms for this server's routes, more than
half of the time from exec to the first answer. A LazyRoute knows at once what routing needs
(path, methods, name) and builds the rest the first time anything else is asked of it: the
first request it matches, or the OpenAPI document. The first request to each route pays its
build once; every later one is served by an ordinary APIRoute's state. It also refuses paths
it cannot match more cheaply than FastAPI does (see matches).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Match, compile_path, get_name
from starlette.types import Scope


class LazyRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # No super().__init__ here: that is the expensive part, run by __getattr__ below.
        self._pending: tuple[str, Callable[..., Any], dict[str, Any]] | None = (
            path,
            endpoint,
            kwargs,
        )
        self.path = path
        self.endpoint = endpoint
        self.name = kwargs.get("name") or get_name(endpoint)
        self.methods = {m.upper() for m in kwargs.get("methods") or ("GET",)}
        self.include_in_schema = kwargs.get("include_in_schema", True)
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes not set yet: everything the full build makes.
        pending = self.__dict__.get("_pending")
        if pending is None or name.startswith("__"):
            raise AttributeError(name)
        self._pending = None
        path, endpoint, kwargs = pending
        APIRoute.__init__(self, path, endpoint, **kwargs)
        return getattr(self, name)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # The router asks every route in turn until one matches: a bearer GET asked some twenty
        # routes through FastAPI's and Starlette's full matching, ~15% of its time. A path that
        # the route's pattern does not match is no match for Starlette either; that answer is
        # given here at the cost of the regex alone. (This app includes no routers, whose
        # routes FastAPI matches through another path.)
        if scope["type"] == "http" and not self.path_regex.match(get_route_path(scope)):
            return Match.NONE, {}
        return super().matches(scope)

    def build(self) -> None:
        """Build now (for tests and for whoever wants the cost paid up front)."""
        if self.__dict__.get("_pending") is not None:
            self.__getattr__("app")
