"""The request bodies, and the 422 detail that names the field of a malformed one.

No `from __future__ import annotations` here: FastAPI reads the annotations at runtime."""

import json
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

MODEL_ID = "vertebro-assistant"


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
