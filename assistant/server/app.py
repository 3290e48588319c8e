"""The HTTP server: chat page, answer API, OpenAI-compatible API, conversations, metrics.

No `from __future__ import annotations` here: FastAPI reads the dependency annotations at runtime."""


import asyncio
import json
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import AfterValidator, BaseModel, Field

from assistant.answer import Answer
from assistant.dates import parse_date_argument
from assistant.errors import InputError
from assistant.facts import validate_question
from assistant.pipeline import Assistant
from assistant.server.store import ENTITLEMENTS, ApiKey, Store, open_store

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024
MAX_DEPTH = 32  # JSON nesting; the requests here need four levels
MODEL_ID = "vertebro-assistant"
SECONDS_PER_ANSWER = 2
GUEST_TABLE_SIZE = 10_000
JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
JSON_BRACKET = re.compile(r"[\[\]{}]")


def _encodable(text: str) -> str:
    """JSON's \\ud800 escapes decode to lone surrogates, which no UTF-8 text (the store, the answer) can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the text is not valid UTF-8 (a lone surrogate escape)") from exc
    return text


Text = Annotated[str, AfterValidator(_encodable)]


class AskRequest(BaseModel):
    question: Text = Field(max_length=4000)
    date_of_service: date | None = None
    conversation_id: Text | None = None


class ContentPart(BaseModel):
    """OpenAI's content parts ({"type": "text", "text": ...}); only text parts carry a question."""

    type: Text
    text: Text | None = None


class ChatMessage(BaseModel):
    role: Text
    content: Text | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content if part.type == "text" and part.text)
        return self.content or ""


class ChatRequest(BaseModel):
    model: Text = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    date_of_service: date | None = None


@dataclass
class Caller:
    key: ApiKey | None

    @property
    def entitlements(self) -> list[str]:
        return self.key.entitlements if self.key else ENTITLEMENTS["public"]


class ModelGate:
    """One answer at a time; at most `limit` requests wait, the rest get 429 with Retry-After."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting = 0
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.waiting >= self.limit:
            retry = str((self.waiting + 1) * SECONDS_PER_ANSWER)
            raise HTTPException(429, "the assistant is busy; retry shortly", headers={"Retry-After": retry})
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._lock.release()


class Metrics:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.answers = 0
        self._lock = threading.Lock()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.counts[(method, route, status)] += 1
            self.seconds[route] += seconds

    def render(self, queue: int) -> str:
        lines = ["# HELP assistant_requests_total HTTP requests by route and status.",
                 "# TYPE assistant_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self.counts.items()):
                lines.append(f'assistant_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}')
            lines += ["# HELP assistant_request_seconds_total Time spent serving requests by route.",
                      "# TYPE assistant_request_seconds_total counter"]
            lines += [f'assistant_request_seconds_total{{route="{r}"}} {s:.3f}' for r, s in sorted(self.seconds.items())]
            lines += ["# HELP assistant_answers_total Answers produced.", "# TYPE assistant_answers_total counter",
                      f"assistant_answers_total {self.answers}"]
        lines += ["# HELP assistant_queue_waiting Requests waiting for the model.", "# TYPE assistant_queue_waiting gauge",
                  f"assistant_queue_waiting {queue}"]
        return "\n".join(lines) + "\n"


class RateLimiter:
    """Fixed one-minute window for guest access, per client address. The table holds only the current
    minute's addresses (it is cleared when the minute turns) and at most `max_clients` of them (the least
    recently seen is dropped first), so a flood of addresses cannot grow it without bound."""

    def __init__(self, per_minute: int, max_clients: int = GUEST_TABLE_SIZE, clock=time.time) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self.clock = clock
        self.window: int | None = None
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        with self._lock:
            window = int(self.clock() // 60)
            if window != self.window:
                self.window = window
                self.counts.clear()
            count = self.counts.pop(client, 0) + 1  # re-inserted: the dict stays in order of last use
            self.counts[client] = count
            if len(self.counts) > self.max_clients:
                del self.counts[next(iter(self.counts))]
            return count <= self.per_minute


def uvicorn_options(trusted_proxies: str | None) -> dict:
    """How uvicorn treats X-Forwarded-For: ignored unless the operator names the proxies in front of the
    server (uvicorn's default would believe any loopback peer, letting one guest claim any address)."""
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted_proxies}


