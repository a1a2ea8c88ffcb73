"""Bodies of projects, their widget keys, widget appearance and people."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, cast
from uuid import UUID

import msgspec

from app.domain.accounts.schemas import Email, Name
from app.domain.organizations.schemas import PersonId
from app.lib.errors import ExplainedBy, PartOf
from app.lib.openapi import json_schema
from app.lib.patterns import COLOR, ORIGIN, TRACKING_PREFIX, WEB_URL_OR_EMPTY
from app.lib.schema import AsSent, CamelStruct, documented_as, refuse_none_given, refuse_two_ways, unwrapped
from app.lib.web_addresses import origin_with_more
from app.settings import MAX_PROJECT_RATE_LIMIT

TrackingPrefix = Annotated[str, msgspec.Meta(min_length=2, max_length=10, pattern=TRACKING_PREFIX)]
# Empty is no site (stored as none): BugHerd's clients send an unset `devurl` as "".
Url = Annotated[str, msgspec.Meta(max_length=2048, pattern=WEB_URL_OR_EMPTY)]
Origin = Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=ORIGIN), ExplainedBy(origin_with_more)]
Color = Annotated[str, msgspec.Meta(pattern=COLOR)]
RateLimit = Annotated[int, msgspec.Meta(ge=1, le=MAX_PROJECT_RATE_LIMIT)]
RequireOrigin = Annotated[
    bool,
    msgspec.Meta(
        description="Widget submissions must come from a page of an allowed origin: one without an Origin header "
        "(a script, a server) is refused with 403. Off by default, so that BugSpark's server-side clients work."
    ),
]


class WidgetFeatures(CamelStruct, forbid_unknown_fields=True):
    screenshot: bool = True
    annotation: bool = True
    attachments: bool = False
    console_capture: bool = True


class WidgetConfig(CamelStruct, forbid_unknown_fields=True):
    """How the widget looks and what it collects; served to the widget by its config endpoint. Every field of
    BugPin's configuration is here, with BugPin's defaults, so BugPin's widget can read it as its own."""

    features: WidgetFeatures = msgspec.field(default_factory=WidgetFeatures)
    branding: Annotated[dict[str, Any], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=dict)
    branding_primary_color: Color = "#6366f1"
    theme: Literal["auto", "light", "dark"] = "auto"
    position: Literal["bottom-right", "bottom-left", "top-right", "top-left"] = "bottom-right"
    button_text: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    button_shape: Literal["rectangle", "rounded", "circle"] = "rectangle"
    button_icon: Literal["bug", "message", "flag", "none"] = "bug"
    button_icon_size: Annotated[int, msgspec.Meta(ge=8, le=64)] = 18
    button_icon_stroke: Annotated[int, msgspec.Meta(ge=1, le=4)] = 2
    primary_color: Color = "#6366f1"
    light_button_color: Color = "#6366f1"
    light_text_color: Color = "#ffffff"
    light_button_hover_color: Color = "#4f46e5"
    light_text_hover_color: Color = "#ffffff"
    dark_button_color: Color = "#818cf8"
    dark_text_color: Color = "#1e1b4b"
    dark_button_hover_color: Color = "#a5b4fc"
    dark_text_hover_color: Color = "#1e1b4b"
    dialog_light_button_color: Color = "#ebebeb"
    dialog_light_text_color: Color = "#575757"
    dialog_light_button_hover_color: Color = "#ebebeb"
    dialog_light_text_hover_color: Color = "#575757"
    dialog_dark_button_color: Color = "#3c3c3c"
    dialog_dark_text_color: Color = "#c3c3c3"
    dialog_dark_button_hover_color: Color = "#3c3c3c"
    dialog_dark_text_hover_color: Color = "#c3c3c3"
    enable_hover_scale_effect: bool = True
    tooltip_enabled: bool = False
    tooltip_text: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    capture_method: Literal["visible", "fullpage"] = "visible"
    use_screen_capture_api: bool = msgspec.field(default=False, name="useScreenCaptureAPI")  # BugPin spells it so


# The fields of a widget configuration a project's creation or change sends, over the defaults or the stored
# ones (`features` too, one by one): any of WidgetConfig's, which all have a default.
WidgetConfigSent = Annotated[
    dict[str, Any], documented_as(**cast("dict[str, Any]", json_schema(WidgetConfig))), PartOf(WidgetConfig)
]


