"""The server store on both databases (SQLite file, PostgreSQL server): keys hashed, tiers, conversations per
key, every returned turn durable across kill -9, text kept as given, and its alembic migrations."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading

import pytest
from sqlalchemy import text

from assistant.config import Settings
from assistant.errors import DatabaseError
from assistant.server import migrate
from assistant.server.database import parse_url, shown, sqlite_url
from assistant.server.schema import escape_nul, unescape_nul
from assistant.server.store import ENTITLEMENTS, KEY_PREFIX, Store, open_store, store_url

# The schema `Store` created before migrations existed, verbatim: such files must keep working.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '', entitlement TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, key_id INTEGER NOT NULL REFERENCES keys(id),
    title TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
    question TEXT NOT NULL, date_of_service TEXT NOT NULL, answer_json TEXT NOT NULL, model TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_by_key ON conversations(key_id, updated_at);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, id);
"""
AWKWARD_TEXTS = ["PKP L1\x00 2021", "a \\0 b \\\\0 c \\", "\x00\\\x00\\\\", "kyphoplastie T12 — 椎体 🦴", ""]


@pytest.fixture
def store(database_url):
    opened = Store(database_url)
    yield opened
    opened.close()


def test_keys_are_stored_hashed_and_authenticate_by_tier(store, stored_text):
    licensed, licensed_secret = store.create_key("cpt-licensed", "coder 1")
    public, public_secret = store.create_key("public")
    assert licensed_secret.startswith(KEY_PREFIX) and licensed_secret != public_secret
    assert store.authenticate(licensed_secret).entitlements == ENTITLEMENTS["cpt-licensed"] == ["public", "cpt-licensed"]
    assert store.authenticate(public_secret).entitlements == ["public"]
    assert store.authenticate(licensed_secret[:-1]) is None and store.authenticate("") is None
    dump = stored_text(store)
    for secret in (licensed_secret, public_secret):
        assert secret[len(KEY_PREFIX):] not in dump and secret[len(KEY_PREFIX) + 4:] not in dump
    assert [(k.id, k.name, k.entitlement) for k in store.list_keys()] == [
        (licensed.id, "coder 1", "cpt-licensed"), (public.id, "", "public")]
    assert licensed.hint == licensed_secret[:7] + "…"
    with pytest.raises(ValueError, match="entitlement"):
        store.create_key("internal")


def test_revoked_keys_stop_working(store):
    key, secret = store.create_key("public")
    assert store.revoke_key(key.id) and store.authenticate(secret) is None
    assert not store.revoke_key(key.id) and not store.revoke_key(key.id + 100)
    assert store.list_keys()[0].revoked_at is not None


def test_conversations_belong_to_their_key(store):
    a, _ = store.create_key("cpt-licensed")
    b, _ = store.create_key("cpt-licensed")
    cid = store.add_turn(a.id, None, "  Kyphoplasty   T12, codes?", "2023-02-02", '{"codes": []}', "smollm2")
    assert store.add_turn(a.id, cid, "and lumbar?", "2023-02-02", "{}", "smollm2") == cid
    other = store.add_turn(a.id, None, "PVP L2", "2020-01-01", "{}", "none")
    assert store.history(cid, a.id) == ["  Kyphoplasty   T12, codes?", "and lumbar?"]
    assert store.history(cid, b.id) is None and store.conversation(cid, b.id) is None and store.conversations(b.id) == []
    assert store.history("no-such-conversation", a.id) is None
    listed = {c["id"]: c for c in store.conversations(a.id)}
    assert set(listed) == {cid, other} and listed[cid]["turns"] == 2 and listed[other]["turns"] == 1
    assert listed[cid]["title"] == "Kyphoplasty T12, codes?"
    export = store.conversation(cid, a.id)
    assert [t["question"] for t in export["turns"]] == ["  Kyphoplasty   T12, codes?", "and lumbar?"]
    assert export["turns"][0]["answer_json"] == '{"codes": []}' and export["turns"][0]["model"] == "smollm2"
    assert set(export["turns"][0]) == {"question", "date_of_service", "answer_json", "model", "created_at"}


