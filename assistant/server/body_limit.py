"""The request body, read whole and checked before any parsing: size, UTF-8, JSON nesting depth."""

import json
import re

MAX_BODY = 64 * 1024
MAX_DEPTH = 32  # JSON nesting; the requests here need four levels
JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
JSON_BRACKET = re.compile(r"[\[\]{}]")


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
