"""Regrade requests: a student's request that a TA grade a part again, its reason, and the
TA's answer (new points, written as a hand grade, or kept) with a reply. At most one open
request per student and part: a unique index over the open ones.

Revision ID: 0011_regrade_requests
Revises: 0010_login_links
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_regrade_requests"
down_revision = "0010_login_links"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        "regrade_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("points_then", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("hand_version", sa.Integer(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_regrade_requests_assignment_id", "regrade_requests", ["assignment_id"])
    op.create_index("ix_regrade_requests_student_id", "regrade_requests", ["student_id"])
    op.create_index("ix_regrade_requests_status", "regrade_requests", ["status"])
    op.create_index(
        "uq_regrade_requests_open",
        "regrade_requests",
        ["assignment_id", "student_id", "part"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("uq_regrade_requests_open", table_name="regrade_requests")
    op.drop_index("ix_regrade_requests_status", table_name="regrade_requests")
    op.drop_index("ix_regrade_requests_student_id", table_name="regrade_requests")
    op.drop_index("ix_regrade_requests_assignment_id", table_name="regrade_requests")
    op.drop_table("regrade_requests")
