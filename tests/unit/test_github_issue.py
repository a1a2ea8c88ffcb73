"""A GitHub issue's body in the organization's language, its punctuation included; why none was made, in words."""

from __future__ import annotations

import uuid
from typing import Any

from app.domain.integrations.github import WORD_JOINER, body, error_message, refusal
from app.domain.reports.models import Report
from app.lib import outbound
from app.lib.i18n import use_locale
from app.settings import get_settings


def _report(**fields: Any) -> Report:
    return Report(
        **{
            "id": uuid.uuid4(),
            "tracking_id": "SHOP-7",
            "title": "Checkout fails",
            "description": "Nothing happens.",
            "severity": "high",
            "priority": "medium",
            "category": "bug",
            "page_metadata": {"device": {"type": "mobile", "os": "iOS", "osVersion": "17.2"}},
            "console_logs": [],
            **fields,
        }
    )


def test_labels_take_the_languages_colon_and_the_device_its_word() -> None:
    """Half-width colons followed Japanese and Chinese labels (**ページ:**), and the device stayed "mobile"."""
    with use_locale("ja"):
        japanese = body(_report())
    with use_locale("de"):
        german = body(_report())
    assert "- **重大度：** 高" in japanese, japanese  # noqa: RUF001 - the full-width colon is the point
    assert "- **デバイス：** スマートフォン iOS 17.2" in japanese, japanese  # noqa: RUF001
    assert "- **Gerät:** Smartphone iOS 17.2" in german, german


def test_a_report_within_githubs_limit_is_written_whole() -> None:
    """Only a body past GitHub's 65,536 characters is shortened: a report of everyday size is written as it was
    before, with no note."""
    report = _report(
        reporter_name="Erin",
        page_url="https://shop.example/cart",
        page_metadata={"browser": {"name": "Firefox", "version": "128"}, "custom": {"plan": "Pro", "orderId": 1234}},
        console_logs=[{"type": "error", "message": "TypeError: cart is null"}, "plain"],
    )
    with use_locale("en"):
        written = body(report)
    assert written == (
        "Nothing happens.\n\n---\n\n"
        f"- **Page:** https{WORD_JOINER}://shop.example/cart\n- **Reporter:** Erin\n- **Browser:** Firefox 128\n"
        "- **Severity:** High\n- **Priority:** Medium\n- **Category:** Bug\n\n"
        '**Custom data:**\n\n```json\n{\n  "orderId": 1234,\n  "plan": "Pro"\n}\n```\n\n'
        f"Reported with Lantern as [SHOP-7]({get_settings().public_url}/ui/reports/SHOP-7).\n\n"
        "<details><summary>2 console errors</summary>\n\n```\nTypeError: cart is null\nplain\n```\n\n</details>\n"
    )


def test_githubs_own_trouble_is_not_told_as_its_no() -> None:
    """A 502, tried again later, read "GitHub refused to create the issue" while it was; a 422 is GitHub's no."""
    trouble = outbound.Answer(502, b'{"message": "Server Error"}')
    no = outbound.Answer(422, b'{"message": "Validation Failed"}')
    with use_locale("en"):
        assert error_message(refusal(trouble)) == "GitHub could not create the issue just now. (502 Server Error)"
        assert error_message(refusal(no)) == "GitHub refused to create the issue. (422 Validation Failed)"
