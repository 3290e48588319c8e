"""What the routes share, as FastAPI dependencies: the server's state, the caller (key or guest) and
the key a conversation needs.

No `from __future__ import annotations` here: FastAPI reads the dependency annotations at runtime."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from assistant.pipeline import Assistant
from assistant.server.limits import ModelGate, RateLimiter
from assistant.server.metrics import Metrics
from assistant.server.store import ENTITLEMENTS, ApiKey, Store


@dataclass
class ServerState:
    """One app's parts; the pipeline and the store are made at startup when the app was not given them."""

    assistant: Assistant | None
    store: Store | None
    gate: ModelGate
    limiter: RateLimiter
    metrics: Metrics
    guest: bool


def server_state(request: Request) -> ServerState:
    return request.app.state.server


ServerDep = Annotated[ServerState, Depends(server_state)]


@dataclass
class Caller:
    key: ApiKey | None

    @property
    def entitlements(self) -> list[str]:
        return self.key.entitlements if self.key else ENTITLEMENTS["public"]


def caller(request: Request, server: ServerDep) -> Caller:
    """The key named by `Authorization: Bearer`, or a rate-limited guest when guests are allowed."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        key = server.store.authenticate(header[7:].strip())
        if key:
            return Caller(key)
        raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    if server.guest:
        if not server.limiter.allow(request.client.host if request.client else "?"):
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
