"""The demo project's first reports, so that a new instance shows what the product does before any widget is
embedded: a numbered list, a board with cards in several columns, a report with its annotated screenshot,
console errors, network log, user actions and a comment. Written in the language `make run` speaks (its
titles and texts go through the catalogs like any other), as its reporters would have sent them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from uuid import UUID

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.reports.ingest import save_upload
from app.domain.reports.models import DEFAULT_STATUS_IDS, Category, Comment, Report, Severity, Source
from app.domain.reports.services import TrackingService
from app.lib.database import alchemy_config
from app.lib.i18n import gettext as _
from app.lib.queue import enqueue_for_tenant

_DESKTOP = {
    "browser": {"name": "Chrome", "version": "131.0"},
    "device": {"type": "desktop", "os": "macOS", "osVersion": "15.1"},
    "viewport": {"width": 1280, "height": 800, "devicePixelRatio": 2},
}
_PHONE = {
    "browser": {"name": "Safari", "version": "18.1"},
    "device": {"type": "mobile", "os": "iOS", "osVersion": "18.1"},
    "viewport": {"width": 390, "height": 844, "devicePixelRatio": 3},
}
_SHOT_SIZE = (1280, 800)
# Where the screenshot's checkout button is, as fractions of the image (the widget's annotation coordinates).
_BUTTON = (0.62, 0.70, 0.86, 0.78)
_BUTTON_CORNERS = [{"x": _BUTTON[0], "y": _BUTTON[1]}, {"x": _BUTTON[2], "y": _BUTTON[3]}]


def _reports(project_id: UUID, site: str, person_id: UUID) -> list[Report]:
    """Oldest first: they are numbered in this order, DEMO-1 to DEMO-4."""
    return [
        Report(
            project_id=project_id,
            title=_("Typo on the About page: “recieve”"),
            description=_("The second paragraph says “recieve” instead of “receive”."),
            severity=Severity.LOW.value,
            category=Category.OTHER.value,
            status="done",
            status_id=DEFAULT_STATUS_IDS["done"],
            source=Source.WIDGET.value,
            page_url=f"{site}/about",
            page_metadata=_DESKTOP,
        ),
        Report(
            project_id=project_id,
            title=_("Prices overlap the product photo on small screens"),
            description=_("On my phone the price covers the bottom of the photo, so I cannot see the color."),
            severity=Severity.MEDIUM.value,
            category=Category.UI.value,
            status="todo",
            status_id=DEFAULT_STATUS_IDS["todo"],
            source=Source.WIDGET.value,
            reporter_name="Kenji",
            page_url=f"{site}/products/lamp",
            page_metadata=_PHONE,
        ),
        Report(
            project_id=project_id,
            title=_("The search page takes ten seconds to load"),
            description=_("Searching for “lamp” shows a spinner for about ten seconds before any result."),
            severity=Severity.HIGH.value,
            category=Category.PERFORMANCE.value,
            status="doing",
            status_id=DEFAULT_STATUS_IDS["doing"],
            source=Source.API.value,
            assignee_id=person_id,
            page_url=f"{site}/search?q=lamp",
            page_metadata=_DESKTOP,
            network_logs=[{"method": "GET", "url": f"{site}/api/search?q=lamp", "status": 200, "duration": 9840}],
        ),
        Report(
            project_id=project_id,
            title=_("The checkout button does nothing"),
            description=_("I filled in my address and clicked “Pay now”: nothing happened, twice."),
            severity=Severity.CRITICAL.value,
            category=Category.BUG.value,
            source=Source.WIDGET.value,
            reporter_name="Maria",
            reporter_email="maria@example.com",
            page_url=f"{site}/checkout",
            page_metadata=_DESKTOP,
            console_logs=[
                {
                    "type": "error",
                    "message": "Uncaught TypeError: Cannot read properties of null (reading 'submit')",
                    "source": f"{site}/assets/checkout.js",
                    "line": 42,
                },
            ],
            network_logs=[{"method": "POST", "url": f"{site}/api/cart", "status": 500, "duration": 212}],
            user_actions=[
                {"type": "input", "target": "input#address"},
                {"type": "click", "target": "button#pay-now", "text": "Pay now"},
                {"type": "click", "target": "button#pay-now", "text": "Pay now"},
            ],
            annotations={
                "version": 1,
                "width": _SHOT_SIZE[0],
                "height": _SHOT_SIZE[1],
                "shapes": [{"tool": "box", "color": "#ef4444", "points": _BUTTON_CORNERS}],
            },
        ),
    ]


def _screenshot() -> bytes:
    """A checkout page as a browser would show it, with the reporter's red mark around its button."""
    width, height = _SHOT_SIZE
    image = Image.new("RGB", (width, height), "#f8fafc")
    draw = ImageDraw.Draw(image)
    font, title = ImageFont.load_default(18), ImageFont.load_default(30)
    draw.rectangle((0, 0, width, 64), fill="#1e293b")
    draw.text((32, 20), "Demo Site", font=font, fill="#ffffff")
    draw.text((96, 110), "Checkout", font=title, fill="#0f172a")
    for row, label in enumerate(("Name", "Address", "City", "Card number")):
        top = 180 + row * 90
        draw.text((96, top), label, font=font, fill="#334155")
        draw.rectangle((96, top + 28, 700, top + 68), outline="#cbd5e1", fill="#ffffff")
    draw.rectangle((800, 180, 1184, 480), outline="#e2e8f0", fill="#ffffff")
    for row, (item, price) in enumerate((("Desk lamp", "49.00"), ("Light bulbs (2)", "12.00"), ("Total", "61.00"))):
        draw.text((830, 210 + row * 60), item, font=font, fill="#0f172a")
        draw.text((1090, 210 + row * 60), price, font=font, fill="#0f172a")
    corners = zip(_BUTTON, (width, height) * 2, strict=True)
    left, top, right, bottom = (int(fraction * size) for fraction, size in corners)
    draw.rectangle((left + 12, top + 12, right - 12, bottom - 12), fill="#2563eb")
    draw.text((left + 100, top + 22), "Pay now", font=font, fill="#ffffff")
    draw.rectangle((left, top, right, bottom), outline="#ef4444", width=5)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class PendingScreenshot:
    """A stored screenshot its worker job is yet to process (read before the commit expires the row)."""

    screenshot_id: str
    job_id: str


async def add_demo_reports(session: AsyncSession, project_id: UUID, site: str, person_id: UUID) -> PendingScreenshot:
    """The demo reports, a comment and the checkout report's screenshot, in the tenant in context; the
    screenshot is processed by `finish_demo_reports` once they are committed."""
    reports = _reports(project_id, site, person_id)
    session.add_all(reports)
    await session.flush()
    searching, checkout = reports[2], reports[3]
    session.add(Comment(report_id=searching.id, author_id=person_id, text=_("Reproduced: the search API takes 9.8 s.")))
    screenshot = await save_upload(project_id, _screenshot())
    screenshot.report_id, screenshot.annotated = checkout.id, True
    session.add(screenshot)
    await session.flush()
    return PendingScreenshot(str(screenshot.id), screenshot.job_id)


async def finish_demo_reports(project_id: UUID, screenshot: PendingScreenshot, *, queue: bool) -> None:
    """Number the demo reports now, as the worker would; with a queue, ask it to process the screenshot (else
    its sweeper does, once it runs). In the tenant in context."""
    async with alchemy_config().get_session() as session:
        await TrackingService(session).assign(project_id)
    if queue:
        await enqueue_for_tenant(
            "process_screenshot", screenshot_id=screenshot.screenshot_id, _job_id=screenshot.job_id
        )
