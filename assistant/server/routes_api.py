"""/api: the chat page's API: answers (whole or streamed), conversations, cited documents.

No `from __future__ import annotations` here: FastAPI reads the annotations at runtime."""

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from assistant.server.answering import answer_payload, history_for, live_answer, record, run_ask
from assistant.server.deps import CallerDep, KeyDep, ServerDep
from assistant.server.schemas import AskRequest

router = APIRouter(prefix="/api")


@router.get("/me")
def me(who: CallerDep) -> dict:
    return {"entitlements": who.entitlements, "guest": who.key is None}


@router.post("/ask")
async def ask(body: AskRequest, who: CallerDep, server: ServerDep) -> dict:
    history = history_for(server, who, body.conversation_id)
    answer = await run_ask(server, who, body.question, body.date_of_service, history)
    return answer_payload(answer, record(server, who, body.conversation_id, answer))


@router.post("/ask/stream")
async def ask_stream(body: AskRequest, who: CallerDep, server: ServerDep) -> StreamingResponse:
    history = history_for(server, who, body.conversation_id)
    server.gate.check_capacity()
    events = live_answer(server, who, body.question, body.date_of_service, history,
                         lambda answer: answer_payload(answer, record(server, who, body.conversation_id, answer)))

    async def stream() -> AsyncIterator[str]:
        async for kind, payload in events:
            yield f"event: {kind}\ndata: {json.dumps(payload)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/conversations")
def conversations(key: KeyDep, server: ServerDep) -> list[dict]:
    return server.store.conversations(key.id)


@router.get("/conversations/{conversation_id}")
def conversation(conversation_id: str, key: KeyDep, server: ServerDep) -> dict:
    found = server.store.conversation(conversation_id, key.id)
    if found is None:
        raise HTTPException(404, "conversation not found")
    for turn in found["turns"]:
        turn["answer"] = json.loads(turn.pop("answer_json"))
    return found


@router.get("/docs/{doc_id}")
def doc(doc_id: str, who: CallerDep, server: ServerDep) -> dict:
    chunks = [c for c in server.assistant.index.chunks if c.doc_id == doc_id and c.license in who.entitlements]
    if not chunks:
        raise HTTPException(404, "no such document for this key")
    text = "\n\n".join(c.text.split("\n\n", 1)[-1] for c in chunks)
    first = chunks[0]
    return {"id": doc_id, "title": first.title, "source": first.source, "license": first.license, "text": text}
