"""One-time log-in links not yet handed to anyone: a roster import's links are minted in the
accounts' transaction and marked sent once the links file is written, so an import killed in
between loses none (`grader users links COURSE --unsent` issues them again). ``email`` keeps the
roster's address for that file.

Revision ID: 0013_unsent_links
Revises: 0012_roster_entries
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_unsent_links"
down_revision = "0012_roster_entries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_links") as table:
        table.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("email", sa.String(length=320), nullable=False, server_default=""))
    op.execute("UPDATE login_links SET sent_at = created_at")  # links made before were handed out


def downgrade() -> None:
    with op.batch_alter_table("login_links") as table:
        table.drop_column("email")
        table.drop_column("sent_at")
