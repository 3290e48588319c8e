"""Stage 1: a coder's question (and the chat so far) -> Facts, by deterministic parsing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from pydantic import BaseModel, Field

from assistant import spine
from assistant.dates import date_of_service, parse_date_argument
from assistant.errors import InputError
from assistant.vocabulary import (
    ADDITIONAL,
    AGE_PATTERNS,
    ANESTHESIA,
    ASKS_FOR_CODES,
    ASKS_FOR_DIAGNOSIS,
    BIOPSY,
    BIOPSY_HEAD,
    BIOPSY_TAIL,
    CAVITY_TERMS,
    CLAUSE_BREAK,
    CLOCK_TIME,
    CODE_PATTERN,
    COUNT_PHRASE,
    COVERAGE_QUESTION,
    GENERAL_QUESTION,
    HIDDEN_TEXT,
    IMAGING_BY_OTHER,
    IMAGING_TERMS,
    IN_SCOPE_TERMS,
    LATERALITY,
    LEVEL_RANGE,
    LIST_JOIN,
    MINUTES,
    MODIFIER_PATTERN,
    NEGATION,
    NOT_TREATED,
    NOT_TREATED_BEFORE,
    NOT_TREATED_LATER,
    ORDINAL_LEVEL,
    ORDINALS,
    OTHER_PERFORMER,
    OTHER_PROCEDURES,
    PAST_SESSION,
    PLURAL_BODIES,
    PROCEDURE_TERMS,
    PROCEDURE_WORD,
    REGION_WORDS,
    RETURN_VISIT,
    SAME_SITE,
    SEDATION,
    SEDATION_END,
    SEDATION_START,
    SURGEON_CLAIM,
    UNCERTAIN,
    WEAK_VERTEBROPLASTY_TERMS,
    WORD_NUMBERS,
)

MAX_QUESTION_CHARS = 4000


class Body(BaseModel):
    """One treated vertebral body; `name` is None when only the region is known."""

    name: str | None
    region: str
    procedure: str | None = None


class Facts(BaseModel):
    question: str
    date_of_service: date
    date_note: str
    in_scope: bool
    procedures: list[str] = Field(default_factory=list)
    bodies: list[Body] = Field(default_factory=list)
    unknown_count: bool = False
    biopsy: bool = False
    biopsy_levels: list[str] = Field(default_factory=list)
    biopsy_same_site: bool = False
    imaging: str | None = None
    imaging_by_other: bool = False
    sedation: bool = False
    sedation_minutes: int | None = None
    sedation_performer: str | None = None
    patient_age: int | None = None
    laterality: str | None = None
    mentioned_codes: list[str] = Field(default_factory=list)
    mentioned_modifiers: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    cues: list[str] = Field(default_factory=list)
    encounter: str = "A"
    general: bool = False
    asked_region: str | None = None
    asks_for_codes: bool = False
    asks_for_diagnosis: bool = False
    follow_up: bool = False

    @property
    def is_scenario(self) -> bool:
        """A procedure was done and we know where: the codebook can derive codes."""
        return bool(self.procedures) and bool(self.bodies) and not self.general

    @property
    def regions(self) -> list[str]:
        return sorted({b.region for b in self.bodies}, key=spine.REGION_ORDER.index)


ConditionTerms = Mapping[str, tuple[Sequence[re.Pattern], Sequence[re.Pattern]]]
EncounterTerms = Mapping[str, Sequence[re.Pattern]]


def validate_question(question: object) -> str:
    if isinstance(question, bytes):
        try:
            question = question.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("the question is not valid UTF-8 text") from exc
    if not isinstance(question, str):
        raise InputError("the question must be text")
    if not any(_visible(ch) for ch in question):
        raise InputError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}")
    if "\ufffd" in question or any(0xD800 <= ord(ch) <= 0xDFFF for ch in question):
        raise InputError("the question is not valid UTF-8 text")
    return question.strip()


def _visible(ch: str) -> bool:
    """Not whitespace, a control character (NUL...) or an invisible format character (zero-width space...)."""
    return not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")


def parse(
    question: str,
    date_of_service: date | str | None = None,
    history: Sequence[str] = (),
    *,
    today: date | None = None,
    conditions: ConditionTerms | None = None,
    encounters: EncounterTerms | None = None,
    cues: ConditionTerms | None = None,
) -> Facts:
    """Parse the question, resolving a follow-up against the earlier user turns."""
    today = today or date.today()
    question = validate_question(question)
    explicit_date = parse_date_argument(date_of_service, today)
    previous: Facts | None = None
    for earlier in history:
        try:
            turn = _parse_one(validate_question(earlier), None, today, conditions, encounters, cues)
        except InputError:
            continue
        previous = _merge(previous, turn) if previous else turn
    current = _parse_one(question, explicit_date, today, conditions, encounters, cues)
    return _merge(previous, current) if previous else current


def _normalized(text: str) -> str:
    """Hidden comments dropped and ordinal levels named ("the 3rd lumbar vertebra" -> "L3")."""
    text = HIDDEN_TEXT.sub(" ", text)
    return ORDINAL_LEVEL.sub(lambda m: f"{m[2][0].upper()}{ORDINALS[m[1].lower()]}", text)


def _parse_one(question: str, explicit_date: date | None, today: date, conditions: ConditionTerms | None,
               encounters: EncounterTerms | None, cues: ConditionTerms | None) -> Facts:
    text = _normalized(question)
    session = _current_session(text)
    dos, note = date_of_service([session, text], explicit_date, today)
    procedures, positions = _procedures(session)
    bodies, unknown_count = _bodies(session, procedures, positions)
    treated_names = _treated_level_names(session)
    biopsy_levels = _biopsy_levels(text) or _untreated_biopsy_site(text, session, treated_names)
    bodies = [b for b in bodies if b.name is None or b.name in treated_names]
    if bodies and not procedures and any(b.region == "sacral" for b in bodies) and re.search(r"cement|pmma", text, re.I):
        procedures = ["sacral_augmentation"]
        bodies = [b.model_copy(update={"procedure": "sacral_augmentation"}) for b in bodies]
    minutes, performer = _sedation(text)
    return Facts(
        question=question,
        date_of_service=dos,
        date_note=note,
        in_scope=_in_scope(session, procedures),
        procedures=procedures,
        bodies=bodies,
        unknown_count=unknown_count,
        biopsy=bool(BIOPSY.search(text)),
        biopsy_same_site=bool(SAME_SITE.search(text)),
        biopsy_levels=biopsy_levels,
        imaging=_first_key(IMAGING_TERMS.items(), text),
        imaging_by_other=bool(IMAGING_BY_OTHER.search(text) and SURGEON_CLAIM.search(text)),
        sedation=bool(SEDATION.search(text)),
        sedation_minutes=minutes,
        sedation_performer=performer,
        patient_age=_age(text),
        laterality=_first_key(LATERALITY, text),
        mentioned_codes=_unique(m.group(1).upper() for m in CODE_PATTERN.finditer(text)),
        mentioned_modifiers=_modifiers(text),
        conditions=_conditions(text, conditions or {}),
        cues=_conditions(text, cues or {}),
        encounter=_encounter(text, encounters or {}),
        general=_general(text),
        asks_for_codes=bool(ASKS_FOR_CODES.search(text)),
        asks_for_diagnosis=bool(ASKS_FOR_DIAGNOSIS.search(text)),
    )


def _general(text: str) -> bool:
    """A question about the rules or coverage rather than a scenario to code."""
    if COVERAGE_QUESTION.search(text) and not ASKS_FOR_CODES.search(text):
        return True
    return bool(GENERAL_QUESTION.search(text) or COVERAGE_QUESTION.search(text)) and not _named_levels(text)


def _unique(items) -> list:
    return list(dict.fromkeys(items))


def _first_key(patterns: Iterable[tuple[str, str]], text: str) -> str | None:
    for key, pattern in patterns:
        if re.search(pattern, text, re.IGNORECASE):
            return key
    return None


def _negated(text: str, start: int) -> bool:
    return bool(NEGATION.search(text[max(0, start - 30):start]))


def _procedures(text: str) -> tuple[list[str], dict[str, list[int]]]:
    positions: dict[str, list[int]] = {}
    for family, terms in PROCEDURE_TERMS.items():
        for term in terms:
            for m in re.finditer(term, text, re.IGNORECASE):
                if family == "augmentation" and re.match(r"sacral", text[max(0, m.start() - 7):m.start()], re.I):
                    continue
                if _negated(text, m.start()):
                    continue
                named_as = "augmentation" if family == "vertebroplasty" and _cavity_just_before(text, m.start()) else family
                positions.setdefault(named_as, []).append(m.start())
    strong_vp = any(
        not _negated(text, m.start())
        for term in PROCEDURE_TERMS["vertebroplasty"] if term not in WEAK_VERTEBROPLASTY_TERMS
        for m in re.finditer(term, text, re.IGNORECASE)
    )
    if "vertebroplasty" in positions and not strong_vp and ({"augmentation", "sacral_augmentation"} & positions.keys()):
        del positions["vertebroplasty"]
    negated_augmentation = any(
        _negated(text, m.start()) for term in PROCEDURE_TERMS["augmentation"] for m in re.finditer(term, text, re.I))
    cement = any(re.search(t, text, re.I) for t in PROCEDURE_TERMS["vertebroplasty"])
    if negated_augmentation and cement and "augmentation" in positions and not _cavity_documented(text):
        del positions["augmentation"]
        positions.setdefault("vertebroplasty", [m.start() for m in re.finditer(r"cement|pmma", text, re.I)] or [0])
    order = ["vertebroplasty", "augmentation", "sacral_augmentation"]
    return [f for f in order if f in positions], positions


def _named_procedure(text: str) -> bool:
    """A procedure named as such (not only by its cement, which other procedures mention too)."""
    return any(not _negated(text, m.start()) for family, terms in PROCEDURE_TERMS.items() for term in terms
               if term not in WEAK_VERTEBROPLASTY_TERMS for m in re.finditer(term, text, re.IGNORECASE))


def _cavity_just_before(text: str, start: int) -> bool:
    """A cavity device named right before a vertebroplasty word: "balloon-assisted vertebroplasty"."""
    offset = max(0, start - 40)
    devices = list(CAVITY_TERMS.finditer(text[offset:start]))
    if not devices:
        return False
    last = devices[-1]
    return not spine.LEVEL_PATTERN.search(text[offset + last.end():start]) and not _negated(text, offset + last.start())


def _cavity_documented(text: str) -> bool:
    """A cavity term not negated, either directly or as part of a negated list ("no balloon, curette or cavity")."""
    previous: re.Match | None = None
    previous_negated = False
    for m in CAVITY_TERMS.finditer(text):
        continues_list = previous is not None and LIST_JOIN.fullmatch(text[previous.end():m.start()])
        negated = _negated(text, m.start()) or (previous_negated and bool(continues_list))
        if not negated:
            return True
        previous, previous_negated = m, negated
    return False


def _named_levels(text: str) -> list[tuple[int, spine.Level]]:
    found: list[tuple[int, spine.Level]] = []
    taken: list[tuple[int, int]] = []
    for m in LEVEL_RANGE.finditer(text):
        first = spine.level(f"{m[1]}{m[2]}")
        last = spine.level(f"{m[3] or m[1]}{m[4]}")
        if first and last:
            found += [(m.start(), lv) for lv in spine.span(first, last)]
            taken.append(m.span())
    for m in spine.LEVEL_PATTERN.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        lv = spine.level(m.group(0))
        if lv:
            found.append((m.start(), lv))
    return found


def _bodies(text: str, procedures: list[str], positions: dict[str, list[int]]) -> tuple[list[Body], bool]:
    named = _named_levels(text)
    if named:
        seen: dict[str, tuple[spine.Level, list[str | None]]] = {}
        for pos, lv in sorted(named, key=lambda item: item[1].ordinal):
            seen.setdefault(lv.name, (lv, []))[1].append(_procedure_for(lv.region, pos, procedures, positions))
        return [Body(name=lv.name, region=lv.region, procedure=_technique(found, text))
                for lv, found in seen.values()], False
    regions = [r for r, pattern in REGION_WORDS.items() if re.search(pattern, text, re.IGNORECASE)]
    count_match = COUNT_PHRASE.search(text)
    count = None
    if count_match:
        word = count_match[1].lower()
        count = WORD_NUMBERS.get(word) or (int(word) if word.isdigit() else None)
        if count_match[2]:
            regions = [count_match[2].lower()]
    if not regions:
        return [], bool(count)
    if "sacral" in regions and "sacral_augmentation" in procedures:
        return [Body(name=None, region="sacral", procedure="sacral_augmentation")], False
    if len(regions) > 1 or (count is None and PLURAL_BODIES.search(text)):
        return [], True
    region = regions[0]
    proc = _procedure_for(region, 0, procedures, positions)
    return [Body(name=None, region=region, procedure=proc) for _ in range(count or 1)], False


def _technique(found: list[str | None], text: str) -> str | None:
    """A level named under both families (a label and a narrative): a documented cavity decides."""
    if {"vertebroplasty", "augmentation"} <= set(found) and _cavity_documented(text):
        return "augmentation"
    return found[0]


def _procedure_for(region: str, pos: int, procedures: list[str], positions: dict[str, list[int]]) -> str | None:
    if region == "sacral":
        return "sacral_augmentation" if procedures else None
    spinal = [p for p in procedures if p != "sacral_augmentation"]
    if not spinal:
        return None
    if len(spinal) == 1:
        return spinal[0]
    before = [(pos - p, fam) for fam in spinal for p in positions.get(fam, []) if p <= pos]
    if before:
        return min(before)[1]
    after = [(p - pos, fam) for fam in spinal for p in positions.get(fam, []) if p > pos]
    return min(after)[1] if after else spinal[0]


def _biopsy_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of levels named as the site of a biopsy ("biopsy at L3", "L3 bone biopsy")."""
    spans = []
    for m in BIOPSY.finditer(text):
        tail = BIOPSY_TAIL.match(text[m.end():m.end() + 40])
        if tail and not PROCEDURE_WORD.search(tail.group(0)):
            spans.append((m.end() + tail.start(1), m.end() + tail.end(1)))
        offset = max(0, m.start() - 12)
        head = BIOPSY_HEAD.search(text[offset:m.start()])
        if head:
            spans.append((offset + head.start(1), offset + head.end(1)))
    return spans


