"""job queue (priority, attempts, retries, timeouts, runner, heartbeat), job logs,
schedules, job concurrency limits

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cluster.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=True),
        sa.Column("concurrency_policy", sa.String(16), nullable=False),
        sa.Column("missed_policy", sa.String(16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("retry_backoff_s", sa.Float(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("next_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_job_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_schedules_next_run_at", "schedules", ["next_run_at"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False,
                                   server_default=sa.text("0")))
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False,
                                   server_default=sa.text("0")))
        batch.add_column(sa.Column("max_attempts", sa.Integer(), nullable=False,
                                   server_default=sa.text("1")))
        batch.add_column(sa.Column("retry_backoff_s", sa.Float(), nullable=False,
                                   server_default=sa.text("2.0")))
        batch.add_column(sa.Column("timeout_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("not_before", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("runner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("schedule_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("scheduled_for", UTCDateTime(), nullable=True))
        batch.create_foreign_key("fk_jobs_schedule_id", "schedules", ["schedule_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_jobs_schedule_id", ["schedule_id"])
        batch.create_unique_constraint("uq_jobs_schedule_run", ["schedule_id", "scheduled_for"])
    op.create_table(
        "job_logs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Uuid(), sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("job_id", "seq", name="uq_job_logs_seq"),
    )
    op.create_table(
        "job_limits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("max_running", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("scope", "key", name="uq_job_limits_scope_key"),
    )


def downgrade() -> None:
    op.drop_table("job_limits")
    op.drop_table("job_logs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_schedule_run", type_="unique")
        batch.drop_index("ix_jobs_schedule_id")
        batch.drop_constraint("fk_jobs_schedule_id", type_="foreignkey")
        for column in ("scheduled_for", "schedule_id", "heartbeat_at", "runner", "attempts",
                       "not_before", "timeout_s", "retry_backoff_s", "max_attempts", "attempt",
                       "priority"):
            batch.drop_column(column)
    op.drop_index("ix_schedules_next_run_at", "schedules")
    op.drop_table("schedules")
