"""The private family (`/iam-token/*`, `/idprovider/*`), one module per resource."""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import api_keys, policies, service_ids, tokens

routes: list[BaseRoute] = [
    *tokens.router.routes,
    *service_ids.router.routes,
    *api_keys.router.routes,
    *policies.router.routes,
]
