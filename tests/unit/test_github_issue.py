"""A GitHub issue's body in the organization's language, its punctuation included."""

from __future__ import annotations

import uuid

from app.domain.integrations.github import body
from app.domain.reports.models import Report
from app.lib.i18n import use_locale


def _report() -> Report:
    return Report(
        id=uuid.uuid4(),
        tracking_id="SHOP-7",
        title="Checkout fails",
        description="Nothing happens.",
        severity="high",
        priority="medium",
        category="bug",
        page_metadata={"device": {"type": "mobile", "os": "iOS", "osVersion": "17.2"}},
        console_logs=[],
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
