"""Accounts: one-time log-in links (only the secret's SHA-256 is kept) and removed users (their
row and hand-ins stay; no token, session or log-in works for them).

Revision ID: 0010_login_links
Revises: 0009_late_policy
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_login_links"
down_revision = "0009_late_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index("ix_login_links_user_id", "login_links", ["user_id"])
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.drop_column("removed_at")
    op.drop_index("ix_login_links_user_id", table_name="login_links")
    op.drop_table("login_links")
