"""Source documents' Markdown as plain text: one place that strips headings, emphasis, code marks and links."""

from __future__ import annotations

import re

HEADING = re.compile(r"^#+\s*", re.MULTILINE)
EMPHASIS = re.compile(r"(?<!\w)(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1(?!\w)", re.DOTALL)
CODE_MARK = re.compile(r"`([^`]*)`")
LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
TABLE_ROW = re.compile(r"^\s*\|")
STRAY_MARK = re.compile(r"\*\*|__")


def plain(markdown: str) -> str:
    """The text without Markdown markers: '**Pain** of _5_ [LCD](url)' -> 'Pain of 5 LCD'."""
    text = HEADING.sub("", markdown)
    text = LINK.sub(r"\1", CODE_MARK.sub(r"\1", text))
    previous = None
    while previous != text:           # nested emphasis ("**_x_**") unwraps one layer per pass
        previous, text = text, EMPHASIS.sub(r"\2", text)
    return STRAY_MARK.sub("", text)   # a marker whose pair is in another sentence


def is_table_row(line: str) -> bool:
    """A Markdown table row ('| a | b |'): cells, not a sentence."""
    return bool(TABLE_ROW.match(line))
