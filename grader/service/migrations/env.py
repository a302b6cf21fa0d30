"""Alembic environment: the service runs ``upgrade head`` at start-up (grader.service.db.migrate)."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from grader.service.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    config = context.config
    connectable = context.config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
        )
    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
