"""HTTP for the GitHub integration: a project's connection (its managers), and a report's issue (its team)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.integrations import github, schemas
from app.domain.integrations.models import GitHubConnection, GitHubIssue, IssueStatus
from app.domain.integrations.services import GitHubConnections, GitHubIssues
from app.domain.reports.controllers.deps import provide_reports
from app.domain.reports.services import ReportService
from app.lib.errors import ErrorCode
from app.lib.openapi import may_answer
from app.lib.schema import Envelope, ok
from tenants.guards import requires_manager, requires_team


async def provide_connections(db_session: NamedDependency[AsyncSession]) -> GitHubConnections:
    return GitHubConnections(session=db_session)


async def provide_issues(db_session: NamedDependency[AsyncSession]) -> GitHubIssues:
    return GitHubIssues(session=db_session)


def connection_read(connection: GitHubConnection) -> schemas.GitHubConnectionRead:
    return schemas.GitHubConnectionRead(
        project_id=connection.project_id,
        repository=connection.repository,
        api_url=connection.api_url,
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


class GitHubConnectionController(Controller):
    path = "/api/v1/projects/{project_id:uuid}/integrations/github"
    tags = ["Integrations"]
    dependencies = {"connections": Provide(provide_connections)}

    @get("/", operation_id="GetGitHubConnection", guards=[requires_team])
    async def show(
        self, project_id: FromPath[UUID], connections: NamedDependency[GitHubConnections]
    ) -> Envelope[schemas.GitHubConnectionRead]:
        """The repository the project's issues go to (the token shows by its last characters only)."""
        return ok(connection_read(await connections.of_project(project_id)))

    @put("/", operation_id="ConnectGitHub", guards=[requires_manager])
    async def connect(
        self,
        project_id: FromPath[UUID],
        data: JSONBody[schemas.GitHubSetup],
        connections: NamedDependency[GitHubConnections],
    ) -> Envelope[schemas.GitHubConnectionRead]:
        """Connect the project to a repository (`owner/name`) with a token that may create its issues; for
        GitHub Enterprise, `apiUrl` is the server's API (`https://github.example.com/api/v3`). Sent again,
        it changes the connection; a token left out keeps the stored one."""
        return ok(connection_read(await connections.connect(project_id, data)))

    @delete("/", operation_id="DisconnectGitHub", guards=[requires_manager], status_code=HTTP_204_NO_CONTENT)
    async def disconnect(self, project_id: FromPath[UUID], connections: NamedDependency[GitHubConnections]) -> None:
        await connections.disconnect(project_id)


class GitHubIssueController(Controller):
    path = "/api/v1/reports/{reference:str}/github-issue"
    tags = ["Integrations"]
    guards = [requires_team]
    dependencies = {"issues": Provide(provide_issues), "reports": Provide(provide_reports)}

    @get("/", operation_id="GetGitHubIssue")
    async def show(
        self, reference: FromPath[str], reports: NamedDependency[ReportService], issues: NamedDependency[GitHubIssues]
    ) -> Envelope[schemas.GitHubIssueRead]:
        """The report's issue: `pending` while the worker makes it, then `created` with its number and URL, or
        `failed` with the reason."""
        report = await reports.by_reference(reference)
        return ok(issue_read(await issues.of_report(report.id)))

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
