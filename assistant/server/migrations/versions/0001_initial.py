"""The store's first schema: keys, conversations, turns.

A store created before migrations existed (SQLite, `CREATE TABLE IF NOT EXISTS`) already has these tables:
only what is missing is created, so its rows are kept and it is simply marked as at this revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES: dict[str, list[sa.Column]] = {
    "keys": [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hash", sa.Text, nullable=False, unique=True),
        sa.Column("hint", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("entitlement", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("revoked_at", sa.Text),
    ],
    "conversations": [
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("keys.id"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    ],
    "turns": [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Text, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("date_of_service", sa.Text, nullable=False),
        sa.Column("answer_json", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    ],
}
INDEXES = {  # name: (table, columns)
    "conversations_by_key": ("conversations", ["key_id", "updated_at"]),
    "turns_by_conversation": ("turns", ["conversation_id", "id"]),
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, columns in TABLES.items():
        if not inspector.has_table(table):
            op.create_table(table, *columns)
    for name, (table, columns) in INDEXES.items():
        if name not in {index["name"] for index in inspector.get_indexes(table)}:
            op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
    for table in reversed(TABLES):
        op.drop_table(table)
