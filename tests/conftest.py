from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from assistant import facts as facts_stage
from assistant.codebook import Codebook
from assistant.config import Settings

TODAY = date(2026, 11, 28)  # the latest date of service an eval case holds (blind sets use their writing day)


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    return Codebook.load()


@pytest.fixture(scope="session")
def parse(codebook):
    def _parse(question: str, dos=None, history=()):
        return facts_stage.parse(question, dos, history, today=TODAY, conditions=codebook.condition_terms(),
                                 encounters=codebook.encounter_terms(), cues=codebook.cue_terms())
    return _parse


@pytest.fixture(scope="session")
def derive(parse, codebook):
    def _derive(question: str, dos=None, history=()):
        return codebook.derive(parse(question, dos, history))
    return _derive


def code_set(derivation) -> set[tuple[str, int, tuple[str, ...]]]:
    return {(c.code, c.units, tuple(c.modifiers)) for c in derivation.codes}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def real_assistant(data_dir):
    """The real pipeline: real index on the real corpus, real embedded model."""
    from assistant.pipeline import Assistant

    return Assistant(Settings.from_env(data_dir=data_dir, llm_backend="gguf"), progress=False)


@pytest.fixture
def indexed_data_dir(real_assistant, tmp_path) -> Path:
    """A data directory of this test's own, holding a copy of the session's index of the real corpus: for
    tests that start from a built index and then damage or change it, without embedding the corpus again
    (a build embeds every chunk; the tests that check a build from nothing still build one)."""
    import shutil

    assert real_assistant.index.chunks  # built once per session, in data_dir
    copy = tmp_path / "data"
    shutil.copytree(real_assistant.settings.data_dir, copy)
    return copy


DATABASES = ("sqlite", "postgresql")
POSTGRES_SKIP = ("ASSISTANT_TEST_DATABASE_URL is unset: it names a PostgreSQL server where this role may create "
                 "databases (.ci/run starts one: `source .ci/postgres && start_postgres \"$(mktemp -d)\"`)")


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in `directory`, or a new database on the test PostgreSQL
    server (ASSISTANT_TEST_DATABASE_URL), dropped afterwards."""
    from sqlalchemy import create_engine

    from assistant.server.database import parse_url, sqlite_url

    if kind == "sqlite":
        yield sqlite_url(directory / "server.sqlite3")
        return
    server = os.environ.get("ASSISTANT_TEST_DATABASE_URL")
    if not server:
        if os.environ.get("CI"):
            pytest.fail(f"in CI the PostgreSQL tests must run: {POSTGRES_SKIP}")
        pytest.skip(POSTGRES_SKIP)
    name = f"assistant_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(parse_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield parse_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:
            db.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> Iterator[str]:
    """Each test using it runs on SQLite and on PostgreSQL, each time on a new database."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session", params=DATABASES)
def server_store(request, tmp_path_factory):
    """The API tests' store, on SQLite and on PostgreSQL."""
    from assistant.server.store import Store

    with fresh_database(request.param, tmp_path_factory.mktemp("server")) as url:
        store = Store(url)
        yield store
        store.close()


@pytest.fixture(scope="session")
def stored_text():
    """Everything a store holds, every row of every table, as one text (to show what is never stored)."""
    from sqlalchemy import MetaData, select

    def _dump(store) -> str:
        tables = MetaData()
        tables.reflect(store.engine)
        with store.engine.connect() as db:
            return "\n".join(repr(row) for table in tables.sorted_tables for row in db.execute(select(table)))

    return _dump


@pytest.fixture(scope="session")
def live_store(tmp_path_factory):
    """The live server's store: the embedded default (the live tests exercise HTTP and the model, not the store)."""
    from assistant.server.database import sqlite_url
    from assistant.server.store import Store

    store = Store(sqlite_url(tmp_path_factory.mktemp("live") / "server.sqlite3"))
    yield store
    store.close()


class LiveServer:
    def __init__(self, url: str, key: str, public_key: str) -> None:
        self.url, self.key, self.public_key = url, key, public_key


def start_server(app, **options):
    """A real uvicorn server on a free loopback port, in a thread; returns (server, thread, url)."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 120
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def live_server(real_assistant, live_store):
    from assistant.server import create_app

    _, licensed = live_store.create_key("cpt-licensed", "live-licensed")
    _, public = live_store.create_key("public", "live-public")
    server, thread, url = start_server(create_app(real_assistant, live_store, queue_limit=1))
    yield LiveServer(url, licensed, public)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def serve_app():
    """Start apps on real uvicorn servers (uvicorn options passed through); all stopped after the test."""
    started = []

    def _serve(app, **options) -> str:
        server, thread, url = start_server(app, **options)
        started.append((server, thread))
        return url

    yield _serve
    for server, thread in started:
        server.should_exit = True
        thread.join(timeout=10)


OPENAI_SKIP = ("ASSISTANT_TEST_OPENAI_URL is unset: it names llama-cpp-python's OpenAI-compatible server "
               "(.ci/run starts one: `python -m assistant.llm_server --port N`, then http://127.0.0.1:N/v1)")


class OpenAIEndpoint:
    def __init__(self, url: str, model: str) -> None:
        self.url, self.model = url, model


def _served_model(url: str, log: Path | None, timeout: float = 180) -> str:
    """The id of the model the server at `url` serves, once it answers (it loads the model first)."""
    import time

    import httpx

    deadline = time.time() + timeout
    while True:
        try:
            return httpx.get(f"{url}/models", timeout=5).raise_for_status().json()["data"][0]["id"]
        except (httpx.HTTPError, KeyError, IndexError) as exc:
            if time.time() > deadline:
                tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else "(no log)"
                pytest.fail(f"the OpenAI-compatible server at {url} did not answer: {exc}\n{tail}")
            time.sleep(0.5)


@pytest.fixture(scope="session")
def openai_endpoint() -> OpenAIEndpoint | None:
    """The OpenAI-compatible server .ci/run started (ASSISTANT_TEST_OPENAI_URL), or None when there is none."""
    url = os.environ.get("ASSISTANT_TEST_OPENAI_URL")
    if not url:
        return None
    log = os.environ.get("ASSISTANT_TEST_OPENAI_LOG")
    return OpenAIEndpoint(url, _served_model(url, Path(log) if log else None))


@pytest.fixture(scope="session")
def openai_server(openai_endpoint) -> OpenAIEndpoint:
    """The OpenAI-compatible server; skips without one (fails in CI, where .ci/run starts it)."""
    if openai_endpoint is None:
        if os.environ.get("CI"):
            pytest.fail(f"in CI the OpenAI-compatible server tests must run: {OPENAI_SKIP}")
        pytest.skip(OPENAI_SKIP)
    return openai_endpoint
