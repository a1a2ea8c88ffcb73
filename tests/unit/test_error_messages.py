"""Every error message of the envelope, and every validation message, reads in the reader's language.

Chinese gets a closer look: zh-TW must be written in Traditional characters and zh-CN in Simplified ones,
not one converted from the other or left in the wrong script.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime, time
from typing import Annotated, Any
from uuid import UUID

import msgspec
import pytest
from babel.messages.pofile import read_po

from app.lib import patterns
from app.lib.errors import ErrorCode, LanternError, envelope, field_errors
from app.lib.i18n import DOMAIN, LOCALES_DIR, SUPPORTED_LOCALES, use_locale
from app.lib.ratelimit import Decision
from app.lib.throttle import refuse

TRANSLATED_LOCALES = [locale for locale in SUPPORTED_LOCALES if locale != "en"]

# (Simplified, Traditional) pairs of everyday characters: each side is used by one script only.
_SCRIPT_PAIRS = (
    "这這 个個 们們 为為 说說 时時 来來 会會 发發 无無 与與 务務 资資 请請 没沒 对對 过過 该該 错錯 误誤 权權 "
    "组組 织織 项項 专專 户戶 帐帳 账帳 号號 码碼 网網 络絡 录錄 设設 删刪 员員 间間 问問 题題 类類 数數 体體 "
    "长長 验驗 证證 许許 选選 择擇 认認 邮郵 电電 实實 现現 处處 应應 开開 关關 闭閉 单單 级級 报報 页頁 显顯 "
    "图圖 导導 进進 态態 点點 击擊 链鏈 连連 结結 标標 签簽 论論 记記 传傳 输輸 钥鑰 见見 规規 则則 编編 辑輯 "
    "读讀 执執 变變 节節 经經 测測 试試 语語 区區 还還 给給 统統 属屬 频頻 内內 后後 于於 凭憑 冲衝 暂暫 须須 "
    "仅僅 条條 动動 线線 览覽 优優 严嚴 转轉 换換 历歷 复複 范範 续續 帮幫 达達 确確 启啟 载載"
)
SIMPLIFIED_ONLY = frozenset(pair[0] for pair in _SCRIPT_PAIRS.split())
TRADITIONAL_ONLY = frozenset(pair[1] for pair in _SCRIPT_PAIRS.split())
_KANA = re.compile(r"[\u3040-\u30ff]")


def message_of(code: ErrorCode, locale: str) -> str:
    with use_locale(locale):
        text: str = envelope(LanternError(code))["message"]
    return text


def wrong_script(text: str, locale: str) -> set[str]:
    """Characters of the other script in a Chinese text."""
    foreign = SIMPLIFIED_ONLY if locale == "zh_Hant_TW" else TRADITIONAL_ONLY
    return set(text) & foreign


def test_the_script_table_has_no_character_on_both_sides() -> None:
    pairs = _SCRIPT_PAIRS.split()
    assert not SIMPLIFIED_ONLY & TRADITIONAL_ONLY
    assert [pair for pair in pairs if len(pair) != len(set(pair)) or len(pair) != 2] == []
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize("code", list(ErrorCode))
@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_every_error_message_is_translated(code: ErrorCode, locale: str) -> None:
    english, translated = message_of(code, "en"), message_of(code, locale)
    assert translated
    assert translated != english
    if locale == "ja":
        assert _KANA.search(translated), translated  # Japanese, not Chinese that shares the kanji


@pytest.mark.parametrize("code", list(ErrorCode))
def test_english_error_messages_are_plain_english_sentences(code: ErrorCode) -> None:
    english = message_of(code, "en")
    assert english.isascii()
    assert english[0].isupper()
    assert english.endswith(".")


@pytest.mark.parametrize("code", list(ErrorCode))
def test_taiwan_and_mainland_chinese_use_their_own_script(code: ErrorCode) -> None:
    traditional, simplified = message_of(code, "zh_Hant_TW"), message_of(code, "zh_Hans_CN")
    assert traditional != simplified
    assert set(traditional) & TRADITIONAL_ONLY, f"no Traditional character in {traditional!r}"
    assert set(simplified) & SIMPLIFIED_ONLY, f"no Simplified character in {simplified!r}"
    assert wrong_script(traditional, "zh_Hant_TW") == set(), traditional
    assert wrong_script(simplified, "zh_Hans_CN") == set(), simplified


@pytest.mark.parametrize("locale", ["zh_Hant_TW", "zh_Hans_CN"])
def test_no_chinese_catalog_entry_mixes_scripts(locale: str) -> None:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    mixed = {}
    for message in catalog:
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            if found := wrong_script(text, locale):
                mixed[text] = found
    assert mixed == {}


# Validation messages: real msgspec errors, as Litestar hands them to the error handler ---------------


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Sample(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=4, max_length=200)]
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}-[0-9]+$")]  # a pattern no message of its own names
    prefix: Annotated[str, msgspec.Meta(pattern=patterns.TRACKING_PREFIX)]
    mailbox: Annotated[str, msgspec.Meta(pattern=patterns.MAILBOX)]
    site: Annotated[str, msgspec.Meta(pattern=patterns.WEB_URL)]
    origin: Annotated[str, msgspec.Meta(pattern=patterns.ORIGIN)]
    color: Annotated[str, msgspec.Meta(pattern=patterns.COLOR)]
    repository: Annotated[str, msgspec.Meta(pattern=patterns.REPOSITORY)]
    domain: Annotated[str, msgspec.Meta(pattern=patterns.DOMAIN)]
    count: Annotated[int, msgspec.Meta(ge=1, le=10000)]
    ratio: Annotated[float, msgspec.Meta(gt=0, lt=1)]
    size: int | float  # a number kept as sent: 1920 stays 1920, 1.5 stays 1.5
    step: Annotated[int, msgspec.Meta(multiple_of=5)]
    tags: Annotated[list[str], msgspec.Meta(min_length=1, max_length=3)]
    id: UUID
    at: datetime
    day: date
    clock: time
    priority: Priority
    flag: bool
    meta: dict[str, str]
    note: str | None


VALID: dict[str, Any] = {
    "title": "Checkout fails",
    "code": "BS-1",
    "prefix": "BSK",
    "mailbox": f"{'b' * 64}@example.com",
    "site": "https://example.com",
    "origin": "example.com:8080",
    "color": "#4f46e5",
    "repository": "acme/shop",
    "domain": "example.com",
    "count": 3,
    "ratio": 0.5,
    "size": 1920,
    "step": 10,
    "tags": ["ui"],
    "id": "0195f4a6-6bd0-7cc1-b1ac-4ad2c0a4a1c3",
    "at": "2026-01-31T09:30:00Z",
    "day": "2026-01-31",
    "clock": "09:30:00",
    "priority": "low",
    "flag": True,
    "meta": {},
    "note": None,
}

# (change to a valid body, field the detail names, English message)
CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"title": "Bug"}, "title", "Must be at least 4 characters long."),
    ({"title": "x" * 201}, "title", "Must be at most 200 characters long."),
    ({"code": "bs1"}, "code", "This value does not have the expected format."),
    ({"prefix": "BS1"}, "prefix", "Must be letters A to Z only, without digits or accents, such as BSK."),
    (
        {"mailbox": f"{'b' * 65}@example.com"},
        "mailbox",
        "Must be an e-mail address, such as name@example.com, with at most 64 characters before the @.",
    ),
    ({"site": "example.com"}, "site", "Must be an address that starts with http:// or https://."),
    (
        {"origin": "https://example.com/shop"},
        "origin",
        "Must be a site, such as https://example.com or example.com:8080.",
    ),
    ({"color": "indigo"}, "color", "Must be a colour written #RRGGBB, such as #4f46e5."),
    ({"repository": "shop"}, "repository", "Must be a GitHub repository written owner/name."),
    ({"domain": "localhost"}, "domain", "Must be a domain, such as example.com."),
    ({"count": 0}, "count", "Must be at least 1."),
    ({"count": 10001}, "count", "Must be at most 10,000."),
    ({"count": "3"}, "count", "Must be a whole number."),
    ({"ratio": 0}, "ratio", "Must be greater than 0."),
    ({"ratio": 1.5}, "ratio", "Must be less than 1."),
    ({"ratio": "half"}, "ratio", "Must be a number."),
    ({"size": "wide"}, "size", "Must be a number."),
    ({"step": 7}, "step", "Must be a multiple of 5."),
    ({"tags": []}, "tags", "Must contain at least 1 item."),
    ({"tags": ["a", "b", "c", "d"]}, "tags", "Must contain at most 3 items."),
    ({"tags": "ui"}, "tags", "Must be a list."),
    ({"id": "not-a-uuid"}, "id", "Must be a UUID."),
    ({"at": "yesterday"}, "at", "Must be a date and time such as 2026-01-31T09:30:00Z."),
    ({"day": "31/01/2026"}, "day", "Must be a date such as 2026-01-31."),
    ({"clock": "half past nine"}, "clock", "Must be a time such as 09:30:00."),
    ({"priority": "urgent"}, "priority", "This value is not one of the allowed choices."),
    ({"flag": "yes"}, "flag", "Must be true or false."),
    ({"meta": []}, "meta", "Must be a JSON object."),
    ({"note": 5}, "note", "Must be text."),
    ({"unexpected": 1}, "unexpected", "This field is not allowed."),
]


def raw_message(body: dict[str, Any]) -> str:
    """msgspec's English message, cut where Litestar cuts it (the location goes to `key`)."""
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(body, Sample)
    return str(caught.value).split(" - ", maxsplit=1)[0]


