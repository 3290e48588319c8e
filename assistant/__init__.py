"""Vertebroplasty / vertebral augmentation coding assistant. Public API: ask() and Answer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from assistant import config as _config  # noqa: F401 - sets the offline environment first
from assistant.answer import Answer
from assistant.config import TIERS

__all__ = ["Answer", "ask", "get_assistant"]

_default = None


def get_assistant():
    """The process-wide Assistant (code table, index and model loaded once)."""
    global _default
    if _default is None:
        from assistant.pipeline import Assistant

        _default = Assistant()
    return _default


def ask(question: str, date_of_service: date | str | None = None, history: list | None = None, *,
        entitlements: Iterable[str] = TIERS) -> Answer:
    """Answer one coding question; raises ValueError (InputError) on bad input."""
    return get_assistant().ask(question, date_of_service, history, entitlements=entitlements)
