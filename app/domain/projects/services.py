"""Projects: one site each, its widget keys, and which guests may see it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from advanced_alchemy.exceptions import IntegrityError as RepositoryIntegrityError
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.exc import IntegrityError

from app.domain.accounts.models import User
from app.domain.accounts.services import normalize_email
from app.domain.organizations.models import Membership, Role
from app.domain.organizations.schemas import MemberInvite
from app.domain.organizations.services import MembershipService, OrganizationService
from app.domain.projects.models import Project, ProjectKey, ProjectMember, ProjectPrefix
from app.domain.projects.schemas import ProjectCreate, ProjectUpdate, WidgetConfig, WidgetConfigChange
from app.domain.reports.models import ProjectColumn
from app.domain.reports.services import MovedReports, ReportService, TrackingService
from app.lib.conditional import Precondition
from app.lib.cors import allowed_origin_refusal
from app.lib.errors import ErrorCode, FieldError, LanternError, Refusals, not_found
from app.lib.i18n import gettext as _
from app.lib.paging import Paged, Window, page_of
from app.lib.queue import enqueue_after_commit
from app.lib.schema import convert_body
from app.lib.security import WIDGET_KEY_PREFIX, new_secret
from app.lib.web_addresses import check_web_address
from app.settings import get_settings
from tenants.identity import Identity
from tenants.service import TenantRepository, TenantService

DELETE_PROJECT_FILES_JOB = "delete_project_files"
LATE_UPLOADS_SECONDS = 60

_VOWELS = set("AEIOU")
MIN_PREFIX_LENGTH = 2
# A prefix made from a name has three letters where the name gives them (`BSK`), at most four initials.
NAME_PREFIX_LENGTH = 3
MAX_INITIALS = 4
# A name's words: a run of capitals not followed by a small letter (an acronym, `HTML` of `HTMLParser`), or small
# letters after at most one capital, so that a camel-case name (`BugSpark`, `myApp`) is read as its words.
_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
# How many free prefixes made from the name a new project tries, when requests taking them at once beat it to each.
PREFIX_TRIES = 10


def default_tracking_prefix(name: str) -> str:
    """Upper-case letters from the name. Several words (a camel-case name's words apart: `BugSpark` is Bug and
    Spark, `myApp` my and App) give their initials, at most four (`Web Shop Admin` -> WSA); initials short of three
    letters are completed from the last word's consonants after its initial, counted from its end (`BugSpark` and
    `Bug Spark` -> BSK, `myApp` -> MAP), or stay two where it has none (`Shop Io` -> SI). One word gives its first
    letter and the consonants after it (`Lantern` -> LNT). `PRJ` when the name has no Latin letters."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = [word.upper() for word in _NAME_WORD.findall(ascii_name)]
    if not words:
        return "PRJ"
    if len(words) == 1:
        return _prefix_of_one_word(words[0])
    initials = "".join(word[0] for word in words)[:MAX_INITIALS]
    missing = NAME_PREFIX_LENGTH - len(initials)
    if missing <= 0:
        return initials
    return initials + "".join(_consonants_after_initial(words[-1])[-missing:])


def _prefix_of_one_word(word: str) -> str:
    prefix = (word[0] + "".join(_consonants_after_initial(word)))[:NAME_PREFIX_LENGTH]
    return prefix if len(prefix) >= MIN_PREFIX_LENGTH else (word + "X")[:NAME_PREFIX_LENGTH]


def _consonants_after_initial(word: str) -> list[str]:
    return [letter for letter in word[1:] if letter not in _VOWELS]