def _biopsy_levels(text: str) -> list[str]:
    return _unique(lv.name for a, b in _biopsy_spans(text) for _, lv in _named_levels(text[a:b]))


def _treated_level_names(text: str) -> set[str]:
    """Levels named outside the biopsy phrases, less any level said anywhere to be untreated."""
    masked = _blank(text, _biopsy_spans(text))
    untreated = set()
    for m in spine.LEVEL_PATTERN.finditer(masked):
        level = spine.level(m.group(0))
        if level and _said_untreated(text, m):
            masked = _blank(masked, [m.span()])
            untreated.add(level.name)
    return {lv.name for _, lv in _named_levels(masked)} - untreated


def _said_untreated(text: str, m: re.Match) -> bool:
    if NOT_TREATED.match(text[m.end():m.end() + 40]) or NOT_TREATED_BEFORE.search(text[max(0, m.start() - 30):m.start()]):
        return True
    later = NOT_TREATED_LATER.match(text[m.end():m.end() + 70])
    if not later:
        return False
    gap = later.group(1) if later.group(1) is not None else later.group(2)
    return not spine.LEVEL_PATTERN.search(gap) and not _procedures(gap)[0]


def _untreated_biopsy_site(text: str, session: str, treated: set[str]) -> list[str]:
    """A biopsy with no level of its own and exactly one named level left untreated: the biopsy was there."""
    if not BIOPSY.search(text):
        return []
    untreated = _unique(lv.name for _, lv in _named_levels(session) if lv.name not in treated)
    return untreated if len(untreated) == 1 else []


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for a, b in spans:
        text = text[:a] + " " * (b - a) + text[b:]
    return text


