"""Vertebral levels and the regions they belong to."""

from __future__ import annotations

import re
from dataclasses import dataclass

REGION_SIZES = {"C": ("cervical", 7), "T": ("thoracic", 12), "L": ("lumbar", 5), "S": ("sacral", 5)}
REGION_ORDER = ["cervical", "thoracic", "lumbar", "sacral"]
LEVEL_PATTERN = re.compile(r"\b([CTLS])\s?-?(\d{1,2})\b", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Level:
    """One vertebral body, e.g. T12. `ordinal` counts from C1 = 1 down the spine."""

    ordinal: int
    name: str
    region: str


def _build_levels() -> list[Level]:
    levels, ordinal = [], 0
    for letter, (region, size) in REGION_SIZES.items():
        for number in range(1, size + 1):
            ordinal += 1
            levels.append(Level(ordinal, f"{letter}{number}", region))
    return levels


ALL_LEVELS = _build_levels()
BY_NAME = {level.name: level for level in ALL_LEVELS}


def level(name: str) -> Level | None:
    """The level for a name such as 't12' or 'L 1', or None if no such body exists."""
    match = LEVEL_PATTERN.fullmatch(name.strip())
    if not match:
        return None
    return BY_NAME.get(f"{match.group(1).upper()}{int(match.group(2))}")


def span(first: Level, last: Level) -> list[Level]:
    """Every level from first to last inclusive, in spinal order."""
    low, high = sorted((first.ordinal, last.ordinal))
    return [lv for lv in ALL_LEVELS if low <= lv.ordinal <= high]
