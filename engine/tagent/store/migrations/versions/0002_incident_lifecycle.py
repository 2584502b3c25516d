"""Incident lifecycle (issue 14): the quiet sweep's index, deferred decisions, reopen counts, once-only
timeline entries (`ref`), and the outbox of work done after a lifecycle transaction commits.

Old rows stay readable: `last_seen_at` is filled from the newest timeline entry (or `opened_at`), `ref` is
NULL for old entries (NULLs never collide in a unique index).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retry_decision_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reopened", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_incidents_status_last_seen_at", ["status", "last_seen_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_retry_at"), ["retry_at"], unique=False)
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.alter_column("reopened", server_default=None)
    op.execute("UPDATE incidents SET last_seen_at = COALESCE((SELECT MAX(t.at) FROM timeline_entries t "
               "WHERE t.incident_id = incidents.id), opened_at)")
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint("uq_timeline_entries_incident_id_ref", ["incident_id", "ref"])
    op.create_table(
        "incident_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_incident_outbox_key")),
    )
    with op.batch_alter_table("incident_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_outbox_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_outbox_done_at"), ["done_at"], unique=False)


def downgrade() -> None:
    op.drop_table("incident_outbox")
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_timeline_entries_incident_id_ref", type_="unique")
        batch_op.drop_column("ref")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_retry_at"))
        batch_op.drop_index("ix_incidents_status_last_seen_at")
        batch_op.drop_column("reopened")
        batch_op.drop_column("retry_decision_id")
        batch_op.drop_column("retry_at")
        batch_op.drop_column("last_seen_at")
