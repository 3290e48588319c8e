"""Retrieval against a real Chroma server (`chroma run`), as several API workers would share it."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import ChromaServerError
from assistant.index_store import POINTER
from assistant.retrieval import build_index, open_index, search

pytestmark = pytest.mark.slow

QUESTIONS = ("Kyphoplasty T12 and L1, codes?", "deleted vertebroplasty codes 22520 22521", "sacroplasty coverage")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_heartbeat(url: str, process: subprocess.Popen | None, log: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"`chroma run` exited with {process.returncode}; log:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the Chroma server did not answer {url}/api/v2/heartbeat within {timeout:.0f} s; log: {log}")


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory):
    """A real `chroma run` on loopback: the one .ci/run started (ASSISTANT_TEST_CHROMA_URL), or our own."""
    external = os.environ.get("ASSISTANT_TEST_CHROMA_URL")
    if external:
        _wait_for_heartbeat(external, None, Path(os.environ.get("ASSISTANT_TEST_CHROMA_LOG", "chroma.log")))
        yield external
        return
    executable = Path(sys.executable).parent / "chroma"
    if not executable.exists():
        pytest.fail(f"the chroma executable is missing at {executable} (install chromadb into this environment)")
    root = tmp_path_factory.mktemp("chroma")
    port = _free_port()
    log = root / "chroma.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(executable), "run", "--host", "127.0.0.1", "--port", str(port),
                                    "--path", str(root / "db")], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_heartbeat(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _client(url: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    port = int(url.rsplit(":", 1)[1])
    return chromadb.HttpClient(host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False))


def _pointer(url: str) -> str:
    return _client(url).get_collection(POINTER).metadata["current"]


@pytest.fixture
def server_settings(chroma_url, tmp_path, codebook):
    """A worker's settings on the real corpus, with the server's index brought up to date with it."""
    settings = Settings.from_env(data_dir=tmp_path / "worker", chroma_url=chroma_url, llm_backend="none")
    build_index(settings, codebook, progress=False)
    return settings


@pytest.fixture(scope="session")
def local_index(data_dir, codebook):
    """The session's local index of the real corpus (the one the pipeline tests use; built once)."""
    settings = Settings.from_env(data_dir=data_dir, llm_backend="none")
    return open_index(settings.model_copy(update={"chroma_url": None}), codebook, progress=False)


def test_server_build_is_incremental_and_atomic(chroma_url, tmp_path, codebook):
    settings = Settings.from_env(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", chroma_url=chroma_url,
                                 llm_backend="none")
    shutil.copytree(Settings.from_env().corpus_dir, settings.corpus_dir)
    first = build_index(settings, codebook, rebuild=True, progress=False)
    assert first.embedded == first.chunks > 100 and chroma_url in first.path
    second = build_index(settings, codebook, progress=False)
    assert second.embedded == 0 and second.unchanged == first.chunks
    doc = settings.corpus_dir / "docs" / "faq" / "faq-multiple-levels.md"
    doc.write_text(doc.read_text() + "\n\nAn extra paragraph about units of the add-on codes for each body.\n")
    third = build_index(settings, codebook, progress=False)
    assert 1 <= third.embedded <= 3 and third.unchanged == third.chunks - third.embedded
    good = _pointer(chroma_url)
    assert {c.name for c in _client(chroma_url).list_collections()} == {POINTER, good}
    (settings.corpus_dir / "docs" / "faq" / "broken.md").write_text("no front matter")
    with pytest.raises(Exception, match="front matter"):
        build_index(settings, codebook, progress=False)
    assert _pointer(chroma_url) == good
    index = open_index(settings, codebook, progress=False)
    assert len(index.chunks) == third.chunks and any("An extra paragraph" in c.text for c in index.chunks)


def test_workers_share_one_index_and_search_like_local(server_settings, local_index, codebook, tmp_path):
    current = _pointer(server_settings.chroma_url)
    other_worker = server_settings.model_copy(update={"data_dir": tmp_path / "another-worker"})
    index = open_index(other_worker, codebook, progress=False)
    assert _pointer(server_settings.chroma_url) == current and not other_worker.data_dir.exists()
    assert index.chunks == local_index.chunks
    for question in QUESTIONS:
        served = [p.doc_id for p in search(index, question, day=date(2025, 3, 1))]
        local = [p.doc_id for p in search(local_index, question, day=date(2025, 3, 1))]
        assert served and served == local, question


def test_pipeline_answers_from_the_server(server_settings):
    from assistant.pipeline import Assistant

    answer = Assistant(server_settings, progress=False).ask("Kyphoplasty T12 and L1, codes?", "2025-03-01", use_llm=False)
    codes = {(c.code, c.units) for c in answer.codes}
    assert codes in ({("22513", 1), ("22515", 1)}, {("22514", 1), ("22515", 1)})
    assert all(c.verified for c in answer.codes) and answer.citations


def test_missing_index_is_built_on_first_open(chroma_url, tmp_path, codebook):
    client = _client(chroma_url)
    for collection in client.list_collections():
        client.delete_collection(collection.name)
    settings = Settings.from_env(data_dir=tmp_path / "data", chroma_url=chroma_url, llm_backend="none")
    index = open_index(settings, codebook, progress=False)
    assert len(index.chunks) > 100 and _pointer(chroma_url) in {c.name for c in client.list_collections()}


def test_unreachable_server_names_the_setting(tmp_path, codebook):
    settings = Settings.from_env(data_dir=tmp_path / "data", chroma_url=f"http://127.0.0.1:{_free_port()}",
                                 llm_backend="none")
    with pytest.raises(ChromaServerError, match="ASSISTANT_CHROMA_URL"):
        open_index(settings, codebook, progress=False)
    assert not (settings.data_dir / "index").exists()