def _current_session(text: str) -> str:
    """The text with clauses about an earlier session blanked ("kypho L3 last week, today PVP L4";
    "kypho L2 on 9/8, pt came back 9/11 for L1": everything before the return visit)."""
    clauses = [(m.start(), m.end()) for m in re.finditer(r"[^.;,]+", text)]
    returned = RETURN_VISIT.search(text)
    if returned:
        start = max(a for a, _ in clauses if a <= returned.start())
        text = _blank(text, [(0, start)])
        clauses = [(a, b) for a, b in clauses if a >= start]
    past = [span for span in clauses if PAST_SESSION.search(text[span[0]:span[1]])]
    if not past or len(past) == len(clauses):
        return text
    return _blank(text, past)


def _sedation(text: str) -> tuple[int | None, str | None]:
    performer = "anesthesia" if ANESTHESIA.search(text) else "other" if OTHER_PERFORMER.search(text) else None
    sed = list(SEDATION.finditer(text))
    if not sed:
        return None, performer
    minutes = list(MINUTES.finditer(text))
    if not minutes:
        return _clock_minutes(text), performer
    anchor = sed[0].start()
    best = min(minutes, key=lambda m: abs(m.start() - anchor))
    return int(best[1]), performer


def _clock_minutes(text: str) -> int | None:
    """Intraservice time from clock times: from the sedative's first dose to the end of face-to-face time
    ("0921 midazolam given; ...; hands off to PACU at 0953"), each time read with its own clause; else from
    the first to the last time named."""
    times = [(m.start(), m.end(), int(m[1] or m[3]) * 60 + int(m[2] or m[4])) for m in CLOCK_TIME.finditer(text)]
    if len(times) < 2:
        return None
    breaks = [0] + [m.end() for m in CLAUSE_BREAK.finditer(text)] + [len(text)]
    near = [text[max(x for x in breaks if x <= a):min(x for x in breaks if x >= b)] for a, b, _ in times]
    first = next((i for i, ctx in enumerate(near) if SEDATION_START.search(ctx)), 0)
    last = next((i for i, ctx in enumerate(near) if i > first and SEDATION_END.search(ctx)), len(times) - 1)
    minutes = times[last][2] - times[first][2]
    return minutes if minutes > 0 else None