class WidgetSettings(WidgetConfig, kw_only=True):
    """What the widget reads: its project's configuration and name, and its texts in the visitor's language."""

    project_name: str
    max_image_bytes: Annotated[
        int, msgspec.Meta(description="What one image may weigh: the widget refuses a larger one before sending it.")
    ]
    max_image_pixels: Annotated[
        int,
        msgspec.Meta(
            description="How many pixels one image may have (LANTERN_MAX_IMAGE_PIXELS): the widget draws its "
            "screenshot at a scale that stays within it, the server refusing a larger image."
        ),
    ]
    texts: dict[str, Any]


class WidgetConfigAnswer(msgspec.Struct, kw_only=True):
    """The settings under `data`, and under `config` too, where BugPin's widget reads them."""

    success: bool = True
    data: WidgetSettings
    config: WidgetSettings


class ProjectKeyRead(CamelStruct):
    id: UUID
    key: str
    created_at: datetime
    revoked_at: datetime | None


class ProjectRead(CamelStruct):
    id: UUID
    name: str
    site_url: str | None
    tracking_prefix: str
    is_active: bool
    is_public: bool
    guests_see_guests: bool
    # Whether its board has columns of its own beside the defaults (BugHerd's `has_custom_columns`).
    has_custom_columns: bool
    require_origin: RequireOrigin
    allowed_origins: list[str]
    rate_limit_per_minute: int
    widget_config: WidgetConfig
    api_key: str | None
    keys: list[ProjectKeyRead]
    created_at: datetime
    updated_at: datetime


class ProjectCreate(CamelStruct, forbid_unknown_fields=True):
    name: Name
    site_url: Url | None = None
    tracking_prefix: TrackingPrefix | None = None
    allowed_origins: Annotated[list[Origin], msgspec.Meta(max_length=100)] = []
    is_active: bool = True
    is_public: bool = False
    guests_see_guests: bool = False
    require_origin: RequireOrigin = False
    rate_limit_per_minute: RateLimit | None = None
    # The fields sent over the defaults (`features` too, one by one); the result must be a valid WidgetConfig.
    widget_config: WidgetConfigSent = msgspec.field(default_factory=dict)


class ProjectUpdate(CamelStruct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    site_url: Url | msgspec.UnsetType | None = msgspec.UNSET
    tracking_prefix: TrackingPrefix | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    is_public: bool | msgspec.UnsetType = msgspec.UNSET
    guests_see_guests: bool | msgspec.UnsetType = msgspec.UNSET
    require_origin: RequireOrigin | msgspec.UnsetType = msgspec.UNSET
    allowed_origins: Annotated[list[Origin], msgspec.Meta(max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    rate_limit_per_minute: RateLimit | msgspec.UnsetType = msgspec.UNSET
    # Only the fields sent change (`features` too, one by one); the result must be a valid WidgetConfig.
    widget_config: WidgetConfigSent | msgspec.UnsetType = msgspec.UNSET


def from_bugherd_project(body: dict[str, Any]) -> AsSent:
    """Our project body, or BugHerd's `{"project": {...}}` with its `devurl` for the site's URL."""
    return unwrapped(body, "project").renamed({"devurl": "siteUrl"})


class WidgetConfigChange(CamelStruct):
    """Validates a project's widget configuration after a change, with errors located at `widgetConfig`."""

    widget_config: WidgetConfig


class ProjectPersonAdd(CamelStruct, forbid_unknown_fields=True):
    """Someone of the organization by `userId`; or, as BugHerd adds a guest, anyone by `email` (a person not
    in the organization yet is invited as a guest)."""

    one_way: ClassVar = (("user_id", "email"),)
    one_required: ClassVar = ("user_id", "email")

    user_id: UUID | None = None
    email: Email | None = None

    def __post_init__(self) -> None:
        refuse_none_given(self)
        refuse_two_ways(self)


class ProjectPersonRead(CamelStruct):
    user_id: PersonId
    email: str | None  # null to a guest, but for themselves
    name: str
    role: str
    added_at: datetime


class ProjectPersonAdded(ProjectPersonRead):
    # When the person had to be invited: the invitation's token, shown once (it is also e-mailed to them).
    invitation_token: str | None = None