class BodyLimit:
    """ASGI middleware: the body is read here, whole, before any parsing. Over MAX_BODY (declared or, when
    chunked, as it arrives) it gets 413; a JSON body that is not UTF-8 or is nested deeper than MAX_DEPTH
    gets 422 naming the problem. The app then reads the buffered body."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            return await _reply(send, 413, f"request body over {MAX_BODY // 1024} KiB")
        received: list[dict] = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break  # the client went away; the app sees it
            size += len(message.get("body", b""))
            if size > MAX_BODY:
                return await _reply(send, 413, f"request body over {MAX_BODY // 1024} KiB")
            if not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in received if m["type"] == "http.request")
        content_type = headers.get(b"content-type", b"").lower()
        problem = _body_problem(body) if body and (not content_type or b"json" in content_type) else None
        if problem:
            return await _reply(send, 422, [{"type": "json_invalid", "loc": ["body"], "msg": problem}])
        if received[-1]["type"] == "http.request":
            received = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay():
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)


def _body_problem(body: bytes) -> str | None:
    """What makes a JSON body unreadable before it is parsed: bytes that are not UTF-8, or nesting so deep
    the parser would recurse without end. None when it may be parsed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the request body is not valid UTF-8 (byte {exc.start})"
    depth = deepest = 0
    for bracket in JSON_BRACKET.findall(JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        return f"the request body is nested {deepest} levels deep; the limit is {MAX_DEPTH}"
    return None


async def _reply(send, status: int, detail: object) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _json_safe(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # NaN and infinities, lone surrogates, objects
        return False
    return True


def validation_detail(errors) -> list[dict]:
    """FastAPI's 422 detail, each error naming its field (`loc`), with the offending input and context
    echoed only when they can be written as JSON: NaN, Infinity, 1e400 or a lone surrogate cannot."""
    detail = []
    for error in errors:
        item = {"type": error.get("type", "value_error"),
                "loc": [part if _json_safe(part) else ascii(part) for part in error.get("loc", ())],
                "msg": error.get("msg", "") if _json_safe(error.get("msg", "")) else ascii(error.get("msg"))}
        item.update({k: error[k] for k in ("input", "ctx") if k in error and _json_safe(error[k])})
        detail.append(item)
    return detail


def _model_not_found(model: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"error": {
        "message": f"The model `{model}` does not exist; this server serves `{MODEL_ID}`.",
        "type": "invalid_request_error", "param": "model", "code": "model_not_found"}})


def _answer_payload(answer: Answer, conversation_id: str | None) -> dict:
    return {**answer.model_dump(mode="json"), "conversation_id": conversation_id}


def create_app(assistant: Assistant | None = None, store: Store | None = None, *, queue_limit: int = 8,
               guest: bool = False, guest_per_minute: int = 10) -> FastAPI:
    state: dict = {"assistant": assistant, "store": store}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if state["assistant"] is None:
            state["assistant"] = Assistant(progress=False)
        if state["store"] is None:
            state["store"] = open_store(state["assistant"].settings)
        await anyio.to_thread.run_sync(lambda: state["assistant"].index)
        yield

    app = FastAPI(title="Vertebroplasty coding assistant", version="1", lifespan=lifespan)
    gate = ModelGate(queue_limit)
    metrics = Metrics()
    limiter = RateLimiter(guest_per_minute)
    app.add_middleware(BodyLimit)

    @app.exception_handler(RequestValidationError)
    async def unprocessable(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": validation_detail(exc.errors())})
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        metrics.observe(request.method, getattr(route, "path", "unmatched"), response.status_code,
                        time.perf_counter() - started)
        return response

    def caller(request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            key = state["store"].authenticate(header[7:].strip())
            if key:
                return Caller(key)
            raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        if guest:
            if not limiter.allow(request.client.host if request.client else "?"):
                raise HTTPException(429, "guest rate limit reached", headers={"Retry-After": "60"})
            return Caller(None)
        raise HTTPException(401, "an API key is required (Authorization: Bearer ...)",
                            headers={"WWW-Authenticate": "Bearer"})

    CallerDep = Annotated[Caller, Depends(caller)]

    def keyed(who: CallerDep) -> ApiKey:
        if who.key is None:
            raise HTTPException(401, "conversations need an API key")
        return who.key

    KeyDep = Annotated[ApiKey, Depends(keyed)]

    async def run_ask(who: Caller, question: str, dos: date | None, history: list[str], on_token=None) -> Answer:
        async with gate.slot():
            try:
                answer = await anyio.to_thread.run_sync(partial(
                    state["assistant"].ask, question, dos, history, entitlements=who.entitlements, on_token=on_token))
            except InputError as exc:
                raise HTTPException(422, str(exc)) from exc
        metrics.answers += 1
        return answer

    def history_for(who: Caller, conversation_id: str | None) -> list[str]:
        if conversation_id is None:
            return []
        if who.key is None:
            raise HTTPException(404, "conversation not found")
        history = state["store"].history(conversation_id, who.key.id)
        if history is None:
            raise HTTPException(404, "conversation not found")
        return history

    def record(who: Caller, conversation_id: str | None, answer: Answer) -> str | None:
        if who.key is None:
            return None
        return state["store"].add_turn(who.key.id, conversation_id, answer.question, answer.date_of_service.isoformat(),
                                       answer.model_dump_json(), answer.llm.model)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus() -> str:
        return metrics.render(gate.waiting)

    @app.get("/api/me")
    def me(who: CallerDep) -> dict:
        return {"entitlements": who.entitlements, "guest": who.key is None}

    @app.post("/api/ask")
    async def ask(body: AskRequest, who: CallerDep) -> dict:
        history = history_for(who, body.conversation_id)
        answer = await run_ask(who, body.question, body.date_of_service, history)
        return _answer_payload(answer, record(who, body.conversation_id, answer))

    def check_capacity() -> None:
        """A stream that could only end in 429 gets it as its status, before it starts."""
        if gate.waiting >= gate.limit:
            raise HTTPException(429, "the assistant is busy; retry shortly",
                                headers={"Retry-After": str((gate.waiting + 1) * SECONDS_PER_ANSWER)})

    def live_answer(who: Caller, question: str, dos: date | None, history: list[str],
                    finish) -> AsyncIterator[tuple[str, dict]]:
        """("token", {"text"}) as the model drafts, then ("answer", finish(answer)) or ("error", {...})."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()

        def on_token(text: str) -> None:
            loop.call_soon_threadsafe(events.put_nowait, ("token", {"text": text}))

        async def produce() -> None:
            try:
                answer = await run_ask(who, question, dos, history, on_token)
                await events.put(("answer", finish(answer)))
            except HTTPException as exc:
                retry = (exc.headers or {}).get("Retry-After")
                await events.put(("error", {"detail": exc.detail, "status": exc.status_code,
                                            **({"retry_after": int(retry)} if retry else {})}))
            except Exception as exc:  # noqa: BLE001 - reported to the client as an event, never a hang
                await events.put(("error", {"detail": f"internal error: {type(exc).__name__}", "status": 500}))
            await events.put(None)

        async def iterate() -> AsyncIterator[tuple[str, dict]]:
            task = asyncio.create_task(produce())
            try:
                while (item := await events.get()) is not None:
                    yield item
            finally:
                await task

        return iterate()

    @app.post("/api/ask/stream")
    async def ask_stream(body: AskRequest, who: CallerDep) -> StreamingResponse:
        history = history_for(who, body.conversation_id)
        check_capacity()
        events = live_answer(who, body.question, body.date_of_service, history,
                             lambda answer: _answer_payload(answer, record(who, body.conversation_id, answer)))

        async def stream() -> AsyncIterator[str]:
            async for kind, payload in events:
                yield f"event: {kind}\ndata: {json.dumps(payload)}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/conversations")
    def conversations(key: KeyDep) -> list[dict]:
        return state["store"].conversations(key.id)

    @app.get("/api/conversations/{conversation_id}")
    def conversation(conversation_id: str, key: KeyDep) -> dict:
        found = state["store"].conversation(conversation_id, key.id)
        if found is None:
            raise HTTPException(404, "conversation not found")
        for turn in found["turns"]:
            turn["answer"] = json.loads(turn.pop("answer_json"))
        return found

    @app.get("/api/docs/{doc_id}")
    def doc(doc_id: str, who: CallerDep) -> dict:
        chunks = [c for c in state["assistant"].index.chunks if c.doc_id == doc_id and c.license in who.entitlements]
        if not chunks:
            raise HTTPException(404, "no such document for this key")
        text = "\n\n".join(c.text.split("\n\n", 1)[-1] for c in chunks)
        first = chunks[0]
        return {"id": doc_id, "title": first.title, "source": first.source, "license": first.license, "text": text}

    @app.get("/v1/models")
    def models(who: CallerDep) -> dict:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "vertebro"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, who: CallerDep):
        if body.model != MODEL_ID:
            return _model_not_found(body.model)
        users = [m.text for m in body.messages if m.role == "user"]
        if not users:
            raise HTTPException(422, "messages needs at least one user message")
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if body.stream:
            return chat_stream(who, users[-1], body.date_of_service, users[:-1], completion_id, created)
        answer = await run_ask(who, users[-1], body.date_of_service, users[:-1])
        record(who, None, answer)
        return JSONResponse({
            "id": completion_id, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "vertebro": answer.model_dump(mode="json")})

    def chat_stream(who: Caller, question: str, dos: date | None, history: list[str], completion_id: str,
                    created: int) -> StreamingResponse:
        """The model's draft streams live as `reasoning_content` (the field chat front-ends show as the model's
        unchecked thinking), then the verified answer as `content`, then the structured answer in `vertebro`."""
        check_capacity()
        try:  # what would fail the answer is a 422 status, not an error inside a stream already started
            validate_question(question)
            parse_date_argument(dos, date.today())
        except InputError as exc:
            raise HTTPException(422, str(exc)) from exc

        def finish(answer: Answer) -> dict:
            record(who, None, answer)
            return answer.model_dump(mode="json")

        events = live_answer(who, question, dos, history, finish)

        def chunk(delta: dict, finish_reason: str | None = None, **more) -> str:
            payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **more}
            return f"data: {json.dumps(payload)}\n\n"

        async def stream() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            async for kind, payload in events:
                if kind == "token":
                    yield chunk({"reasoning_content": payload["text"]})
                elif kind == "answer":
                    for line in payload["answer"].splitlines(keepends=True):
                        yield chunk({"content": line})
                    yield chunk({}, "stop", vertebro=payload)
                else:
                    error = {"message": payload["detail"], "type": "server_error", "code": payload["status"]}
                    yield f"data: {json.dumps({'error': error})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app