class ProjectService(TenantService[Project]):
    class Repo(TenantRepository[Project]):
        model_type = Project

    repository_type = Repo

    def _visible_to(self, identity: Identity) -> list[ColumnElement[bool]]:
        """Guests see only the projects they were added to; everyone else sees every project."""
        if identity.role is not Role.GUEST:
            return []
        added = select(ProjectMember.project_id).where(ProjectMember.user_id == identity.user_id)
        return [Project.id.in_(added)]

    async def visible(self, identity: Identity) -> list[Project]:
        return list(await self.get_many(*self._visible_to(identity), order_by=[Project.created_at.asc()]))

    async def visible_page(self, identity: Identity, window: Window, *, active: bool | None = None) -> Paged[Project]:
        """A page of the projects `identity` sees, oldest first: those active or paused alone when `active` says."""
        chosen = [] if active is None else [Project.is_active.is_(active)]
        statement = select(Project).where(*self._visible_to(identity), *chosen).order_by(Project.created_at, Project.id)
        return await page_of(self.session, statement, window)

    async def visible_one(self, identity: Identity, project_id: UUID) -> Project:
        project = await self.get_one_or_none(Project.id == project_id, *self._visible_to(identity))
        if project is None:
            raise not_found()
        return project

    async def create_project(self, data: ProjectCreate) -> Project:
        """A new project under the prefix sent, or one made from its name. Requests taking the same prefix at once
        all pass the check; the database keeps it to the first to commit. The others are refused saying why when
        the client named the prefix, and step to the next free one when it was made from the name."""
        refusals = Refusals()
        with refusals:
            check_web_address(data.site_url or None, "siteUrl")
        with refusals:
            _check_allowed_origins(data.allowed_origins)
        with refusals:
            widget_config = _changed_widget_config(msgspec.to_builtins(WidgetConfig()), data.widget_config)
        refusals.raise_any()
        for attempt in range(PREFIX_TRIES):
            prefix = data.tracking_prefix or await self._free_prefix(default_tracking_prefix(data.name))
            await self._check_prefix_free(prefix)
            try:
                async with self.session.begin_nested():
                    project = await self.create(_new_project(data, prefix, widget_config))
                    self.session.add(ProjectPrefix(project_id=project.id, prefix=prefix))
                    await self.session.flush()
            except (IntegrityError, RepositoryIntegrityError):
                if data.tracking_prefix is None and attempt < PREFIX_TRIES - 1:
                    continue
                await self._check_prefix_free(prefix)
                raise
            break
        await self.create_key(project.id)
        return project

    async def update_project(
        self, project_id: UUID, changes: ProjectUpdate, precondition: Precondition[Project] | None = None
    ) -> Project:
        """The project with `changes` made, once held and read afresh: a change of it at once (a form sent twice)
        committed meanwhile, and this one changes what that one left; `precondition` (a request's `If-Match`) is
        awaited then, and may refuse the change."""
        if changes.tracking_prefix is not msgspec.UNSET:
            # A rename takes the numbering before the project's row, as a numbering does (see `hold_numbering`): of
            # a project of this organization's, another's being not found first. A deletion does too (`remove`).
            await TrackingService(self.session).hold_numbering((await self.get(project_id)).id)
        project = await self.hold_row(Project.id == project_id)
        if precondition is not None:
            await precondition(project)
        values = {
            name: value for name in changes.__struct_fields__ if (value := getattr(changes, name)) is not msgspec.UNSET
        }
        prefix = values.pop("tracking_prefix", project.tracking_prefix)
        refusals = Refusals()
        if "site_url" in values:
            values["site_url"] = values["site_url"] or None
            with refusals:
                check_web_address(values["site_url"], "siteUrl")
        if "allowed_origins" in values:
            with refusals:
                _check_allowed_origins(values["allowed_origins"])
            values["allowed_origins"] = _stored_origins(values["allowed_origins"])
        if "widget_config" in values:
            with refusals:
                values["widget_config"] = _changed_widget_config(project.widget_config, values["widget_config"])
        refusals.raise_any()
        for name, value in values.items():
            setattr(project, name, value)
        if prefix != project.tracking_prefix:
            await self._rename(project, prefix)
        await self.session.flush()
        return project

    async def remove(self, project_id: UUID, precondition: Precondition[Project] | None = None) -> None:
        """Delete the project with its reports; every file stored under it is deleted by a job once the deletion
        commits (uploads never attached to a report too). `precondition` is awaited with the project held.

        The numbering is taken before the project's row, as a rename takes it (`update_project`): a new project's
        first numbering makes its counter, which refers to the row, while holding the reports it numbers, which the
        deletion deletes; taken the other way round, each waited for the other until PostgreSQL failed one."""
        await TrackingService(self.session).hold_numbering((await self.get(project_id)).id)
        project = await self.hold_row(Project.id == project_id, deleting=True)
        if precondition is not None:
            await precondition(project)
        await self.session.delete(project)
        await self.session.flush()
        self.forget_files([project_id])

    def forget_files(self, project_ids: Iterable[UUID]) -> None:
        """Every file stored under these projects, deleted by a job each once the transaction that deleted the
        projects commits, and again a minute later: an upload on its way meanwhile writes its file, then finds
        its project gone, and no row would ever lead to that file."""
        for project_id in project_ids:
            for attempt, wait in enumerate((0, LATE_UPLOADS_SECONDS)):
                job_id = f"files:project:{project_id}:{attempt}"
                enqueue_after_commit(
                    self.session, DELETE_PROJECT_FILES_JOB, job_id, defer_seconds=wait, project_id=str(project_id)
                )

    async def _rename(self, project: Project, prefix: str) -> None:
        """The project's new tracking prefix, kept as its own for good beside the ones it had (a former one of its
        own may be taken back); its reports' IDs follow it, and the IDs they had still find them. Call it holding
        the project's numbering (see `update_project`)."""
        project_id = project.id  # the row is expired if the savepoint below is rolled back
        own = await self._check_prefix_free(prefix, project_id)
        await self._keep_current_prefix(project)
        # The project's row before the prefix's, as a new project takes them; and before its reports' rows, as its
        # deletion takes them: never the crossed order. A project taking the prefix at once committed first: this
        # rename is refused as the check refuses.
        try:
            async with self.session.begin_nested():
                project.tracking_prefix = prefix
                await self.session.flush()
        except IntegrityError:
            await self._check_prefix_free(prefix, project_id)
            raise
        if own is None:
            await self._keep_prefix(project_id, prefix)
        await TrackingService(self.session).rename(project_id, prefix)

    async def _keep_current_prefix(self, project: Project) -> None:
        """The project's current prefix kept as its own before a rename replaces it, when it has no row: a pod of
        the version before prefixes were kept made or renamed the project (during a rolling upgrade)."""
        if await self.kept_prefix(project.tracking_prefix) is None:
            await self._keep_prefix(project.id, project.tracking_prefix)

    async def _keep_prefix(self, project_id: UUID, prefix: str) -> None:
        """The prefix the project's own for good. Another request that took it since the check committed first:
        this one is refused as the check refuses, unless the prefix is the project's own now."""
        try:
            async with self.session.begin_nested():
                self.session.add(ProjectPrefix(project_id=project_id, prefix=prefix))
        except IntegrityError:
            if await self._check_prefix_free(prefix, project_id) is None:
                raise

    async def kept_prefix(self, prefix: str) -> ProjectPrefix | None:
        """Whose the prefix is: every prefix a project of the organization has had stays its own (ProjectPrefix)."""
        kept: ProjectPrefix | None = await self.session.scalar(
            select(ProjectPrefix).where(ProjectPrefix.prefix == prefix)
        )
        return kept

    async def _check_prefix_free(self, prefix: str, project_id: UUID | None = None) -> ProjectPrefix | None:
        """Refuse a prefix another project has, had, or a deleted project had: each tracking ID it gave must go on
        naming that one report. Returns the prefix's row when it is `project_id`'s own already."""
        kept = await self.kept_prefix(prefix)
        if kept is not None and project_id is not None and kept.project_id == project_id:
            return kept
        if kept is None:
            # A pod of the version before prefixes were kept (during a rolling upgrade) gives a project no row.
            holder = await self.get_one_or_none(Project.tracking_prefix == prefix)
            if holder is None or holder.id == project_id:
                return None
        else:
            holder = None if kept.project_id is None else await self.get_one_or_none(Project.id == kept.project_id)
        if holder is None:
            message = _(
                "A deleted project of this organization used this tracking prefix, so no other project takes it: a "
                "link to one of its reports' tracking IDs must not lead to another report."
            )
        elif holder.tracking_prefix == prefix:
            message = _("Another project of this organization already uses this tracking prefix.")
        else:
            message = _(
                "The project “%(project)s” used this tracking prefix before and keeps it: the tracking IDs it gave "
                "still lead to its reports.",
                project=holder.name,
            )
        raise LanternError(ErrorCode.CONFLICT, message, details=[FieldError("trackingPrefix", message)])

    async def _free_prefix(self, prefix: str) -> str:
        if not await self._taken(prefix):
            return prefix
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            if not await self._taken(candidate := (prefix + letter)[:10]):
                return candidate
        return prefix

    async def _taken(self, prefix: str) -> bool:
        """Whether the prefix is kept, or a project's current one (a project an older pod made has no row)."""
        return await self.kept_prefix(prefix) is not None or await self.exists(Project.tracking_prefix == prefix)

    async def with_custom_columns(self, project_ids: Iterable[UUID]) -> set[UUID]:
        """Those of these projects whose boards have columns of their own (BugHerd's `has_custom_columns`)."""
        found = await self.session.scalars(
            select(ProjectColumn.project_id).where(ProjectColumn.project_id.in_(list(project_ids))).distinct()
        )
        return set(found)

    # Widget keys ---------------------------------------------------------------------------------

    async def keys(self, project_id: UUID) -> list[ProjectKey]:
        rows = await self.session.scalars(
            select(ProjectKey).where(ProjectKey.project_id == project_id).order_by(ProjectKey.created_at),
        )
        return list(rows)

    async def keys_seen_by(self, identity: Identity, project_id: UUID) -> list[ProjectKey]:
        """The project's widget keys, for its team; a guest (someone outside it, such as a client) sees none."""
        return [] if identity.role is Role.GUEST else await self.keys(project_id)

    async def key_page(self, project_id: UUID, window: Window) -> Paged[ProjectKey]:
        """A page of the project's widget keys, oldest first, revoked ones too."""
        statement = (
            select(ProjectKey).where(ProjectKey.project_id == project_id).order_by(ProjectKey.created_at, ProjectKey.id)
        )
        return await page_of(self.session, statement, window)

    async def create_key(self, project_id: UUID) -> ProjectKey:
        key = ProjectKey(project_id=project_id, key=new_secret(WIDGET_KEY_PREFIX))
        self.session.add(key)
        await self.session.flush()
        return key

    async def key(self, project_id: UUID, key_id: UUID) -> ProjectKey:
        key = await self.session.scalar(
            select(ProjectKey).where(ProjectKey.id == key_id, ProjectKey.project_id == project_id),
        )
        if key is None:
            raise not_found()
        return key

    async def revoke_key(self, project_id: UUID, key_id: UUID) -> ProjectKey:
        key = await self.key(project_id, key_id)
        key.revoked_at = key.revoked_at or datetime.now(UTC)
        await self.session.flush()
        return key

    # People added to a project ------------------------------------------------------------------

    async def people(
        self, project_id: UUID, user_id: UUID | None = None
    ) -> list[tuple[ProjectMember, User, Membership]]:
        """The people added to the project (or only the one of the account `user_id`), with their membership."""
        return await self._people(project_id, *([] if user_id is None else [ProjectMember.user_id == user_id]))

    async def person(self, project_id: UUID, person_id: UUID) -> tuple[ProjectMember, User, Membership]:
        """Someone added to the project, named as the API names people (see `Membership.person_id`)."""
        found = await self._people(project_id, Membership.person_id == person_id)
        if not found:
            raise not_found()
        return found[0]

    async def _people(
        self, project_id: UUID, *conditions: ColumnElement[bool]
    ) -> list[tuple[ProjectMember, User, Membership]]:
        rows = await self.session.execute(
            self._people_query(project_id, *conditions).order_by(ProjectMember.created_at)
        )
        return [(person, user, membership) for person, user, membership in rows.all()]

    @staticmethod
    def _people_query(
        project_id: UUID, *conditions: ColumnElement[bool]
    ) -> Select[tuple[ProjectMember, User, Membership]]:
        return (
            select(ProjectMember, User, Membership)
            .join(User, User.id == ProjectMember.user_id)
            .join(Membership, Membership.user_id == ProjectMember.user_id)
            .where(ProjectMember.project_id == project_id, *conditions)
        )

    async def people_seen_by(
        self, identity: Identity, project: Project, window: Window
    ) -> Paged[tuple[ProjectMember, User, Membership]]:
        """A page of the project's people as `identity` sees them, first added first: a guest of a project whose
        guests do not see each other sees the team and themselves, not the other guests (nor their addresses)."""
        seen: list[ColumnElement[bool]] = []
        if identity.role is Role.GUEST and not project.guests_see_guests:
            seen = [or_(Membership.role != Role.GUEST.value, User.id == identity.user_id)]
        statement = self._people_query(project.id, *seen).order_by(ProjectMember.created_at, ProjectMember.id)
        return await page_of(self.session, statement, window, scalars=False)

    async def add_person(self, project_id: UUID, person_id: UUID) -> UUID:
        """Someone of this organization, named as the API names people (see `Membership.person_id`). Returns their
        account's id. Anyone else, another organization's user as much as no one, is a field of the body refused (a
        400, as an unknown assignee is): the project in the address was found."""
        membership = await MembershipService(session=self.session).of_person(person_id)
        if membership is None:
            message = _("No one in this organization has this ID.")
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("userId", message)])
        await self._add(project_id, membership.user_id)
        return membership.user_id

    async def _add(self, project_id: UUID, user_id: UUID) -> None:
        already = await self.session.scalar(
            select(ProjectMember.id).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id),
        )
        if already is None:
            self.session.add(ProjectMember(project_id=project_id, user_id=user_id))
            await self.session.flush()

    async def add_by_email(self, actor: Identity, project_id: UUID, email: str) -> tuple[UUID, str | None]:
        """BugHerd's "add guest": a person of the organization is added as they are; anyone else is invited
        as a guest and added at once (they see the project once they accept). Returns the person's id, and
        the invitation's token when one was made (it is e-mailed to them too)."""
        user_id = await self.session.scalar(
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == normalize_email(email)),
        )
        token = None
        if user_id is None:
            memberships = MembershipService(session=self.session)
            security = await OrganizationService(self.session).security()
            invited, token = await memberships.invite(actor, MemberInvite(email=email, role=Role.GUEST), security)
            user_id = (await memberships.get(invited.membership_id)).user_id
        await self._add(project_id, user_id)
        return user_id, token

    async def remove_person(self, actor: Identity, project_id: UUID, person_id: UUID) -> dict[UUID, MovedReports]:
        """Someone off the project, named as the API names people (see `Membership.person_id`); a guest is
        unassigned the reports they see no more, which are returned by project (webhooks hear of each)."""
        await MembershipService(session=self.session).held(Membership.person_id == person_id)
        person, user, _membership = await self.person(project_id, person_id)
        await self.session.delete(person)
        await self.session.flush()
        return await ReportService(session=self.session).unassign_unseen(user.id, actor)


