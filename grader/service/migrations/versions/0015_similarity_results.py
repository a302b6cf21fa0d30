"""The similar sheets of each assignment (issue 63), computed in the background after the
deadline and again after late hand-ins: the page as computed, when, from how many hand-ins
and which (the hand-ins' digest), and when a TA last asked to compute it again.

Revision ID: 0015_similarity_results
Revises: 0013_unsent_links
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_similarity_results"
down_revision = "0014_json_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similarity_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"), nullable=False),
        sa.Column("handins_key", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("handins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("graded", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("seconds", sa.Float(), nullable=False, server_default="0"),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("assignment_id"),
    )


def downgrade() -> None:
    op.drop_table("similarity_results")
