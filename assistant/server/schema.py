"""The store's tables as SQLAlchemy Core sees them (the migrations in migrations/ create and change them).

Text columns are `PortableText`: PostgreSQL's text cannot hold NUL, which a question may contain (the API
accepts any UTF-8 text), so there it is stored escaped and read back unchanged; SQLite stores it as is."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

ESCAPE, NUL, ESCAPED_NUL = "\\", "\x00", "\\0"


def escape_nul(text: str) -> str:
    return text.replace(ESCAPE, ESCAPE * 2).replace(NUL, ESCAPED_NUL)


def unescape_nul(text: str) -> str:
    pieces = text.split(ESCAPE * 2)
    return ESCAPE.join(piece.replace(ESCAPED_NUL, NUL) for piece in pieces)


class PortableText(TypeDecorator[str]):
    """Text that round-trips unchanged on every backend, NUL included."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return escape_nul(value) if value is not None and dialect.name == "postgresql" else value

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return unescape_nul(value) if value is not None and dialect.name == "postgresql" else value


metadata = MetaData()

keys = Table(
    "keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("hash", PortableText, nullable=False, unique=True),
    Column("hint", PortableText, nullable=False),
    Column("name", PortableText, nullable=False, server_default=""),
    Column("entitlement", PortableText, nullable=False),
    Column("created_at", PortableText, nullable=False),
    Column("revoked_at", PortableText),
)

conversations = Table(
    "conversations", metadata,
    Column("id", PortableText, primary_key=True),
    Column("key_id", Integer, ForeignKey("keys.id"), nullable=False),
    Column("title", PortableText, nullable=False),
    Column("created_at", PortableText, nullable=False),
    Column("updated_at", PortableText, nullable=False),
)

turns = Table(
    "turns", metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", PortableText, ForeignKey("conversations.id"), nullable=False),
    Column("question", PortableText, nullable=False),
    Column("date_of_service", PortableText, nullable=False),
    Column("answer_json", PortableText, nullable=False),
    Column("model", PortableText, nullable=False),
    Column("created_at", PortableText, nullable=False),
)
