"""Server state: API keys (stored hashed) and conversations (the audit trail), in SQLite or PostgreSQL.

Every method is one transaction that is committed before it returns: a turn `add_turn` returned is stored."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Row, func, select
from sqlalchemy.exc import OperationalError

from assistant.config import Settings
from assistant.errors import DatabaseError
from assistant.server import migrate
from assistant.server.database import engine_for, exists, shown, sqlite_url
from assistant.server.schema import conversations, keys, turns

ENTITLEMENTS = {"public": ["public"], "cpt-licensed": ["public", "cpt-licensed"]}
KEY_PREFIX = "va_"
SQLITE_FILE = "server.sqlite3"
T = TypeVar("T")


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


def store_url(settings: Settings) -> str:
    """ASSISTANT_DATABASE_URL, or the SQLite file in the data directory."""
    return settings.database_url or sqlite_url(settings.data_dir / SQLITE_FILE)


def open_store(settings: Settings | None = None) -> Store:
    """The store the settings name, its schema brought up to date: the one place a server or CLI gets it."""
    return Store(store_url(settings or Settings.from_env()))


def schema_revision(settings: Settings) -> tuple[str | None, str]:
    """(the revision the settings' database is at, the newest this version knows), migrating nothing."""
    url = store_url(settings)
    if not exists(url):
        return None, migrate.head()
    engine = engine_for(url)
    try:
        return _reachable(url, lambda: migrate.current(engine)), migrate.head()
    finally:
        engine.dispose()


def _reachable(url: str, work: Callable[[], T]) -> T:
    try:
        return work()
    except OperationalError as exc:
        raise DatabaseError(f"the database at {shown(url)} cannot be used ({' '.join(str(exc.orig).split())})") from exc


class Store:
    """Opening a store upgrades its schema to the newest revision (see assistant.server.migrate)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)
        try:
            self.upgraded_from, self.revision = _reachable(url, lambda: migrate.upgrade(self.engine))
        except DatabaseError:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ keys
    def create_key(self, entitlement: str, name: str = "") -> tuple[ApiKey, str]:
        if entitlement not in ENTITLEMENTS:
            raise ValueError(f"entitlement must be one of {', '.join(ENTITLEMENTS)}")
        secret = KEY_PREFIX + secrets.token_urlsafe(24)
        with self.engine.begin() as db:
            key_id = db.execute(keys.insert().values(
                hash=_hash(secret), hint=secret[:7] + "…", name=name, entitlement=entitlement,
                created_at=_now())).inserted_primary_key[0]
            row = db.execute(select(keys).where(keys.c.id == key_id)).one()
        return _key(row), secret

    def authenticate(self, secret: str) -> ApiKey | None:
        with self.engine.begin() as db:
            row = db.execute(select(keys).where(keys.c.hash == _hash(secret), keys.c.revoked_at.is_(None))).first()
        return _key(row) if row else None

    def list_keys(self) -> list[ApiKey]:
        with self.engine.begin() as db:
            return [_key(r) for r in db.execute(select(keys).order_by(keys.c.id))]

    def revoke_key(self, key_id: int) -> bool:
        with self.engine.begin() as db:
            result = db.execute(keys.update().where(keys.c.id == key_id, keys.c.revoked_at.is_(None))
                                .values(revoked_at=_now()))
        return result.rowcount == 1

    # ------------------------------------------------------------------ conversations
    def history(self, conversation_id: str, key_id: int) -> list[str] | None:
        """Earlier questions of a conversation, or None when it is not this key's."""
        with self.engine.begin() as db:
            owner = db.execute(select(conversations.c.key_id).where(conversations.c.id == conversation_id)).first()
            if not owner or owner.key_id != key_id:
                return None
            return list(db.scalars(select(turns.c.question).where(turns.c.conversation_id == conversation_id)
                                   .order_by(turns.c.id)))

    def add_turn(self, key_id: int, conversation_id: str | None, question: str, date_of_service: str,
                 answer_json: str, model: str) -> str:
        now = _now()
        with self.engine.begin() as db:
            if conversation_id is None:
                conversation_id = uuid.uuid4().hex
                db.execute(conversations.insert().values(id=conversation_id, key_id=key_id,
                                                         title=" ".join(question.split())[:80],
                                                         created_at=now, updated_at=now))
            else:
                db.execute(conversations.update().where(conversations.c.id == conversation_id,
                                                        conversations.c.key_id == key_id).values(updated_at=now))
            db.execute(turns.insert().values(conversation_id=conversation_id, question=question,
                                             date_of_service=date_of_service, answer_json=answer_json, model=model,
                                             created_at=now))
        return conversation_id

    def conversations(self, key_id: int) -> list[dict]:
        count = (select(func.count()).select_from(turns).where(turns.c.conversation_id == conversations.c.id)
                 .scalar_subquery().label("turns"))
        query = (select(conversations.c.id, conversations.c.title, conversations.c.created_at,
                        conversations.c.updated_at, count)
                 .where(conversations.c.key_id == key_id)
                 .order_by(conversations.c.updated_at.desc(), conversations.c.created_at.desc()))
        with self.engine.begin() as db:
            return [dict(r._mapping) for r in db.execute(query)]

    def conversation(self, conversation_id: str, key_id: int) -> dict | None:
        with self.engine.begin() as db:
            row = db.execute(select(conversations).where(conversations.c.id == conversation_id,
                                                         conversations.c.key_id == key_id)).first()
            if not row:
                return None
            found = db.execute(select(turns.c.question, turns.c.date_of_service, turns.c.answer_json, turns.c.model,
                                      turns.c.created_at)
                               .where(turns.c.conversation_id == conversation_id).order_by(turns.c.id)).all()
        return {"id": row.id, "title": row.title, "created_at": row.created_at, "updated_at": row.updated_at,
                "turns": [dict(t._mapping) for t in found]}


def _key(row: Row) -> ApiKey:
    return ApiKey(id=row.id, name=row.name, entitlement=row.entitlement, hint=row.hint,
                  created_at=row.created_at, revoked_at=row.revoked_at)
