"""Values the reader's concepts carry in their names (corpus/language/terms/counts.yaml): "number.3" is 3,
"ordinal.12" is 12, "region.lumbar" is the lumbar region. A count phrase ("3 lumbar levels") and an ordinal level
("the 3rd lumbar vertebra") are read off the mentions inside them; a quantity with its unit ("38min", "79yo") off
the number written in it."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.reader import Mention, Reading


@dataclass(frozen=True)
class BodyCount:
    count: int
    region: str | None          # "lumbar" when the phrase names one ("3 lumbar levels")
    mention: Mention


def bodies_stated(reading: Reading, kept: str | None = None) -> BodyCount | None:
    """The first phrase that counts the bodies treated ("kypho at 3 levels", "two lumbar vertebrae"); with `kept`,
    the text read with parts blanked out (an earlier session), only a phrase still in it."""
    phrases = sorted((m for m in reading.found("count.bodies") if (kept or reading.text)[m.start:m.end].strip()),
                     key=lambda m: m.start)
    if not phrases:
        return None
    phrase = phrases[0]
    return BodyCount(_value(reading, phrase, "number"), _last_part(reading, phrase, "region"), phrase)


def ordinal_levels(reading: Reading) -> list[tuple[Mention, str]]:
    """Each level named by its ordinal, with its name: ("the 3rd lumbar vertebra", "L3")."""
    found = []
    for phrase in reading.found("ordinal_level"):
        region = _last_part(reading, phrase, "region")
        if region:
            found.append((phrase, f"{region[0].upper()}{_value(reading, phrase, 'ordinal')}"))
    return found


def quantities(reading: Reading, concept: str) -> list[tuple[int, Mention]]:
    """Each phrase of a concept that writes a number with its unit ("38min", "4 y 7 m"), with the first number
    in it, in the order written."""
    found = []
    for phrase in sorted(reading.found(concept), key=lambda m: m.start):
        numbers = _inside(reading, phrase, "shape.quantity")
        if numbers:
            found.append((int(reading.text[numbers[0].start:numbers[0].end]), phrase))
    return found


def _inside(reading: Reading, phrase: Mention, concept: str) -> list[Mention]:
    return sorted((m for m in reading.found(concept) if phrase.first <= m.first and m.last <= phrase.last),
                  key=lambda m: m.first)


def _last_part(reading: Reading, phrase: Mention, concept: str) -> str | None:
    inside = _inside(reading, phrase, concept)
    return inside[0].concept.rsplit(".", 1)[1] if inside else None


def _value(reading: Reading, phrase: Mention, concept: str) -> int:
    return int(_last_part(reading, phrase, concept) or 0)
