"""Extensions: each assignment's per-student dues (course.yaml's ``extensions:``), kept with its
due so every server, page, export and LMS score reads the same.

Revision ID: 0007_extensions
Revises: 0006_course_file_versions
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_extensions"
down_revision = "0006_course_file_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as table:
        table.add_column(sa.Column("extensions", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("assignments") as table:
        table.drop_column("extensions")
