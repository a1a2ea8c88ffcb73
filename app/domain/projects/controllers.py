"""HTTP for projects, their widget keys and the people added to them."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post, route
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import Schema
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import User
from app.domain.organizations.models import Membership, Role
from app.domain.organizations.services import token_shown_to
from app.domain.projects import schemas
from app.domain.projects.models import Project, ProjectKey, ProjectMember
from app.domain.projects.services import ProjectService
from app.domain.reports.controllers.deps import provide_events
from app.domain.webhooks.events import WebhookEvents
from app.lib import jsonapi
from app.lib.conditional import TAGGED, require_preconditions
from app.lib.jsonapi import MEDIA_TYPE, PLAIN_DESCRIPTION
from app.lib.openapi import documented_body, either_spelling, jsonapi_body, or_wrapped, requiring_any
from app.lib.paging import PAGES_DESCRIPTION, ListAnswer, Window, page_or_document, provide_window
from app.lib.schema import (
    LOCATION,
    PATCH_OR_PUT,
    Envelope,
    by_method,
    convert_body,
    extended,
    ok,
    refusals_named_as_sent,
)
from tenants.guards import provide_identity, requires_admin_client, requires_manager
from tenants.identity import Identity

BUGHERD_PROJECT = (
    "Fields in camelCase or snake_case; also as BugHerd's `{\"project\": {...}}`, with `devurl` for the site's URL, "
    "or as a JSON:API document's `data.attributes`."
)


def _bugherd_or_ours(kind: type[msgspec.Struct]) -> Schema:
    """A project body as `from_bugherd_project` and `convert_body` read it."""
    return or_wrapped(either_spelling(kind, also={"devurl": "siteUrl"}), "project")


BUGHERD_PERSON = (
    '`userId` or `email`, in camelCase or snake_case (BugHerd\'s `{"user_id": …}`); or a JSON:API document of a '
    "`user`, named by its `relationships.user` or its `data.attributes`."
)


async def provide_project_service(db_session: NamedDependency[AsyncSession]) -> ProjectService:
    return ProjectService(session=db_session)


def key_read(key: ProjectKey) -> schemas.ProjectKeyRead:
    return schemas.ProjectKeyRead(id=key.id, key=key.key, created_at=key.created_at, revoked_at=key.revoked_at)


def project_read(project: Project, keys: list[ProjectKey], *, has_custom_columns: bool) -> schemas.ProjectRead:
    active = [key for key in keys if key.revoked_at is None]
    return schemas.ProjectRead(
        id=project.id,
        name=project.name,
        site_url=project.site_url,
        tracking_prefix=project.tracking_prefix,
        is_active=project.is_active,
        is_public=project.is_public,
        guests_see_guests=project.guests_see_guests,
        has_custom_columns=has_custom_columns,
        require_origin=project.require_origin,
        allowed_origins=list(project.allowed_origins),
        rate_limit_per_minute=project.rate_limit_per_minute,
        widget_config=msgspec.convert(project.widget_config, schemas.WidgetConfig),
        api_key=active[-1].key if active else None,
        keys=[key_read(key) for key in keys],
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


def person_read(
    person: ProjectMember, user: User, membership: Membership, viewer: Identity | None = None
) -> schemas.ProjectPersonRead:
    """Someone added to the project; until their invitation is accepted, their account's name and id are their
    own (see `Membership.person_id`). A guest `viewer` reads people's names, and only their own address, as
    everywhere else."""
    hides_address = viewer is not None and viewer.role is Role.GUEST and viewer.user_id != user.id
    return schemas.ProjectPersonRead(
        user_id=membership.person_id,
        email=None if hides_address else user.email,
        name="" if membership.invitation_pending else user.name,
        role=membership.role,
        added_at=person.created_at,
    )


class ProjectController(Controller):
    path = "/api/v1/projects"
    tags = ["Projects"]
    guards = [requires_admin_client]
    dependencies = {
        "projects": Provide(provide_project_service),
        "identity": Provide(provide_identity),
        "events": Provide(provide_events),
        "window": Provide(provide_window),
    }

    @get(
        "/",
        operation_id="ListProjects",
        description=(
            "The projects, oldest first; with `isActive=true` the active ones alone (BugHerd's \"list active "
            f'projects"), with `false` the paused ones. {PAGES_DESCRIPTION} {PLAIN_DESCRIPTION}'
        ),
    )
    async def list_projects(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        projects: NamedDependency[ProjectService],
        window: NamedDependency[Window],
        is_active: FromQuery[bool | None] = None,
    ) -> ListAnswer[schemas.ProjectRead]:
        visible = await projects.visible_page(identity, window, active=is_active)
        custom = await projects.with_custom_columns(project.id for project in visible.items)
        reads = [
            project_read(
                project, await projects.keys_seen_by(identity, project.id), has_custom_columns=project.id in custom
            )
            for project in visible.items
        ]
        return page_or_document(request, "project", reads, visible.total, window, kind=schemas.ProjectRead)

    @post(
        "/",
        operation_id="CreateProject",
        etag=TAGGED,
        status_code=HTTP_201_CREATED,
        guards=[requires_manager],
        operation_class=documented_body(
            {
                "application/json": _bugherd_or_ours(schemas.ProjectCreate),
                MEDIA_TYPE: jsonapi_body(schemas.ProjectCreate, "project", made=True),
            },
            BUGHERD_PROJECT,
        ),
        response_headers=LOCATION,
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]], projects: NamedDependency[ProjectService]
    ) -> jsonapi.CreatedOrDocument[schemas.ProjectRead]:
        """A project, with its first widget key; a field it does not know is refused."""
        sent = await jsonapi.body_as_sent(request, data, "project", other_form=schemas.from_bugherd_project)
        creation = convert_body(sent, schemas.ProjectCreate)
        with refusals_named_as_sent(sent, schemas.ProjectCreate):  # a taken prefix, a widget configuration
            project = await projects.create_project(creation)
        read = project_read(project, await projects.keys(project.id), has_custom_columns=False)  # the defaults alone
        location = f"/api/v1/projects/{project.id}"
        return jsonapi.created_or_document(request, "project", read, kind=schemas.ProjectRead, location=location)

    @get("/{project_id:uuid}", operation_id="GetProject", etag=TAGGED, description=PLAIN_DESCRIPTION)
    async def show(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
    ) -> Envelope[schemas.ProjectRead] | Response[dict[str, Any]]:
        return await _answer(request, identity, projects, await projects.visible_one(identity, project_id))

    @route(
        "/{project_id:uuid}",
        http_method=PATCH_OR_PUT,
        operation_id=by_method(PATCH="UpdateProject", PUT="PutProject"),
        etag=TAGGED,
        guards=[requires_manager],
        operation_class=documented_body(
            {
                "application/json": _bugherd_or_ours(schemas.ProjectUpdate),
                MEDIA_TYPE: jsonapi_body(schemas.ProjectUpdate, "project"),
            },
            BUGHERD_PROJECT,
        ),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        data: JSONBody[dict[str, Any]],
        projects: NamedDependency[ProjectService],
    ) -> Envelope[schemas.ProjectRead] | Response[dict[str, Any]]:
        """Change the fields sent; a field it does not know is refused. `PUT` (BugHerd's update) does the same."""
        sent = await jsonapi.body_as_sent(
            request,
            data,
            "project",
            names_resource=jsonapi.same_id(project_id),
            other_form=schemas.from_bugherd_project,
        )
        changes = convert_body(sent, schemas.ProjectUpdate)
        answer = partial(_answer, request, identity, projects)
        with refusals_named_as_sent(sent, schemas.ProjectUpdate):  # a taken prefix, a widget configuration
            project = await projects.update_project(
                project_id, changes, partial(require_preconditions, request, answer)
            )
        return await answer(project)

    @delete(
        "/{project_id:uuid}", operation_id="DeleteProject", status_code=HTTP_204_NO_CONTENT, guards=[requires_manager]
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
    ) -> None:
        answer = partial(_answer, request, identity, projects)
        await projects.remove(project_id, partial(require_preconditions, request, answer))

    @get(
        "/{project_id:uuid}/keys",
        operation_id="ListProjectKeys",
        guards=[requires_manager],
        description=f"The project's widget keys, oldest first. {PAGES_DESCRIPTION} {PLAIN_DESCRIPTION}",
    )
    async def list_keys(
        self,
        request: Request[Any, Any, Any],
        project_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
        window: NamedDependency[Window],
    ) -> ListAnswer[schemas.ProjectKeyRead]:
        await projects.get(project_id)
        found = await projects.key_page(project_id, window)
        reads = [key_read(key) for key in found.items]
        return page_or_document(request, "projectKey", reads, found.total, window, kind=schemas.ProjectKeyRead)

    @post(
        "/{project_id:uuid}/keys",
        operation_id="CreateProjectKey",
        status_code=HTTP_201_CREATED,
        guards=[requires_manager],
    )
    async def create_key(
        self, project_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> Envelope[schemas.ProjectKeyRead]:
        await projects.get(project_id)
        return ok(key_read(await projects.create_key(project_id)))

    @delete(
        "/{project_id:uuid}/keys/{key_id:uuid}",
        operation_id="RevokeProjectKey",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_manager],
    )
    async def revoke_key(
        self, project_id: FromPath[UUID], key_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> None:
        await projects.revoke_key(project_id, key_id)

    @get(
        "/{project_id:uuid}/members",
        operation_id="ListProjectMembers",
        description=f"The project's people, first added first. {PAGES_DESCRIPTION} {PLAIN_DESCRIPTION}",
    )
    async def list_people(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
        window: NamedDependency[Window],
    ) -> ListAnswer[schemas.ProjectPersonRead]:
        project = await projects.visible_one(identity, project_id)
        found = await projects.people_seen_by(identity, project, window)
        reads = [person_read(*entry, identity) for entry in found.items]
        kind = schemas.ProjectPersonRead
        return page_or_document(request, "user", reads, found.total, window, kind=kind, id_field="user_id")

    @post(
        "/{project_id:uuid}/members",
        operation_id="AddProjectMember",
        status_code=HTTP_201_CREATED,
        guards=[requires_manager],
        operation_class=documented_body(
            {
                "application/json": requiring_any(
                    either_spelling(schemas.ProjectPersonAdd), "userId", "user_id", "email"
                ),
                MEDIA_TYPE: jsonapi_body(schemas.ProjectPersonAdd, "user", "user", made=True),
            },
            BUGHERD_PERSON,
        ),
    )
    async def add_person(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        data: JSONBody[dict[str, Any]],
        projects: NamedDependency[ProjectService],
    ) -> Envelope[schemas.ProjectPersonAdded] | Response[dict[str, Any]]:
        """Add someone of the organization by `userId`; or anyone by `email`, as BugHerd adds a guest: a
        person not in the organization yet is invited as a guest (the answer carries the invitation's token, to a
        signed-in person). As a JSON:API document, a `user` whose `relationships.user` names them, or whose
        attributes do."""
        sent = await jsonapi.body_as_sent(request, data, "user")
        person = convert_body(sent, schemas.ProjectPersonAdd)
        await projects.get(project_id)
        with refusals_named_as_sent(sent, schemas.ProjectPersonAdd):  # an id of no one here, as `user_id` too
            if person.user_id is not None:
                user_id, token = await projects.add_person(project_id, person.user_id), None
            else:
                assert person.email is not None  # noqa: S101 - ProjectPersonAdd takes one of the two
                user_id, token = await projects.add_by_email(identity, project_id, person.email)
        added = person_read(*(await projects.people(project_id, user_id))[0])
        read = extended(added, schemas.ProjectPersonAdded, invitation_token=token_shown_to(identity, token))
        return jsonapi.native_or_document(
            request, "user", read, kind=schemas.ProjectPersonAdded, id_field="user_id", made=True
        )

    @delete(
        "/{project_id:uuid}/members/{user_id:uuid}",
        operation_id="RemoveProjectMember",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_manager],
    )
    async def remove_person(
        self,
        *,
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        user_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
        events: NamedDependency[WebhookEvents],
    ) -> None:
        """Someone off the project; a guest is unassigned the reports they see no more, each a `report.updated`."""
        await events.unassigned(await projects.remove_person(identity, project_id, user_id))


async def _answer(
    request: Request[Any, Any, Any], identity: Identity, projects: ProjectService, project: Project
) -> Envelope[schemas.ProjectRead] | Response[dict[str, Any]]:
    """A project as its GET answers `identity`, natively or as a JSON:API document: a change answers it so too,
    and its conditions (`If-Match`) name this answer's tag."""
    custom = await projects.with_custom_columns([project.id])
    keys = await projects.keys_seen_by(identity, project.id)
    read = project_read(project, keys, has_custom_columns=project.id in custom)
    return jsonapi.native_or_document(request, "project", read, kind=schemas.ProjectRead)
