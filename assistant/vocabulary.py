"""Structural patterns the facts parser still reads with regular expressions: levels, counts, dates and
times, ages, codes and modifiers, biopsy sites. Words and phrases live in corpus/language/ instead."""

import re

# Text a pasted note hides from readers (HTML comments): never facts about the case.
HIDDEN_TEXT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
LEVEL_RANGE = re.compile(
    r"\b([CTLS])\s?(\d{1,2})(?:\s*(?:-|–|—|to|thru|through)\s*([CTLS])\s?|(?:-|–|—))(\d{1,2})\b(?!\s*levels?)",
    re.IGNORECASE,
)
# 09:02 or military 0921; four digits starting 19/20 are read as years, never times
CLOCK_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b|(?<![/-])(?<!\d\.)\b(0\d|1[0-8]|2[1-3])([0-5]\d)\b(?![/-]|\.\d)")
# a military-time range "0815-0845" (four digits each; year ranges such as "2019-2020" are not times)
TIME_RANGE = re.compile(r"(?<![\d/-])([01]\d|2[0-3])([0-5]\d)\s*[-–]\s*([01]\d|2[0-3])([0-5]\d)(?![\d/-])")
CLAUSE_BREAK = re.compile(r"[;,\n]|\.(?!\d)")
MINUTES = re.compile(r"\b(\d{1,3})\s*(?:-\s*)?(?:minutes?|mins?|min)\b", re.IGNORECASE)
AGE_PATTERNS = [
    re.compile(r"\b(\d{1,3})[- ]?(?:y/?o|yo|yrs?|years?)(?:[- ]old)?\b", re.IGNORECASE),
    re.compile(r"\bage[ds]?\s*:?\s*(\d{1,3})\b", re.IGNORECASE),
    re.compile(r"\b(\d{1,3})\s?(?:F|M)\b"),
    re.compile(r"\b(\d{1,2})\s?y\s+\d{1,2}\s?m(?:o|os)?\b", re.IGNORECASE),
    re.compile(r"\b(?:pt|patient)\s+(?:is\s+)?(\d{1,3})\b(?!\s*(?:mg|cc|ml|min|%|levels?|units?))", re.IGNORECASE),
]
CODE_PATTERN = re.compile(r"(?<![\w.])(\d{4}[0-9TF]|[A-TV-Z]\d{2}\.(?:[0-9A-Z]{1,4}-?|-)|[A-V]\d{4})(?![\w])")
# a modifier hangs off a five-character code ("20225-59"), never off a date ("2010-11-05")
MODIFIER_PATTERN = re.compile(
    r"(?:(?<=\b\d{5})|(?<=\b\d{4}[TF])|(?<=\badd )|(?<=\bappend ))-\s?(\d{2}|X[EPSU]|TC)\b"
    r"|\b(?:modifiers?|mod)\s*-?\s*(\d{2}|X[EPSU]|TC)\b|\b(X[EPSU])\b"
    r"|(?:\b(?:a|an|add|use|append|or|need|put)\s+|\s[-–]\s)-?(\d{2}|TC)\s+(?:on|to|with)\b"
    r"|\b(\d{2})(?=\s+or\s+(?:\d{2}|X[EPSU])\s+(?:on|to|with)\b|\s+or\s+X[EPSU]\b)|(?<=\bX[EPSU] or )(\d{2})\b"
    r"|(?:^|\s)-(\d{2}|X[EPSU]|TC)(?:\s+(?:on|to|with)\b|(?=\s*(?:[?.,]|$)|\s+for\b))",
    re.IGNORECASE,
)

MODIFIER_SUFFIX = re.compile(r"(?:\s?-\s?(\d{2}|X[EPSU]|TC)\b)+", re.IGNORECASE)


def modifiers_after(text: str, end: int) -> list[str]:
    """The modifiers written right after a code that ends at `end` ("22513-50", "20225 -XS")."""
    suffix = MODIFIER_SUFFIX.match(text[end:end + 12])
    return re.findall(r"(\d{2}|X[EPSU]|TC)", suffix.group(0).upper()) if suffix else []


def units_written(text: str, code: str) -> int | None:
    """Units written after a code ("22515 x2", "22515 (2 units)", "22515, 2 units"), or None when none are."""
    m = re.search(rf"{re.escape(code)}(?:-(?:\d\d|X[EPSU]|TC)\b)*\s*(?:[x×*]\s*(\d+)\b|\(\s*(\d+)\s*(?:units?)?\s*\)|"
                  rf",?\s*(\d+)\s*units?\b)", text, re.IGNORECASE)
    value = int(next(g for g in m.groups() if g)) if m else None
    return value if value is not None and value < 20 else None
