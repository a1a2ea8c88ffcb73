"""Request and response bodies of sign-up, login and the current user."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.lib.errors import CheckedBy
from app.lib.i18n import SUPPORTED_LOCALES
from app.lib.patterns import MAILBOX, ONE_LINE_NAME
from app.lib.preferences import validated_locale, validated_timezone
from app.lib.schema import CamelStruct, documented_as

# A new address mail goes to (sign-up, invitations): SMTP takes 254 characters, 64 before the @ (RFC 5321).
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=MAILBOX)]
MIN_PASSWORD_LENGTH = 10
Password = Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=1024)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_NAME)]
# `validated_locale` takes a tag whose language is shipped, in any case and with any region or script after it
# (`de-AT`, `zh_Hant`): the pattern says those languages, each letter in either case.
_SHIPPED_LANGUAGES = sorted({locale.split("_")[0] for locale in SUPPORTED_LOCALES})
_ANY_CASE = "|".join("".join(f"[{letter.upper()}{letter}]" for letter in language) for language in _SHIPPED_LANGUAGES)
LocaleTag = Annotated[
    str,
    msgspec.Meta(
        max_length=20,
        description="A language tag whose language Lantern ships: "
        + ", ".join(f"`{language}`" for language in _SHIPPED_LANGUAGES)
        + " (`zh-TW`, `zh-Hant`: Traditional Chinese; `zh-CN`: Simplified).",
    ),
    documented_as(pattern=rf"^\s*(?:{_ANY_CASE})(?:[-_][\s\S]*)?\s*$"),
    CheckedBy(validated_locale),
]
# Checked against the IANA database the server has (`validated_timezone`): too many names for an enum.
TimeZone = Annotated[
    str,
    msgspec.Meta(max_length=64, description="An IANA time zone name, such as `Europe/Berlin` or `UTC`."),
    CheckedBy(validated_timezone),
]


class NewOrganization(CamelStruct, forbid_unknown_fields=True):
    name: Name
    # The zone its dates are shown in; the admin UI's sign-up sends the browser's. None sent: UTC.
    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET


class SignupRequest(CamelStruct, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Name
    organization: NewOrganization


class LoginRequest(CamelStruct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=320)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class PasswordResetRequest(CamelStruct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=320)]


class PasswordReset(CamelStruct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(max_length=200)]
    password: Password


class SwitchOrganizationRequest(CamelStruct, forbid_unknown_fields=True):
    organization_id: UUID


class ProfileUpdate(CamelStruct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    locale: LocaleTag | msgspec.UnsetType | None = msgspec.UNSET
    timezone: TimeZone | msgspec.UnsetType | None = msgspec.UNSET
    # E-mail when a report is assigned to me, or commented on while it is mine.
    email_notifications: bool | msgspec.UnsetType = msgspec.UNSET


class PasswordChange(CamelStruct, forbid_unknown_fields=True):
    current_password: Annotated[str, msgspec.Meta(max_length=1024)]
    new_password: Password


class AccountDeletion(CamelStruct, forbid_unknown_fields=True):
    """The account's password, typed again: no request deletes an account by a slip, or from a session taken
    over."""

    password: Annotated[str, msgspec.Meta(max_length=1024)]


class AcceptInvitationRequest(CamelStruct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(max_length=200)]
    password: Password
    name: Name | None = None


class UserRead(CamelStruct):
    id: UUID
    email: str
    name: str
    locale: str | None
    timezone: str | None
    email_notifications: bool
    is_superuser: bool
    created_at: datetime


class OrganizationSummary(CamelStruct):
    id: UUID
    slug: str
    name: str
    role: str | None = None


class SignupResult(CamelStruct):
    user: UserRead
    organization: OrganizationSummary


class Me(CamelStruct):
    user: UserRead
    organization: OrganizationSummary
    role: str
    organizations: list[OrganizationSummary]
