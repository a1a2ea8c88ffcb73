"""Who may see a report: a guest's view (`GuestView`), which keeps the API's lists and pages to it, and
`sees_report`, the same rule for one person and one report, for assigning it and for mailing about it (and
`who_would_see`, for a report being filed), and `guest_view`, a guest's view, for unassigning the reports a
person sees no more. A guest's own reports are those sent from their address, which reports keep in the form
accounts' addresses are kept in (`reporter_address`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import User
from app.domain.accounts.services import normalize_email
from app.domain.organizations.models import Membership, Role
from app.domain.projects.models import Project, ProjectMember
from app.domain.reports.models import ADDRESS_LENGTH, Report


@dataclass(frozen=True, slots=True)
class GuestView:
    """What a guest may see: the reports of the projects they were added to — all of them where the
    project lets guests see guests' reports, else only the ones they reported themselves."""

    all_reports: tuple[UUID, ...]
    own_reports: tuple[UUID, ...]
    email: str | None

    @classmethod
    def of(cls, projects: Sequence[Project], email: str | None) -> GuestView:
        """The view of a guest added to `projects`, known by `email`."""
        return cls(
            all_reports=tuple(project.id for project in projects if project.guests_see_guests),
            own_reports=tuple(project.id for project in projects if not project.guests_see_guests),
            email=email,
        )

    def may_name(self, address: str) -> bool:
        """Whether the address is the guest's own, in whatever form either was typed: the only one their searches
        and filters may find reports by. They read no one else's address, and a match on one would tell whose it
        is."""
        return bool(self.email) and normalize_email(address) == normalize_email(self.email or "")

    def condition(self) -> ColumnElement[bool]:
        # Both addresses in one form (`reporter_address`); lower(), a no-op on it, is the index's expression.
        reported_by_them = func.lower(Report.reporter_email) == normalize_email(self.email or "")
        own = Report.project_id.in_(self.own_reports) & reported_by_them
        return or_(Report.project_id.in_(self.all_reports), own)


def reporter_address(typed: str | None) -> str | None:
    """A reporter's address as reports keep it: in the one form accounts' addresses are kept in
    (`normalize_email`), so that a guest's own reports are found whatever way it was typed (in capitals, in
    full-width letters, with the domain's xn-- form). One that compatibility forms lengthen past the column's
    length is kept as typed."""
    if not typed:
        return None
    address = normalize_email(typed)
    return address if len(address) <= ADDRESS_LENGTH else typed


async def is_guest(session: AsyncSession, user_id: UUID) -> bool:
    """Whether the person is a guest of the organization in scope."""
    role = await session.scalar(select(Membership.role).where(Membership.user_id == user_id))
    return role == Role.GUEST


async def sees_report(session: AsyncSession, report: Report, user_id: UUID, *, hold: bool = False) -> bool:
    """A member of the report's organization (not only invited) sees every report; a guest, what their
    `GuestView` shows. Anyone else, another organization's people included, sees none.

    `hold` keeps their membership as read until the transaction ends (FOR SHARE), for a report assigned to
    them: their removal, or a change that takes their sight of it away, locks it first and unassigns what they
    no longer see, so it waits for the assignment, or the assignment sees them gone."""
    membership = await _membership(session, user_id, hold=hold)
    if membership is None or membership.invitation_pending:
        return False
    if membership.role != Role.GUEST:
        return True
    view = await _view_of(session, user_id, membership.email, Project.id == report.project_id)
    return await session.scalar(select(Report.id).where(Report.id == report.id, view.condition())) is not None


async def who_would_see(session: AsyncSession, report: Report, who: ColumnElement[bool]) -> UUID | None:
    """The person `who` names (by id or by address), when they would see `report`, a report not stored yet: the
    rule of `sees_report` for it. None for anyone else, another organization's people included."""
    person = (
        await session.execute(
            select(Membership.user_id, Membership.role, Membership.invitation_pending, User.email)
            .join(User, User.id == Membership.user_id)
            .where(who),
        )
    ).first()
    if person is None or person.invitation_pending:
        return None
    if person.role != Role.GUEST:
        return person.user_id  # type: ignore[no-any-return]
    view = await _view_of(session, person.user_id, person.email, Project.id == report.project_id)
    theirs = view.may_name(report.reporter_email or "")
    sees = report.project_id in view.all_reports or (report.project_id in view.own_reports and theirs)
    return person.user_id if sees else None


async def guest_view(session: AsyncSession, user_id: UUID) -> GuestView | None:
    """What the person sees when they are a guest of the organization in scope; None for anyone else."""
    membership = await _membership(session, user_id)
    if membership is None or membership.role != Role.GUEST:
        return None
    return await _view_of(session, user_id, membership.email)


async def _membership(session: AsyncSession, user_id: UUID, *, hold: bool = False) -> Row[Any] | None:
    query = (
        select(Membership.role, Membership.invitation_pending, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id)
    )
    if hold:
        query = query.with_for_update(read=True, of=Membership)
    return (await session.execute(query)).first()


async def _view_of(session: AsyncSession, user_id: UUID, email: str, *among: ColumnElement[bool]) -> GuestView:
    added = await session.scalars(
        select(Project)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user_id, *among),
    )
    return GuestView.of(list(added), email)
