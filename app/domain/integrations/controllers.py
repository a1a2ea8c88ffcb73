"""HTTP for the GitHub integration: a project's connection (its managers), and a report's issue (its team)."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.integrations import github, schemas
from app.domain.integrations.models import GitHubConnection, GitHubIssue, IssueStatus
from app.domain.integrations.services import GitHubConnections, GitHubIssues
from app.domain.reports.controllers.deps import provide_reports
from app.domain.reports.services import ReportService
from app.lib import jsonapi, outbound
from app.lib.conditional import TAGGED, require_preconditions
from app.lib.errors import ErrorCode
from app.lib.jsonapi import MEDIA_TYPE, PLAIN_DESCRIPTION
from app.lib.openapi import also_answers, documented_body, jsonapi_body, may_answer
from app.lib.schema import LOCATION, Envelope, convert_body, ok, refusals_named_as_sent
from tenants.guards import requires_manager, requires_team


async def provide_connections(db_session: NamedDependency[AsyncSession]) -> GitHubConnections:
    return GitHubConnections(session=db_session)


async def provide_issues(db_session: NamedDependency[AsyncSession]) -> GitHubIssues:
    return GitHubIssues(session=db_session)


# As the report's `githubIssue` names its issue.
CONNECTION_TYPE = "githubConnection"
ISSUE_TYPE = "githubIssue"


def connection_read(connection: GitHubConnection) -> schemas.GitHubConnectionRead:
    return schemas.GitHubConnectionRead(
        project_id=connection.project_id,
        repository=connection.repository,
        # One saved with a user before they were refused shows none: the token's header is sent instead of it.
        api_url=outbound.credentials_removed(connection.api_url),
        token_hint=connection.token_hint,
        labels=list(connection.labels),
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


def issue_read(issue: GitHubIssue) -> schemas.GitHubIssueRead:
    return schemas.GitHubIssueRead(
        report_id=issue.report_id,
        repository=issue.repository,
        status=issue.status,
        number=issue.number,
        url=issue.url,
        attempts=issue.attempts,
        error=github.error_message(issue.error) if issue.error else None,
        created_at=issue.created_at,
        updated_at=issue.updated_at,
    )


def connection_path(project_id: UUID) -> str:
    """Where a GET reads a project's connection (a PUT that makes it names it as its `Location`)."""
    return f"/api/v1/projects/{project_id}/integrations/github"


class GitHubConnectionController(Controller):
    path = "/api/v1/projects/{project_id:uuid}/integrations/github"
    tags = ["Integrations"]
    dependencies = {"connections": Provide(provide_connections)}

    @get("/", operation_id="GetGitHubConnection", etag=TAGGED, guards=[requires_team], description=PLAIN_DESCRIPTION)
    async def show(
        self,
        request: Request[Any, Any, Any],
        project_id: FromPath[UUID],
        connections: NamedDependency[GitHubConnections],
    ) -> Envelope[schemas.GitHubConnectionRead] | Response[dict[str, Any]]:
        """The repository the project's issues go to (the token shows by its last characters only)."""
        return await _answer(request, await connections.of_project(project_id))

    @put(
        "/",
        operation_id="ConnectGitHub",
        etag=TAGGED,
        guards=[requires_manager],
        status_code=HTTP_201_CREATED,
        response_headers=LOCATION,
        responses={
            HTTP_200_OK: also_answers(
                schemas.GitHubConnectionRead, "The connection, changed (the project was connected already)."
            )
        },
        operation_class=documented_body(
            {
                "application/json": schemas.GitHubSetup,
                MEDIA_TYPE: jsonapi_body(schemas.GitHubSetup, CONNECTION_TYPE, camel_only=True),
            },
            f"The connection; also as a JSON:API document's `data.attributes` (a `{CONNECTION_TYPE}`, whose id is "
            "its project's).",
        ),
    )
    async def connect(
        self,
        request: Request[Any, Any, Any],
        project_id: FromPath[UUID],
        data: JSONBody[dict[str, Any]],
        connections: NamedDependency[GitHubConnections],
    ) -> jsonapi.CreatedOrDocument[schemas.GitHubConnectionRead]:
        """Connect the project to a repository (`owner/name`) with a token that may create its issues (`201`,
        its `Location` this address); for GitHub Enterprise, `apiUrl` is the server's API
        (`https://github.example.com/api/v3`). Sent again, it changes the connection (`200`); a token left out
        keeps the stored one. `If-None-Match: *` makes it only: a project connected already is a 412."""
        sent = await jsonapi.body_as_sent(request, data, CONNECTION_TYPE, names_resource=jsonapi.same_id(project_id))
        setup = convert_body(sent, schemas.GitHubSetup, camel_only=True)
        precondition = partial(require_preconditions, request, partial(_answer, request))
        with refusals_named_as_sent(sent, schemas.GitHubSetup):  # an address Lantern does not call, no token
            connection, made = await connections.connect(project_id, setup, precondition)
        if made:
            location = connection_path(project_id)
            kind = schemas.GitHubConnectionRead
            return jsonapi.created_or_document(
                request,
                CONNECTION_TYPE,
                connection_read(connection),
                kind=kind,
                id_field="project_id",
                location=location,
            )
        changed = await _answer(request, connection)
        return changed if isinstance(changed, Response) else Response(changed, status_code=HTTP_200_OK)

    @delete("/", operation_id="DisconnectGitHub", guards=[requires_manager], status_code=HTTP_204_NO_CONTENT)
    async def disconnect(
        self,
        request: Request[Any, Any, Any],
        project_id: FromPath[UUID],
        connections: NamedDependency[GitHubConnections],
    ) -> None:
        precondition = partial(require_preconditions, request, partial(_answer, request))
        await connections.disconnect(project_id, precondition)


