"""What the report controllers share: their services, and who may see which reports."""

from __future__ import annotations

from uuid import UUID

from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.organizations.models import Role
from app.domain.projects.services import ProjectService
from app.domain.reports.audience import GuestView
from app.domain.reports.queries import Board
from app.domain.reports.services import ColumnService, CommentService, ReportService
from app.domain.webhooks.events import WebhookEvents
from tenants.guards import provide_identity
from tenants.identity import Identity


async def provide_reports(db_session: NamedDependency[AsyncSession]) -> ReportService:
    return ReportService(session=db_session)


async def provide_columns(db_session: NamedDependency[AsyncSession]) -> ColumnService:
    return ColumnService(session=db_session)


async def provide_comments(db_session: NamedDependency[AsyncSession]) -> CommentService:
    return CommentService(session=db_session)


async def provide_events(db_session: NamedDependency[AsyncSession]) -> WebhookEvents:
    return WebhookEvents(db_session)


async def provide_projects(db_session: NamedDependency[AsyncSession]) -> ProjectService:
    return ProjectService(session=db_session)


DEPENDENCIES = {
    "reports": Provide(provide_reports),
    "columns": Provide(provide_columns),
    "comments": Provide(provide_comments),
    "projects": Provide(provide_projects),
    "events": Provide(provide_events),
    "identity": Provide(provide_identity),
}


def widget_project_id(identity: Identity) -> UUID:
    assert identity.project_id is not None  # noqa: S101 - guaranteed by requires_widget_key
    return identity.project_id


async def guest_projects(identity: Identity, projects: ProjectService) -> GuestView | None:
    """A guest's view (see `GuestView`); None for everyone else, who see every report."""
    if identity.role is not Role.GUEST:
        return None
    return GuestView.of(await projects.visible(identity), identity.user_email)


async def status_board(
    identity: Identity, projects: ProjectService, columns: ColumnService, project_id: UUID | None
) -> Board:
    """The columns a status filter may name: those of the projects the caller sees (a guest, theirs; never
    another organization's), or of the one it filters by when it sees that one."""
    visible = await projects.visible(identity)
    chosen = [project.id for project in visible if project.id == project_id] or [project.id for project in visible]
    return Board(tuple(await columns.names(chosen)))
