"""What the reader understood, fact by fact, each with the words of the question it came from (character
spans into the question), so a coder sees at once what was misread."""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant import spine
from assistant.facts import ConditionTerms, Facts, age_stated, level_ranges, normalized, stated
from assistant.reader import Mention, Reading, reader
from assistant.reader.numbers import quantities

FAMILY_WORDS = {"vertebroplasty": ("procedure.vertebroplasty", "material.cement"),
                "augmentation": ("procedure.augmentation", "device.cavity"),
                "sacral_augmentation": ("procedure.sacral_augmentation", "material.cement")}
SCOPE_LABELS = {"procedure": "procedure codes only", "diagnosis": "diagnosis codes only",
                "sedation": "sedation codes only", "biopsy": "biopsy line only", "imaging": "imaging codes only",
                "professional": "professional claim", "facility": "facility claim",
                "anesthesia": "anesthesia claim only"}
NOT_DONE = ("negated", "not_treated", "historical", "hypothetical")


class Evidence(BaseModel):
    start: int
    end: int
    text: str


class Understood(BaseModel):
    fact: str
    value: str
    level: str | None = None
    source: str = "question"        # question | earlier turn | date given | today
    evidence: list[Evidence] = Field(default_factory=list)


def understood(facts: Facts, conditions: ConditionTerms | None = None) -> list[Understood]:
    text = normalized(facts.question)
    reading = reader().read(text)
    items = _procedures(facts, reading) + [_date(facts)]
    items += _services(facts, reading) + _diagnoses(facts, reading, conditions or {})
    if facts.billing_scope:
        items.append(_item(facts, "billing_scope", SCOPE_LABELS[facts.billing_scope], reading.found("scope")))
    return items


def _item(facts: Facts, fact: str, value: str, mentions: list[Mention], level: str | None = None) -> Understood:
    evidence = [Evidence(start=m.start, end=m.end, text=facts.question[m.start:m.end]) for m in mentions]
    source = "question" if evidence or not facts.follow_up else "earlier turn"
    return Understood(fact=fact, value=value, level=level, source=source, evidence=evidence)


def _procedures(facts: Facts, reading: Reading) -> list[Understood]:
    levels = _levels_written(reading)
    items = []
    for body in facts.bodies:
        named = [m for m, names in levels if body.name in names]
        words = [m for c in FAMILY_WORDS.get(body.procedure or "", ()) for m in reading.found(c, outside=NOT_DONE)]
        nearest = sorted(words, key=lambda w: min((abs(w.start - n.start) for n in named), default=w.start))[:1]
        items.append(_item(facts, "procedure", body.procedure or "unknown", named[:1] + nearest,
                           level=body.name or body.region))
    return items


def _levels_written(reading: Reading) -> list[tuple[Mention, set[str]]]:
    """Each level and each range of levels written ("t 12", "T12-L2"), with the names of the levels it names."""
    singles = [(m, {lv.name}) for m in reading.found("level") if (lv := spine.level(reading.text[m.start:m.end]))]
    ranges = [(Mention("level", 0, 0, r.start, r.end), {lv.name for lv in spine.span(r.first, r.last)})
              for r in level_ranges(reading, reading.text)]
    return singles + ranges


def _date(facts: Facts) -> Understood:
    dos = facts.date_of_service.isoformat()
    if facts.date_span:
        a, b = facts.date_span
        return Understood(fact="date_of_service", value=dos, source="question",
                          evidence=[Evidence(start=a, end=b, text=facts.question[a:b])])
    source = "date given" if facts.date_note == "date of service given" else \
        "earlier turn" if facts.follow_up and not facts.date_note.startswith("no date") else "today"
    return Understood(fact="date_of_service", value=dos, source=source)


def _services(facts: Facts, reading: Reading) -> list[Understood]:
    items = []
    if facts.biopsy:
        where = ", ".join(facts.biopsy_levels) or ("same level" if facts.biopsy_same_site else "level not stated")
        items.append(_item(facts, "biopsy", where, reading.found("service.biopsy", outside=("negated",))))
    if facts.imaging:
        value = facts.imaging + (" (billed by another provider)" if facts.imaging_by_other else "")
        items.append(_item(facts, "imaging", value, reading.found(f"imaging.{facts.imaging}")))
    if facts.sedation:
        value = f"{facts.sedation_minutes} min" if facts.sedation_minutes is not None else "minutes not stated"
        spans = reading.found("service.sedation") + reading.found("drug.sedative")
        spans += [m for minutes, m in quantities(reading, "minutes.stated") if minutes == facts.sedation_minutes][:1]
        items.append(_item(facts, "sedation", value, spans))
        if facts.sedation_performer:
            items.append(_item(facts, "sedation_performer", facts.sedation_performer, reading.found("performer")))
    age = age_stated(reading)
    if facts.patient_age is not None:
        items.append(_item(facts, "patient_age", str(facts.patient_age), [age[1]] if age else []))
    return items


def _diagnoses(facts: Facts, reading: Reading, conditions: ConditionTerms) -> list[Understood]:
    items = []
    for condition in facts.conditions:
        test = conditions.get(condition)
        spans = [m for t in (test.terms if test else ()) for m in stated(reading, t)][:1]
        items.append(_item(facts, "diagnosis", condition.replace("_", " "), spans))
    return items
