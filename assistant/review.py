"""A verdict for every code the coder proposed (in the question, a denial or a charge line): correct,
replace (with what) or remove, each with its reason from the rule check."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from assistant import tabular
from assistant.codebook import DIAGNOSIS_SYSTEM, SERVICE_FAMILIES
from assistant.reader import reader
from assistant.vocabulary import CODE_PATTERN, modifiers_after, units_written

if TYPE_CHECKING:
    from assistant.answer import CodeLine, Rejected
    from assistant.codebook import Codebook, CodeEntry
    from assistant.facts import Facts


class Verdict(BaseModel):
    code: str                       # as proposed, with its modifiers: "22513-59"
    verdict: str                    # correct | replace | remove
    by: list[str] = Field(default_factory=list)
    reason: str
    units: int | None = None        # a correct code proposed with other units: the units to report


class Proposed(BaseModel):
    code: str
    modifiers: list[str] = Field(default_factory=list)
    units: int | None = None

    @property
    def label(self) -> str:
        return self.code + "".join(f"-{m}" for m in self.modifiers)


def proposed_codes(text: str) -> list[Proposed]:
    """Each code line the coder wrote, in order; a code written twice with other modifiers is two lines, but a
    bare code the denial names ("22515 denied ... we billed 22515-51") is the line it denied."""
    found: list[Proposed] = []
    denied: set[str] = set()
    denial_words = reader().language.words_of("claim.denial")
    for m in CODE_PATTERN.finditer(text):
        line = Proposed(code=m.group(1).upper(), modifiers=modifiers_after(text, m.end()),
                        units=units_written(text[m.start():m.end() + 16], m.group(1)))
        if not line.modifiers and set(text[m.end():m.end() + 24].lower().split()[:3]) & denial_words:
            denied.add(line.code)
        if all(p.label != line.label for p in found):
            found.append(line)
    return [p for p in found if not (p.code in denied and not p.modifiers
                                     and any(o.code == p.code and o.modifiers for o in found))]


def review(facts: Facts, codes: list[CodeLine], rejected: list[Rejected], codebook: Codebook) -> list[Verdict]:
    """Verdicts only where the scenario was coded: otherwise there is nothing to compare the proposal with."""
    if not codes or not facts.in_scope:
        return []
    by_code = {c.code: c for c in codes}
    coded_diagnoses = any((e := codebook.get(c)) and e.system == DIAGNOSIS_SYSTEM for c in by_code)
    # a diagnosis the coder states while asking for the CPT is context, not a proposal to judge
    proposed = [p for p in proposed_codes(facts.question) if coded_diagnoses
                or not ((e := codebook.get(p.code)) and e.system == DIAGNOSIS_SYSTEM)]
    reasons = {r.code: r.reason for r in rejected}
    unclaimed = [c for c in by_code if all(p.code != c for p in proposed)]
    verdicts: list[Verdict] = []
    claimed = {p.label for p in proposed}
    for n, line in enumerate(proposed):
        repeated = any(p.code == line.code for p in proposed[:n])
        verdict = _verdict(line, repeated, by_code, reasons, codebook, unclaimed, facts.date_of_service)
        verdicts.append(_once(verdict, verdicts, claimed))
    return verdicts


def _once(verdict: Verdict, earlier: list[Verdict], claimed: set[str]) -> Verdict:
    """A replacement already named for an earlier proposed line, or already a line of the claim ("coded both sacral
    codes"), is not named again: this line goes."""
    given = {code for v in earlier if v.verdict == "replace" and v.code != verdict.code for code in v.by}
    if verdict.verdict != "replace" or not verdict.by:
        return verdict
    if set(verdict.by) <= given - {_bare_code(verdict.code)}:
        where = "given above"
    elif set(verdict.by) <= claimed - {verdict.code}:
        where = "on the claim"
    else:
        return verdict
    return verdict.model_copy(update={"verdict": "remove", "by": [],
                                      "reason": f"{verdict.reason}; {', '.join(verdict.by)} is already {where}"})


def _bare_code(label: str) -> str:
    return label.split("-", 1)[0]


def _verdict(line: Proposed, repeated: bool, by_code: dict[str, CodeLine], reasons: dict[str, str],
             codebook: Codebook, unclaimed: list[str], day: date) -> Verdict:
    derived = by_code.get(line.code)
    if derived and repeated:
        add_ons = _add_ons_of(line.code, by_code, codebook)
        return Verdict(code=line.label, verdict="replace" if add_ons else "remove", by=[c.code for c in add_ons],
                       reason=f"one {line.code} per session; each further body is its add-on"
                       + (f" {add_ons[0].code} ({add_ons[0].units} unit(s))" if add_ons else ""))
    if derived:
        wrong = [m for m in line.modifiers if m not in derived.modifiers]
        if wrong:
            return Verdict(code=line.label, verdict="replace", by=[derived.code],
                           reason=reasons.get(f"{line.code}-{wrong[0]}", f"modifier {wrong[0]} is not supported here"))
        missing = [m for m in derived.modifiers if m not in line.modifiers]
        if missing:      # the S&I line without 26 on the surgeon's hospital claim: the line needs its modifier
            label = derived.code + "".join(f"-{m}" for m in derived.modifiers)
            return Verdict(code=line.label, verdict="replace", by=[label],
                           reason=f"append modifier {', '.join(missing)}: {derived.reason}")
        if line.units is not None and line.units != derived.units:
            add_ons = _add_ons_of(line.code, by_code, codebook) if line.units > derived.units else []
            if not add_ons:
                sides = codebook.get(line.code).sides   # "x2 since 2 sides": one body is one unit from either side
                return Verdict(code=line.label, verdict="correct", units=derived.units,
                               reason=f"the code is right; report {derived.units} unit(s), not {line.units}: "
                                      f"{derived.reason}" + (f" ({sides})" if sides else ""))
            return Verdict(code=line.label, verdict="replace", by=[derived.code] + [c.code for c in add_ons],
                           reason=f"report {derived.units} unit(s): {derived.reason}"
                           + "".join(f"; each further body is {c.code} x{c.units}" for c in add_ons))
        return Verdict(code=line.label, verdict="correct", reason=derived.reason)
    second = _second_primary(line.code, by_code, codebook, day)
    instead = second or _replacements(line.code, by_code, codebook) or _body_codes_not_proposed(
        line.code, unclaimed, codebook)
    reason = reasons.get(line.code, "one primary per session; each further body is its add-on" if second
                         else _excluded_by(line.code, by_code, codebook) or "not called for by the facts given")
    return Verdict(code=line.label, verdict="replace" if instead else "remove", by=instead, reason=reason)


def _excluded_by(code: str, by_code: dict[str, CodeLine], codebook: Codebook) -> str:
    """"M48.50XA + M81.0 for an osteoporotic fx?": the Excludes1 note that keeps a proposed diagnosis off beside
    the one the facts call for."""
    if not ((entry := codebook.get(code)) and entry.system == DIAGNOSIS_SYSTEM):
        return ""
    for reported in by_code:
        found = tabular.excluding_note(codebook.tabular_notes, code, reported)
        if found and found[2].kind == "excludes1":
            note = found[2]
            return f"Excludes1 at {note.at} ({note.title}): {note.text}; {reported} is the code for the facts given"
    return ""


def _replacements(code: str, by_code: dict[str, CodeLine], codebook: Codebook) -> list[str]:
    """Reported codes that take the proposed code's place: its replacements, or the same kind of code (the same
    family and role, a code for the same body, or the code of the same service: the S&I code the date calls for
    in place of a guidance code)."""
    entry = codebook.get(code)
    if entry is None:
        return []
    replaced_by = {r.code for r in entry.replaced_by if r.code}
    same_kind = [c for c in by_code if (e := codebook.entries.get(c)) and e.system == entry.system
                 and ((e.family, e.role) == (entry.family, entry.role) or c in replaced_by
                      or (e.role == entry.role and _codes_a_body(e) and _codes_a_body(entry))
                      or _same_service(e, entry))]
    return same_kind


def _same_service(a: CodeEntry, b: CodeEntry) -> bool:
    return a.family != b.family and any({a.family, b.family} <= set(f) for f in SERVICE_FAMILIES.values())


def _body_codes_not_proposed(code: str, unclaimed: list[str], codebook: Codebook) -> list[str]:
    """A procedure code that matches nothing ("22515 alone" for a single L1 kypho) is replaced by the reported
    procedure codes the coder left out (the lumbar primary), or by the unlisted code reported for a body its family has no
    code for (a cervical augmentation)."""
    entry = codebook.get(code)
    if entry is None or not _codes_a_body(entry):
        return []
    return [c for c in unclaimed if (e := codebook.entries.get(c))
            and (_codes_a_body(e) or entry.family in e.fallback_for)]


def _codes_a_body(entry: CodeEntry) -> bool:
    """A primary or add-on chosen by the treated body's region: the proposal's code of the wrong procedure
    (an augmentation add-on for a vertebroplasty level) is replaced by the one the body calls for."""
    return entry.derive and bool(entry.regions) and entry.units is not None and entry.role in ("primary", "add_on")


def _add_ons_of(primary: str, by_code: dict[str, CodeLine], codebook: Codebook) -> list[CodeLine]:
    return [c for c in by_code.values() if primary in (codebook.entries[c.code].add_on_for or [])]


def _second_primary(code: str, by_code: dict[str, CodeLine], codebook: Codebook, day: date) -> list[str]:
    """A second primary of a family whose primary is already reported (22514 beside 22513): its add-on instead.
    A primary of another era (22511 on a 2013 claim) is replaced by its own era's code instead."""
    entry = codebook.get(code)
    if entry is None or entry.role != "primary" or not entry.valid_on(day) \
            or any(r.code in by_code for r in entry.replaced_by):
        return []                       # a deleted code whose successor is reported is replaced by it instead
    for other in by_code:
        e = codebook.entries.get(other)
        if e and other != code and e.role == "primary" and e.family == entry.family:
            return [c.code for c in _add_ons_of(other, by_code, codebook)]
    return []