def localized_detail(raw: str, field: str, locale: str) -> tuple[str, str]:
    with use_locale(locale):
        [detail] = field_errors([{"message": raw, "key": field, "source": "body"}])
    return detail.field, detail.message


@pytest.mark.parametrize(("change", "field", "english"), CASES)
def test_each_msgspec_message_has_its_own_english_text(change: dict[str, Any], field: str, english: str) -> None:
    raw = raw_message(VALID | change)
    key = "" if field == "unexpected" else field  # msgspec names an unknown field inside the message
    assert localized_detail(raw, key, "en") == (field, english)


def test_a_missing_field_is_named_and_required() -> None:
    raw = raw_message({key: value for key, value in VALID.items() if key != "title"})
    assert localized_detail(raw, "", "en") == ("title", "This field is required.")
    assert localized_detail(raw, "", "de") == ("title", "Dieses Feld ist erforderlich.")


@pytest.mark.parametrize(("change", "field", "english"), CASES)
@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_validation_messages_are_translated(change: dict[str, Any], field: str, english: str, locale: str) -> None:
    raw = raw_message(VALID | change)
    key = "" if field == "unexpected" else field
    named, message = localized_detail(raw, key, locale)
    assert named == field
    assert message not in {english, raw}
    assert "Expected" not in message


def test_an_unknown_validator_message_never_leaks_its_english() -> None:
    assert localized_detail("Expected something new and strange", "title", "ja") == ("title", "値が正しくありません。")


def test_numbers_in_validation_messages_are_written_the_readers_way() -> None:
    raw = raw_message(VALID | {"count": 10001})
    assert localized_detail(raw, "count", "de")[1] == "Darf höchstens 10.000 sein."
    assert localized_detail(raw, "count", "zh_Hant_TW")[1] == "不得大於 10,000。"
    assert localized_detail("Expected `float` >= 1e-07", "ratio", "es")[1] == "Debe ser como mínimo 0,0000001."


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (1, "Too many requests. Please try again in 1 second."),
        (59, "Too many requests. Please try again in 59 seconds."),
        (120, "Too many requests. Please try again in 2 minutes."),  # a sign-up's hour, say, in minutes
        (3541, "Too many requests. Please try again in 60 minutes."),
    ],
)
def test_a_refusal_says_how_long_to_wait(seconds: int, said: str) -> None:
    decision = Decision(allowed=False, limit=5, remaining=0, reset_at=0, retry_after=seconds)
    with use_locale("en"):
        assert envelope(refuse(decision))["message"] == said
