"""Answering a caller's question through the model gate, with its conversation: shared by the /api and
the OpenAI-compatible routes."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import date
from functools import partial

import anyio
from fastapi import HTTPException

from assistant.answer import Answer
from assistant.errors import InputError
from assistant.server.deps import Caller, ServerState
from assistant.server.metrics import outcome


async def run_ask(server: ServerState, who: Caller, question: str, dos: date | None, history: list[str],
                  on_token=None) -> Answer:
    async with server.gate.slot():
        try:
            answer = await anyio.to_thread.run_sync(partial(
                server.assistant.ask, question, dos, history, entitlements=who.entitlements, on_token=on_token))
        except InputError as exc:
            server.metrics.count_answer("invalid_input")
            raise HTTPException(422, str(exc)) from exc
        except Exception:
            server.metrics.count_answer("error")
            raise
    server.metrics.count_answer(outcome(answer))
    return answer


def history_for(server: ServerState, who: Caller, conversation_id: str | None) -> list[str]:
    if conversation_id is None:
        return []
    if who.key is None:
        raise HTTPException(404, "conversation not found")
    history = server.store.history(conversation_id, who.key.id)
    if history is None:
        raise HTTPException(404, "conversation not found")
    return history


def record(server: ServerState, who: Caller, conversation_id: str | None, answer: Answer) -> str | None:
    if who.key is None:
        return None
    return server.store.add_turn(who.key.id, conversation_id, answer.question, answer.date_of_service.isoformat(),
                                 answer.model_dump_json(), answer.llm.model)


def answer_payload(answer: Answer, conversation_id: str | None) -> dict:
    return {**answer.model_dump(mode="json"), "conversation_id": conversation_id}


def live_answer(server: ServerState, who: Caller, question: str, dos: date | None, history: list[str],
                finish: Callable[[Answer], dict]) -> AsyncIterator[tuple[str, dict]]:
    """("token", {"text"}) as the model drafts, then ("answer", finish(answer)) or ("error", {...})."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def on_token(text: str) -> None:
        loop.call_soon_threadsafe(events.put_nowait, ("token", {"text": text}))

    async def produce() -> None:
        try:
            answer = await run_ask(server, who, question, dos, history, on_token)
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
