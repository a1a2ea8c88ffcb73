"""The admin UI's Jinja2 environment: gettext from the request's catalog, and Babel's formats.

The locale and time zone are the request's (chosen once by `RequestContextMiddleware` and kept in context
variables), so templates translate and format exactly as API errors do, from the same catalogs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.datastructures import MultiDict
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from app.domain.accounts.schemas import MIN_PASSWORD_LENGTH
from app.lib.i18n import (
    SUPPORTED_LOCALES,
    current_locale,
    format_entries,
    format_list,
    format_number,
    format_relative,
    format_size,
    format_zoned_datetime,
    join_sentences,
    language_tag,
    translations,
)
from app.lib.outbound import credentials_removed, password_hidden
from app.ui.pages import NOTICE_PARAMETERS, here
from app.ui.views import label

TEMPLATES = Path(__file__).parent / "templates"

# Each language named in itself, so a reader finds their own whatever the page's language.
LANGUAGE_NAMES = {
    "en": "English",
    "zh_Hant_TW": "繁體中文",
    "zh_Hans_CN": "简体中文",
    "ja": "日本語",
    "es": "Español",
    "de": "Deutsch",
}
LANGUAGES = [(locale, LANGUAGE_NAMES[locale]) for locale in SUPPORTED_LOCALES]


def _gettext(message: str) -> str:
    return translations(current_locale()).ugettext(message)


def _ngettext(singular: str, plural: str, number: int) -> str:
    return translations(current_locale()).ungettext(singular, plural, number)


def pages_query(params: MultiDict[str], **cursor: str | None) -> str:
    """The list's query string for another page: the same filters and sort, another cursor (`after` or
    `before` one, none for the first page) and no notice of what was just done."""
    kept = [
        (name, value) for name, value in params.multi_items() if name not in {"after", "before", *NOTICE_PARAMETERS}
    ]
    return urlencode([*kept, *((name, value) for name, value in cursor.items() if value)])


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    # Extraction trims the same way (babel.cfg), so a `{% trans %}` block's msgid matches its catalog entry.
    env.policies["ext.i18n.trimmed"] = True
    # Added to the environment by the i18n extension at runtime, which the type stubs cannot know.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        relative=format_relative,
        datetime=format_zoned_datetime,
        number=format_number,
        size=format_size,
        joined=format_list,
        entries=format_entries,
        pages_query=pages_query,
        password_hidden=password_hidden,
        credentials_removed=credentials_removed,
    )
    # `moment is past`: a time due already, which a relative time would put in the past ("1 second ago").
    env.tests["past"] = lambda moment: moment <= datetime.now(UTC)
    env.globals.update(
        languages=LANGUAGES,
        current_locale=current_locale,
        language_tag=language_tag,
        label=label,
        here=here,
        sentences=join_sentences,
        min_password_length=MIN_PASSWORD_LENGTH,
    )
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))
