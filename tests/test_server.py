"""The HTTP API on the real pipeline: TestClient for the contract, a live uvicorn for clients and load."""

import json
import os
import re
import subprocess
import sys
import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.server import create_app
from assistant.server.store import KEY_PREFIX, Store

pytestmark = pytest.mark.slow
ANSWER_KEYS = {"question", "date_of_service", "in_scope", "needs_clarification", "answer", "codes", "rejected",
               "warnings", "citations", "llm", "timings_ms", "summary", "understood", "review", "sections"}


@pytest.fixture(scope="module")
def keys(server_store):
    return {name: server_store.create_key(entitlement, name)[1]
            for name, entitlement in (("a", "cpt-licensed"), ("b", "cpt-licensed"), ("pub", "public"))}


@pytest.fixture(scope="module")
def client(real_assistant, server_store):
    with TestClient(create_app(real_assistant, server_store)) as test_client:
        yield test_client


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_health_metrics_and_page(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    metrics = client.get("/metrics").text
    assert "# TYPE assistant_requests_total counter" in metrics and "assistant_queue_waiting" in metrics


def metric(client, name: str, **labels: str) -> float:
    """One sample of GET /metrics, parsed as Prometheus parses it (0 when the series does not exist yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_requests_latency_and_answers_by_outcome(client, keys):
    asked = {"method": "POST", "route": "/api/ask", "status": "200"}
    series = {"asked": ("assistant_requests_total", asked),
              "timed": ("assistant_request_duration_seconds_count", asked),
              "invalid": ("assistant_requests_total", {**asked, "status": "422"}),
              "missing": ("assistant_requests_total", {"route": "/api/conversations/{conversation_id}", "status": "404"}),
              **{outcome: ("assistant_answers_total", {"outcome": outcome})
                 for outcome in ("answered", "clarification", "out_of_scope", "invalid_input", "error")}}

    def read() -> dict[str, float]:
        return {key: metric(client, name, **labels) for key, (name, labels) in series.items()}

    before = read()
    for question in ("PKP L1, DOS 2021-03-03", "Kyphoplasty, what code?", "How do I code a total knee arthroplasty?",
                     "   "):
        client.post("/api/ask", json={"question": question}, headers=auth(keys["a"]))
    assert client.get("/api/conversations/not-a-conversation", headers=auth(keys["a"])).status_code == 404
    after = read()
    grew = {key: after[key] - before[key] for key in series}
    assert grew == {"asked": 3, "timed": 3, "invalid": 1, "missing": 1, "answered": 1, "clarification": 1,
                    "out_of_scope": 1, "invalid_input": 1, "error": 0}
    assert metric(client, "assistant_requests_in_flight") == 1  # the scrape itself
    assert metric(client, "assistant_queue_waiting") == 0 and metric(client, "assistant_model_busy") == 0
    assert client.get("/metrics").headers["content-type"].startswith("text/plain; version=0.0.4")


def test_metrics_count_model_draft_errors(data_dir, server_store, keys):
    from langchain_core.language_models import BaseChatModel

    from assistant.config import Settings
    from assistant.pipeline import Assistant

    class DroppedConnection(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "dropped"

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            raise ConnectionError("connection reset by peer")

    assistant = Assistant(Settings.from_env(data_dir=data_dir, llm_backend="none"), progress=False)
    assistant._model, assistant._model_name = DroppedConnection(), "dropped"
    with TestClient(create_app(assistant, server_store)) as flaky:
        assert metric(flaky, "assistant_model_draft_errors_total") == 0
        answer = flaky.post("/api/ask", json={"question": "PKP L1, DOS 2021-03-03"}, headers=auth(keys["a"])).json()
        assert [c["code"] for c in answer["codes"]] == ["22514"]
        assert metric(flaky, "assistant_model_draft_errors_total") == 1
        assert metric(flaky, "assistant_answers_total", outcome="answered") == 1


def test_keys_are_required(client, keys):
    assert client.post("/api/ask", json={"question": "PKP L1"}).status_code == 401
    assert client.post("/api/ask", json={"question": "PKP L1"}, headers=auth("va_not-a-key")).status_code == 401
    assert client.get("/v1/models", headers=auth(keys["a"])).json()["data"][0]["id"] == "vertebro-assistant"


def test_ask_returns_the_schema_and_keeps_the_conversation(client, keys):
    first = client.post("/api/ask", json={"question": "Kyphoplasty T12, codes?", "date_of_service": "2023-02-02"},
                        headers=auth(keys["a"]))
    assert first.status_code == 200
    body = first.json()
    assert set(body) == ANSWER_KEYS | {"conversation_id"}
    assert [c["code"] for c in body["codes"]] == ["22513"]
    follow = client.post("/api/ask", json={"question": "and if it was lumbar?", "conversation_id": body["conversation_id"]},
                         headers=auth(keys["a"]))
    assert [c["code"] for c in follow.json()["codes"]] == ["22514"]
    export = client.get(f"/api/conversations/{body['conversation_id']}", headers=auth(keys["a"])).json()
    assert [t["question"] for t in export["turns"]] == ["Kyphoplasty T12, codes?", "and if it was lumbar?"]
    assert export["turns"][1]["answer"]["codes"][0]["code"] == "22514" and export["turns"][0]["model"]
    listed = client.get("/api/conversations", headers=auth(keys["a"])).json()
    assert body["conversation_id"] in [c["id"] for c in listed]


def test_a_key_cannot_read_another_keys_conversation(client, keys):
    cid = client.post("/api/ask", json={"question": "PVP L2 2020"}, headers=auth(keys["a"])).json()["conversation_id"]
    assert client.get(f"/api/conversations/{cid}", headers=auth(keys["b"])).status_code == 404
    assert client.post("/api/ask", json={"question": "and L3?", "conversation_id": cid},
                       headers=auth(keys["b"])).status_code == 404
    assert cid not in [c["id"] for c in client.get("/api/conversations", headers=auth(keys["b"])).json()]


def test_conversations_survive_a_restart(real_assistant, server_store, keys, client):
    cid = client.post("/api/ask", json={"question": "PVP T8 2021"}, headers=auth(keys["a"])).json()["conversation_id"]
    reopened = Store(server_store.url)
    with TestClient(create_app(real_assistant, reopened)) as restarted:
        assert restarted.get(f"/api/conversations/{cid}", headers=auth(keys["a"])).json()["turns"][0]["question"] == "PVP T8 2021"
    reopened.close()


def test_bad_input(client, keys):
    bad_json = client.post("/api/ask", content=b"{not json", headers={**auth(keys["a"]), "Content-Type": "application/json"})
    assert bad_json.status_code == 422
    missing = client.post("/api/ask", json={"date_of_service": "2020-01-01"}, headers=auth(keys["a"]))
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "question"
    assert client.post("/api/ask", json={"question": "x" * 70000}, headers=auth(keys["a"])).status_code == 413
    empty = client.post("/api/ask", json={"question": "   "}, headers=auth(keys["a"]))
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    invisible = client.post("/api/ask", json={"question": "\x00\u200b\x00\ufeff"}, headers=auth(keys["a"]))
    assert invisible.status_code == 422 and invisible.json()["detail"] == empty.json()["detail"]
    future = client.post("/api/ask", json={"question": "PKP L1", "date_of_service": "2099-01-01"}, headers=auth(keys["a"]))
    assert future.status_code == 422 and "future" in future.json()["detail"]


MALFORMED = [  # (path, raw JSON body, the field the 422 must name)
    *[(path, body, field) for path in ("/api/ask", "/api/ask/stream") for body, field in [
        (b'{"question": NaN}', "question"), (b'{"question": Infinity}', "question"),
        (b'{"question": -Infinity}', "question"), (b'{"question": 1e400}', "question"),
        (b'{"question": "PKP L1 \\ud800"}', "question"), (b'{"question": "PKP L1", "date_of_service": NaN}', "date_of_service"),
        (b'{"question": "PKP L1", "date_of_service": "\\ud800"}', "date_of_service"),
        (b'{"question": "PKP L1", "conversation_id": 1e400}', "conversation_id"),
        (b'{"question": "PKP L1", "conversation_id": "\\udfff"}', "conversation_id")]],
    ("/v1/chat/completions", b'{"model": NaN, "messages": [{"role": "user", "content": "PKP L1"}]}', "model"),
    ("/v1/chat/completions", b'{"model": "\\ud800", "messages": [{"role": "user", "content": "PKP L1"}]}', "model"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": NaN}]}', "content"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "PKP L1 \\ud800"}]}', "content"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": [{"type": "text", "text": Infinity}]}]}', "text"),
    ("/v1/chat/completions", b'{"messages": [{"role": 1e400, "content": "PKP L1"}]}', "role"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "PKP L1"}], "stream": NaN}', "stream"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "PKP L1"}], "date_of_service": Infinity}',
     "date_of_service"),
]


@pytest.mark.parametrize(("path", "body", "field"), MALFORMED)
def test_non_finite_numbers_and_lone_surrogates_get_422_naming_the_field(client, keys, path, body, field):
    response = client.post(path, content=body, headers={**auth(keys["a"]), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert any(field in error["loc"] for error in response.json()["detail"]), response.json()


def test_unreadable_bodies_get_422_naming_the_problem(client, keys):
    headers = {**auth(keys["a"]), "Content-Type": "application/json"}
    latin1 = client.post("/api/ask", content='{"question": "PKP L1 café"}'.encode("latin-1"), headers=headers)
    assert latin1.status_code == 422 and "not valid UTF-8" in latin1.json()["detail"][0]["msg"]
    deep = b'{"question": "PKP L1", "conversation_id": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    nested = client.post("/api/ask", content=deep, headers=headers)
    assert nested.status_code == 422 and "nested 5001 levels deep" in nested.json()["detail"][0]["msg"]
    brackets_in_text = json.dumps({"question": "[" * 100 + " PKP L1, 2021", "date_of_service": "2021-02-02"})
    assert client.post("/api/ask", content=brackets_in_text, headers=headers).status_code == 200


def test_chunked_body_over_the_limit_gets_413(live_server):
    def chunks():
        for _ in range(20):
            yield b" " * 4096
        yield b'{"question": "PKP L1"}'

    with httpx.Client(timeout=60) as http:
        response = http.post(f"{live_server.url}/api/ask", content=chunks(),
                             headers={**auth(live_server.key), "Content-Type": "application/json"})
    assert response.status_code == 413 and "64 KiB" in response.json()["detail"]


def test_openai_content_parts_and_unknown_model(client, keys):
    parts = [{"type": "text", "text": "Kyphoplasty T12,"}, {"type": "image_url", "image_url": {"url": "data:,"}},
             {"type": "text", "text": "DOS 2023-02-02"}]
    reply = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": parts}]},
                        headers=auth(keys["a"]))
    assert reply.status_code == 200 and [c["code"] for c in reply.json()["vertebro"]["codes"]] == ["22513"]
    unknown = client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "PKP L1"}]},
                          headers=auth(keys["a"]))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found" and unknown.json()["error"]["param"] == "model"


def test_streaming_sends_tokens_then_the_verified_answer(client, keys):
    with client.stream("POST", "/api/ask/stream", json={"question": "BKP L1 osteoporotic fx", "date_of_service": "2024-04-04"},
                       headers=auth(keys["a"])) as response:
        text = "".join(response.iter_text())
    events = re.findall(r"event: (\w+)\ndata: (.*)\n\n", text)
    kinds = [kind for kind, _ in events]
    assert kinds.count("token") >= 1 and kinds[-1] == "answer"
    answer = json.loads(events[-1][1])
    assert {c["code"] for c in answer["codes"]} == {"22514", "M80.08XA"} and answer["conversation_id"]


def licensed_runs(real_assistant) -> set[str]:
    runs = set()
    for chunk in real_assistant.index.chunks:
        if chunk.license == "cpt-licensed":
            words = re.findall(r"\w+", chunk.text.split("\n\n", 1)[-1].lower())
            runs |= {" ".join(words[i:i + 8]) for i in range(len(words) - 7)}
    return runs


def test_public_key_never_sees_licensed_text(client, keys, real_assistant):
    runs = licensed_runs(real_assistant)
    assert runs
    licensed_ids = {c.doc_id for c in real_assistant.index.chunks if c.license == "cpt-licensed"}
    questions = ["What does 22513 describe?", "CPT descriptor for 0200T and 0201T", "What is included in 22510?",
                 "Is imaging guidance included in vertebroplasty codes?", "Moderate sedation time rules from 2017"]
    for question in questions:
        for path in ("/api/ask", "/v1/chat/completions"):
            payload = {"question": question} if path == "/api/ask" else {"messages": [{"role": "user", "content": question}]}
            response = client.post(path, json=payload, headers=auth(keys["pub"]))
            assert response.status_code == 200
            words = " ".join(re.findall(r"\w+", response.text.lower()))
            leaked = [run for run in runs if run in words]
            assert not leaked, leaked[:3]
            cited = re.findall(r'"id": ?"([a-z0-9-]+)"', response.text)
            assert not set(cited) & licensed_ids
    for doc_id in licensed_ids:
        assert client.get(f"/api/docs/{doc_id}", headers=auth(keys["pub"])).status_code == 404
        assert client.get(f"/api/docs/{doc_id}", headers=auth(keys["a"])).status_code == 200
    licensed_citations = [c["license"] for q in questions
                          for c in client.post("/api/ask", json={"question": q}, headers=auth(keys["a"])).json()["citations"]]
    assert "cpt-licensed" in licensed_citations  # the same questions do reach licensed text with a licensed key


def test_openai_client_against_a_live_server(live_server):
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=f"{live_server.url}/v1", api_key=live_server.key)
    reply = client.chat.completions.create(model="vertebro-assistant", messages=[
        {"role": "user", "content": "Kyphoplasty T12, DOS 2022-05-05"},
        {"role": "assistant", "content": "22513"},
        {"role": "user", "content": "and if it was lumbar?"}])
    assert "22514" in reply.choices[0].message.content
    assert [c["code"] for c in reply.model_extra["vertebro"]["codes"]] == ["22514"]
    parts = list(client.chat.completions.create(model="vertebro-assistant", stream=True,
                                                messages=[{"role": "user", "content": "PVP L2 and L3, 2019"}]))
    text = "".join(p.choices[0].delta.content or "" for p in parts if p.choices)
    assert "22511" in text and "22512" in text
    assert client.models.list().data[0].id == "vertebro-assistant"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "PKP L1"}])
    assert missing.value.code == "model_not_found"


def test_openai_stream_sends_the_draft_live_then_the_verified_answer(live_server):
    import time

    arrivals: list[tuple[float, dict]] = []
    with httpx.Client(timeout=120) as http, http.stream(
            "POST", f"{live_server.url}/v1/chat/completions", headers=auth(live_server.key),
            json={"stream": True, "messages": [{"role": "user", "content": "PKP T12 and L1, DOS 2024-04-04"}]}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: {"):
                arrivals.append((time.perf_counter(), json.loads(line[6:])))
    deltas = [(at, c["choices"][0]["delta"]) for at, c in arrivals]
    drafted = [at for at, d in deltas if d.get("reasoning_content")]
    answered = [at for at, d in deltas if d.get("content")]
    assert drafted and answered and max(drafted) < min(answered)
    # live: the first draft token left the server while the model was still writing, not replayed at the end
    assert arrivals[-1][0] - drafted[0] > 0.05
    final = arrivals[-1][1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert [c["code"] for c in final["vertebro"]["codes"]] == ["22513", "22515"]
    empty = httpx.post(f"{live_server.url}/v1/chat/completions", headers=auth(live_server.key), timeout=60,
                       json={"stream": True, "messages": [{"role": "user", "content": "  "}]})
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]


def test_openai_backend_drafts_through_an_openai_compatible_server(live_server, data_dir):
    """ASSISTANT_LLM=openai end to end: this server's own /v1 API stands in for vLLM or Ollama."""
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    settings = Settings.from_env(data_dir=data_dir, llm_backend="openai", openai_base_url=f"{live_server.url}/v1",
                                 openai_model="vertebro-assistant", openai_api_key=live_server.key)
    tokens: list[str] = []
    answer = Assistant(settings, progress=False).ask("Kyphoplasty L2 and L3, DOS 2021-04-04", on_token=tokens.append)
    assert (answer.llm.backend, answer.llm.model) == ("openai", "vertebro-assistant")
    assert tokens and "22514" in "".join(tokens)
    assert [(c.code, c.units) for c in answer.codes] == [("22514", 1), ("22515", 1)]


def test_overload_gets_429_with_retry_after_never_500(live_server):
    results: list[httpx.Response] = []

    def call() -> None:
        with httpx.Client(timeout=120) as http:
            results.append(http.post(f"{live_server.url}/api/ask", json={"question": "PKP T10 and T11, 2021"},
                                     headers=auth(live_server.key)))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    statuses = sorted(r.status_code for r in results)
    assert len(results) == 6 and set(statuses) <= {200, 429} and 200 in statuses and 429 in statuses
    assert all(r.headers.get("retry-after", "").isdigit() for r in results if r.status_code == 429)


def test_keys_cli_create_list_revoke(tmp_path, database_url, stored_text):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path), "ASSISTANT_DATABASE_URL": database_url}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "assistant.cli", "keys", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    created = cli("create", "--entitlement", "cpt-licensed", "--name", "coder1")
    assert created.returncode == 0
    secret = created.stdout.split()[-1]
    store = Store(database_url)
    assert store.authenticate(secret).entitlements == ["public", "cpt-licensed"]
    assert secret not in stored_text(store) and secret[len(KEY_PREFIX):] not in stored_text(store)
    assert "coder1" in cli("list").stdout
    assert cli("revoke", "1").returncode == 0 and store.authenticate(secret) is None
    assert cli("revoke", "1").returncode == 2
    store.close()


