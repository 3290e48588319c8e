"""The code table (corpus/codes/*.yaml): validity on a date, add-on parents, bundles, and
derive(facts) -> the code set a scenario requires, or the question to ask instead."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from assistant import spine
from assistant.dates import AMBIGUOUS_NOTE, NO_DATE_NOTE
from assistant.facts import Body, ConditionTest, Facts
from assistant.tabular import TabularNote
from assistant.yamlfile import safe_load

CODES_DIR = Path(__file__).resolve().parent.parent / "corpus" / "codes"
ICD10_START = date(2015, 10, 1)
FAMILY_NAMES = {
    "vertebroplasty": "vertebroplasty",
    "augmentation": "vertebral augmentation",
    "sacral_augmentation": "sacral augmentation",
}


class Replacement(BaseModel):
    code: str | None
    when: str


class Inclusion(BaseModel):
    codes: list[str]
    scope: str  # always | same_level
    since: date | None = None
    until: date | None = None
    reason: str


class Omission(BaseModel):
    """When a derived code is left off: the question states every concept (a payer, a place of service: the
    reader's settings), on the dates."""
    all_of: list[str]
    since: date | None = None
    until: date | None = None
    reason: str

    def applies(self, settings: list[str], day: date) -> bool:
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until) and all(
            concept in settings for concept in self.all_of)


class UnitsRule(BaseModel):
    """Units that differ from the code's usual ones for a family of procedures until a date (Medicare took the
    unlisted spine code once per level for kyphoplasty before it had CPT codes)."""
    families: list[str]
    until: date
    units: str
    reason: str

    def applies(self, families: list[str], day: date) -> bool:
        return day <= self.until and any(f in self.families for f in families)


class CodeEntry(BaseModel):
    code: str
    system: str
    description: str
    effective_from: date | None = None
    effective_to: date | None = None
    family: str | None = None
    role: str | None = None
    regions: list[str] = Field(default_factory=list)
    add_on_for: list[str] = Field(default_factory=list)
    units: str | None = None
    units_when: list[UnitsRule] = Field(default_factory=list)
    sides: str | None = None
    laterality: str | None = None
    guidance: str | None = None
    replaced_by: list[Replacement] = Field(default_factory=list)
    includes: list[Inclusion] = Field(default_factory=list)
    reported_with: list[str] = Field(default_factory=list)
    fallback_for: list[str] = Field(default_factory=list)
    separate_level_modifiers: list[str] = Field(default_factory=list)
    performer: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    first_unit: int | None = None
    min_minutes: int | None = None
    unit_minutes: int | None = None
    derive: bool = True
    note: str | None = None  # a caution shown whenever the code is derived (a condition the facts cannot settle)
    omit_when: list[Omission] = Field(default_factory=list)  # payer/setting rules that leave a derived code off
    never_with_families: list[str] = Field(default_factory=list)
    never_with_roles: list[str] = Field(default_factory=list)
    only_on_families: list[str] = Field(default_factory=list)
    reason: str | None = None
    cues: list[str] = Field(default_factory=list)
    cue_roles: list[str] = Field(default_factory=list)
    cue_families: list[str] = Field(default_factory=list)
    cue_phrase: str = ""  # who or where calls for a cued modifier ("billed by the physician in a facility")
    with_fracture_treated: str | None = None  # the diagnosis this one stands for when the claim treats a fracture
    mue: int | None = None
    sources: list[str] = Field(default_factory=list)
    template: str | None = None  # the "{enc}" entry this code was expanded from (one per allowed 7th character)

    def valid_on(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )

    def units_rule(self, families: list[str], day: date) -> UnitsRule | None:
        """The era rule that sets this code's units for these procedure families on the date, if any."""
        return next((r for r in self.units_when if r.applies(families, day)), None)

    def validity_problem(self, day: date) -> str | None:
        """Why the code cannot be used on `day`, or None when it can."""
        if self.effective_from and day < self.effective_from:
            return f"{self.code} took effect {self.effective_from.isoformat()}, after the date of service"
        if self.effective_to and day > self.effective_to:
            deleted = self.effective_to.toordinal() + 1
            return f"{self.code} was deleted {date.fromordinal(deleted).isoformat()}"
        return None


class SeventhCharacters(BaseModel):
    """The 7th characters an ICD-10-CM category allows (its tabular 7th-character note)."""
    category: str
    allowed: dict[str, str]  # letter -> meaning
    source: str

    def covers(self, code: str) -> bool:
        return code.upper().startswith(self.category)


class Condition(BaseModel):
    id: str
    terms: list[str | list[str]]        # concepts of the reader's language; a list: all in one sentence
    unless: list[str | list[str]] = Field(default_factory=list)
    requires: list[str | list[str]] = Field(default_factory=list)   # each also stated, anywhere in the question
    replaced_by: list[str] = Field(default_factory=list)             # conditions that, when they hold, drop this one
    codes: list[str] = Field(default_factory=list)
    by_level: dict[str, str] = Field(default_factory=dict)
    by_region: dict[str, str] = Field(default_factory=dict)
    why: str
    also: str | None = None  # what else to code that the table cannot decide from the question
    asks: str | None = None  # a clarification to ask instead of coding: the record must settle the condition
    asks_when: Literal["codes", "diagnosis"] = "codes"   # "diagnosis": only a question about the diagnosis asks;
                                                        # a request for the CPT is answered without it


class DerivedCode(BaseModel):
    code: str
    units: int = 1
    modifiers: list[str] = Field(default_factory=list)
    reason: str


