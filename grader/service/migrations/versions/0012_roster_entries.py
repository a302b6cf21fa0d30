"""The class roster as imported (``grader users import``): each student's LMS identity
(name, e-mail, ID number, username, Canvas's ID, SIS User ID, SIS Login ID, section), read by
the Canvas and Moodle exports.

Revision ID: 0012_roster_entries
Revises: 0011_regrade_requests
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_roster_entries"
down_revision = "0011_regrade_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("roster_entries")
