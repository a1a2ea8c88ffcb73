"""The board: one column per status of a project, its custom columns after the defaults; each card moves with
a small form (no script needed), which `ui.js` also submits on drag and drop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.domain.projects.models import Project
from app.domain.projects.services import ProjectService
from app.domain.reports.controllers.deps import guest_projects
from app.domain.reports.models import DEFAULT_STATUS_IDS, Report
from app.domain.reports.queries import Ordering, ReportFilters, page_of_reports
from app.domain.reports.schemas import ColumnCreate
from app.domain.reports.services import ColumnService, ReportService, visibility
from app.lib.schema import convert_body
from app.ui.controllers.reports import report_path
from app.ui.forms import Form
from app.ui.pages import Layout, page, requires_person, see_other
from tenants.guards import requires_manager

# Cards shown per column, newest first; the list page shows the rest with its status filter.
CARDS_PER_COLUMN = 50


@dataclass
class ColumnForm:
    project_id: UUID
    name: str = ""


@dataclass(frozen=True, slots=True)
class BoardColumn:
    status: str
    reports: list[Report]
    more: bool


class BoardPages(Controller):
    guards = [requires_person]

    @get("/board")
    async def board(
        self,
        *,
        layout: NamedDependency[Layout],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        project: FromQuery[UUID | None] = None,
    ) -> Template:
        identity = layout.identity
        visible = await projects.visible(identity)
        chosen: Project | None = await projects.visible_one(identity, project) if project else next(iter(visible), None)
        board: list[BoardColumn] = []
        if chosen is not None:
            guest = await guest_projects(identity, projects)
            statuses = [*DEFAULT_STATUS_IDS, *(column.name for column in await columns.custom(chosen.id))]
            for status in statuses:
                conditions = [
                    *ReportFilters(project_id=chosen.id, status=status).conditions(reports.dialect),
                    *visibility(identity, guest),
                ]
                found = await page_of_reports(reports.session, conditions, Ordering(), limit=CARDS_PER_COLUMN)
                board.append(BoardColumn(status, found.items, more=found.next_cursor is not None))
        return page(
            "board/board.html",
            layout,
            projects=visible,
            project=chosen,
            board=board,
            statuses=[column.status for column in board],
            report_path=report_path,
        )

    @post("/board/columns", guards=[requires_manager])
    async def add_column(
        self,
        data: Annotated[ColumnForm, Form],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
    ) -> Redirect:
        """A custom column after the others, as `POST /api/v1/projects/{id}/columns` adds it."""
        await projects.get(data.project_id)
        await columns.add(data.project_id, convert_body({"name": data.name}, ColumnCreate))
        return see_other(f"/ui/board?project={data.project_id}")