class Derivation(BaseModel):
    codes: list[DerivedCode] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    clarification: str | None = None
    missing: str | None = None  # the fact the clarification asks for: date | biopsy_level | count | fracture_cause |
                                # level | place | procedure | imaging_performer |
                                # laterality | sedation_minutes
    alternatives: list[str] = Field(default_factory=list)
    payer_alternatives: list[str] = Field(default_factory=list)  # accepted when cited, never derived (payer-specific)
    omitted: dict[str, str] = Field(default_factory=dict)  # code -> why an omit_when rule left it off
    diagnosis_note: str | None = None  # why no diagnosis code is derived for a diagnosis stated (a pre-ICD-10 date)


DIAGNOSIS_SYSTEM = "ICD-10-CM"   # the code system of the diagnosis codes in this table
def imaging_by_another_physician(codes: list[str], facts: Facts) -> str:
    """Why an S&I line is not on the surgeon's claim when another physician ran the imaging (the derivation's note
    and the reason a proposed S&I line is refused)."""
    who = "another physician (the radiologist)" if facts.radiologist_named else "another physician"
    return (f"the imaging S&I ({'/'.join(codes)}, one unit per body) was done by {who}: it goes on that physician's "
            "claim (with 26 in a facility); the surgeon may not bill it")


LINES_WITHOUT_DIAGNOSIS = ("procedure", "sedation", "biopsy", "imaging")   # billing scopes of the surgeon's lines
# the code families that report each service beside the procedure
SERVICE_FAMILIES = {"biopsy": ("biopsy",), "sedation": ("sedation",), "imaging": ("imaging_guidance", "imaging_si"),
                    "fracture_care": ("fracture_treatment",)}


