"""``migrate`` at start-up: Alembic runs the migrations left, and is not even imported when the
database is at the newest one (it cost every start 0.4 s of CPU to find nothing to do)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from grader.service.db import MIGRATIONS, migrate, newest_revision, schema_revision


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def test_the_newest_revision_read_from_the_files_is_alembics_head() -> None:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None and newest_revision() == head


def test_a_database_behind_is_migrated_to_the_newest_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'course.sqlite3'}"
    assert schema_revision(url) is None  # no schema yet
    command.upgrade(alembic_config(url), "0013_unsent_links")
    assert schema_revision(url) == "0013_unsent_links"
    migrate(url)
    assert schema_revision(url) == newest_revision()


def test_a_database_at_the_newest_revision_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'course.sqlite3'}"
    migrate(url)
    check = f"import sys, grader.service.db as db; db.migrate({url!r}); print('alembic' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
