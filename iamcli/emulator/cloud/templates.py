"""Enterprise templates and assignments, for each template kind this server has: account
settings (`/v1/account_settings_templates`, `/v1/account_settings_assignments/`) and trusted
profiles (profile_templates.py). The routes themselves are made per kind in
template_routes.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from .account_settings import TemplateSettings, check_settings
from .profile_templates import PROFILE
from .template_assignments import add_assignment_routes
from .template_routes import Kind, TemplateBody, add_template_routes, router

__all__ = ["router"]


class SettingsTemplateBody(TemplateBody):
    account_settings: TemplateSettings | None = None


def _settings(request: Request, body: TemplateBody) -> dict[str, Any] | None:
    assert isinstance(body, SettingsTemplateBody)
    settings = body.account_settings
    if settings is None:
        return None
    values = settings.model_dump(exclude_none=True)
    check_settings(values)
    return values


ACCOUNT_SETTINGS = Kind(
    name="account_settings",
    templates="/v1/account_settings_templates",
    assignments="/v1/account_settings_assignments/",
    list_key="account_settings_templates",
    crn_kind="accountsettingstemplate",
    tag="account settings templates",
    body=SettingsTemplateBody,
    components=_settings,
    # An account settings template's values are stored as they are.
    render=lambda stored: {"account_settings": stored},
)


add_template_routes(ACCOUNT_SETTINGS)
add_assignment_routes(ACCOUNT_SETTINGS)
add_template_routes(PROFILE)
add_assignment_routes(PROFILE)
