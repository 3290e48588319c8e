"""How much the server takes: one answer at a time with a bounded queue, guests per address per minute,
and whose X-Forwarded-For names that address."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException

SECONDS_PER_ANSWER = 2
GUEST_TABLE_SIZE = 10_000


class ModelGate:
    """One answer at a time; at most `limit` requests wait, the rest get 429 with Retry-After."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting = 0
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        """An answer is being drafted now."""
        return self._lock.locked()

    def check_capacity(self) -> None:
        """A request that could only end in 429 gets it now (a stream: as its status, before it starts)."""
        if self.waiting >= self.limit:
            retry = str((self.waiting + 1) * SECONDS_PER_ANSWER)
            raise HTTPException(429, "the assistant is busy; retry shortly", headers={"Retry-After": retry})

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.check_capacity()
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._lock.release()


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
