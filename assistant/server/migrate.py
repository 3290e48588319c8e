"""Schema migrations (alembic) of the server store: which revision a database is at, and bringing it to head.

An upgrade runs in one transaction holding a lock (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE),
so workers starting together against one database migrate it once and the others wait, then find it current."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, func, select

from assistant.errors import DatabaseError

SCRIPTS = Path(__file__).parent / "migrations"
LOCK_ID = 0x76657274  # the PostgreSQL advisory lock that serialises upgrades of this store


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the scripts in this package, running on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this version of the assistant knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated, or empty)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to head; returns (revision before, revision after)."""
    with engine.connect().execution_options(sqlite_begin="BEGIN IMMEDIATE") as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(LOCK_ID)))
        before = MigrationContext.configure(connection).get_current_revision()
        if before == head():
            return before, before
        try:
            command.upgrade(alembic_config(connection), "head")
        except CommandError as exc:
            raise DatabaseError(
                f"the database is at schema revision {before}, which this version of the assistant does not know "
                f"(its newest is {head()}); a newer version migrated it: run that version ({exc})") from exc
        return before, head()
