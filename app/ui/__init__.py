"""The admin UI: server-rendered pages over the same tenant-scoped services as the API."""

from __future__ import annotations

from app.ui.router import static_files_router, ui_router
from app.ui.templating import template_config

__all__ = ["static_files_router", "template_config", "ui_router"]
