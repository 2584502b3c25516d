"""Many clusters (issue 18): a `cluster` column on every table that names a workload, so each event, decision,
verdict, incident, run, guard action, audit entry and inventory row says which cluster it is about.

Old rows get '' (the home cluster), which is what every record meant before there were several clusters; a
server default keeps writers that do not know the column (an older replica during a rolling update) working.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("events", "decisions", "verdicts", "incidents", "playbook_runs", "audit_log", "guard_actions",
          "workloads")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("cluster", sa.String(length=63), nullable=False, server_default=""))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("cluster")