def _age(text: str) -> int | None:
    for pattern in AGE_PATTERNS:
        m = pattern.search(text)
        if m and 0 <= int(m[1]) <= 120:
            return int(m[1])
    if re.search(r"\b(?:infant|toddler|newborn|baby)\b", text, re.IGNORECASE):
        return 1
    return None


def _modifiers(text: str) -> list[str]:
    found = []
    for m in MODIFIER_PATTERN.finditer(text):
        value = (m[1] or m[2] or m[3]).upper()
        found.append(value)
    return _unique(found)


def _conditions(text: str, conditions: ConditionTerms) -> list[str]:
    def present(pattern: re.Pattern) -> bool:
        return any(not _negated(text, m.start()) and not UNCERTAIN.search(text[max(0, m.start() - 25):m.start()])
                   for m in pattern.finditer(text))

    return [cid for cid, (terms, unless) in conditions.items()
            if any(present(t) for t in terms) and not any(present(u) for u in unless)]


def _encounter(text: str, encounters: EncounterTerms) -> str:
    for letter, patterns in encounters.items():
        if letter != "A" and any(p.search(text) for p in patterns):
            return letter
    return "A"


def _in_scope(text: str, procedures: list[str]) -> bool:
    other = OTHER_PROCEDURES.search(text)
    if procedures and not (other and not _named_procedure(text)):
        return True
    if other:
        return False
    if CODE_PATTERN.search(text) and re.search(r"\b(?:225[12]\d|0200T|0201T|7229[12])\b", text, re.I):
        return True
    return bool(IN_SCOPE_TERMS.search(text))


