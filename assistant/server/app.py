"""The HTTP server: `create_app` wires the routers (page, operator, /api, OpenAI-compatible /v1), the
body check, request metrics and the 422 detail around one ServerState.

No `from __future__ import annotations` here: FastAPI reads the dependency annotations at runtime."""

import time
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from assistant.pipeline import Assistant
from assistant.server import routes_api, routes_openai, routes_ops, routes_page
from assistant.server.body_limit import BodyLimit
from assistant.server.deps import ServerState
from assistant.server.limits import ModelGate, RateLimiter, uvicorn_options
from assistant.server.metrics import Metrics
from assistant.server.schemas import validation_detail
from assistant.server.store import Store, open_store

__all__ = ["RateLimiter", "create_app", "uvicorn_options"]


def create_app(assistant: Assistant | None = None, store: Store | None = None, *, queue_limit: int = 8,
               guest: bool = False, guest_per_minute: int = 10) -> FastAPI:
    gate = ModelGate(queue_limit)
    server = ServerState(assistant=assistant, store=store, gate=gate, limiter=RateLimiter(guest_per_minute),
                         metrics=Metrics(gate, lambda: server.assistant.draft_errors if server.assistant else 0),
                         guest=guest)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if server.assistant is None:
            server.assistant = Assistant(progress=False)
        if server.store is None:
            server.store = open_store(server.assistant.settings)
        await anyio.to_thread.run_sync(lambda: server.assistant.index)
        yield

    app = FastAPI(title="Vertebroplasty coding assistant", version="1", lifespan=lifespan)
    app.state.server = server
    app.add_middleware(BodyLimit)

    @app.exception_handler(RequestValidationError)
    async def unprocessable(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": validation_detail(exc.errors())})

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        started = time.perf_counter()
        with server.metrics.in_flight.track_inprogress():
            response = await call_next(request)
        route = request.scope.get("route")
        server.metrics.observe(request.method, getattr(route, "path", "unmatched"), response.status_code,
                               time.perf_counter() - started)
        return response

    app.mount("/static", routes_page.static_files(), name="static")
    for router in (routes_page.router, routes_ops.router, routes_api.router, routes_openai.router):
        app.include_router(router)
    return app
