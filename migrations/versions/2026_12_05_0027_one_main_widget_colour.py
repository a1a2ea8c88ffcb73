"""The widget's main colour is one value under two names (BugPin's `brandingPrimaryColor`, the widget's
`primaryColor`): a project where a change of one left the other keeps `primaryColor`, the colour its widget
was drawn in and the admin UI showed, under both. Downgrading keeps them equal, which the former code read
as well.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROJECT = sa.table('project', sa.column('id'), sa.column('widget_config', advanced_alchemy.types.JsonB))


def upgrade() -> None:
    bind = op.get_bind()
    with rls.every_tenants_rows(bind, 'project'):  # the system scope reads every project but may write none
        for project_id, config in bind.execute(sa.select(_PROJECT.c.id, _PROJECT.c.widget_config)).all():
            color = (config or {}).get('primaryColor')
            if color is not None and config.get('brandingPrimaryColor') != color:
                changed = {**config, 'brandingPrimaryColor': color}
                bind.execute(sa.update(_PROJECT).where(_PROJECT.c.id == project_id).values(widget_config=changed))


def downgrade() -> None:
    """Nothing to undo: equal colours are colours the former code took."""
