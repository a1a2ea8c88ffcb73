"""How the OpenAPI document names Lantern's credentials (SPEC §3), and which each route takes.

The admin API is the document's default; routes that take a widget key, only a session, or nothing say so.
"""

from __future__ import annotations

from litestar.openapi.spec import Reference, SecurityRequirement, SecurityScheme

SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "organizationToken": SecurityScheme(
        type="http", scheme="bearer", description="An organization API token (`lt_org_…`): `Authorization: Bearer`."
    ),
    "organizationTokenBasic": SecurityScheme(
        type="http", scheme="basic", description="An organization API token as the user, `x` as the password."
    ),
    "session": SecurityScheme(
        type="apiKey",
        name="lantern_session",
        security_scheme_in="cookie",
        description="The session of a signed-in person; unsafe requests also send `X-CSRFToken` with the value "
        "of the `csrftoken` cookie.",
    ),
    "widgetKey": SecurityScheme(
        type="apiKey",
        name="X-API-Key",
        security_scheme_in="header",
        description="A project's widget key (`lt_pub_…`); the `apiKey` query parameter is taken too.",
    ),
}
ADMIN: list[SecurityRequirement] = [{"organizationToken": []}, {"organizationTokenBasic": []}, {"session": []}]
WIDGET: list[SecurityRequirement] = [{"widgetKey": []}]
SESSION: list[SecurityRequirement] = [{"session": []}]
PUBLIC: list[SecurityRequirement] = [{}]