class RecordRule(BaseModel):
    """What the record must show to support a code family (or Medicare coverage) on a date of service."""
    subject: str
    record: str
    since: date | None = None
    until: date | None = None
    sources: list[str] = Field(min_length=1)

    def holds_on(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (self.until is None or day <= self.until)


class Definition(BaseModel):
    """What a coding term means (or a coverage fact); it answers a question that names all its reader concepts:
    a "what is" question, or any rule question when `answers` is "any"."""
    terms: list[str] = Field(min_length=1)     # every term named; "a|b": either concept names the term
    answers: Literal["define", "any"] = "define"
    also_answers: list[str] = Field(default_factory=list)   # rule asks it answers beside "define" ("start")
    # it answers a record question better than today's record rule: an era's own claim practice, what an audit reviews
    leads_record_rules: bool = False
    definition: str
    sources: list[str] = Field(min_length=1)

    def named_by(self, concepts: set[str]) -> bool:
        return all(any(c in concepts for c in term.split("|")) for term in self.terms)


class Codebook:
    """Read-only view of the code table."""

    def __init__(self, entries: list[CodeEntry], conditions: list[Condition],
                 encounters: dict[str, list[str]], supported_from: date,
                 seventh: list[SeventhCharacters] | None = None, clarifications: dict[str, str] | None = None,
                 tabular_notes: list[TabularNote] | None = None, records: list[RecordRule] | None = None,
                 definitions: list[Definition] | None = None,
                 answered_without: dict[str, list[str]] | None = None) -> None:
        self.clarifications = clarifications or {}
        self.answered_without = answered_without or {}
        self.records = records or []
        self.definitions = sorted(definitions or [], key=lambda d: -len(d.terms))  # the most specific first
        self.tabular_notes = tabular_notes or []
        self.seventh = sorted(seventh or [], key=lambda r: -len(r.category))  # most specific category first
        self.entries = {e.code: e for e in self._expand(entries)}
        self.conditions = conditions
        self.condition = {c.id: c for c in conditions}
        self.encounters = encounters
        self.supported_from = supported_from

    @classmethod
    def load(cls, directory: Path = CODES_DIR) -> Codebook:
        entries, conditions, encounters, supported, seventh, clarifications = [], [], {}, date(2007, 1, 1), [], {}
        answered_without: dict[str, list[str]] = {}
        notes: list[TabularNote] = []
        records: list[RecordRule] = []
        definitions: list[Definition] = []
        for path in sorted(directory.glob("*.yaml")):
            data = safe_load(path.read_text(encoding="utf-8")) or {}
            entries += [CodeEntry(**raw) for raw in data.get("codes", [])]
            conditions += [Condition(**raw) for raw in data.get("conditions", [])]
            encounters.update(data.get("encounters", {}))
            seventh += [SeventhCharacters(**raw) for raw in data.get("seventh_characters", [])]
            supported = data.get("supported_from", supported)
            clarifications.update(data.get("clarifications", {}))
            answered_without.update(data.get("answered_without", {}))
            notes += [TabularNote(**raw) for raw in data.get("tabular_notes", [])]
            records += [RecordRule(**raw) for raw in data.get("documentation", [])]
            definitions += [Definition(**raw) for raw in data.get("definitions", [])]
        return cls(entries, conditions, encounters, supported, seventh, clarifications, notes, records, definitions,
                   answered_without)

    def answers_without(self, facts: Facts, missing: str | None) -> bool:
        """The question asks only rules, or about one service, that hold whatever the missing fact is
        (clarifications.yaml `answered_without`); a case asked with nothing else needs every fact. A service a rule
        is asked about is the rule's subject ("can we add 99152 or is it still bundled?" asks the inclusion)."""
        asked = [f"rule.{a}" for a in facts.rule_asks] or ([f"focus.{facts.focus}"] if facts.focus else [])
        table = self.answered_without
        return missing is not None and bool(asked) and all(missing in table.get(a, table["default"]) for a in asked)

    def definition(self, concepts: set[str], define_asked: bool) -> Definition | None:
        """The definition of the most specific term the named concepts cover."""
        return next(iter(self.definitions_of(concepts, define_asked)), None)

    def definitions_of(self, concepts: set[str], define_asked: bool, asks: list[str] = ()) -> list[Definition]:
        """Every definition the named concepts cover, the most specific first."""
        return [d for d in self.definitions if d.named_by(concepts)
                and (define_asked or d.answers == "any" or bool(set(d.also_answers) & set(asks)))]

    def record_rule(self, subject: str, day: date) -> RecordRule | None:
        """What the record must show for a code family (or "coverage") on a date."""
        return next((r for r in self.records if r.subject == subject and r.holds_on(day)), None)

    def _expand(self, entries: list[CodeEntry]) -> list[CodeEntry]:
        """An entry written "S22.080{enc}" stands for one code per 7th character its category allows."""
        out = []
        for entry in entries:
            rule = self.seventh_rule(entry.code)
            if "{enc}" not in entry.code or rule is None:
                out.append(entry)
                continue
            for letter, meaning in rule.allowed.items():
                out.append(entry.model_copy(update={
                    "code": entry.code.replace("{enc}", letter), "template": entry.code,
                    "description": f"{entry.description}, {meaning}"}))
        return out

    def seventh_rule(self, code: str) -> SeventhCharacters | None:
        return next((r for r in self.seventh if r.covers(code)), None)

    def seventh_character_problem(self, code: str) -> str | None:
        """Why a full-length code has a 7th character its category does not allow (S22.080P), else None."""
        rule = self.seventh_rule(code)
        if rule is None or len(code.replace(".", "")) != 7 or code[-1].upper() in rule.allowed:
            return None
        return (f"{code.upper()} is not a valid ICD-10-CM code: category {rule.category} takes only the 7th characters "
                f"{', '.join(rule.allowed)} ({'; '.join(f'{k} {v}' for k, v in rule.allowed.items())})")

    # ------------------------------------------------------------------ look-ups
    def get(self, code: str) -> CodeEntry | None:
        return self.entries.get(code.upper())

    def __contains__(self, code: str) -> bool:
        return code.upper() in self.entries

    def where(self, day: date, **fields: object) -> list[CodeEntry]:
        """Entries valid on `day` whose fields equal the given values."""
        return [e for e in self.entries.values()
                if e.valid_on(day) and all(getattr(e, k) == v for k, v in fields.items())]

    @staticmethod
    def add_on_units(first: CodeEntry, add_on: CodeEntry, minutes: int) -> int:
        """Units of a timed add-on for the intraservice minutes: each block past the primary's first one, counted
        once past its midpoint."""
        step = add_on.unit_minutes or 15
        return max(0, (minutes - (first.first_unit or 15) + step // 2) // step)

    @classmethod
    def first_add_on_minute(cls, first: CodeEntry, add_on: CodeEntry) -> int:
        """The intraservice minute from which a timed add-on's first unit counts (23 for 99152 + 99153)."""
        return next(m for m in range(1, 600) if cls.add_on_units(first, add_on, m))

    def separate_level_modifiers(self, entry: CodeEntry, day: date) -> list[str]:
        """The modifiers a service at an untreated level takes, those valid on the date (XS only from 2015)."""
        return [m for m in entry.separate_level_modifiers if (mod := self.get(m)) and mod.valid_on(day)]

    def add_on_of(self, primary: str, day: date, **fields: object) -> CodeEntry | None:
        """The add-on code that goes with `primary` on `day` (e.g. 22514 -> 22515)."""
        return next((e for e in self.where(day, role="add_on", **fields) if primary in e.add_on_for), None)

    def condition_terms(self) -> dict[str, ConditionTest]:
        """The concepts that state each condition, those that rule it out and those it also needs."""
        return {c.id: ConditionTest(c.terms, c.unless, c.requires, c.replaced_by) for c in self.conditions}

    def cue_terms(self) -> dict[str, ConditionTest]:
        """The concepts that call for a modifier (e.g. 22 for documented extra work), keyed by modifier."""
        return {e.code: ConditionTest(list(e.cues)) for e in self.entries.values() if e.cues}

    def completions(self, prefix: str) -> list[CodeEntry]:
        """The table's codes that complete an incomplete one ("M80.08" -> M80.08XA, M80.08XD, ...)."""
        prefix = prefix.rstrip("-").upper()
        return [e for c, e in self.entries.items() if c.startswith(prefix) and c != prefix] if len(prefix) >= 4 else []

    def diagnoses_for(self, facts: Facts) -> list[DerivedCode]:
        """The diagnosis codes the question's conditions call for, whatever else it asks."""
        result = Derivation()
        self._derive_diagnoses(facts, result)
        return result.codes

    def encounter_terms(self) -> dict[str, list[str]]:
        """The concepts that state each 7th character's encounter."""
        return dict(self.encounters)

    def inclusions(self, code: str, day: date) -> list[Inclusion]:
        entry = self.get(code)
        if not entry:
            return []
        return [i for i in entry.includes
                if (i.since is None or day >= i.since) and (i.until is None or day <= i.until)]

    def sibling(self, code: str, region: str) -> CodeEntry | None:
        """The code of the same family, role and period for another region (22523 + lumbar -> 22524)."""
        entry = self.get(code)
        if not entry or not entry.regions or region in entry.regions:
            return entry
        for other in self.entries.values():
            if (other.family, other.role, other.effective_from, other.effective_to) == (
                    entry.family, entry.role, entry.effective_from, entry.effective_to) and region in other.regions:
                return other
        return None

    def replacement_text(self, code: str) -> str:
        entry = self.get(code)
        if not entry or not entry.replaced_by:
            return ""
        if not any(r.code for r in entry.replaced_by):
            return "; " + ", ".join(r.when for r in entry.replaced_by)
        return "; replaced by " + ", ".join(f"{r.code} ({r.when})" if r.code else r.when for r in entry.replaced_by)

    # ------------------------------------------------------------------ derivation
    def derive(self, facts: Facts) -> Derivation:
        """The codes the facts require. Missing facts -> a clarifying question instead."""
        day = facts.date_of_service
        if day < self.supported_from:
            return Derivation(warnings=[
                f"dates of service before {self.supported_from.isoformat()} are outside this code table; "
                "check the code book of that year"])
        if not facts.in_scope:
            return Derivation()
        facts = self._bodies_from_proposed_primary(facts)
        missing, question = self._missing_fact(facts) or (None, None)
        sedation_asked = facts.focus == "sedation" and facts.sedation_minutes is not None
        if question and not (sedation_asked and self.answers_without(facts, missing)):
            return Derivation(clarification=question, missing=missing)
        result = Derivation()
        if facts.is_scenario:
            for family in ("vertebroplasty", "augmentation", "sacral_augmentation"):
                bodies = [b for b in facts.bodies if b.procedure == family]
                if bodies:
                    self._derive_family(family, bodies, facts, result)
            self._derive_biopsy(facts, result)
            self._derive_sedation(facts, result)
            self._derive_anesthesia(facts, result)
            self._apply_modifier_cues(facts, result)
        elif facts.sedation_minutes and (not facts.procedures or facts.focus == "sedation"):
            self._derive_sedation(facts, result)  # sedation alone, or the sedation of a case not yet placed
        # a stated fracture with no procedure: its code when asked for one, when the question is only the statement,
        # or when it is asked about with no rule named ("collapsed vertebra NEC lumbar, initial?")
        asks_diagnosis = facts.asks_for_diagnosis or (facts.diagnosis_only and (
            facts.asks_for_codes or facts.question_form is None
            or (facts.question_form in ("question", "yes_no") and not facts.rule_asks)))
        proposes_diagnoses = facts.diagnosis_only and not facts.rule_asks   # "healed vert fx last yr - just M81.0?"
        if facts.is_scenario or (asks_diagnosis and (not facts.mentioned_codes or proposes_diagnoses)):
            self._derive_diagnoses(facts, result)
        self._apply_omissions(facts, result)
        for derived in result.codes:
            note = self.entries[derived.code].note
            if note and note not in result.warnings:
                result.warnings.append(note)
        return result

    def _apply_omissions(self, facts: Facts, result: Derivation) -> None:
        for derived in list(result.codes):
            rule = next((r for r in self.entries[derived.code].omit_when
                         if r.applies(facts.settings, facts.date_of_service)), None)
            if rule:
                result.codes.remove(derived)
                result.omitted[derived.code] = rule.reason
                result.warnings.append(f"{derived.code} left off: {rule.reason}")

    def _apply_modifier_cues(self, facts: Facts, result: Derivation) -> None:
        for modifier in facts.cues:
            mod = self.get(modifier)
            if not mod or not mod.valid_on(facts.date_of_service):
                continue
            for derived in result.codes:
                entry = self.entries[derived.code]
                if (entry.role in mod.cue_roles or entry.family in mod.cue_families) and modifier not in derived.modifiers:
                    derived.modifiers.append(modifier)
                    derived.reason += f"; modifier {modifier}: {mod.description.lower()}"

    def _region_decides(self, facts: Facts) -> bool:
        """The coder offers primaries of one family for different regions ("22510 or 22511?"): the level decides."""
        primaries = [e for c in facts.mentioned_codes if (e := self.get(c)) and e.role == "primary"]
        return any(a.family == b.family and a.regions != b.regions for a in primaries for b in primaries)

    def _missing_fact(self, facts: Facts) -> tuple[str, str] | None:
        """(the missing fact, the question that asks for it), or None when the facts suffice."""
        missing = self._missing(facts)
        if missing is None:
            return None
        if missing == "date" and facts.date_note.startswith(NO_DATE_NOTE):
            era = ", ".join(e.code for e in self._named_out_of_date(facts))
            return missing, self.clarifications["date_not_given"].format(codes=era)
        dates = facts.date_note.split(": ", 1)[1] if missing == "date" else ""
        return missing, self.clarifications[missing].format(dates=dates)

    def _unsettled_condition(self, facts: Facts) -> str | None:
        """The clarification a stated condition asks for (two causes of the fracture, neither tied to it)."""
        if facts.date_of_service < ICD10_START or facts.billing_scope in LINES_WITHOUT_DIAGNOSIS:
            return None    # no diagnosis is coded (before ICD-10-CM; "CPT only"): nothing for the record to settle
        about_the_diagnosis = facts.asks_for_diagnosis or facts.billing_scope == "diagnosis"
        return next((self.condition[c].asks for c in facts.conditions if self.condition[c].asks
                     and (self.condition[c].asks_when == "codes" or about_the_diagnosis)), None)

    def _level_decides(self, facts: Facts) -> bool:
        """A diagnosis the question states whose code depends on the level or region, none of which is named."""
        conditions = [self.condition[c] for c in facts.conditions]
        return any(c.by_level or (c.by_region and not facts.diagnosis_regions(c.by_region)) for c in conditions)

    def _named_out_of_date(self, facts: Facts) -> list[CodeEntry]:
        """The procedure and service codes the coder names that are not valid on the date the answer assumed."""
        return [e for c in facts.mentioned_codes if (e := self.get(c.rstrip("-"))) and e.system != "modifier"
                and e.system != DIAGNOSIS_SYSTEM and not e.valid_on(facts.date_of_service)]

    def _missing(self, facts: Facts) -> str | None:
        if not facts.in_scope or facts.general:
            return None
        if facts.rule_only:
            return None
        if facts.is_scenario and facts.date_note.startswith(AMBIGUOUS_NOTE):
            return "date"
        if facts.is_scenario and facts.date_note.startswith(NO_DATE_NOTE) and self._named_out_of_date(facts):
            return "date"     # "billing 22523 + 72291 for a kypho T9, right?": an old claim, its date decides
        if facts.is_scenario and facts.date_note.startswith(NO_DATE_NOTE) and facts.date_unknown:
            return "date_unknown"     # "old backlog, dos not on the sheet"
        spinal = any(b.region != "sacral" for b in facts.bodies)
        biopsy_code_named = any((e := self.get(c)) and e.family == "biopsy" for c in facts.mentioned_codes)
        if facts.biopsy and not (facts.biopsy_levels or facts.biopsy_same_site or facts.biopsy_other_site) and spinal \
                and (biopsy_code_named or facts.biopsy_site_unstated) and facts.is_scenario:
            return "biopsy_level"
        asks_for_the_case = not facts.mentioned_codes or facts.asks_units or self._region_decides(facts)
        if facts.unknown_count and facts.procedures and asks_for_the_case:
            return "count"
        about_the_diagnosis = "diagnosis" in (facts.focus, facts.billing_scope)   # M80.08XA needs no level
        if facts.procedures and not facts.bodies and facts.asks_for_codes and asks_for_the_case \
                and not about_the_diagnosis and facts.describes_a_case:
            return "level"
        if not facts.bodies and (facts.asks_for_diagnosis or facts.asks_for_codes) and self._level_decides(facts):
            return "level"    # "kypho for a compression fx after a fall, what icd10?": S22/S32 go by the level
        if facts.bodies and any(b.procedure is None for b in facts.bodies) and not self._about_diagnoses(facts) \
                and (facts.asks_for_codes or self._names_procedure_codes(facts)) and not facts.diagnosis_only \
                and not facts.fracture_only:
            return "procedure"
        unsettled = self._unsettled_condition(facts)
        if unsettled and (facts.asks_for_diagnosis or (facts.asks_for_codes and facts.billing_scope is None)):
            return unsettled  # "pt has osteoporosis AND bone mets; doc only wrote 'compression fracture'"
        if (facts.billing_scope == "diagnosis" or (facts.fracture_only and facts.asks_for_diagnosis)) and not (
                facts.conditions or facts.mentioned_codes or facts.causes_ruled_out):
            return "fracture_cause"   # "dx only: note says 'T12 compression fracture', nothing about the cause"
        if facts.is_scenario and facts.imaging_performer_unknown and facts.procedures \
                and self.where(facts.date_of_service, family="imaging_si"):
            return "imaging_performer"   # before 2015 the surgeon's claim holds the S&I only if he did it
        if facts.is_scenario and facts.asks_component and "26" not in facts.cues \
                and not any(s.startswith("place.") for s in facts.settings):
            return "place"
        if any(b.procedure == "sacral_augmentation" for b in facts.bodies) and self._laterality(facts) is None \
                and facts.describes_a_case:
            return "laterality"
        if facts.sedation and facts.sedation_performer == "unknown" and not self._sedation_included(facts):
            return "sedation_performer"
        if facts.is_scenario and facts.sedation and facts.sedation_minutes is None \
                and facts.sedation_performer != "anesthesia" and not self._sedation_included(facts):
            return "sedation_minutes"
        return None

    def _laterality(self, facts: Facts) -> str | None:
        """The side stated, or else the one a named sacral code stands for ("which S&I code went with the 0201T?"),
        unless the question asks a rule about that code ("was imaging included in 0200T?" is not a case)."""
        if facts.laterality or facts.rule_asks:
            return facts.laterality
        named = {e.laterality for c in facts.mentioned_codes
                 if (e := self.get(c)) and e.family == "sacral_augmentation" and e.laterality}
        return named.pop() if len(named) == 1 else None

    def _bodies_from_proposed_primary(self, facts: Facts) -> Facts:
        """A claim's own primary code stands for the one body of a case that names no level ("claim was 22514 +
        99144 ... kypho"): its family is the one done and it covers a single region on the date."""
        if facts.bodies or len(facts.procedures) != 1 or facts.unknown_count or facts.rule_asks \
                or facts.mentioned_modifiers:
            return facts                # a rule asked about a code is not a claim to review
        primaries = [e for c in facts.mentioned_codes if (e := self.get(c)) and e.role == "primary"
                     and e.family == facts.procedures[0] and e.valid_on(facts.date_of_service) and e.regions]
        if len(primaries) != 1:
            return facts
        body = Body(name=None, region=primaries[0].regions[0], procedure=primaries[0].family)
        return facts.model_copy(update={"bodies": [body]})

    def _about_diagnoses(self, facts: Facts) -> bool:
        """No procedure named, and every code named is a diagnosis ("can I report M84.48XA with S32.010A?")."""
        named = [self.get(c.rstrip("-")) for c in facts.mentioned_codes]
        return not facts.procedures and bool(named) and all(e and e.system == DIAGNOSIS_SYSTEM for e in named)

    def _names_procedure_codes(self, facts: Facts) -> bool:
        """The question names procedure codes ("22511 or 22514?"): it asks which one applies."""
        return any((e := self.get(c)) and e.regions for c in facts.mentioned_codes)

    def _primary_for(self, family: str, region: str, day: date) -> CodeEntry | None:
        found = [e for e in self.where(day, family=family, role="primary") if region in e.regions]
        return found[0] if found else None

    def _derive_family(self, family: str, bodies, facts: Facts, result: Derivation) -> None:
        day = facts.date_of_service
        if family == "sacral_augmentation":
            self._derive_sacral(bodies, facts, result)
            return
        covered = [b for b in bodies if self._primary_for(family, b.region, day)]
        uncovered = [b for b in bodies if b not in covered]
        if uncovered:
            self._derive_unlisted(family, uncovered, facts, result)
        if not covered:
            return
        primary, alternatives = self._choose_primary(family, covered, day, named=facts.mentioned_codes,
                                                     first=facts.first_treated)
        first_reason = f"{FAMILY_NAMES[family]} primary, one per session: {_describe(covered)}"
        if alternatives:
            alt_codes = " or ".join(a.code for a in alternatives)
            first_reason += f"; levels cross regions, so {alt_codes} as the primary is equally correct"
            result.alternatives += [a.code for a in alternatives]
        result.codes.append(DerivedCode(code=primary.code, reason=first_reason))
        extra = len(covered) - 1
        if extra:
            add_on = self.add_on_of(primary.code, day, family=family)
            result.codes.append(DerivedCode(
                code=add_on.code, units=extra,
                reason=f"add-on, one unit for each additional vertebral body ({extra})"))
        self._derive_imaging_si(family, len(covered), facts, result)

    def _choose_primary(self, family: str, bodies, day: date, named: list[str] = (),
                        first: str | None = None) -> tuple[CodeEntry, list[CodeEntry]]:
        """The primary of the first body treated (AAPC, 'Solidify Your Vertebroplasty and Kyphoplasty Coding': one
        initial code, chosen by the location of the first treated body), else of the region with most bodies. When
        the levels cross regions the other primary is an alternative, and the one the coder named is kept."""
        by_region: dict[str, int] = {}
        for body in bodies:
            by_region[body.region] = by_region.get(body.region, 0) + 1
        first_region = next((b.region for b in bodies if b.name == first), None)
        candidates = {self._primary_for(family, r, day).code: (r == first_region, n) for r, n in by_region.items()}
        first_named = {c: i for i, c in reversed(list(enumerate(named)))}
        ranked = sorted(candidates, key=lambda c: (first_named.get(c, len(named)), not candidates[c][0],
                                                   -candidates[c][1]))
        primary = self.entries[ranked[0]]
        alternatives = [self.entries[c] for c in ranked[1:]]
        return primary, alternatives

    def _derive_unlisted(self, family: str, bodies, facts: Facts, result: Derivation) -> None:
        day = facts.date_of_service
        unlisted = [e for e in self.where(day, family="unlisted") if family in e.fallback_for]
        if not unlisted:
            return
        if facts.asks_payer_codes and self._derive_payer_alternative(family, bodies, day, result):
            return
        regions = ", ".join(sorted({b.region for b in bodies}))
        era = unlisted[0].units_rule([family], day)
        result.codes.append(DerivedCode(
            code=unlisted[0].code, units=len(bodies) if era and era.units == "per_body" else 1,
            reason=f"no listed code describes {regions} {FAMILY_NAMES[family]} on this date: unlisted spine "
                   f"procedure ({_describe(bodies)}); send the operative note and a comparable code"
                   + (f"; {era.reason}" if era else "")))
        # payer-specific codes some payers took instead of the unlisted code: named, never derived
        others = self._payer_alternatives(family, bodies, day)
        if others:
            result.payer_alternatives += [e.code for e in others]
            result.warnings.append(
                f"some payers took {' / '.join(e.code for e in others)} ({others[0].system}, payer-specific) instead "
                f"of {unlisted[0].code}; report them only when the payer's policy names them")

    def _payer_alternatives(self, family: str, bodies, day: date) -> list[CodeEntry]:
        """The payer-specific codes that stand in for the unlisted code for the family and regions on the date."""
        regions = {b.region for b in bodies}
        return [e for e in self.where(day, derive=False) if family in e.fallback_for
                and (not e.regions or regions & set(e.regions))]

    def _derive_payer_alternative(self, family: str, bodies, day: date, result: Derivation) -> bool:
        """"payer says no unlisted codes, use HCPCS": the payer-specific codes (one body, each additional body)
        that stand in for the unlisted code on the date."""
        others = self._payer_alternatives(family, bodies, day)
        first = next((e for e in others if e.role in ("primary", "standalone")), None)
        if first is None:
            return False
        result.codes.append(DerivedCode(code=first.code, reason=f"the payer's own code for {FAMILY_NAMES[family]} "
                                                                 f"instead of the unlisted code: {_describe(bodies)}"))
        add_on = next((e for e in others if e.role == "add_on" and first.code in e.add_on_for), None)
        if add_on and len(bodies) > 1:
            result.codes.append(DerivedCode(code=add_on.code, units=len(bodies) - 1,
                                            reason="each additional vertebral body"))
        return True

    def _derive_sacral(self, bodies, facts: Facts, result: Derivation) -> None:
        day = facts.date_of_service
        laterality = self._laterality(facts)
        codes = [e for e in self.where(day, family="sacral_augmentation") if e.laterality == laterality]
        if not codes:
            self._derive_unlisted("sacral_augmentation", bodies, facts, result)
            return
        result.codes.append(DerivedCode(
            code=codes[0].code,
            reason=f"sacral augmentation, {laterality}; one unit per session whatever the number of "
                   "sacral segments"))
        self._derive_imaging_si("sacral_augmentation", 1, facts, result)

    def _derive_imaging_si(self, family: str, body_count: int, facts: Facts, result: Derivation) -> None:
        day = facts.date_of_service
        imaging = [e for e in self.where(day, family="imaging_si") if family in e.reported_with]
        if not imaging:
            return
        if facts.imaging_by_other and facts.billing_scope != "imaging":   # not the radiologist's own coder
            warning = imaging_by_another_physician([e.code for e in imaging], facts)
            if warning not in result.warnings:
                result.warnings.append(warning)
            return
        guidance = facts.imaging or "fluoroscopy"
        chosen = [e for e in imaging if e.guidance == guidance]
        if not chosen:
            result.warnings.append(f"no per-body imaging code exists for {guidance} guidance on this date")
            return
        if facts.imaging is None and not any(d.code == chosen[0].code for d in result.codes):
            others = ", ".join(e.code for e in imaging if e.guidance != guidance)
            result.warnings.append(
                f"guidance modality not stated: fluoroscopic guidance assumed ({chosen[0].code}); "
                f"for CT guidance report {others} instead")
        line = next((d for d in result.codes if d.code == chosen[0].code), None)
        if line is None:
            line = DerivedCode(code=chosen[0].code, units=0, reason="")
            result.codes.append(line)
        line.units += body_count  # one line across families (mixed sessions share the imaging code)
        line.reason = (f"imaging supervision and interpretation, {guidance}, one unit per vertebral body or "
                       f"sacrum ({line.units}); separately reported before 2015")

    def _derive_biopsy(self, facts: Facts, result: Derivation) -> None:
        if not facts.biopsy:
            return
        day = facts.date_of_service
        treated = {b.name for b in facts.bodies if b.name}
        other = [lv for lv in facts.biopsy_levels if lv not in treated]
        same = [lv for lv in facts.biopsy_levels if lv in treated]
        if facts.biopsy_other_site and not facts.biopsy_levels:
            other = ["a level not treated, not named"]     # "bx of a different level"
        biopsy = self.where(day, family="biopsy")[0]
        if same or not (facts.biopsy_levels or facts.biopsy_other_site):
            where = ", ".join(same) if same else "the treated level"
            if self._included_in_derived(biopsy.code, day, result):
                result.warnings.append(
                    f"bone biopsy at {where} is included in the procedure code; do not report {biopsy.code} for it")
            else:
                result.codes.append(DerivedCode(
                    code=biopsy.code, reason=f"bone biopsy at {where}: the procedure code did not include it on "
                                             "this date"))
        if not other:
            return
        modifiers = self.separate_level_modifiers(biopsy, day)
        result.codes.append(DerivedCode(
            code=biopsy.code, units=len(other), modifiers=modifiers[:1],
            reason=f"bone biopsy at another level than the one treated ({', '.join(other)}) is separately reportable with "
                   f"{' or '.join(modifiers)}"))

    def _included_in_derived(self, code: str, day: date, result: Derivation) -> bool:
        return any(code in inclusion.codes for derived in result.codes for inclusion in self.inclusions(derived.code, day))

    def _sedation_included(self, facts: Facts) -> bool:
        return bool(self._sedation_inclusion(facts))

    def _sedation_candidates(self, facts: Facts) -> list[CodeEntry]:
        """The initial sedation codes that fit the performer and the patient's age on the date of service."""
        day = facts.date_of_service
        performer = facts.sedation_performer or "same"
        age = facts.patient_age if facts.patient_age is not None else 18
        return [e for e in self.where(day, family="sedation", role="primary", performer=performer)
                if (e.age_min or 0) <= age <= (e.age_max or 200)]

    def _sedation_inclusion(self, facts: Facts) -> str | None:
        """Why the sedation the facts describe is part of the procedure code, or None when it is not
        (e.g. before 2017 only the operating physician's sedation was included)."""
        day = facts.date_of_service
        candidates = {e.code for e in self._sedation_candidates(facts)}
        for primary in self._session_primaries(facts):
            for inclusion in self.inclusions(primary.code, day):
                if candidates & set(inclusion.codes):
                    return f"{primary.code}: {inclusion.reason}"
        return None

    def _session_primaries(self, facts: Facts) -> list[CodeEntry]:
        """The primary codes of the session: by treated body, or, with no level named, the families' primaries
        (what they include is the same for each region)."""
        day = facts.date_of_service
        if facts.bodies:
            found = [self._primary_for(b.procedure, b.region, day) for b in facts.bodies if b.procedure]
        else:
            found = [next(iter(self.where(day, family=f, role="primary")), None) for f in facts.procedures]
        return [e for e in found if e]

    def _derive_anesthesia(self, facts: Facts, result: Derivation) -> None:
        """The anesthesia provider's one code for the session, only when the coder asks for that claim."""
        if facts.billing_scope != "anesthesia":
            return
        regions = [b.region for b in facts.bodies]
        found = [e for e in self.where(facts.date_of_service, family="anesthesia", role="primary")
                 if e.derive and regions and regions[0] in e.regions]
        if found:
            result.codes.append(DerivedCode(
                code=found[0].code, reason="anesthesia for the session, one code whatever the number of levels; "
                                           "the anesthesia time is reported with it"))

    def _derive_sedation(self, facts: Facts, result: Derivation) -> None:
        if not facts.sedation:
            return
        if facts.sedation_performer == "anesthesia":
            result.warnings.append(
                "sedation or anesthesia by an anesthesia provider is reported by that provider with anesthesia "
                "codes, not with the moderate sedation codes")
            return
        inclusion = self._sedation_inclusion(facts)
        if inclusion:
            result.warnings.append(f"moderate sedation is not reported separately: {inclusion}")
            return
        self._derive_sedation_codes(facts, result)

    def _derive_sedation_codes(self, facts: Facts, result: Derivation) -> None:
        day, minutes = facts.date_of_service, facts.sedation_minutes or 0
        performer = facts.sedation_performer or "same"
        initial = [e for e in self._sedation_candidates(facts) if e.derive]
        if not initial:
            valid = self.where(day, family="sedation")
            explained = [e for e in valid if e.note]     # 99141/99142 before 2006: named, never derived
            if not valid:
                result.warnings.append(f"no moderate sedation code in this table is valid on {day.isoformat()}; "
                                       "check the code book of that year")
            elif explained:
                result.warnings.append(f"{'/'.join(e.code for e in explained)}: {explained[0].note}")
            return
        first = initial[0]
        if minutes < (first.min_minutes or 0):
            result.warnings.append(
                f"moderate sedation of {minutes} minutes is under {first.min_minutes} minutes: not reported")
            return
        who = "the physician doing the procedure" if performer == "same" else "the other physician (reported by them)"
        result.codes.append(DerivedCode(
            code=first.code, reason=f"moderate sedation by {who}, first {first.first_unit} minutes of {minutes}"))
        add_on = self.add_on_of(first.code, day, family="sedation")
        if not add_on:
            return
        step = add_on.unit_minutes or 15
        extra = self.add_on_units(first, add_on, minutes)
        if extra:
            result.codes.append(DerivedCode(
                code=add_on.code, units=extra,
                reason=f"each additional {step} minutes of sedation; a unit counts once past its midpoint "
                       f"({minutes} minutes in all)"))

    def _derive_diagnoses(self, facts: Facts, result: Derivation) -> None:
        if not facts.conditions:
            if facts.is_scenario and facts.date_of_service >= ICD10_START:
                self._derive_written_diagnoses(facts, result)
            return
        day = facts.date_of_service
        if day < ICD10_START:
            result.diagnosis_note = (f"ICD-10-CM applies to dates of service from {ICD10_START.isoformat()}; on "
                                     f"{day.isoformat()} the diagnosis is coded in ICD-9-CM, which this table does not hold")
            result.warnings.append(result.diagnosis_note)
            return
        for cid in facts.conditions:
            condition = self.condition[cid]
            codes = list(condition.codes)
            if condition.by_region:
                codes += [condition.by_region[r] for r in facts.diagnosis_regions(condition.by_region)
                          if r in condition.by_region]
            if condition.by_level:
                codes += [condition.by_level[b.name] for b in facts.bodies if b.name in condition.by_level]
                if not any(b.name in condition.by_level for b in facts.bodies):
                    result.warnings.append(
                        f"{condition.why}: the code depends on the level and fracture type; state the level")
            if condition.also:
                result.warnings.append(condition.also)
            for code in dict.fromkeys(c.replace("{enc}", facts.encounter) for c in codes):
                problem = self.seventh_character_problem(code)
                if problem:
                    if problem not in result.warnings:
                        result.warnings.append(f"{problem}; no diagnosis code is derived for this encounter")
                    continue
                entry = self.get(code)
                if entry and entry.valid_on(day) and code not in {d.code for d in result.codes}:
                    result.codes.append(DerivedCode(code=code, reason=f"diagnosis: {condition.why}"))

    def _derive_written_diagnoses(self, facts: Facts, result: Derivation) -> None:
        """A claim to check whose diagnosis is given only as a code (a CPT line and an M80 code): the coder's code
        stands for the diagnosis, with the 7th character of this encounter (a procedure day is active treatment).
        A diagnosis code written beside a request for the CPT alone is context, not a claim line."""
        written_codes = [self.get(c) for c in facts.mentioned_codes]
        if not any(e and e.system != DIAGNOSIS_SYSTEM for e in written_codes):
            return
        for written in facts.mentioned_codes:
            entry = self.get(written)
            if entry is None or entry.system != DIAGNOSIS_SYSTEM:
                continue
            code, given = entry.code, "as the question gives it"
            if entry.with_fracture_treated and facts.procedures:   # "dx M81.0" on a kyphoplasty: the fracture's code
                code = entry.with_fracture_treated.replace("{enc}", facts.encounter)
                given = f"not {entry.code} ({entry.description}): the procedure treats a current fracture"
            if self.seventh_rule(code) and len(code.replace(".", "")) == 7 and code[-1] != facts.encounter:
                code = code[:-1] + facts.encounter
            entry = self.get(code)
            if entry and entry.valid_on(facts.date_of_service) and not self.seventh_character_problem(code) \
                    and code not in {d.code for d in result.codes}:
                result.codes.append(DerivedCode(code=code, reason=f"diagnosis: {entry.description}, {given} "
                                                                  "(the record must support it)"))


def _describe(bodies) -> str:
    named = [b.name for b in bodies if b.name]
    if len(named) == len(bodies):
        return ", ".join(named)
    regions = sorted({b.region for b in bodies}, key=spine.REGION_ORDER.index)
    return f"{len(bodies)} {'/'.join(regions)} bod{'y' if len(bodies) == 1 else 'ies'}"
