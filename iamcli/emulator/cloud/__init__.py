"""The public-cloud family (`/identity/*`, `/v1/*`), one module per resource."""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import api_keys, profile_trust, profiles, service_ids, tokens

routes: list[BaseRoute] = [
    *tokens.router.routes,
    *service_ids.router.routes,
    *api_keys.router.routes,
    *profiles.router.routes,
    *profile_trust.router.routes,
]
