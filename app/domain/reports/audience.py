"""Who may see a report: the one rule for assigning it and for mailing about it (the API's lists and pages
keep guests to the same view with `GuestView`)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import User
from app.domain.organizations.models import Membership, Role
from app.domain.projects.models import Project, ProjectMember
from app.domain.reports.models import Report


async def sees_report(session: AsyncSession, report: Report, user_id: UUID) -> bool:
    """A member of the report's organization (not only invited) sees every report; a guest, the reports of a
    project they were added to, all of them where the project lets guests see guests' reports, else the
    ones they reported themselves. Anyone else, another organization's people included, sees none."""
    membership = (
        await session.execute(
            select(Membership.role, Membership.invitation_pending, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.user_id == user_id),
        )
    ).first()
    if membership is None or membership.invitation_pending:
        return False
    if membership.role != Role.GUEST:
        return True
    guests_see_guests = await session.scalar(
        select(Project.guests_see_guests)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(Project.id == report.project_id, ProjectMember.user_id == user_id),
    )
    if guests_see_guests is None:  # not added to the project
        return False
    return guests_see_guests or report.reporter_email == membership.email