def _merge(previous: Facts, current: Facts) -> Facts:
    """Resolve a follow-up: what the new turn states wins, the rest carries over."""
    no_date = current.date_note.startswith("no date")
    if current.is_scenario and no_date and not previous.is_scenario:
        return current
    if current.is_scenario and not _looks_like_follow_up(current.question):
        return current
    merged = previous.model_copy(deep=True)
    region_only = bool(current.bodies) and not any(b.name for b in current.bodies) and not _states_count(current.question)
    if previous.mentioned_codes and not previous.is_scenario and not current.procedures and region_only:
        return merged.model_copy(update={"question": current.question, "follow_up": True, "bodies": [],
                                         "asked_region": current.bodies[0].region})
    updates: dict = {"question": current.question, "follow_up": True, "asks_for_codes": True,
                     "in_scope": previous.in_scope or current.in_scope}
    if current.date_note != "no date of service given: today's date was used":
        updates["date_of_service"], updates["date_note"] = current.date_of_service, current.date_note
    procedures = current.procedures or previous.procedures
    updates["procedures"] = procedures
    bodies = previous.bodies
    if current.bodies:
        named = [b for b in current.bodies if b.name]
        if named and ADDITIONAL.search(current.question):
            known = {b.name for b in previous.bodies}
            bodies = previous.bodies + [b for b in current.bodies if b.name not in known]
        elif named or len(current.bodies) != 1 or not previous.bodies or _states_count(current.question):
            bodies = current.bodies
        else:
            bodies = [Body(name=None, region=current.bodies[0].region) for _ in previous.bodies]
    if current.procedures:
        spinal = [p for p in procedures if p != "sacral_augmentation"] or procedures
        bodies = [b.model_copy(update={"procedure": "sacral_augmentation" if b.region == "sacral" else spinal[0]})
                  for b in bodies] if len(spinal) == 1 else bodies
    else:
        bodies = [b.model_copy(update={"procedure": b.procedure or _carry_procedure(b, procedures)}) for b in bodies]
    updates["bodies"] = bodies
    updates["unknown_count"] = current.unknown_count and not bodies
    for field in ("imaging", "sedation_minutes", "sedation_performer", "patient_age", "laterality"):
        if getattr(current, field) is not None:
            updates[field] = getattr(current, field)
    updates["sedation"] = previous.sedation or current.sedation
    updates["biopsy"] = previous.biopsy or current.biopsy
    updates["biopsy_levels"] = _unique(previous.biopsy_levels + current.biopsy_levels)
    updates["mentioned_codes"] = current.mentioned_codes
    updates["mentioned_modifiers"] = current.mentioned_modifiers
    updates["conditions"] = current.conditions or previous.conditions
    if current.encounter != "A":
        updates["encounter"] = current.encounter
    return merged.model_copy(update=updates)


def _carry_procedure(body: Body, procedures: list[str]) -> str | None:
    if body.region == "sacral":
        return "sacral_augmentation"
    spinal = [p for p in procedures if p != "sacral_augmentation"]
    return spinal[0] if spinal else None


def _states_count(text: str) -> bool:
    return bool(COUNT_PHRASE.search(text))


def _looks_like_follow_up(text: str) -> bool:
    return bool(re.match(r"\s*(?:and|what if|what about|how about|same|also|instead|if it|now|then|ok|okay)\b", text, re.I))
