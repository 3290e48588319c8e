"""Structural patterns the facts parser still reads with regular expressions: level ranges, clock times, code
shapes, the shapes of numbers and of modifiers. Words and phrases live in corpus/language/ instead (counts,
ordinals, units of minutes and of age, sedation clock words and the words around a modifier included)."""

import re

from assistant.config import PROJECT_ROOT
from assistant.yamlfile import safe_load

# Text a pasted note hides from readers (HTML comments): never facts about the case.
HIDDEN_TEXT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# a range of levels written with a dash ("T12-L2", "L2-4"); one written with words ("T10 thru T12") is the concept
# level_range of corpus/language/terms/lists.yaml
LEVEL_RANGE = re.compile(
    r"\b([CTLS])\s?(\d{1,2})(?:\s*(?:-|–|—)\s*([CTLS])\s?|(?:-|–|—))(\d{1,2})\b(?!\s*levels?)",
    re.IGNORECASE,
)
# 09:02 or military 0921; four digits starting 19/20 are read as years, never times
CLOCK_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b|(?<![/-])(?<!\d\.)\b(0\d|1[0-8]|2[1-3])([0-5]\d)\b(?![/-]|\.\d)")
# a military-time range "0815-0845" (four digits each; year ranges such as "2019-2020" are not times)
TIME_RANGE = re.compile(r"(?<![\d/-])([01]\d|2[0-3])([0-5]\d)\s*[-–]\s*([01]\d|2[0-3])([0-5]\d)(?![\d/-])")
CLAUSE_BREAK = re.compile(r"[;,\n]|\.(?!\d)")
# Shapes of codes, numbers and modifiers (structure, not language): the reader finds them as mentions ("shape.modifier",
# ...) that the phrases of corpus/language/terms/ build on ("modifier @shape.modifier"); corpus/language/shapes.yaml
# shows what each reads.


def _letter_modifiers() -> list[str]:
    """The two-letter modifiers the modifier table knows (XS, TC, RT, AA ...): any other pair of letters is a word."""
    table = safe_load((PROJECT_ROOT / "corpus" / "codes" / "modifiers.yaml").read_text())
    return sorted(e["code"] for e in table["codes"] if e["code"].isalpha())


MODIFIER = rf"(?:\d{{2}}|{'|'.join(_letter_modifiers())})"
SHAPES = {
    # a CPT, HCPCS or ICD-10-CM code in either case, as coders type it ("0200t", "z87.310")
    "shape.code": re.compile(r"(?<![\w.])(\d{4}[0-9TF]|[A-TV-Z]\d{2}\.(?:[0-9A-Z]{1,4}-?|-)|[A-V]\d{4})(?![\w])",
                             re.IGNORECASE),
    # two five-character codes joined by a dash: a run of codes ("99143-99150", "22520-22522")
    "shape.code_range": re.compile(r"(?<![\w.])\d{4}[0-9TF]\s?[-\u2013]\s?\d{4}[0-9TF](?![\w])", re.IGNORECASE),
    # a Medicare coverage policy: an LCD ("L38201", a proposed one "DL33569") or a billing article ("A57282")
    "shape.policy_id": re.compile(r"(?<![\w.])D?[LA]\d{5}(?![\w])", re.IGNORECASE),
    "shape.number": re.compile(r"(?<![\w.])\d{1,3}(?![\w])"),
    # a number of up to three digits that may have its unit glued after it ("38min", "79yo", "79F"): the phrases of
    # corpus/language/terms/ name the unit ("@shape.quantity @unit.minutes")
    "shape.quantity": re.compile(r"\b\d{1,3}(?!\d)"),
    "shape.modifier": re.compile(rf"(?<![\w.]){MODIFIER}(?![\w])", re.IGNORECASE),
    "shape.x_modifier": re.compile(r"\bX[EPSU]\b", re.IGNORECASE),
    # a modifier hangs off a five-character code ("20225-59"), never off a date ("2010-11-05")
    "shape.code_modifier": re.compile(rf"(?:\b\d{{5}}|\b\d{{4}}[TF])-\s?{MODIFIER}\b", re.IGNORECASE),
    # a hyphen before a modifier, after a space ("add -59", "use - 59 on")
    "shape.dash_modifier": re.compile(rf"(?:^|(?<=\s))[-\u2013]\s?{MODIFIER}\b", re.IGNORECASE),
    # a hyphen-prefixed modifier that ends its clause ("does it get -50?")
    "shape.dash_modifier_end": re.compile(rf"(?:^|(?<=\s))-{MODIFIER}(?=\s*(?:[?.,]|$))", re.IGNORECASE),
}
CODE_PATTERN = SHAPES["shape.code"]

MODIFIER_SUFFIX = re.compile(rf"(?:\s?-\s?{MODIFIER}\b)+", re.IGNORECASE)


def modifiers_after(text: str, end: int) -> list[str]:
    """The modifiers written right after a code that ends at `end` ("22513-50", "20225 -XS")."""
    suffix = MODIFIER_SUFFIX.match(text[end:end + 12])
    return re.findall(MODIFIER, suffix.group(0).upper()) if suffix else []


def units_written(text: str, code: str) -> int | None:
    """Units written after a code ("22515 x2", "22515 (2 units)", "22515, 2 units"), or None when none are."""
    m = re.search(rf"{re.escape(code)}(?:-{MODIFIER}\b)*\s*(?:[x×*]\s*(\d+)\b|\(\s*(\d+)\s*(?:units?)?\s*\)|"
                  rf",?\s*(\d+)\s*units?\b)", text, re.IGNORECASE)
    value = int(next(g for g in m.groups() if g)) if m else None
    return value if value is not None and value < 20 else None
