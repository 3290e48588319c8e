from __future__ import annotations

from datetime import date

import pytest

from assistant import facts as facts_stage
from assistant.codebook import Codebook
from assistant.config import Settings

TODAY = date(2026, 11, 27)


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


@pytest.fixture(scope="session")
def server_store(tmp_path_factory):
    from assistant.server.store import Store

    return Store(tmp_path_factory.mktemp("server") / "server.sqlite3")


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
def live_server(real_assistant, server_store):
    from assistant.server import create_app

    _, licensed = server_store.create_key("cpt-licensed", "live-licensed")
    _, public = server_store.create_key("public", "live-public")
    server, thread, url = start_server(create_app(real_assistant, server_store, queue_limit=1))
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
