"""Words and punctuation of a text, each with its character span, lower-cased for matching."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A run of digits ("79" of "79yo", "38" of "38min": a unit glued after a number is a word of its own), a word that
# starts with a letter (letters and digits, with an inner apostrophe: "wasn't", "t12", "x2"), a line break, or one
# other character.
_TOKEN = re.compile(r"[0-9]+|[a-z][a-z0-9]*(?:'[a-z]+)?|\n|[^\sa-z0-9]")


@dataclass(frozen=True)
class Token:
    text: str               # lower case, for matching
    start: int
    end: int
    written: str = ""       # as written, for the few forms whose case matters ("79F")

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(0), m.start(), m.end(), text[m.start():m.end()])
            for m in _TOKEN.finditer(_lower_same_length(text))]


def _lower_same_length(text: str) -> str:
    """Lower case, character by character, so offsets stay those of the original text."""
    lowered = text.lower()
    if len(lowered) != len(text):        # a character whose lower case is longer ("İ"): one by one
        lowered = "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)
    return lowered.replace("\u2019", "'")
