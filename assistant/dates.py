"""Dates of service: from the caller's argument or from the question's text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from assistant.errors import InputError
from assistant.reader import reader

DATE_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
# month/day/year with the same separator twice: 3/2/2014, 03.03.2016, 10-17-2019
DATE_US = re.compile(r"\b(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})\b")
# The shapes of a date written with its month's name; {month} is a month word of corpus/language/terms/dates.yaml
DATE_MONTH = r"\b({month})\.?\s+(?:(\d{{1,2}})(?:st|nd|rd|th)?,?\s+)?((?:19|20)\d\d)\b"            # Mar 3rd, 2016
DATE_MONTH_DASHED = r"\b({month})[-/ ](\d{{1,2}})[-/](\d{{4}})\b"                                   # Sept-4-2019
DATE_DAY_MONTH = r"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({month})\.?,?\s+((?:19|20)\d\d)\b"            # 4 March 2016
# "around the new year 2016/2017": two years offered as alternatives
YEAR_PAIR = re.compile(r"(?<![\w/.-])((?:19|20)\d\d)\s*/\s*((?:19|20)\d\d)(?![\w/-])")
AMBIGUOUS_NOTE = "two possible dates of service"
NO_DATE_NOTE = "no date of service given"
DATE_YEAR = re.compile(r"(?<![\w/.-])((?:19|20)\d\d)(?![\w/-])")


def parse_date_argument(value: date | str | None, today: date) -> date | None:
    if value is None or isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise InputError(f"invalid date of service {value!r}: use YYYY-MM-DD") from exc
    if parsed and parsed > today:
        raise InputError(f"the date of service {parsed.isoformat()} is in the future")
    return parsed


Span = tuple[int, int]


def date_of_service(texts: Sequence[str], explicit: date | None, today: date) -> tuple[date, str, Span | None]:
    """The explicit date, else the first date in the first of `texts` that has one, else today; with the
    character span of the date in the text it came from."""
    found = next((d for d in map(_date_in_text, texts) if d), None)
    if explicit:
        if found and found[1].startswith(AMBIGUOUS_NOTE) and not _among(explicit, found[1]):
            return found      # the question offers two other dates: which one is asked, not assumed
        return explicit, "date of service given", None
    if found:
        if found[0] > today:
            raise InputError(f"the date of service {found[0].isoformat()} is in the future")
        return found
    return today, f"{NO_DATE_NOTE}: today's date was used", None


def dates_in_text(text: str) -> list[date]:
    """Every full date the text writes, in order, each once ("L1 on 12/29/2014 and L3 on 1/6/2015")."""
    return list(dict.fromkeys(d for _, d, _ in sorted(_candidates(text)) if d))


def _date_in_text(text: str) -> tuple[date, str, Span] | None:
    candidates = _candidates(text)
    if not candidates:
        pair = next((m for m in YEAR_PAIR.finditer(text) if m[1] != m[2]), None)
        if pair:
            first, second = date(int(pair[1]), 7, 1), date(int(pair[2]), 7, 1)
            return first, f"{AMBIGUOUS_NOTE}: {first.year} or {second.year}", pair.span()
        for m in DATE_YEAR.finditer(text):
            candidates.append((m.start(), _safe_date(int(m[1]), 7, 1),
                               "year of service from the question (mid-year assumed)"))
    valid = sorted((pos, d, note) for pos, d, note in candidates if d)
    if not valid:
        return None
    start, found, note = valid[0]
    span = (start, _ends(text).get(start, start))
    alternative = _alternative(text, valid)
    if alternative:
        return found, f"{AMBIGUOUS_NOTE}: {found.isoformat()} or {alternative.isoformat()}", span
    return found, note, span


def _candidates(text: str) -> list[tuple[int, date | None, str]]:
    """The dates written to the day or the month, with where each starts and how it was read."""
    candidates: list[tuple[int, date | None, str]] = []
    for m in DATE_ISO.finditer(text):
        candidates.append((m.start(), _safe_date(int(m[1]), int(m[2]), int(m[3])), "date of service from the question"))
    for m in DATE_US.finditer(text):
        year = int(m[4]) + (2000 if len(m[4]) == 2 else 0)
        candidates.append((m.start(), _safe_date(year, int(m[1]), int(m[3])), "date of service from the question"))
    months = _months()
    for m in months.dashed.finditer(text):
        candidates.append((m.start(), _safe_date(int(m[3]), months.number(m[1]), int(m[2])),
                           "date of service from the question"))
    for m in months.day_first.finditer(text):
        candidates.append((m.start(), _safe_date(int(m[3]), months.number(m[2]), int(m[1])),
                           "date of service from the question"))
    for m in months.month_first.finditer(text):
        day = int(m[2]) if m[2] else 15
        note = "date of service from the question" if m[2] else "month of service from the question (mid-month assumed)"
        candidates.append((m.start(), _safe_date(int(m[3]), months.number(m[1]), day), note))
    return candidates


def _ends(text: str) -> dict[int, int]:
    """Where each date written in the text ends, by where it starts."""
    months = _months()
    return {m.start(): m.end() for pattern in (DATE_ISO, DATE_US, months.dashed, months.day_first, months.month_first,
                                               DATE_YEAR) for m in pattern.finditer(text)}


def _alternative(text: str, dates: list[tuple[int, date, str]]) -> date | None:
    """The second date when the text offers two as alternatives ("2014 or 2015")."""
    ends = _ends(text)
    for (pos, first, _), (next_pos, second, _) in zip(dates, dates[1:], strict=False):
        if first != second and pos in ends and _offers_alternatives(text[ends[pos]:next_pos]):
            return second
    return None


def _offers_alternatives(between: str) -> bool:
    """The words between two dates offer them as alternatives ("or", ", or maybe early"; corpus/language/terms/
    dates.yaml), and nothing else stands between them."""
    return between[-1:].isspace() and reader().read(between).is_only("date.alternative")


def _among(day: date, note: str) -> bool:
    """The date is one of the alternatives a note names (to the month, or to the year when only years were)."""
    alternatives = note.split(": ", 1)[1].split(" or ")
    return any(day.isoformat().startswith(a[:7]) for a in alternatives)


class MonthShapes(NamedTuple):
    """The date shapes with the month words of corpus/language/terms/dates.yaml written in."""
    forms: dict[str, int]              # a month word ("sept", or "jan*": any word starting "jan") -> its number
    month_first: re.Pattern[str]
    dashed: re.Pattern[str]
    day_first: re.Pattern[str]

    def number(self, word: str) -> int:
        word = word.lower()
        return next(n for form, n in self.forms.items()
                    if word == form or (form.endswith("*") and word.startswith(form[:-1])))


@lru_cache(maxsize=1)
def _months() -> MonthShapes:
    forms = {form.lower(): int(t.concept.split(".")[1])
             for t in reader().language.terms if t.concept.startswith("month.") for form in t.forms}
    words = "|".join(re.escape(f[:-1]) + "[a-z]*" if f.endswith("*") else re.escape(f)
                     for f in sorted(forms, key=len, reverse=True))
    shapes = (re.compile(shape.format(month=words), re.IGNORECASE)
              for shape in (DATE_MONTH, DATE_MONTH_DASHED, DATE_DAY_MONTH))
    return MonthShapes(forms, *shapes)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


