"""/v1: the OpenAI-compatible API (models, chat completions whole or streamed).

No `from __future__ import annotations` here: FastAPI reads the annotations at runtime."""

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.answer import Answer
from assistant.dates import parse_date_argument
from assistant.errors import InputError
from assistant.facts import validate_question
from assistant.server.answering import live_answer, record, run_ask
from assistant.server.deps import Caller, CallerDep, ServerDep, ServerState
from assistant.server.schemas import MODEL_ID, ChatRequest

router = APIRouter(prefix="/v1")


def _model_not_found(model: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"error": {
        "message": f"The model `{model}` does not exist; this server serves `{MODEL_ID}`.",
        "type": "invalid_request_error", "param": "model", "code": "model_not_found"}})


@router.get("/models")
def models(who: CallerDep) -> dict:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "vertebro"}]}


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, who: CallerDep, server: ServerDep):
    if body.model != MODEL_ID:
        return _model_not_found(body.model)
    users = [m.text for m in body.messages if m.role == "user"]
    if not users:
        raise HTTPException(422, "messages needs at least one user message")
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        return _chat_stream(server, who, users[-1], body.date_of_service, users[:-1], completion_id, created)
    answer = await run_ask(server, who, users[-1], body.date_of_service, users[:-1])
    record(server, who, None, answer)
    return JSONResponse({
        "id": completion_id, "object": "chat.completion", "created": created, "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "vertebro": answer.model_dump(mode="json")})


def _chat_stream(server: ServerState, who: Caller, question: str, dos: date | None, history: list[str],
                 completion_id: str, created: int) -> StreamingResponse:
    """The model's draft streams live as `reasoning_content` (the field chat front-ends show as the model's
    unchecked thinking), then the verified answer as `content`, then the structured answer in `vertebro`."""
    server.gate.check_capacity()
    try:  # what would fail the answer is a 422 status, not an error inside a stream already started
        validate_question(question)
        parse_date_argument(dos, date.today())
    except InputError as exc:
        raise HTTPException(422, str(exc)) from exc

    def finish(answer: Answer) -> dict:
        record(server, who, None, answer)
        return answer.model_dump(mode="json")

    events = live_answer(server, who, question, dos, history, finish)

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