async def _answer(
    request: Request[Any, Any, Any], connection: GitHubConnection
) -> Envelope[schemas.GitHubConnectionRead] | Response[dict[str, Any]]:
    """A connection as its GET answers it, natively or as a JSON:API resource (a project has one at most, so its id
    is the project's): a change answers it so too, and its conditions (`If-Match`) name this answer's tag."""
    kind = schemas.GitHubConnectionRead
    read = connection_read(connection)
    return jsonapi.native_or_document(request, CONNECTION_TYPE, read, kind=kind, id_field="project_id")


class GitHubIssueController(Controller):
    path = "/api/v1/reports/{reference:str}/github-issue"
    tags = ["Integrations"]
    guards = [requires_team]
    dependencies = {"issues": Provide(provide_issues), "reports": Provide(provide_reports)}

    @get("/", operation_id="GetGitHubIssue", description=PLAIN_DESCRIPTION)
    async def show(
        self,
        request: Request[Any, Any, Any],
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        issues: NamedDependency[GitHubIssues],
    ) -> Envelope[schemas.GitHubIssueRead] | Response[dict[str, Any]]:
        """The report's issue: `pending` while the worker makes it, then `created` with its number and URL, or
        `failed` with the reason. In JSON:API mode, a `githubIssue` whose id is its report's (a report has one
        at most)."""
        report = await reports.by_reference(reference)
        read = issue_read(await issues.of_report(report.id))
        return jsonapi.native_or_document(request, ISSUE_TYPE, read, kind=schemas.GitHubIssueRead, id_field="report_id")

    @post(
        "/",
        operation_id="CreateGitHubIssue",
        status_code=HTTP_202_ACCEPTED,
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=Envelope[schemas.GitHubIssueRead], description="The report's issue, made already"
            ),
            **may_answer(ErrorCode.CONFLICT),  # the project is not connected to GitHub
        },
    )
    async def create(
        self, reference: FromPath[str], reports: NamedDependency[ReportService], issues: NamedDependency[GitHubIssues]
    ) -> Response[Envelope[schemas.GitHubIssueRead]]:
        """Make an issue from the report in its project's repository: `202` while the worker makes it, `200`
        with the issue when the report has one already (a report gets one issue; after a failure, asking
        again tries again)."""
        issue = await issues.request(await reports.by_reference(reference))
        status = HTTP_200_OK if issue.status == IssueStatus.CREATED else HTTP_202_ACCEPTED
        return Response(ok(issue_read(issue)), status_code=status)
