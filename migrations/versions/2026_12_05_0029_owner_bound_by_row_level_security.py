"""What migrations 0016 and 0018 were to write, written where row-level security kept them from it.

Both changed every organization's rows as the tables' owner, taking it that row-level security does not bind the
owner; the tables FORCE it, so on PostgreSQL with an owner that is not a superuser (as production's is) they
changed no row:
- 0018 left every project's last column number (BugHerd's `status_id`) at 5, so a project's next custom column
  took 6 again: the number of a column it has (the column could not be added) or of one deleted since the upgrade.
  Each project now keeps at least the highest number its columns hold. A column deleted before 0018 left no trace
  of its number (its reports went back to feedback without it, and the history names columns, not numbers), and
  neither did one deleted since whose number was given again: those cannot be kept.
- 0016 left every invitation not opening its account, so a person invited before it, whose account the invitation
  opened, was told the account had been opened elsewhere and could not choose a password. The invitation that
  opened a person's account is marked as 0016 meant to: the earliest of an account without a password, made with
  the account (in the same request, moments after it; an invitation made later, once an earlier one was withdrawn,
  did not open it and must not choose its password).

A superuser owner's install (or SQLite's, which has no row-level security) had both done already: nothing changes.
Downgrading keeps the values, which the former code reads.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from tenants import rls

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUMBERS_GIVEN = """
UPDATE project SET last_column_status_id = held.highest
FROM (SELECT project_id, MAX(status_id) AS highest FROM project_column GROUP BY project_id) AS held
WHERE held.project_id = project.id AND held.highest > project.last_column_status_id
"""

OPENED_ACCOUNTS = """
UPDATE invitation SET opens_account = TRUE
FROM user_account
WHERE user_account.id = invitation.user_id AND user_account.password_hash IS NULL
AND NOT invitation.opens_account
AND invitation.created_at < user_account.created_at + INTERVAL '1 minute'
AND NOT EXISTS (
    SELECT 1 FROM invitation AS earlier
    WHERE earlier.user_id = invitation.user_id AND earlier.created_at < invitation.created_at
)
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    with rls.every_tenants_rows(bind, 'project', 'project_column', 'invitation'):
        op.execute(NUMBERS_GIVEN)
        op.execute(OPENED_ACCOUNTS)


def downgrade() -> None:
    """Nothing to undo: the former code reads these values as well."""
