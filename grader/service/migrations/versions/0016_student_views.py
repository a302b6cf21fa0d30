"""Each verdict's report as its student sees it with every part shown, made by the pool worker
that graded it, so that a student's poll reads it with no report rebuilt (NULL: made from the
report when read, as before).

Revision ID: 0016_student_views
Revises: 0015_similarity_results
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_student_views"
down_revision = "0015_similarity_results"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.add_column(sa.Column("shown", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.drop_column("shown")
