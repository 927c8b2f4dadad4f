"""dashboard settings (filters, time range, refresh); pipeline edits with version history

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cluster.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dashboards") as batch:
        batch.add_column(sa.Column("settings", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))
    with op.batch_alter_table("pipelines") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False,
                                   server_default=sa.text("1")))
        batch.add_column(sa.Column("last_job_id", sa.Uuid(), nullable=True))
    op.create_table(
        "pipeline_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("pipeline_id", sa.Uuid(), sa.ForeignKey("pipelines.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"),
                  nullable=True),
        sa.UniqueConstraint("pipeline_id", "version", name="uq_pipeline_versions_version"),
    )
    # Every existing pipeline's spec is its version 1.
    op.execute("INSERT INTO pipeline_versions (pipeline_id, version, name, spec, created_at, "
               "created_by) SELECT id, 1, name, spec, created_at, owner_id FROM pipelines")


def downgrade() -> None:
    op.drop_table("pipeline_versions")
    with op.batch_alter_table("pipelines") as batch:
        batch.drop_column("last_job_id")
        batch.drop_column("version")
    with op.batch_alter_table("dashboards") as batch:
        batch.drop_column("settings")
