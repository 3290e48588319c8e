"""A SQLAlchemy engine for the store's database URL: SQLite (the embedded default) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

SQLITE_BUSY_SECONDS = 10
DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}  # the libpq spellings


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(path)).render_as_string()


def parse_url(url: str) -> URL:
    """The URL with psycopg 3 as the PostgreSQL driver when it names none (`postgresql://user@host/db`)."""
    parsed = make_url(url)
    return parsed.set(drivername=DRIVERS.get(parsed.drivername, parsed.drivername))


def shown(url: str) -> str:
    """The URL as it may be printed or logged: any password masked."""
    return parse_url(url).render_as_string(hide_password=True)


def exists(url: str) -> bool:
    """False only for a SQLite file not created yet (opening it would create it); a server is assumed to be there."""
    parsed = parse_url(url)
    return parsed.get_backend_name() != "sqlite" or not parsed.database or Path(parsed.database).exists()


def engine_for(url: str) -> Engine:
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_SECONDS})
    event.listen(engine, "connect", _sqlite_connected)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connected(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """WAL (readers never wait for the writer), foreign keys enforced, and transactions begun by us (below)
    rather than by the sqlite3 module, which would leave DDL outside them."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))
