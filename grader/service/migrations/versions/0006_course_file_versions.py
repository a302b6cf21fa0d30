"""Course file versions: each version of course.yaml and of each problem file the course has
had, and which course folder held it last, so that a folder holding an older file never puts it
back in force (several servers on one database). Filled with the problem files the database
knows: the one in force and those a verdict was graded with.

Revision ID: 0006_course_file_versions
Revises: 0005_lti_advantage
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_course_file_versions"
down_revision = "0005_lti_advantage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "course_file_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("folder", sa.String(length=1000), nullable=False),
        sa.Column("taken", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_course_file_versions_course_file", "course_file_versions", ["course_id", "file"])
    # Older versions first (those verdicts were graded with), then the one in force.
    op.execute(
        """
        INSERT INTO course_file_versions (course_id, file, digest, folder, taken, at)
        SELECT a.course_id, 'assignment:' || a.name, v.problem_hash, '', true, MIN(v.created_at)
        FROM verdicts v
        JOIN submissions s ON s.id = v.submission_id
        JOIN assignments a ON a.id = s.assignment_id
        WHERE v.problem_hash <> a.problem_hash
        GROUP BY a.course_id, a.name, v.problem_hash
        ORDER BY MIN(v.created_at)
        """
    )
    op.execute(
        """
        INSERT INTO course_file_versions (course_id, file, digest, folder, taken, at)
        SELECT course_id, 'assignment:' || name, problem_hash, '', true, updated_at
        FROM assignments ORDER BY id
        """
    )


def downgrade() -> None:
    op.drop_index("ix_course_file_versions_course_file", table_name="course_file_versions")
    op.drop_table("course_file_versions")
