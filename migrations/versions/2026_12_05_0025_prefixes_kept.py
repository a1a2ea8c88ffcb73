"""Projects keep their tracking prefixes: each project's current prefix, and every former one its reports' tracking
IDs carry (a rename left them as they were), become its own (project_prefix, migration 0024); those reports then
carry the current prefix, as reports numbered since the rename do, and their former IDs find them still.

A former prefix that another project has taken since stays that project's, as does one that two renamed projects
both gave IDs under, to the one that gave the latest: those IDs were the last handed out, and the trial's case
(RLT renamed RLX, a new project made RLT and gave an RLT-1 of its own) keeps answering RLT-1 as it did. Downgrading
keeps the reports' IDs under their projects' current prefixes, which the former code reads as well.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op
from uuid_utils.compat import uuid7

from tenants import rls

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROJECT = sa.table(
    'project', sa.column('id', GUID()), sa.column('organization_id', GUID()), sa.column('tracking_prefix', sa.String())
)
_REPORT = sa.table(
    'report',
    sa.column('project_id', GUID()),
    sa.column('number', sa.Integer()),
    sa.column('tracking_id', sa.String()),
    sa.column('created_at', DateTimeUTC()),
)
_PREFIX = sa.table(
    'project_prefix',
    sa.column('id', GUID()),
    sa.column('project_id', GUID()),
    sa.column('prefix', sa.String()),
    sa.column('organization_id', GUID()),
    sa.column('created_at', DateTimeUTC()),
    sa.column('updated_at', DateTimeUTC()),
)


def upgrade() -> None:
    bind = op.get_bind()
    with rls.every_tenants_rows(bind, 'project', 'report', 'project_prefix'):
        _keep_prefixes(bind, postgres=bind.dialect.name == 'postgresql')


def _keep_prefixes(bind: sa.Connection, *, postgres: bool) -> None:
    now = datetime.now(UTC)
    kept: dict[tuple[object, str], object] = {}
    for project in bind.execute(sa.select(_PROJECT.c.id, _PROJECT.c.organization_id, _PROJECT.c.tracking_prefix)):
        kept[project.organization_id, project.tracking_prefix] = project.id
    renamed = set()
    for former in _former_prefixes(bind, postgres=postgres):
        renamed.add(former.project_id)
        kept.setdefault((former.organization_id, former.prefix), former.project_id)
    rows = [
        {'id': uuid7(), 'project_id': project_id, 'prefix': prefix, 'organization_id': organization_id,
         'created_at': now, 'updated_at': now}
        for (organization_id, prefix), project_id in kept.items()
    ]  # fmt: skip
    if rows:
        bind.execute(sa.insert(_PREFIX), rows)
    for project_id in renamed:
        current = sa.select(_PROJECT.c.tracking_prefix).where(_PROJECT.c.id == project_id).scalar_subquery()
        bind.execute(
            sa.update(_REPORT)
            .where(_REPORT.c.project_id == project_id, _REPORT.c.number.is_not(None))
            .values(tracking_id=current + '-' + sa.cast(_REPORT.c.number, sa.String()))
        )


def _former_prefixes(bind: sa.Connection, *, postgres: bool) -> list[sa.Row[tuple[object, object, str]]]:
    """(project, organization, prefix) of every prefix a project's reports carry other than its current one, the
    one that gave the latest such ID first."""
    tracking_id = _REPORT.c.tracking_id
    if postgres:
        prefix = sa.func.split_part(tracking_id, '-', 1)
    else:
        prefix = sa.func.substr(tracking_id, 1, sa.func.instr(tracking_id, '-') - 1)
    latest = sa.func.max(_REPORT.c.created_at)
    return list(
        bind.execute(
            sa.select(_REPORT.c.project_id, _PROJECT.c.organization_id, prefix.label('prefix'))
            .join(_PROJECT, _PROJECT.c.id == _REPORT.c.project_id)
            .where(tracking_id.is_not(None), tracking_id.not_like(_PROJECT.c.tracking_prefix + '-%'))
            .group_by(_REPORT.c.project_id, _PROJECT.c.organization_id, prefix)
            .order_by(latest.desc())
        )
    )


def downgrade() -> None:
    """Nothing to undo: migration 0024's downgrade drops the prefixes, and the reports' IDs stay as they are."""
