"""Two `assistant serve` workers sharing one Chroma server and one PostgreSQL database, as behind a load
balancer: a conversation started on one worker continues on the other."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import fresh_database
from test_chroma_server import chroma_url  # noqa: F401 - the shared Chroma server fixture

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, env=env,
                          timeout=STARTUP_SECONDS)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _wait_until_serving(url: str, worker: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + STARTUP_SECONDS
    while time.time() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"the worker at {url} exited with {worker.returncode}; log:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    pytest.fail(f"the worker at {url} did not answer /healthz within {STARTUP_SECONDS} s; log: {log}")


@pytest.fixture
def shared_database(tmp_path):
    with fresh_database("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
def two_workers(shared_database, chroma_url, tmp_path):  # noqa: F811 - the fixture imported above
    """Two `assistant serve` processes, each with its own data directory, sharing Chroma and PostgreSQL."""
    base = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_DATABASE_URL": shared_database,
            "ASSISTANT_LLM": "none"}
    _cli({**base, "ASSISTANT_DATA_DIR": str(tmp_path / "indexer")}, "index")  # the shared index, up to date
    workers, urls = [], []
    for name in ("worker-a", "worker-b"):
        port = _free_port()
        log = tmp_path / f"{name}.log"
        with log.open("w") as out:
            workers.append((subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], stdout=out,
                stderr=subprocess.STDOUT, env={**base, "ASSISTANT_DATA_DIR": str(tmp_path / name)}), log))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, (worker, log) in zip(urls, workers, strict=True):
            _wait_until_serving(url, worker, log)
        secret = _cli({**base, "ASSISTANT_DATA_DIR": str(tmp_path / "operator")},
                      "keys", "create", "--entitlement", "cpt-licensed").split()[-1]
        yield urls, secret
    finally:
        for worker, _ in workers:
            worker.terminate()
        for worker, _ in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def test_a_conversation_continues_on_another_worker(two_workers):
    (first, second), secret = two_workers
    auth = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(timeout=120, headers=auth) as http:
        started = http.post(f"{first}/api/ask", json={"question": "Kyphoplasty T12, codes?",
                                                      "date_of_service": "2023-02-02"})
        assert started.status_code == 200, started.text
        assert [c["code"] for c in started.json()["codes"]] == ["22513"]
        cid = started.json()["conversation_id"]
        followed = http.post(f"{second}/api/ask", json={"question": "and if it was lumbar?", "conversation_id": cid})
        assert followed.status_code == 200, followed.text
        assert followed.json()["conversation_id"] == cid
        assert [c["code"] for c in followed.json()["codes"]] == ["22514"]  # the second worker read the first turn
        for worker in (first, second):
            export = http.get(f"{worker}/api/conversations/{cid}").json()
            assert [t["question"] for t in export["turns"]] == ["Kyphoplasty T12, codes?", "and if it was lumbar?"]
        assert http.get(f"{second}/api/conversations").json()[0]["turns"] == 2
