"""Stage 1: a coder's question (and the chat so far) -> Facts, by deterministic parsing."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import NamedTuple

from pydantic import BaseModel, Field

from assistant import spine
from assistant.dates import NO_DATE_NOTE, date_of_service, parse_date_argument
from assistant.errors import InputError
from assistant.reader import Mention, Reading, reader
from assistant.reader.numbers import bodies_stated, ordinal_levels, quantities
from assistant.reader.tokens import Token
from assistant.vocabulary import (
    CLAUSE_BREAK,
    CLOCK_TIME,
    CODE_PATTERN,
    HIDDEN_TEXT,
    LEVEL_RANGE,
    TIME_RANGE,
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
    date_span: tuple[int, int] | None = None     # where the date was written in the question
    in_scope: bool
    procedures: list[str] = Field(default_factory=list)
    bodies: list[Body] = Field(default_factory=list)
    first_treated: str | None = None   # the treated body the question names first: the primary code's region
    unknown_count: bool = False
    biopsy: bool = False
    biopsy_levels: list[str] = Field(default_factory=list)
    biopsy_site_unstated: bool = False   # "note doesn't say where the bx was from": asked
    date_unknown: bool = False           # "dos not on the sheet": the case's date is asked
    asks_payer_codes: bool = False       # "payer says no unlisted codes, use HCPCS": its own codes, not 22899
    biopsy_same_site: bool = False
    biopsy_other_site: bool = False      # "bx of a different level": an untreated level, not named
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
    settings: list[str] = Field(default_factory=list)    # payer, place of service and the surgeon's claim stated:
                                                         # "place.facility", "scope.surgeon_claim"
    fracture_code_only: bool = False                     # "which fracture code": not the neoplasm's
    encounter: str = "A"
    encounters_asked: list[str] = Field(default_factory=list)   # two or more encounters named: each one's code
    general: bool = False
    asked_region: str | None = None
    asks_for_codes: bool = False
    asks_for_diagnosis: bool = False
    follow_up: bool = False
    billing_scope: str | None = None             # procedure | diagnosis | sedation | biopsy | imaging |
                                                 # professional | facility
    focus: str | None = None                     # the one thing asked about: diagnosis | sedation | biopsy | imaging
    asks_units: bool = False
    asks_component: bool = False     # "26 or global?": the place of service decides
    imaging_performer_unknown: bool = False   # "doesn't say who ran/read the fluoro"
    radiologist_named: bool = False           # the reply to that question: "radiology ran and read it"
    causes_ruled_out: bool = False   # "no trauma, no osteoporosis or cancer": the record rules causes out
    treatment_named: bool = False                 # "treatment of", "surgery": a procedure was done, of some kind
    fracture_only: bool = False                   # a fracture stated and nothing done: its diagnosis is asked
    rule_asks: list[str] = Field(default_factory=list)  # the rules a question asks about: start, end, replaced, pair, ...
    codes_offered: bool = False                   # "22510 or 22511?": codes offered as alternatives for the case
    question_form: str | None = None              # rule (asks about a rule) | yes_no (may a code be reported) |
                                                  # question | None (a statement)
    fracture_care: bool = False
    case_words: bool = False      # a patient, something done, its record, or the one code of it asked for
    region_stated: bool = False   # a level or region in words of its own ("sacroplasty" alone implies the sacrum)
    junctions: list[str] = Field(default_factory=list)   # "thoracolumbar", "T12-L1 junction": a diagnosis region

    def diagnosis_regions(self, coded: dict[str, str]) -> list[str]:
        """The regions a by-region diagnosis is coded for: a junction the record names when the diagnosis has a
        code for it, else the regions of the levels."""
        return [j for j in self.junctions if j in coded] or self.regions

    @property
    def is_scenario(self) -> bool:
        """A procedure was done and we know where: the codebook can derive codes."""
        return bool(self.procedures) and bool(self.bodies) and not self.general and not self.rule_only \
            and self.describes_a_case

    @property
    def describes_a_case(self) -> bool:
        """An encounter to code, whose missing facts are asked for: a level, a count, a side, a patient, a
        diagnosis, something done, its record, its one code asked for, a choice between codes for it, or a
        statement to code (no question nor rule asked: "sacroplasty"). Without any, a question that names a
        procedure asks about the code set ("kypho codes 2020?")."""
        return self.case_words or self.unknown_count or self.region_stated or self.laterality is not None \
            or self.patient_age is not None or self.sedation_minutes is not None or bool(self.conditions) \
            or self.codes_offered or (self.question_form is None and not self.rule_asks)

    @property
    def rule_only(self) -> bool:
        """A question about a rule that names no treated level ("is there an add-on code for sacroplasty if more
        than one segment gets cement?"): no case to code, nor any fact of one to ask for."""
        return self.question_form == "rule" and not any(b.name for b in self.bodies)

    @property
    def diagnosis_only(self) -> bool:
        """A fracture to classify: a diagnosis stated, and no procedure, treatment or service named."""
        return bool(self.conditions) and not (self.procedures or self.treatment_named or self.services or self.general)

    @property
    def services(self) -> list[str]:
        """The services besides the cement procedure that the question names."""
        named = {"biopsy": self.biopsy, "sedation": self.sedation, "imaging": self.imaging is not None,
                 "fracture_care": self.fracture_care}
        return [service for service, present in named.items() if present]

    @property
    def regions(self) -> list[str]:
        return sorted({b.region for b in self.bodies}, key=spine.REGION_ORDER.index)


TermRef = str | Sequence[str]        # a concept of the reader's language, or concepts stated in one sentence


class ConditionTest(NamedTuple):
    """How the question states a condition: any of `terms`, none of `unless`, each of `requires` anywhere, and
    none of the conditions in `replaced_by` holding."""
    terms: Sequence[TermRef]
    unless: Sequence[TermRef] = ()
    requires: Sequence[TermRef] = ()
    replaced_by: Sequence[str] = ()


ConditionTerms = Mapping[str, ConditionTest]
EncounterTerms = Mapping[str, Sequence[str]]


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



CAUSES_RULED_OUT = "cause.ruled_out"
IGNORED_PROCEDURE = ("negated", "not_treated", "historical", "hypothetical")
SPINE_FAMILIES = ("vertebroplasty", "augmentation")


def normalized(text: str) -> str:
    """Hidden comments blanked and ordinal levels named ("the 3rd lumbar vertebra" -> "L3"), each padded to its
    original length so that offsets into the result are offsets into the question."""
    text = HIDDEN_TEXT.sub(lambda m: " " * len(m.group(0)), text)
    for phrase, name in ordinal_levels(reader().read(text)):
        text = text[:phrase.start] + name.ljust(phrase.end - phrase.start) + text[phrase.end:]
    return text


def _parse_one(question: str, explicit_date: date | None, today: date, conditions: ConditionTerms | None,
               encounters: EncounterTerms | None, cues: ConditionTerms | None) -> Facts:
    text = normalized(question)
    reading = reader().read(text)
    session = _current_session(text, reading)
    dos, note, date_span = date_of_service([session, text], explicit_date, today)
    procedures, positions = _procedures(reading)
    bodies, unknown_count = _bodies(session, procedures, positions, reading)
    treated_names = _treated_level_names(session, reading)
    biopsy_levels = _biopsy_levels(text, reading) or _untreated_biopsy_site(reading, session, treated_names)
    bodies = [b for b in bodies if b.name is None or b.name in treated_names]
    if bodies and not procedures and any(b.region == "sacral" for b in bodies) and reading.has("material.cement"):
        procedures = ["sacral_augmentation"]
        bodies = [b.model_copy(update={"procedure": "sacral_augmentation"}) for b in bodies]
    minutes, performer = _sedation(text, reading)
    fracture_only = _fracture_only(reading, procedures)
    ruled_out = _causes_ruled_out(reading)
    return Facts(
        question=question,
        date_of_service=dos,
        date_note=note,
        date_span=date_span,
        in_scope=_in_scope(reading, procedures),
        procedures=procedures,
        bodies=bodies,
        first_treated=_first_written(session, reading, bodies),
        unknown_count=unknown_count,
        biopsy=reading.has("service.biopsy", outside=("negated",)),
        biopsy_same_site=reading.has("biopsy.same_site"),
        biopsy_other_site=reading.has("biopsy.other_site", outside=("negated",)),
        biopsy_site_unstated=reading.has("biopsy.site_unstated"),
        date_unknown=reading.has("date.unknown"),
        asks_payer_codes=reading.has("payer_codes_asked"),
        biopsy_levels=biopsy_levels,
        imaging=_imaging(reading),
        imaging_by_other=_imaging_by_other(reading),
        sedation=_sedation_mentions(reading) != [],
        sedation_minutes=minutes,
        sedation_performer=performer,
        patient_age=_age(reading),
        laterality=_laterality(reading),
        mentioned_codes=_unique(m.group(1).upper() for m in CODE_PATTERN.finditer(text)),
        mentioned_modifiers=_modifiers(reading),
        conditions=_conditions(reading, conditions or {}, ruled_out),
        cues=_conditions(reading, cues or {}, ruled_out),
        settings=_unique(m.concept for m in reading.found("payer", outside=("negated",))
                         + reading.found("place", outside=("negated",)) + reading.found("scope.surgeon_claim")),
        encounter=_encounter(reading, _other_fracture_spans(reading), encounters or {}),
        encounters_asked=_encounters_asked(reading, encounters or {}),
        general=_general(text, reading),
        asks_for_codes=reading.has("ask.codes"),
        asks_for_diagnosis=any(reading.has(c) for c in ("ask.diagnosis", "scope.diagnosis_only", "focus.diagnosis"))
        or (reading.has("ask.codes") and fracture_only),
        billing_scope=billing_scope(reading),
        fracture_code_only=reading.has("scope.fracture_code"),
        focus=_focus(reading),
        asks_units=reading.has("ask.units"),
        asks_component=reading.has("ask.component"),
        imaging_performer_unknown=reading.has("imaging.performer_unknown"),
        radiologist_named=reading.has("performer.radiologist", outside=("negated",)),
        causes_ruled_out=ruled_out,
        rule_asks=_rule_asks(reading),
        codes_offered=bool(_alternative_codes(reading)),
        question_form=_question_form(reading),
        treatment_named=reading.has("act.treatment", outside=("negated",))
        or reading.has("procedure.either", outside=IGNORED_PROCEDURE),
        fracture_only=fracture_only,
        fracture_care=reading.has("service.fracture_care", outside=("negated",)),
        case_words=reading.has("case"),
        region_stated=_region_stated(reading),
        junctions=_unique(m.concept.split(".", 1)[1] for m in reading.found("junction", outside=("negated",))),
    )


def _fracture_only(reading: Reading, procedures: list[str]) -> bool:
    """A fracture stated and nothing done to it: no procedure, treatment, cement, device, service or procedure code
    ("rad report says L2 compression fx. which code?" asks for its diagnosis, not which procedure was done)."""
    done = procedures or any(reading.has(c, outside=("negated",)) for c in
                             ("procedure", "act.treatment", "material", "device", "service", "code"))
    return reading.has("fracture", outside=("negated",)) and not done


def _region_stated(reading: Reading) -> bool:
    """A level, or a region word that is not also the procedure's name ("sacroplasty" names both)."""
    procedure_spans = {(m.start, m.end) for m in reading.found("procedure")}
    return reading.has("level") or any((m.start, m.end) not in procedure_spans for m in reading.found("region"))


def _rule_asks(reading: Reading) -> list[str]:
    """The rules asked about (rule.start -> "start"), in the order the question names them."""
    asks = [m.concept.split(".", 1)[1] for m in sorted(reading.found("rule"), key=lambda m: m.start)]
    if reading.has("ask.what_is"):    # "what is <code>?" defines; "whats the add-on for <code>?" asks the pair first
        asks.append("define")
    if not asks and _asks_if_a_service_goes_with(reading):
        asks = ["includes"]
    return list(dict.fromkeys(asks))


def _asks_if_a_service_goes_with(reading: Reading) -> bool:
    """"kypho + bx same level ok?": a yes-or-no question that names a procedure and a service, and no level or code
    of a case and no request for codes ("how do I code it?"), asks whether the service is reported with the
    procedure."""
    service = reading.has("service", outside=("negated",)) or reading.has("imaging", outside=("negated",))
    procedure = reading.has("procedure", outside=("negated",))
    if procedure and service and reading.has("ask.separately") and not reading.has("level") \
            and not reading.has("case"):
        return True     # "back then could the RS&I and a bone bx be billed on top (of 0200T), with what codes?"
    return reading.has("form.yes_no") and not reading.has("ask") and procedure and service \
        and not reading.has("level") and not reading.has("code")


def _question_form(reading: Reading) -> str | None:
    """'rule' for a question about a rule ("is there an add-on code for ...?"), 'yes_no' for whether a code may
    be reported ("can 20225 be billed?"), 'question' for another question, None for a statement (a case to code)."""
    for form in ("rule", "yes_no", "question"):
        if reading.has(f"form.{form}"):
            return form
    return None


def _general(text: str, reading: Reading) -> bool:
    """A question about the rules or coverage rather than a scenario to code."""
    coverage = _asks_about_coverage(reading)
    if coverage and not reading.has("ask.codes"):
        return True
    return bool(reading.has("ask.general") or coverage) and not _named_levels(text, reading)


def _asks_about_coverage(reading: Reading) -> bool:
    """A coverage word in a sentence that ends with a question mark."""
    return any(map(reading.in_question, reading.found("ask.coverage")))


def _unique(items) -> list:
    return list(dict.fromkeys(items))


def _procedures(reading: Reading) -> tuple[list[str], dict[str, list[int]]]:
    """The procedure families done, with the offsets of their words. A cavity device names augmentation; cement
    names vertebroplasty only when nothing else names the family (every family injects cement)."""
    positions: dict[str, list[int]] = {}
    devices = reading.found("device.cavity", outside=IGNORED_PROCEDURE)
    for m in reading.found("procedure", outside=IGNORED_PROCEDURE):
        family = m.concept.split(".", 1)[1]
        if family == "vertebroplasty" and _cavity_just_before(reading, m, devices):
            family = "augmentation"
        positions.setdefault(family, []).append(m.start)
    for m in devices:
        positions.setdefault("augmentation", []).append(m.start)
    if len(positions) <= 1 and _offers_both_families(reading) and not reading.has("device.cavity"):
        return [], {}                   # "22510 or 22513?" and no word on a balloon or device: asked
    if reading.has("ask.how_to_tell") and len(set(positions) & set(SPINE_FAMILIES)) == 2 \
            and not reading.has("device.cavity"):
        return [], {}                   # "how do i tell if it's kypho vs VP?": the family is what is asked
    either = positions.pop("either", None)          # "cement augmentation", "VP/KP": the note must decide
    if either and not positions:
        if not _augmentation_denied(reading):
            return [], {}
        positions["vertebroplasty"] = either
    cement = [m.start for m in reading.found("material.cement", outside=IGNORED_PROCEDURE)]
    if cement and not positions:       # cement into the sacrum alone is sacral augmentation
        positions["sacral_augmentation" if _only_the_sacrum(reading) else "vertebroplasty"] = cement
    if cement and "augmentation" in positions and _augmentation_denied(reading) and not _cavity_documented(reading):
        del positions["augmentation"]
        positions.setdefault("vertebroplasty", cement)
    if "augmentation" in positions and _device_undocumented(reading) and not _cavity_documented(reading):
        return [], {}                   # augmentation named, the note silent on any device: the family is asked
    states_bodies = bool(_named_levels(reading.text, reading) or reading.has("count.bodies"))
    if not positions and states_bodies and not reading.has("time.current"):   # "kyphoplasty at 3 levels yesterday"
        for m in reading.found("procedure", outside=("negated", "not_treated", "hypothetical", "reference")):
            positions.setdefault(m.concept.split(".", 1)[1], []).append(m.start)
        positions.pop("either", None)
    if not positions and reading.has("level"):       # a code written for named levels names its family
        for m in reading.found("code", outside=IGNORED_PROCEDURE):
            positions.setdefault(m.concept.split(".", 1)[1], []).append(m.start)
    order = ["vertebroplasty", "augmentation", "sacral_augmentation"]
    return [f for f in order if f in positions], positions


def _offers_both_families(reading: Reading) -> bool:
    """The coder offers a vertebroplasty and an augmentation code as alternatives ("22511 or 22514?")."""
    return any(a.concept != b.concept and {a.concept, b.concept} <= {f"code.{f}" for f in SPINE_FAMILIES}
               for a, b in _alternative_codes(reading))


def _alternative_codes(reading: Reading) -> list[tuple[Mention, Mention]]:
    """Pairs of codes written as alternatives, only choice words between them ("22510 or 22511")."""
    codes = sorted(reading.found("code"), key=lambda m: m.first)
    choice = reader().language.words_of("code_choice")
    return [(a, b) for a, b in zip(codes, codes[1:], strict=False)
            if b.first > a.last + 1 and all(t.text in choice for t in reading.tokens[a.last + 1:b.first])]


def _only_the_sacrum(reading: Reading) -> bool:
    return reading.has("site.sacrum") and all(lv.region == "sacral" for _, lv in _named_levels(reading.text, reading))


def _other_fracture_spans(reading: Reading) -> list[tuple[int, int]]:
    """What the text says of levels that are old or left untreated ("an old healed L3 deformity"; "L3 was not
    addressed (chronic, healed)") or of the plan: not the encounter of the fracture treated."""
    spans = []
    levels = reading.found("level")
    for s in reading.scopes:
        start, end = reading.tokens[min(s.first, s.trigger.first)].start, reading.tokens[max(s.last, s.trigger.last)].end
        names_a_level = any(start <= m.start < end for m in levels)
        if s.category == "not_treated" and names_a_level:
            spans.append((start, _sentence_end(reading.text, end)))
        elif s.category == "hypothetical" or (             # the plan: "f/u 2 weeks" is not this encounter
                s.category == "historical" and names_a_level):
            spans.append((start, end))
    return spans


def _sentence_end(text: str, offset: int) -> int:
    ends = [i for i in (text.find(".", offset), text.find("\n", offset)) if i >= 0]
    return min(ends) if ends else len(text)


def _augmentation_denied(reading: Reading) -> bool:
    """Some augmentation word or cavity device is negated ("nothing about a balloon or cavity")."""
    return any("negated" in reading.categories_at(m.start)
               for m in reading.found("procedure.augmentation") + reading.found("device.cavity"))


def _cavity_just_before(reading: Reading, word: Mention, devices: list[Mention]) -> bool:
    """A cavity device named right before a vertebroplasty word: "balloon-assisted vertebroplasty"."""
    near = [d for d in devices if word.start - 40 <= d.end <= word.start]
    return bool(near) and not spine.LEVEL_PATTERN.search(reading.text[near[-1].end:word.start])


def _cavity_documented(reading: Reading) -> bool:
    return reading.has("device.cavity", outside=("negated", "undocumented"))


def _device_undocumented(reading: Reading) -> bool:
    """The note is said to be silent on a cavity device ("no mention of a balloon or any device", "no device
    listed")."""
    return reading.has("device.unstated", outside=("negated",)) or any(
        "undocumented" in reading.categories_at(m.start) for m in reading.found("device.cavity"))


class LevelRange(NamedTuple):
    start: int
    end: int
    first: spine.Level
    last: spine.Level


def level_ranges(reading: Reading, text: str, offset: int = 0) -> list[LevelRange]:
    """The ranges of levels written in `text`, the part of the reading's text from `offset` (or it with parts
    blanked out), at offsets into `text`: with a dash ("T12-L2", "L2-4"), or with the words of a range
    (level_range, corpus/language/terms/lists.yaml)."""
    ends = [(m.start(), m.end(), f"{m[1]}{m[2]}", f"{m[3] or m[1]}{m[4]}") for m in LEVEL_RANGE.finditer(text)]
    for phrase in reading.found("level_range"):
        a, b = phrase.start - offset, phrase.end - offset
        if a >= 0 and b <= len(text) and text[a:b] == reading.text[phrase.start:phrase.end]:
            levels = [m for m in reading.found("level") if phrase.first <= m.first and m.last <= phrase.last]
            ends.append((a, b, reading.text[levels[0].start:levels[0].end],
                         reading.text[levels[-1].start:levels[-1].end]))
    found = [LevelRange(a, b, first, last) for a, b, x, y in ends
             if (first := spine.level(x)) and (last := spine.level(y))]
    return sorted(found, key=lambda r: r.start)


def _named_levels(text: str, reading: Reading, offset: int = 0) -> list[tuple[int, spine.Level]]:
    """The levels named in `text`, the part of the reading's text from `offset`, each range by all its levels."""
    found: list[tuple[int, spine.Level]] = []
    taken: list[tuple[int, int]] = []
    for r in level_ranges(reading, text, offset):
        found += [(r.start, lv) for lv in spine.span(r.first, r.last)]
        taken.append((r.start, r.end))
    for m in spine.LEVEL_PATTERN.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        lv = spine.level(m.group(0))
        if lv:
            found.append((m.start(), lv))
    return found


def _bodies(text: str, procedures: list[str], positions: dict[str, list[int]],
            reading: Reading) -> tuple[list[Body], bool]:
    named = _named_levels(text, reading)
    if named:
        seen: dict[str, tuple[spine.Level, list[str | None]]] = {}
        for pos, lv in sorted(named, key=lambda item: item[1].ordinal):
            seen.setdefault(lv.name, (lv, []))[1].append(_procedure_for(lv.region, pos, procedures, positions))
        spinal = [lv for lv, _ in seen.values() if lv.region != "sacral"]
        bodies = [Body(name=lv.name, region=lv.region, procedure=_technique(found, reading, lv, len(spinal) == 1))
                  for lv, found in seen.values()]
        if "sacral_augmentation" in procedures and len(spinal) == len(seen):   # "sacroplasty + PVP L5"
            bodies.append(Body(name=None, region="sacral", procedure="sacral_augmentation"))
        return bodies, False
    regions = [r for r in spine.REGION_ORDER if _said(reading, f"region.{r}", text)]
    stated = bodies_stated(reading, text)
    count = stated.count if stated else None
    if stated and stated.region:
        regions = [stated.region]
    if not regions:
        return [], bool(count)
    if "sacral" in regions and "sacral_augmentation" in procedures:
        return [Body(name=None, region="sacral", procedure="sacral_augmentation")], False
    if len(regions) > 1 or (count is None and _said(reading, "count.plural", text)):
        return [], True
    region = regions[0]
    proc = _procedure_for(region, 0, procedures, positions)
    return [Body(name=None, region=region, procedure=proc) for _ in range(count or 1)], False


def _first_written(text: str, reading: Reading, bodies: list[Body]) -> str | None:
    """The treated body named first ("started at T12, then L1"), whatever the spinal order of the list."""
    treated = {b.name for b in bodies if b.name}
    written = sorted((pos, lv.ordinal, lv.name) for pos, lv in _named_levels(text, reading) if lv.name in treated)
    return written[0][2] if written else None   # a range's bodies share its place: its first body leads


def _said(reading: Reading, concept: str, text: str) -> bool:
    """The concept is mentioned in the text read (less what was blanked out of it: an earlier session)."""
    return any(text[m.start:m.end].strip() for m in reading.found(concept))


def _technique(found: list[str | None], reading: Reading, level: spine.Level, only_level: bool) -> str | None:
    """A documented cavity decides augmentation for its level, whatever the label: a level named under both
    families, the only level treated, or a level named in the sentence that documents the cavity."""
    if found[0] == "vertebroplasty" and (set(SPINE_FAMILIES) <= set(found) or only_level
                                         or _cavity_in_sentence_of(reading, level)):
        return "augmentation" if _cavity_documented(reading) else found[0]
    return found[0]


def _cavity_in_sentence_of(reading: Reading, level: spine.Level) -> bool:
    """A cavity device whose nearest level in its sentence is this one."""
    for device in reading.found("device.cavity", outside=("negated",)):
        start, sentence = _sentence_around(reading.text, device.start)
        levels = [(abs(start + pos - device.start), lv.name) for pos, lv in _named_levels(sentence, reading, start)]
        if levels and min(levels)[1] == level.name:
            return True
    return False


def _sentence_around(text: str, offset: int) -> tuple[int, str]:
    start = max(text.rfind(stop, 0, offset) for stop in (".", "\n", ";")) + 1
    ends = [i for i in (text.find(stop, offset) for stop in (".", "\n", ";")) if i >= 0]
    return start, text[start:min(ends) if ends else len(text)]


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


def _biopsy_spans(reading: Reading) -> list[tuple[int, int]]:
    """Character spans of the levels named as the site of a biopsy ("biopsy at L3", "L3 bone biopsy"): the
    biopsy_site scopes of corpus/language/context/, less those of a biopsy said not to have been done."""
    return [(reading.tokens[s.first].start, reading.tokens[s.last].end) for s in reading.scopes
            if s.category == "biopsy_site" and s.first != s.trigger.first
            and "negated" not in reading.categories_at(s.trigger.start)]


def _biopsy_levels(text: str, reading: Reading) -> list[str]:
    return _unique(lv.name for a, b in _biopsy_spans(reading) for _, lv in _named_levels(text[a:b], reading, a))


def _treated_level_names(session: str, reading: Reading) -> set[str]:
    """Levels named outside the biopsy phrases, less any level said anywhere to be not treated ("T11 was not
    accessed" outranks a title listing T11) and any level named only as planned or deferred."""
    masked = _blank(session, _biopsy_spans(reading))
    untreated, planned, named_elsewhere = set(), set(), set()
    for m in spine.LEVEL_PATTERN.finditer(masked):
        level = spine.level(m.group(0))
        if not level:
            continue
        context = reading.categories_at(m.start())
        if "not_treated" in context:
            untreated.add(level.name)
        elif "hypothetical" in context:
            planned.add(level.name)
        else:
            named_elsewhere.add(level.name)
        if context & {"not_treated", "hypothetical"}:
            masked = _blank(masked, [m.span()])
    return {lv.name for _, lv in _named_levels(masked, reading)} - untreated - (planned - named_elsewhere)


SET_ASIDE = ("historical", "hypothetical", "not_treated")   # levels a note names only to leave them aside


def _untreated_biopsy_site(reading: Reading, session: str, treated: set[str]) -> list[str]:
    """A biopsy with no level of its own and exactly one named level left untreated: the biopsy was there. A
    level named only in the history, the plan or as not treated is no candidate ("T12 not treated; plan XRT")."""
    if not reading.has("service.biopsy", outside=("negated",)):
        return []
    untreated = _unique(lv.name for at, lv in _named_levels(session, reading)
                        if lv.name not in treated and not reading.categories_at(at) & set(SET_ASIDE))
    return untreated if len(untreated) == 1 else []


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for a, b in spans:
        text = text[:a] + " " * (b - a) + text[b:]
    return text


def _current_session(text: str, reading: Reading) -> str:
    """The text with what the context rules call historical blanked ("kypho L3 last week, today PVP L4"; all
    that comes before "pt came back"), unless that would leave no level at all."""
    past = reading.scope_spans("historical")
    if not past:
        return text
    session = _blank(text, past)
    return session if spine.LEVEL_PATTERN.search(session) or not spine.LEVEL_PATTERN.search(text) else text


def _laterality(reading: Reading) -> str | None:
    """One side only, or one side said untreated, outranks a side word; needle counts never make a side (0200T
    is one side with one or more needles)."""
    planned = ("hypothetical", "historical")
    sides = reading.found("side", outside=planned)
    if any("one_side" in reading.categories_at(m.start) for m in sides) or sides and any(
            reading.categories_at(m.start) & {"not_treated", "negated"} for m in reading.found("side")):
        return "unilateral"
    for side in ("bilateral", "unilateral"):
        if reading.has(f"laterality.{side}", outside=planned + ("negated",)):
            return side
    # one side named with its part ("needle into the right sacral ala"; a bare "right?" may be a question word)
    treated = {m.concept for m in sides if m.last > m.first
               and not reading.categories_at(m.start) & {"not_treated", "negated"}}
    return "unilateral" if len(treated) == 1 else None


def _imaging(reading: Reading) -> str | None:
    """The guidance imaging named; a CT or MRI that showed the fracture is a diagnostic study, not guidance
    (fluoroscopy is the procedure's own: "fluoro showed good fill")."""
    for kind in ("ct", "mri", "fluoroscopy"):
        study = ("diagnostic_study",) if kind != "fluoroscopy" else ()
        if reading.has(f"imaging.{kind}", outside=("negated",) + study):
            return kind
    return None


def _imaging_by_other(reading: Reading) -> bool:
    """The imaging was done and is billed by someone else (a radiologist's S&I, before 2015 its own codes)."""
    imaging = reading.found("imaging")
    surgeon_side = reading.has("scope.surgeon_claim") or reading.has("claim.not_operator")
    if surgeon_side and any("other_performer" in reading.categories_at(m.start) for m in imaging):
        return True
    return any("other_claim" in reading.categories_at(m.start) for m in imaging)


def _sedation_mentions(reading: Reading) -> list[Mention]:
    return reading.found("service.sedation", outside=("negated",)) + reading.found("drug.sedative", outside=("negated",))


def _sedation(text: str, reading: Reading) -> tuple[int | None, str | None]:
    sed = sorted(_sedation_mentions(reading), key=lambda m: m.start)
    by_other_claim = any("other_claim" in reading.categories_at(m.start) for m in sed)
    performer = ("unknown" if reading.has("performer", outside=("negated", "other_claim")) and
                 all("uncertain" in reading.categories_at(m.start) for m in reading.found("performer"))
                 else "other" if reading.has("sedation.anesthesia_denied") and reading.has("performer.anesthesia")
                 else "anesthesia" if reading.has("performer.anesthesia", outside=("negated",)) or by_other_claim
                 else "other" if reading.has("performer.other_physician") else None)
    if not sed:
        return None, performer
    minutes = quantities(reading, "minutes.stated")
    if not minutes:
        return _clock_minutes(reading), performer
    anchor = sed[0].start
    value, best = min(minutes, key=lambda found: abs(found[1].start - anchor))
    below = any(0 <= best.start - m.end <= 1 for m in reading.found("quantity.below"))
    return value - (1 if below else 0), performer    # "under 10 min": less than ten minutes


def _clock_minutes(reading: Reading) -> int | None:
    """Intraservice time from clock times: from the sedative's first dose to the end of face-to-face time
    ("0921 midazolam given; ...; hands off to PACU at 0953"), each time read with its own clause; else from
    the first to the last time named."""
    text = reading.text
    times = [(m.start(), m.end(), int(m[1] or m[3]) * 60 + int(m[2] or m[4])) for m in CLOCK_TIME.finditer(text)]
    if len(times) < 2:
        return _time_range_minutes(text)
    breaks = [0] + [m.end() for m in CLAUSE_BREAK.finditer(text)] + [len(text)]
    near = [(max(x for x in breaks if x <= a), min(x for x in breaks if x >= b)) for a, b, _ in times]
    first = next((i for i, clause in enumerate(near) if _said_within(reading, "sedation_clock.start", clause)), 0)
    last = next((i for i, clause in enumerate(near) if i > first and _said_within(reading, "sedation_clock.end", clause)),
                len(times) - 1)
    minutes = times[last][2] - times[first][2]
    return minutes if minutes > 0 else None


def _said_within(reading: Reading, concept: str, span: tuple[int, int]) -> bool:
    return any(span[0] <= m.start and m.end <= span[1] for m in reading.found(concept))


def _time_range_minutes(text: str) -> int | None:
    """Minutes of a military-time range ("RN observer, 0815-0845"); a pair of years is not one."""
    for m in TIME_RANGE.finditer(text):
        if m[1][0] in "12" and m[3][0] in "12" and all(1900 <= int(x + y) <= 2099 for x, y in ((m[1], m[2]), (m[3], m[4]))):
            continue
        minutes = (int(m[3]) * 60 + int(m[4])) - (int(m[1]) * 60 + int(m[2]))
        if minutes > 0:
            return minutes
    return None


def _age(reading: Reading) -> int | None:
    stated = age_stated(reading)
    if stated:
        return stated[0]
    return 1 if reading.has("age.infant") else None


AGE_WRITTEN = ("age.years", "age.sex", "age.years_months")    # in the order they are believed


def age_stated(reading: Reading) -> tuple[int, Mention] | None:
    """The patient's age and where it is written (corpus/language/terms/patient.yaml): a number against its unit
    ("79yo", "79F", "4 y 7 m") that no "ago" follows ("3 yrs ago" is a time), else a phrase ("age 79", "pt is 79")
    that no dose, time or count follows."""
    units = {m.first for m in reading.found("age.not_before")}
    timing = {m.last for m in reading.found("age.not_after")}     # "surveillance MRI 1 yr": a time, not an age
    for concept in AGE_WRITTEN:
        first = next((q for q in quantities(reading, concept)
                      if q[1].last + 1 not in units and q[1].first - 1 not in timing), None)
        if first and 0 <= first[0] <= 120:
            return first
    for phrase in sorted(reading.found("age.stated"), key=lambda m: m.start):
        value = int(reading.text[reading.tokens[phrase.last].start:phrase.end])
        if phrase.last + 1 not in units and 0 <= value <= 120:
            return value, phrase
    return None


def _focus(reading: Reading) -> str | None:
    for focus in ("sedation", "biopsy", "imaging", "fracture_care", "diagnosis"):
        if reading.has(f"focus.{focus}") or reading.has(f"scope.{focus}_only"):
            return focus
    return "sedation" if _sedation_leads(reading) or _sedation_timed_and_billed(reading) else None


def _sedation_leads(reading: Reading) -> bool:
    """A question that names no level and opens with the sedation, the procedure named after it ("mod sedation
    25 min, same doc as the kypho - codes?"), asks about the sedation: a case to code would name its level."""
    if reading.has("level"):
        return False
    first = min(reading.found("procedure", outside=("negated",)) + _sedation_mentions(reading),
                key=lambda m: m.start, default=None)
    return first is not None and first.concept in ("service.sedation", "drug.sedative")


def _sedation_timed_and_billed(reading: Reading) -> bool:
    """A question that names no level, gives the sedation's minutes and asks whether something is billable ("kypho,
    surgeon did the mod sed, 25 min intraservice, pt 78. billable and what codes?") asks about the sedation."""
    return not reading.has("level") and reading.has("minutes.stated") and reading.has("ask.billed")


def billing_scope(reading: Reading) -> str | None:
    """What part of the claim the coder limits the question to, if any ("CPT?" asks for the procedure line)."""
    if reading.has("scope.diagnosis_only") and not reading.has("ask.procedure_codes", outside=("other_claim", "negated")):
        return "diagnosis"
    for scope in ("anesthesia", "sedation", "biopsy", "imaging", "procedure"):
        if reading.has(f"scope.{scope}_only") and not reading.has("scope.whole_case"):
            return scope
    if reading.has("ask.procedure_codes") and not reading.has("ask.diagnosis"):
        return "procedure"
    for scope in ("professional", "facility"):
        if reading.has(f"scope.{scope}"):
            return scope
    return None


def _modifiers(reading: Reading) -> list[str]:
    """The modifiers the text names: each modifier-shaped word inside a phrase that writes a modifier
    (corpus/language/terms/modifiers.yaml), in the order written."""
    phrases = reading.found("modifier.written")
    values = [m for m in reading.found("shape.modifier") if any(p.first <= m.first and m.last <= p.last for p in phrases)]
    return _unique(reading.text[m.start:m.end].upper() for m in sorted(values, key=lambda m: m.start))


def _conditions(reading: Reading, conditions: ConditionTerms, causes_ruled_out: bool) -> list[str]:
    implied = {CAUSES_RULED_OUT} if causes_ruled_out else set()
    held = [cid for cid, test in conditions.items()
            if any(stated(reading, t) for t in test.terms) and not any(stated(reading, u) for u in test.unless)
            and all(r in implied or stated(reading, r) for r in test.requires)]
    return [cid for cid in held if not set(conditions[cid].replaced_by) & set(held)]


def _causes_ruled_out(reading: Reading) -> bool:
    """The record rules the fracture's causes out ("no trauma", "doesn't say osteoporosis or cancer"), unlike a
    note that is only silent on the cause, which is asked about."""
    return not reading.has("cause.unstated") and (reading.has(CAUSES_RULED_OUT) or any(
        "negated" in reading.categories_at(m.start) for m in reading.found("dx")))


def stated(reading: Reading, term: TermRef) -> list[Mention]:
    """The mentions that state a term, outside any negation, uncertainty or silence ("nothing about osteoporosis")
    before them (a form may hold its own trigger: "not in remission"); concepts stated in one sentence make one
    mention from the first to the last."""
    concepts = [term] if isinstance(term, str) else list(term)
    found = []
    for first in reading.found(concepts[0]):
        group = [first] + [_nearest_in_sentence(reading, first, c) for c in concepts[1:]]
        if all(group):
            lead, end = min(group, key=lambda m: m.start), max(group, key=lambda m: m.end)
            if not reading.categories_at(lead.start, triggers=False) & {"negated", "uncertain", "undocumented"}:
                found.append(Mention(first.concept, lead.first, end.last, lead.start, end.end))
    return found


def _nearest_in_sentence(reading: Reading, anchor: Mention, concept: str) -> Mention | None:
    """The mention of a concept nearest the anchor with no full stop between them (a dot inside a diagnosis
    code or a decimal number ends nothing)."""
    near = [m for m in reading.found(concept) if not any(
        _full_stop(reading, t) for t in reading.tokens[min(m.last, anchor.last) + 1:max(m.first, anchor.first)])]
    return min(near, key=lambda m: abs(m.start - anchor.start), default=None)


def _full_stop(reading: Reading, token: Token) -> bool:
    return token.text == "." and not reading.text[token.end:token.end + 1].isalnum()


def _encounters_asked(reading: Reading, encounters: EncounterTerms) -> list[str]:
    """"the initial kypho encounter and then the routine-healing f/u visit?": the 7th characters of two or more
    encounters one question names, in the order written (none when it names one)."""
    named = sorted((m.start, letter) for letter, concepts in encounters.items() for c in concepts
                   for m in reading.found(c, outside=("negated",)))
    letters = _unique(letter for _, letter in named)
    return letters if len(letters) > 1 else []


def _encounter(reading: Reading, left_out: list[tuple[int, int]], encounters: EncounterTerms) -> str:
    """The 7th character a concept states, outside what the text says of other (old, untreated) fractures."""
    for letter, concepts in encounters.items():
        if letter != "A" and any(not any(a <= m.start < b for a, b in left_out)
                                 for c in concepts for m in reading.found(c)):
            return letter
    return "A"


def _in_scope(reading: Reading, procedures: list[str]) -> bool:
    other = reading.has("procedure_other", outside=("negated", "hypothetical"))  # not a "PLAN: DEXA"
    named_as_done = reading.has("procedure", outside=IGNORED_PROCEDURE + ("reference",))
    if procedures and not (other and not named_as_done):
        return True
    family_term_of_a_code = reading.has("topic.family_code") and reading.has("term")   # "22510 global days? ... e/m"
    if other and not _asks_a_fracture_diagnosis(reading) and not family_term_of_a_code:
        return False
    # "what makes a fx pathologic?", "what is sacroplasty?"
    defines_a_term = reading.has("term") and (reading.has("rule.define") or reading.has("ask.what_is"))
    return reading.has("topic.family_code") or reading.has("topic.family") or defines_a_term


def _asks_a_fracture_diagnosis(reading: Reading) -> bool:
    """"MRI acute L1 compression fx, DEXA osteoporosis, fragility fx. M80 or S32?": the diagnosis of a vertebral
    fracture is this family's, whatever other service the text names for context; so is the diagnosis of a fracture
    this family treated, asked at a later visit ("f/u office visit 3 wks after kypho ... what 7th char?")."""
    fracture = reading.has("fracture", outside=("negated", "historical")) and reading.has("level")
    treated = reading.has("procedure", outside=("negated",))
    return (fracture and (reading.has("ask.diagnosis") or reading.has("code_choice"))) or \
        (treated and reading.has("ask.diagnosis"))


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
    updates["date_span"] = current.date_span        # spans point into the current question only
    if not current.date_note.startswith(NO_DATE_NOTE):
        updates["date_of_service"], updates["date_note"] = current.date_of_service, current.date_note
    procedures = current.procedures or previous.procedures
    updates["procedures"] = procedures
    bodies = previous.bodies
    if current.bodies:
        named = [b for b in current.bodies if b.name]
        if named and reader().read(current.question).has("ask.additional"):
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
    for field in ("imaging", "sedation_minutes", "sedation_performer", "patient_age", "laterality",
                  "billing_scope", "focus"):
        if getattr(current, field) is not None:
            updates[field] = getattr(current, field)
    updates["sedation"] = previous.sedation or current.sedation
    updates["biopsy"] = previous.biopsy or current.biopsy
    updates["biopsy_levels"] = _unique(previous.biopsy_levels + current.biopsy_levels)
    updates["mentioned_codes"] = current.mentioned_codes
    updates["mentioned_modifiers"] = current.mentioned_modifiers
    updates["imaging_performer_unknown"] = current.imaging_performer_unknown   # the reply names who did it
    updates["imaging_by_other"] = current.imaging_by_other or (
        current.radiologist_named if previous.imaging_performer_unknown else previous.imaging_by_other)
    updates["conditions"] = current.conditions or previous.conditions
    updates["settings"] = _unique(previous.settings + current.settings)
    updates["cues"] = _unique(previous.cues + current.cues)
    if current.encounter != "A":
        updates["encounter"] = current.encounter
    return merged.model_copy(update=updates)


def _carry_procedure(body: Body, procedures: list[str]) -> str | None:
    if body.region == "sacral":
        return "sacral_augmentation"
    spinal = [p for p in procedures if p != "sacral_augmentation"]
    return spinal[0] if spinal else None


def _states_count(text: str) -> bool:
    return reader().read(text).has("count.bodies")


def _looks_like_follow_up(text: str) -> bool:
    """The turn opens with a follow-up word ("and if ...", "what about L3?"): corpus/language/terms/questions.yaml."""
    return any(m.first == 0 for m in reader().read(text).found("follow_up.opener"))
