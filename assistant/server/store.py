"""Server state in SQLite: API keys (stored hashed) and conversations (the audit trail)."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ENTITLEMENTS = {"public": ["public"], "cpt-licensed": ["public", "cpt-licensed"]}
KEY_PREFIX = "va_"
SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    entitlement TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    key_id INTEGER NOT NULL REFERENCES keys(id),
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    question TEXT NOT NULL,
    date_of_service TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_key ON conversations(key_id, updated_at);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, id);
"""


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    entitlement: str
    hint: str
    created_at: str
    revoked_at: str | None

    @property
    def entitlements(self) -> list[str]:
        return ENTITLEMENTS[self.entitlement]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection per unit of work; `with db:` commits it as one transaction."""
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        try:
            with db:
                yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ keys
    def create_key(self, entitlement: str, name: str = "") -> tuple[ApiKey, str]:
        if entitlement not in ENTITLEMENTS:
            raise ValueError(f"entitlement must be one of {', '.join(ENTITLEMENTS)}")
        secret = KEY_PREFIX + secrets.token_urlsafe(24)
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO keys (hash, hint, name, entitlement, created_at) VALUES (?, ?, ?, ?, ?)",
                (_hash(secret), secret[:7] + "…", name, entitlement, _now()))
            row = db.execute("SELECT * FROM keys WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _key(row), secret

    def authenticate(self, secret: str) -> ApiKey | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM keys WHERE hash = ? AND revoked_at IS NULL", (_hash(secret),)).fetchone()
        return _key(row) if row else None

    def list_keys(self) -> list[ApiKey]:
        with self._connect() as db:
            return [_key(r) for r in db.execute("SELECT * FROM keys ORDER BY id")]

    def revoke_key(self, key_id: int) -> bool:
        with self._connect() as db:
            cursor = db.execute("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (_now(), key_id))
        return cursor.rowcount == 1

    # ------------------------------------------------------------------ conversations
    def history(self, conversation_id: str, key_id: int) -> list[str] | None:
        """Earlier questions of a conversation, or None when it is not this key's."""
        with self._connect() as db:
            owner = db.execute("SELECT key_id FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if not owner or owner["key_id"] != key_id:
                return None
            return [r["question"] for r in db.execute(
                "SELECT question FROM turns WHERE conversation_id = ? ORDER BY id", (conversation_id,))]

    def add_turn(self, key_id: int, conversation_id: str | None, question: str, date_of_service: str,
                 answer_json: str, model: str) -> str:
        now = _now()
        with self._connect() as db:
            if conversation_id is None:
                conversation_id = uuid.uuid4().hex
                title = " ".join(question.split())[:80]
                db.execute("INSERT INTO conversations (id, key_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                           (conversation_id, key_id, title, now, now))
            else:
                db.execute("UPDATE conversations SET updated_at = ? WHERE id = ? AND key_id = ?",
                           (now, conversation_id, key_id))
            db.execute("INSERT INTO turns (conversation_id, question, date_of_service, answer_json, model, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (conversation_id, question, date_of_service, answer_json, model, now))
        return conversation_id

    def conversations(self, key_id: int) -> list[dict]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS turns "
                "FROM conversations c WHERE key_id = ? ORDER BY updated_at DESC, created_at DESC", (key_id,))
            return [{k: r[k] for k in ("id", "title", "created_at", "updated_at", "turns")} for r in rows]

    def conversation(self, conversation_id: str, key_id: int) -> dict | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM conversations WHERE id = ? AND key_id = ?",
                             (conversation_id, key_id)).fetchone()
            if not row:
                return None
            turns = db.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY id", (conversation_id,)).fetchall()
        return {"id": row["id"], "title": row["title"], "created_at": row["created_at"], "updated_at": row["updated_at"],
                "turns": [{"question": t["question"], "date_of_service": t["date_of_service"],
                           "answer_json": t["answer_json"], "model": t["model"], "created_at": t["created_at"]}
                          for t in turns]}


def _key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(id=row["id"], name=row["name"], entitlement=row["entitlement"], hint=row["hint"],
                  created_at=row["created_at"], revoked_at=row["revoked_at"])
