"""hand grades: a TA's grade of one part of one student's answer, versioned

Revision ID: 0002_hand
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_hand"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hand_grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("rubric", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("grader_id", sa.Integer(), nullable=False),
        sa.Column("grader", sa.String(length=200), nullable=False),
        sa.Column("answer_hash", sa.String(length=64), nullable=True),
        sa.Column("auto", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["grader_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id", "student_id", "part"),
    )
    with op.batch_alter_table("hand_grades", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hand_grades_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hand_grades_student_id"), ["student_id"], unique=False)


def downgrade() -> None:
    op.drop_table("hand_grades")
