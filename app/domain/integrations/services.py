"""The GitHub integration's rules: a project's connection, and one issue per report, made by the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain.integrations import github
from app.domain.integrations.models import GITHUB_API_URL, GitHubConnection, GitHubIssue, IssueStatus
from app.domain.integrations.schemas import GitHubSetup, check_api_url
from app.domain.organizations.models import Organization
from app.domain.projects.models import Project
from app.domain.reports.models import Report
from app.lib import outbound, retries
from app.lib.conditional import Precondition
from app.lib.errors import ErrorCode, FieldError, LanternError, not_found
from app.lib.i18n import gettext as _
from app.lib.i18n import use_locale
from app.lib.queue import enqueue_after_commit
from app.lib.sealing import seal, unseal
from app.settings import get_settings
from tenants.service import TenantRepository, TenantService

logger = structlog.get_logger()

ISSUE_JOB = "create_github_issue"
# GitHub's own trouble passes within hours: five attempts (10 s, 1 min, 6 min, 36 min with the default).
MAX_ATTEMPTS = 5
TOKEN_HINT_LENGTH = 4


class GitHubConnections(TenantService[GitHubConnection]):
    class Repo(TenantRepository[GitHubConnection]):
        model_type = GitHubConnection

    repository_type = Repo

    async def of_project(self, project_id: UUID) -> GitHubConnection:
        """The project's connection; an unconnected project, or another organization's, is not found."""
        connection = await self.get_one_or_none(GitHubConnection.project_id == project_id)
        if connection is None:
            raise not_found()
        return connection

    async def connect(
        self,
        project_id: UUID,
        setup: GitHubSetup,
        precondition: Precondition[GitHubConnection | None] | None = None,
    ) -> tuple[GitHubConnection, bool]:
        """Connect the project, or change its connection (a token left out keeps the stored one, for the same
        API address): the connection, and whether it is new (a creation answers otherwise than a change).

        The connection is held, and `precondition` (a request's `If-Match`, or `If-None-Match: *` to make one only)
        awaited with it, or with None when there is none. Of two requests making it at once, the database keeps
        the first (one per project); the second then changes it, under its conditions, as a request sent after it
        would (it was refused, a 500)."""
        if await self.session.scalar(select(Project.id).where(Project.id == project_id)) is None:
            raise not_found()
        api_url = (setup.api_url or GITHUB_API_URL).rstrip("/")
        check_api_url(api_url)
        connection = await self.hold_row_if_any(GitHubConnection.project_id == project_id)
        if precondition is not None:
            await precondition(connection)
        if connection is None:
            if setup.token is None:
                message = _("A token is needed to connect a project to GitHub.")
                raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("token", message)])
            try:
                async with self.session.begin_nested():
                    made = _configured(GitHubConnection(project_id=project_id), setup, api_url)
                    self.session.add(made)
                    await self.session.flush()
            except IntegrityError:
                connection = await self.hold_row(GitHubConnection.project_id == project_id)  # made meanwhile
                if precondition is not None:
                    await precondition(connection)
            else:
                return made, True
        if setup.token is None and outbound.credentials_removed(connection.api_url) != api_url:
            # The stored token goes only where it was given for: another address could be anyone's server.
            message = _("Enter the token again to use it with another GitHub address.")
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("token", message)])
        _configured(connection, setup, api_url)
        await self.session.flush()
        return connection, False

    async def disconnect(self, project_id: UUID, precondition: Precondition[GitHubConnection] | None = None) -> None:
        """The project's connection gone, held first: `precondition` is awaited then."""
        connection = await self.hold_row(GitHubConnection.project_id == project_id, deleting=True)
        if precondition is not None:
            await precondition(connection)
        await self.session.delete(connection)
        await self.session.flush()


def _configured(connection: GitHubConnection, setup: GitHubSetup, api_url: str) -> GitHubConnection:
    """The connection as `setup` sets it up, at `api_url` (`setup`'s, normalized); a token left out keeps the
    stored one."""
    connection.repository = setup.repository
    connection.api_url = api_url
    connection.labels = list(dict.fromkeys(setup.labels))
    if setup.token is not None:
        token = setup.token.strip()  # a line end pasted with it made every call to GitHub a 401
        connection.token_sealed = seal(token)
        connection.token_hint = "…" + token[-TOKEN_HINT_LENGTH:]
    return connection


class GitHubIssues(TenantService[GitHubIssue]):
    class Repo(TenantRepository[GitHubIssue]):
        model_type = GitHubIssue

    repository_type = Repo

    async def of_report(self, report_id: UUID) -> GitHubIssue:
        issue = await self.get_one_or_none(GitHubIssue.report_id == report_id)
        if issue is None:
            raise not_found()
        return issue

    async def request(self, report: Report) -> GitHubIssue:
        """Ask the worker to make the report's issue: once per report, again only after a failure."""
        connection = await GitHubConnections(session=self.session).get_one_or_none(
            GitHubConnection.project_id == report.project_id
        )
        if connection is None:
            raise LanternError(ErrorCode.CONFLICT, _("The report's project is not connected to GitHub."))
        issue = await self.get_one_or_none(GitHubIssue.report_id == report.id)
        if issue is not None and issue.status != IssueStatus.FAILED:
            return issue  # made, or being made: never a second issue for one report
        if issue is None:
            issue = GitHubIssue(report_id=report.id)
            self.session.add(issue)
        issue.repository = connection.repository
        issue.status, issue.attempts, issue.error = IssueStatus.PENDING.value, 0, None
        issue.next_attempt_at = datetime.now(UTC)
        await self.session.flush()
        enqueue_after_commit(self.session, ISSUE_JOB, issue.job_id, issue_id=str(issue.id))
        return issue

    async def attempt(self, issue_id: UUID) -> str:
        """Make the issue if it is due and nobody else is making it; record the outcome, and queue the retry
        a passing trouble earns. Returns the status."""
        claimed = await retries.claim(  # commits: nothing held open while GitHub is called
            self.session,
            select(GitHubIssue, Report, Organization, GitHubConnection)
            .join(Report, Report.id == GitHubIssue.report_id)
            .join(Organization, Organization.id == GitHubIssue.organization_id)
            .outerjoin(GitHubConnection, GitHubConnection.project_id == Report.project_id)
            .where(GitHubIssue.id == issue_id),
        )
        if claimed is None:
            return "not due"
        issue, report, organization, connection = claimed
        token = unseal(connection.token_sealed) if connection is not None else None
        failure: tuple[str, dict[str, object]] | None
        if connection is None or token is None:
            refusal = github.Refusal.NOT_CONNECTED if connection is None else github.Refusal.TOKEN_UNREADABLE
            failure = self._fail(issue, refusal.value)
        else:
            with use_locale(organization.default_locale):
                issue_title, issue_body = github.title(report), github.body(report)
            issue.repository = connection.repository
            failure = self._record(issue, await github.create_issue(connection, token, issue_title, issue_body))
        made = issue.url  # read now: a failed commit leaves nothing loaded
        if not await retries.recorded(self.session):
            # An issue GitHub made names a report that is no more: the log says where, for someone to close it.
            logger.info("github issue dropped: its report was deleted meanwhile", issue_id=str(issue_id), url=made)
            return retries.DROPPED
        if failure is not None:  # an operator reads why in the log too; the token is never in it
            event, details = failure
            logger.warning(event, issue_id=str(issue.id), attempts=issue.attempts, error=issue.error, **details)
        return issue.status

    def _record(self, issue: GitHubIssue, answer: outbound.Answer) -> tuple[str, dict[str, object]] | None:
        """Write GitHub's answer on the issue, and queue the retry a passing trouble earns once committed. Returns
        what the log is to say of a failure, its event and details, for once the answer is recorded."""
        made = github.created(answer)
        if made is not None:
            issue.status, issue.number, issue.url = IssueStatus.CREATED.value, made.number, made.url
            issue.error, issue.next_attempt_at = None, None
            return None
        if github.worth_retrying(answer) and issue.attempts < MAX_ATTEMPTS:
            delay = retries.retry_delay(
                issue.attempts, get_settings().outbound_retry_seconds, asked=github.asked_wait(answer)
            )
            issue.error = answer.error or github.refusal(answer)
            issue.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
            enqueue_after_commit(self.session, ISSUE_JOB, issue.job_id, defer_seconds=delay, issue_id=str(issue.id))
            return "github issue not created, to retry", {"retry_in_seconds": delay}
        return self._fail(issue, answer.error or github.refusal(answer))

    @staticmethod
    def _fail(issue: GitHubIssue, error: str) -> tuple[str, dict[str, object]]:
        issue.status, issue.error, issue.next_attempt_at = IssueStatus.FAILED.value, error, None
        return "github issue failed", {}
