"""The board: one column per status of a project, its custom columns after the defaults; each card moves with
a small form (no script needed), which `ui.js` also submits on drag and drop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain.projects.models import Project
from app.domain.projects.services import ProjectService
from app.domain.reports.controllers.deps import guest_projects
from app.domain.reports.models import DEFAULT_STATUS_IDS, ProjectColumn, Report, report_path
from app.domain.reports.queries import BULKY_FIELDS, Board, Ordering, ReportFilters, page_of_reports
from app.domain.reports.schemas import ColumnCreate, ColumnUpdate
from app.domain.reports.services import ColumnService, ReportService, visibility
from app.domain.webhooks.events import WebhookEvents
from app.lib.errors import LanternError
from app.lib.schema import convert_body
from app.ui.forms import Form, field_errors
from app.ui.pages import Layout, form_page, requires_person, see_other
from tenants.guards import requires_manager

# Cards shown per column, newest first; the list page shows the rest with its status filter.
CARDS_PER_COLUMN = 50


@dataclass
class ColumnForm:
    project_id: UUID
    name: str = ""


@dataclass
class RenameForm:
    name: str = ""


@dataclass
class MoveForm:
    step: int = 0  # -1: one place left, 1: one place right


@dataclass(frozen=True, slots=True)
class BoardColumn:
    status: str
    reports: list[Report]
    more: bool
    custom: ProjectColumn | None = None  # a column of the team's own, which can be renamed and deleted


class BoardPages(Controller):
    guards = [requires_person]

    @get("/board")
    async def board(  # noqa: PLR0913 - the page, what it is made from, and its two parameters
        self,
        *,
        layout: NamedDependency[Layout],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        project: FromQuery[UUID | None] = None,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        return await _board_page(layout, reports, projects, columns, project, notice=notice)

    @post("/board/columns", guards=[requires_manager])
    async def add_column(
        self,
        layout: NamedDependency[Layout],
        data: Annotated[ColumnForm, Form],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
    ) -> Redirect | Template:
        """A custom column after the others, as `POST /api/v1/projects/{id}/columns` adds it; a refused name
        comes back on the board with its reason."""
        await projects.get(data.project_id)
        try:
            await columns.add(data.project_id, convert_body({"name": data.name}, ColumnCreate))
        except LanternError as error:
            errors = field_errors(error, {"name": "name"})
            return await _board_page(layout, reports, projects, columns, data.project_id, form=data, errors=errors)
        # At the end of the board, maybe past the window's edge: the page says so and scrolls to it.
        return see_other(f"/ui/board?project={data.project_id}&notice=added#added")

    @post("/board/projects/{project_id:uuid}/columns/{column_id:uuid}/rename", guards=[requires_manager])
    async def rename_column(  # noqa: PLR0913 - the board page and the services it is made from
        self,
        *,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        column_id: FromPath[UUID],
        data: Annotated[RenameForm, Form],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        events: NamedDependency[WebhookEvents],
    ) -> Redirect | Template:
        """A custom column's new name, as `PATCH /api/v1/projects/{id}/columns/{columnId}`; its cards follow."""
        await projects.get(project_id)
        try:
            name = convert_body({"name": data.name}, ColumnUpdate)
            changed = await columns.change(project_id, column_id, name, layout.identity)
        except LanternError as error:
            errors = field_errors(error, {"name": f"rename-{column_id}"})
            return await _board_page(layout, reports, projects, columns, project_id, errors=errors)
        await events.reports_updated(project_id, changed.moved)
        return _board_of(project_id, notice="renamed", moved=len(changed.moved.ids))

    @post("/board/projects/{project_id:uuid}/columns/{column_id:uuid}/move", guards=[requires_manager])
    async def move_column(
        self,
        project_id: FromPath[UUID],
        column_id: FromPath[UUID],
        data: Annotated[MoveForm, Form],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
    ) -> Redirect:
        """A custom column one place left or right among the project's own (the API sets `position`)."""
        await projects.get(project_id)
        await columns.move(project_id, column_id, data.step)
        return see_other(f"/ui/board?project={project_id}#column-{column_id}")

    @post("/board/projects/{project_id:uuid}/columns/{column_id:uuid}/delete", guards=[requires_manager])
    async def delete_column(  # noqa: PLR0913 - the column, who deletes it, and the services it touches
        self,
        *,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        column_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        events: NamedDependency[WebhookEvents],
    ) -> Redirect:
        """Gone, as `DELETE /api/v1/projects/{id}/columns/{columnId}`: its cards go back to the feedback column."""
        await projects.get(project_id)
        moved = await columns.remove(project_id, column_id, layout.identity)
        await events.reports_updated(project_id, moved)
        return _board_of(project_id, notice="deleted", moved=len(moved.ids))


def _board_of(project_id: UUID, *, notice: str, moved: int) -> Redirect:
    """Back to the project's board, saying what a change to a column did and to how many reports."""
    return see_other(f"/ui/board?project={project_id}&notice={notice}&count={moved}")


async def _board_page(  # noqa: PLR0913 - the page and what it is made from
    layout: Layout,
    reports: ReportService,
    projects: ProjectService,
    columns: ColumnService,
    project: UUID | None,
    *,
    form: ColumnForm | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    """The board of `project` (else the first visible one), with the new-column form as sent and refused."""
    identity = layout.identity
    visible = await projects.visible(identity)
    chosen: Project | None = await projects.visible_one(identity, project) if project else next(iter(visible), None)
    board: list[BoardColumn] = []
    if chosen is not None:
        guest = await guest_projects(identity, projects)
        custom = {column.name: column for column in await columns.custom(chosen.id)}
        for status in [*DEFAULT_STATUS_IDS, *custom]:
            conditions = [
                *ReportFilters(project_id=chosen.id, status=status, board=Board(tuple(custom))).conditions(
                    reports.dialect
                ),
                *visibility(identity, guest),
            ]
            found = await page_of_reports(
                reports.session, conditions, Ordering(), limit=CARDS_PER_COLUMN, unread=BULKY_FIELDS
            )
            board.append(BoardColumn(status, found.items, found.next_cursor is not None, custom.get(status)))
    return form_page(
        "board/board.html",
        layout,
        form or (ColumnForm(chosen.id) if chosen else None),
        errors=errors,
        notice=notice,
        projects=visible,
        project=chosen,
        board=board,
        statuses=[column.status for column in board],
        report_path=report_path,
    )
