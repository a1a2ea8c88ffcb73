"""Which shipped locale a client gets: tag matching, Accept-Language with quality values, and precedence."""

from __future__ import annotations

import pytest

from app.lib.i18n import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    choose_locale,
    language_tag,
    match_locale,
    negotiate,
    parse_accept_language,
)


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        # Traditional Chinese: by script, or by a region that writes it.
        ("zh-TW", "zh_Hant_TW"),
        ("zh-Hant", "zh_Hant_TW"),
        ("zh-HK", "zh_Hant_TW"),
        ("zh-MO", "zh_Hant_TW"),
        ("zh-Hant-HK", "zh_Hant_TW"),
        ("zh_Hant_TW", "zh_Hant_TW"),
        ("ZH-tw", "zh_Hant_TW"),
        ("zh-TW-u-ca-roc", "zh_Hant_TW"),
        # An explicit script wins over the region.
        ("zh-Hant-CN", "zh_Hant_TW"),
        ("zh-Hans-TW", "zh_Hans_CN"),
        # Simplified Chinese, also for bare `zh` and regions Babel's CLDR data does not pair with zh.
        ("zh-CN", "zh_Hans_CN"),
        ("zh-Hans", "zh_Hans_CN"),
        ("zh-SG", "zh_Hans_CN"),
        ("zh", "zh_Hans_CN"),
        ("zh_Hans_CN", "zh_Hans_CN"),
        ("zh-US", "zh_Hans_CN"),
        # Regional variants fall back to their language, whether or not CLDR knows the pair.
        ("de-AT", "de"),
        ("de-CH", "de"),
        ("de-US", "de"),
        ("de-DE-1996", "de"),
        ("es-419", "es"),
        ("es-MX", "es"),
        ("ja-JP", "ja"),
        ("en-GB", "en"),
        ("en-US-x-twain", "en"),
        (" de ", "de"),
    ],
)
def test_a_tag_matches_its_shipped_locale(tag: str, locale: str) -> None:
    assert match_locale(tag) == locale


@pytest.mark.parametrize("tag", ["fr", "fr-CA", "pt-BR", "x-klingon", "i-klingon", "*", "", "-"])
def test_a_language_we_do_not_ship_matches_nothing(tag: str) -> None:
    assert match_locale(tag) is None


def test_every_shipped_locale_matches_itself() -> None:
    assert [match_locale(locale) for locale in SUPPORTED_LOCALES] == list(SUPPORTED_LOCALES)
    assert [match_locale(language_tag(locale)) for locale in SUPPORTED_LOCALES] == list(SUPPORTED_LOCALES)


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-TW;q=0.1, de;q=0.9", "de"),
        ("zh-TW", "zh_Hant_TW"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans_CN"),
        ("en-US,en;q=0.9,zh-TW;q=0.8", "en"),
        ("fr-FR, fr;q=0.9, ja;q=0.5", "ja"),  # unshipped languages are skipped, not answered in English
        ("de;q=0, es", "es"),  # q=0 means "not this one"
        ("es;q=0.5, ja;q=0.5", "es"),  # equal quality keeps the client's order
        ("de;Q=0.2, ja;q=0.3", "ja"),
        ("ja;q=0.8 , zh-Hant ; q=0.9", "zh_Hant_TW"),
        ("de;q=oops, es;q=0.1", "es"),  # an unreadable quality is no preference
        ("*, ja;q=0.1", "ja"),
    ],
)
def test_accept_language_honours_quality_values(header: str, locale: str) -> None:
    assert negotiate(header) == locale


@pytest.mark.parametrize("header", [None, "", "*", "fr, it;q=0.5", "de;q=0", " , ;q=1"])
def test_accept_language_without_a_shipped_language_negotiates_nothing(header: str | None) -> None:
    assert negotiate(header) is None


def test_accept_language_is_ordered_best_first() -> None:
    assert parse_accept_language("a;q=0.2, b, c;q=0.5, d;q=0, e;q=1.0") == ["b", "e", "c", "a"]


def test_explicit_lang_beats_everything() -> None:
    chosen = choose_locale(explicit="ja", user_preference="es", accept_language="de", organization_default="zh_Hant_TW")
    assert chosen == "ja"


def test_user_preference_beats_accept_language_and_organization() -> None:
    assert choose_locale(user_preference="es", accept_language="de", organization_default="ja") == "es"


def test_accept_language_beats_organization_default() -> None:
    assert choose_locale(accept_language="zh-TW", organization_default="ja") == "zh_Hant_TW"


def test_organization_default_applies_without_a_usable_accept_language() -> None:
    assert choose_locale(organization_default="ja") == "ja"
    assert choose_locale(accept_language="fr-FR", organization_default="de") == "de"


def test_english_is_the_last_resort() -> None:
    assert choose_locale() == DEFAULT_LOCALE == "en"
    assert choose_locale(explicit="fr", user_preference="it", accept_language="pt", organization_default="ko") == "en"


def test_an_unshipped_choice_falls_through_to_the_next_source() -> None:
    assert choose_locale(explicit="fr", user_preference="de") == "de"
    assert choose_locale(explicit="", user_preference="fr", accept_language="zh-HK") == "zh_Hant_TW"


def test_explicit_lang_accepts_any_spelling_of_a_tag() -> None:
    assert choose_locale(explicit="zh-tw") == "zh_Hant_TW"
    assert choose_locale(explicit="zh-Hans-SG") == "zh_Hans_CN"


@pytest.mark.parametrize(
    ("locale", "tag"),
    [("en", "en"), ("zh_Hant_TW", "zh-Hant-TW"), ("zh_Hans_CN", "zh-Hans-CN"), ("ja", "ja"), ("de", "de")],
)
def test_content_language_uses_bcp47_tags(locale: str, tag: str) -> None:
    assert language_tag(locale) == tag