def test_guest_limit_ignores_forwarded_for_unless_a_proxy_is_configured(real_assistant, server_store, serve_app):
    from assistant.server.app import uvicorn_options

    def statuses(options: dict, forwarded: list[str]) -> list[int]:
        url = serve_app(create_app(real_assistant, server_store, guest=True, guest_per_minute=3), **options)
        with httpx.Client(timeout=60) as http:
            return [http.get(f"{url}/api/me", headers={"X-Forwarded-For": ip}).status_code for ip in forwarded]

    spoofed = [f"203.0.113.{i}" for i in range(6)]
    assert statuses(uvicorn_options(None), spoofed) == [200, 200, 200, 429, 429, 429]
    behind_proxy = uvicorn_options("127.0.0.1")
    assert statuses(behind_proxy, spoofed) == [200] * 6
    assert statuses(behind_proxy, ["198.51.100.7"] * 4) == [200, 200, 200, 429]


def test_guest_limiter_table_is_bounded():
    from assistant.server.app import RateLimiter

    now = [120.0]
    limiter = RateLimiter(2, max_clients=100, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    for i in range(1000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter.counts) == 100
    now[0] += 60  # the next minute starts afresh
    assert limiter.allow("a") and list(limiter.counts) == ["a"]


def test_serve_trusts_forwarded_headers_only_when_told(monkeypatch):
    import uvicorn
    from click.testing import CliRunner

    from assistant.cli import main

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    monkeypatch.delenv("ASSISTANT_TRUSTED_PROXIES", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["serve"]).exit_code == 0
    assert runner.invoke(main, ["serve", "--trusted-proxy", "10.0.0.5,10.1.0.0/16"]).exit_code == 0
    assert runner.invoke(main, ["serve"], env={"ASSISTANT_TRUSTED_PROXIES": "10.0.0.6"}).exit_code == 0
    assert calls[0]["proxy_headers"] is False
    assert (calls[1]["proxy_headers"], calls[1]["forwarded_allow_ips"]) == (True, "10.0.0.5,10.1.0.0/16")
    assert calls[2]["forwarded_allow_ips"] == "10.0.0.6"
