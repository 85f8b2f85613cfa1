"""Enterprise templates and assignments, for each template kind this server has: account
settings (`/v1/account_settings_templates`, `/v1/account_settings_assignments/`). The routes
themselves are made per kind in template_routes.py.
"""

from __future__ import annotations

from .template_routes import Kind, add_assignment_routes, add_template_routes, router

__all__ = ["router"]

ACCOUNT_SETTINGS = Kind(
    name="account_settings",
    templates="/v1/account_settings_templates",
    assignments="/v1/account_settings_assignments/",
    list_key="account_settings_templates",
    body_key="account_settings",
    crn_kind="accountsettingstemplate",
    tag="account settings templates",
)


add_template_routes(ACCOUNT_SETTINGS)
add_assignment_routes(ACCOUNT_SETTINGS)
