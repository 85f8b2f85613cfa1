"""The public-cloud family (`/identity/*`, `/v1/*`), one module per resource."""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import (
    account_settings,
    api_keys,
    limits,
    pdp,
    policies,
    profile_grants,
    profile_trust,
    profiles,
    reports,
    roles,
    service_ids,
    serviceid_groups,
    templates,
    tokens,
    users,
    vpc_metadata,
)

routes: list[BaseRoute] = [
    *tokens.router.routes,
    *service_ids.router.routes,
    *api_keys.router.routes,
    *policies.router.routes,
    *roles.router.routes,
    *users.router.routes,
    *pdp.router.routes,
    *serviceid_groups.router.routes,
    *account_settings.router.routes,
    *templates.router.routes,
    *profiles.router.routes,
    *profile_trust.router.routes,
    *profile_grants.router.routes,
    *vpc_metadata.router.routes,
    *reports.router.routes,
    *limits.router.routes,
]
