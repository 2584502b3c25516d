"""High availability (issue 18): the leadership row of each Lease (term, holder, the leader's API address) and
the term on every playbook run and journal row, for fencing (docs/ha.md).

Old runs and journal rows get term 0: whatever leader holds a term (>= 1) may take them over.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leadership",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leadership")),
    )
    for table in ("playbook_runs", "step_journal"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("term", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    for table in ("step_journal", "playbook_runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("term")
    op.drop_table("leadership")
