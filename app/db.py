"""The metadata of every model, for Alembic and the schema tests."""

from advanced_alchemy.base import orm_registry

from app.domain.accounts.models import PasswordReset, User
from app.domain.emails.models import OutgoingEmail
from app.domain.integrations.models import GitHubConnection, GitHubIssue
from app.domain.organizations.models import Invitation, Membership, Organization
from app.domain.projects.models import Project, ProjectKey, ProjectMember, ProjectPrefix
from app.domain.reports.models import (
    Attachment,
    Comment,
    ProjectColumn,
    ProjectCounter,
    Report,
    ReportChange,
    Screenshot,
)
from app.domain.tokens.models import ApiToken
from app.domain.transfer.models import OrganizationExport
from app.domain.webhooks.models import Webhook, WebhookDelivery

metadata = orm_registry.metadata

__all__ = [
    "ApiToken",
    "Attachment",
    "Comment",
    "GitHubConnection",
    "GitHubIssue",
    "Invitation",
    "Membership",
    "Organization",
    "OrganizationExport",
    "OutgoingEmail",
    "PasswordReset",
    "Project",
    "ProjectColumn",
    "ProjectCounter",
    "ProjectKey",
    "ProjectMember",
    "ProjectPrefix",
    "Report",
    "ReportChange",
    "Screenshot",
    "User",
    "Webhook",
    "WebhookDelivery",
    "metadata",
]