@pytest.mark.parametrize("value", AWKWARD_TEXTS)
def test_text_comes_back_exactly_as_given(store, value):
    key, _ = store.create_key("public", value)
    cid = store.add_turn(key.id, None, value, value, value, value)
    turn = store.conversation(cid, key.id)["turns"][0]
    assert (turn["question"], turn["date_of_service"], turn["answer_json"], turn["model"]) == (value,) * 4
    assert store.list_keys()[0].name == value and store.history(cid, key.id) == [value]
    assert store.history(value + "\x00", key.id) is None and store.conversation("\x00", key.id) is None


def test_nul_escaping_round_trips():
    for value in [*AWKWARD_TEXTS, "\\", "\\\\0\x00\\0\\", "0\\00\\\\00"]:
        assert "\x00" not in escape_nul(value) and unescape_nul(escape_nul(value)) == value


WRITER = """
import sys
from assistant.server.store import Store
store = Store(sys.argv[1])
key, _ = store.create_key("public")
cid = None
for i in range(100000):
    cid = store.add_turn(key.id, cid, f"turn {i}", "2024-01-01", "{}", "none")
    print(key.id, cid, i, flush=True)
"""


def test_every_returned_turn_survives_kill_9(database_url):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, database_url], stdout=subprocess.PIPE, text=True)
    acknowledged = [writer.stdout.readline().split() for _ in range(40)]
    assert all(acknowledged), "the writer stopped before its 40th turn"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    acknowledged += [line.split() for line in writer.stdout.read().splitlines()]  # printed before the kill landed
    key_id, cid = int(acknowledged[0][0]), acknowledged[0][1]
    reopened = Store(database_url)
    questions = reopened.history(cid, key_id)
    reopened.close()
    assert len(acknowledged) >= 40 and all(line[1] == cid for line in acknowledged)
    assert questions[:len(acknowledged)] == [f"turn {i}" for i in range(len(acknowledged))]
    assert len(questions) - len(acknowledged) <= 1  # at most the one committed as the kill landed, before its print


def test_a_reopened_store_has_everything(database_url):
    first = Store(database_url)
    key, secret = first.create_key("cpt-licensed")
    cid = first.add_turn(key.id, None, "PVP T8 2021", "2021-01-01", "{}", "none")
    first.close()
    second = Store(database_url)
    assert second.authenticate(secret) == key and second.history(cid, key.id) == ["PVP T8 2021"]
    assert second.upgraded_from == second.revision == migrate.head()
    second.close()


def test_a_new_database_is_migrated_to_head(store):
    assert store.upgraded_from is None and store.revision == migrate.head() == migrate.current(store.engine)
    with store.engine.connect() as db:
        assert db.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == migrate.head()