def _new_project(data: ProjectCreate, prefix: str, widget_config: dict[str, Any]) -> Project:
    return Project(
        name=data.name,
        site_url=data.site_url or None,
        tracking_prefix=prefix,
        allowed_origins=_stored_origins(data.allowed_origins),
        is_active=data.is_active,
        is_public=data.is_public,
        guests_see_guests=data.guests_see_guests,
        require_origin=data.require_origin,
        rate_limit_per_minute=data.rate_limit_per_minute or get_settings().default_project_rate_limit,
        widget_config=widget_config,
    )


# One colour under two names: BugPin's configuration calls it brandingPrimaryColor, Lantern's widget draws
# with primaryColor. Stored twice, so that each reader finds it where it looks; always the same.
PRIMARY_COLOR_NAMES = ("primaryColor", "brandingPrimaryColor")


def _changed_widget_config(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """The stored configuration with the sent fields over it, validated whole; the main colour sent under
    either name is the colour under both."""
    merged = {**stored, **sent}
    if isinstance(sent.get("features"), dict):
        merged["features"] = {**stored.get("features", {}), **sent["features"]}
    validated = convert_body({"widgetConfig": merged}, WidgetConfigChange).widget_config
    builtins: dict[str, Any] = msgspec.to_builtins(validated)
    colors = [builtins[name] for name in PRIMARY_COLOR_NAMES if name in sent]
    if len({color.lower() for color in colors}) > 1:
        message = _("Must be the same as primaryColor: both name the widget's main colour.")
        raise LanternError(
            ErrorCode.VALIDATION_ERROR, details=[FieldError("widgetConfig.brandingPrimaryColor", message)]
        )
    if colors:
        builtins.update(dict.fromkeys(PRIMARY_COLOR_NAMES, colors[0]))
    return builtins


def _stored_origins(origins: Iterable[str]) -> list[str]:
    """The entries as they are matched, each once: a host's and a scheme's letters in any case, and a trailing slash,
    name the same site (`https://Shop.Example.com/` is `https://shop.example.com`), which was kept twice as sent."""
    return list(dict.fromkeys(entry.lower().rstrip("/") for entry in origins))


def _check_allowed_origins(origins: Iterable[str]) -> None:
    """Refuse the entries that would admit sites anyone can make (see `allowed_origin_refusal`), each named."""
    refused = [
        FieldError(f"allowedOrigins[{index}]", reason)
        for index, entry in enumerate(origins)
        if (reason := allowed_origin_refusal(entry)) is not None
    ]
    if refused:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=refused)
