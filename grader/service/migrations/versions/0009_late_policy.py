"""Late policy: each assignment's close, penalty, Canvas link and time zone (course.yaml), and
the extensions a TA granted (``grader extend``, the student's page), which course.yaml's
changes keep.

Revision ID: 0009_late_policy
Revises: 0007_extensions
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_late_policy"
down_revision = "0007_extensions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as table:
        table.add_column(sa.Column("granted_extensions", sa.JSON(), nullable=False, server_default="{}"))
        table.add_column(sa.Column("policy", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("assignments") as table:
        table.drop_column("policy")
        table.drop_column("granted_extensions")
