"""HTTP for reports: create and triage (reports.py), widget-key ingest (ingest.py)."""

from app.domain.reports.controllers.attachments import AttachmentController
from app.domain.reports.controllers.ingest import IngestController, WidgetController
from app.domain.reports.controllers.reports import ColumnController, ReportController
from app.domain.reports.controllers.screenshots import ScreenshotController

__all__ = [
    "AttachmentController",
    "ColumnController",
    "IngestController",
    "ReportController",
    "ScreenshotController",
    "WidgetController",
]
