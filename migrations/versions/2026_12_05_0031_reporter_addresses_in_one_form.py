"""Reports keep their reporter's address in the one form accounts' addresses are kept in (0028): compatibility-
normalised, lower-cased, the domain's xn-- labels in the letters they stand for. A guest's own reports are found by
it: one a visitor typed in full-width letters, or with the domain's xn-- form, was kept as typed and was not
theirs to them. An address whose normalised form is longer than the column stays as typed, as new reports keep it.

The backfill reads the reports that have an address, in batches, with every tenant's rows let through for the
migration (`rls.every_tenants_rows`). The normalisation is written out here as this revision has it
(app/domain/accounts/services.py's `normalize_email`, audience.py's `reporter_address`): a later change of that
needs a migration of its own. Downgrading keeps the addresses as they now are, which the former code read as well.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0031'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
ADDRESS_LENGTH = 320

_REPORT = sa.table('report', sa.column('id'), sa.column('reporter_email', sa.String()))
_LABEL_SEPARATOR = re.compile('[.\u3002]')


def _label(label: str) -> str:
    if not label.startswith('xn--'):
        return label
    try:
        return label.encode('ascii').decode('idna')
    except UnicodeError:
        return label


def _normalized(email: str) -> str:
    local, at, domain = unicodedata.normalize('NFKC', email.strip()).rpartition('@')
    if not at:
        return domain.lower()
    folded = unicodedata.normalize('NFKC', domain.strip()).lower()
    return f"{local.lower()}@{'.'.join(_label(label) for label in _LABEL_SEPARATOR.split(folded))}"


def upgrade() -> None:
    bind = op.get_bind()
    with rls.every_tenants_rows(bind, 'report'):  # the system scope reads every report but may write none
        _normalize_reporters(bind)


def _normalize_reporters(bind: sa.Connection) -> None:
    after = None
    while True:
        batch = (
            sa.select(_REPORT.c.id, _REPORT.c.reporter_email)
            .where(_REPORT.c.reporter_email.is_not(None))
            .order_by(_REPORT.c.id)
            .limit(BATCH)
        )
        rows = bind.execute(batch if after is None else batch.where(_REPORT.c.id > after)).all()
        if not rows:
            return
        changes = []
        for row in rows:
            address = _normalized(row.reporter_email)
            if address != row.reporter_email and len(address) <= ADDRESS_LENGTH:
                changes.append({'report_id': row.id, 'address': address})
        if changes:
            bind.execute(
                sa.update(_REPORT)
                .where(_REPORT.c.id == sa.bindparam('report_id'))
                .values(reporter_email=sa.bindparam('address')),
                changes,
            )
        after = rows[-1].id


def downgrade() -> None:
    """Nothing to undo: normalised addresses are addresses the former code kept."""