def test_workers_opening_one_new_database_together_migrate_it_once(database_url):
    opened: list[Store] = []
    failures: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(Store(database_url))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    workers = [threading.Thread(target=open_one) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not failures and len(opened) == 4
    assert sorted(s.upgraded_from is None for s in opened) == [False, False, False, True]
    key, secret = opened[0].create_key("public")
    assert all(s.authenticate(secret) == key for s in opened)
    for s in opened:
        s.close()


def test_migrations_go_down_and_up_again(store):
    from alembic import command

    store.create_key("public")
    with store.engine.begin() as db:
        command.downgrade(migrate.alembic_config(db), "base")
    with store.engine.connect() as db:
        assert migrate.current(store.engine) is None
        assert not {"keys", "conversations", "turns"} & set(db.dialect.get_table_names(db))
    assert migrate.upgrade(store.engine) == (None, migrate.head())
    assert store.list_keys() == [] and store.create_key("public")[0].id >= 1


def test_a_schema_newer_than_this_version_is_refused(store, database_url):
    with store.engine.begin() as db:
        db.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(DatabaseError, match="ffff.*does not know"):
        Store(database_url)


def test_a_store_from_before_migrations_keeps_its_data(tmp_path):
    path = tmp_path / "server.sqlite3"
    with sqlite3.connect(path) as legacy:
        legacy.executescript(LEGACY_SCHEMA)
        legacy.execute("INSERT INTO keys (hash, hint, name, entitlement, created_at) VALUES ('ab12', 'va_abcd…', 'old', "
                       "'cpt-licensed', '2026-01-01T00:00:00+00:00')")
        legacy.execute("INSERT INTO conversations VALUES ('c1', 1, 'PKP L1', '2026-01-01T00:00:00+00:00', "
                       "'2026-01-01T00:00:00+00:00')")
        legacy.execute("INSERT INTO turns (conversation_id, question, date_of_service, answer_json, model, created_at) "
                       "VALUES ('c1', 'PKP L1', '2026-01-01', '{}', 'smollm2', '2026-01-01T00:00:00+00:00')")
    legacy.close()
    store = Store(sqlite_url(path))
    assert (store.upgraded_from, store.revision) == (None, migrate.head())
    assert [(k.id, k.name, k.entitlement) for k in store.list_keys()] == [(1, "old", "cpt-licensed")]
    assert store.history("c1", 1) == ["PKP L1"] and store.conversations(1)[0]["turns"] == 1
    key, secret = store.create_key("public")
    assert key.id == 2 and store.add_turn(1, "c1", "and L2?", "2026-01-01", "{}", "none") == "c1"
    assert store.history("c1", 1) == ["PKP L1", "and L2?"]
    store.close()


def test_the_settings_choose_the_database(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSISTANT_DATABASE_URL", raising=False)
    default = Settings.from_env(data_dir=tmp_path)
    assert default.database_url is None and store_url(default) == sqlite_url(tmp_path / "server.sqlite3")
    opened = open_store(default)
    assert opened.url == store_url(default) and (tmp_path / "server.sqlite3").is_file()
    opened.close()
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "postgresql://coder:s3cret@db.internal:5433/assistant")
    served = Settings.from_env(data_dir=tmp_path)
    assert store_url(served) == "postgresql://coder:s3cret@db.internal:5433/assistant"
    assert parse_url(store_url(served)).drivername == "postgresql+psycopg"
    assert shown(store_url(served)) == "postgresql+psycopg://coder:***@db.internal:5433/assistant"


def test_an_unreachable_server_is_one_clear_error():
    unreachable = r"postgresql\+psycopg://coder:\*\*\*@127\.0\.0\.1:9/x\?connect_timeout=5 cannot be used \(.*refused"
    with pytest.raises(DatabaseError, match=unreachable) as error:
        Store("postgresql://coder:s3cret@127.0.0.1:9/x?connect_timeout=5")
    assert "s3cret" not in str(error.value) and "\n" not in str(error.value)


def test_db_commands_show_and_upgrade_the_schema(tmp_path, database_url):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path), "ASSISTANT_DATABASE_URL": database_url}

    def db(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "assistant.cli", "db", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    head = migrate.head()
    before = db("current")
    if database_url.startswith("sqlite"):
        assert not (tmp_path / "server.sqlite3").exists()  # `current` creates no database
    assert before.returncode == 0 and f"schema revision none; newest {head} (run `assistant db upgrade`" in before.stdout
    assert f"upgraded from empty to schema revision {head}" in db("upgrade").stdout
    assert f"already schema revision {head}" in db("upgrade").stdout
    assert db("current").stdout.strip().endswith(f"schema revision {head}; newest {head}")
    broken = subprocess.run([sys.executable, "-m", "assistant.cli", "db", "upgrade"], capture_output=True, text=True,
                            env={**env, "ASSISTANT_DATABASE_URL": "postgresql://x:pw@127.0.0.1:9/x?connect_timeout=5"},
                            timeout=120)
    assert broken.returncode == 1 and "error: the database at" in broken.stderr and "pw@" not in broken.stderr
