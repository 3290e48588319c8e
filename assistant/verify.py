"""Stage 5: the rule check. Every code in the draft and in the final answer is confirmed or
rejected with a reason; codes the facts require but the draft omitted are added.

The draft passes when it agrees with the rule check it was given: it cites every derived code, cites no
code the check rejects, states no other units than the derived ones and calls no code something the
table says it is not (assistant/draft_meaning.py). `draft_problems` says what kept it from passing."""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant.answer import CodeLine, Rejected
from assistant.codebook import Codebook, CodeEntry, Derivation, DerivedCode, imaging_by_another_physician
from assistant.draft_meaning import misnamed_codes
from assistant.facts import Facts
from assistant.vocabulary import CODE_PATTERN, modifiers_after, units_written

PROCEDURE_FAMILIES = ("vertebroplasty", "augmentation", "sacral_augmentation")


class Verification(BaseModel):
    codes: list[CodeLine] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    draft_passed: bool = False
    draft_problems: list[str] = Field(default_factory=list)  # why the draft did not pass (empty when it did)


def cited_codes(text: str) -> list[tuple[str, list[str]]]:
    """Codes cited in free text, each with the modifiers written after it (22513-50)."""
    found: dict[str, list[str]] = {}
    for m in CODE_PATTERN.finditer(text):
        code = m.group(1).upper()
        mods = modifiers_after(text, m.end())
        found.setdefault(code, [])
        found[code] += [x for x in mods if x not in found[code]]
    return list(found.items())


def verify(draft: str | None, facts: Facts, derivation: Derivation, codebook: Codebook) -> Verification:
    result = Verification()
    derived = {d.code: d for d in derivation.codes}
    cited = cited_codes(draft or "")
    cited_set = {code for code, _ in cited}
    for d in derivation.codes:
        problem = _problem_with_derived(d, derived, facts, codebook)
        if problem:
            result.rejected.append(Rejected(code=d.code, reason=problem))
            continue
        reason = d.reason
        if draft is not None and d.code not in cited_set:
            reason += " (added by the rule check: the draft omitted it)"
        result.codes.append(CodeLine(code=d.code, units=d.units, modifiers=d.modifiers,
                                     description=codebook.entries[d.code].description, verified=True, reason=reason))
    draft_rejections = _reject_cited(cited, derived, facts, derivation, codebook)
    user_rejections = _reject_cited([(c, []) for c in facts.mentioned_codes if c not in cited_set],
                                    derived, facts, derivation, codebook, user=True)
    modifier_rejections = _reject_modifiers(facts, derived, codebook)
    result.rejected += _unique_rejections(draft_rejections + user_rejections + modifier_rejections)
    if draft:
        result.draft_problems = draft_problems(draft, derived, cited_set, draft_rejections, codebook)
    result.draft_passed = bool(draft) and not result.draft_problems
    return result


def draft_problems(draft: str, derived: dict[str, DerivedCode], cited: set[str], rejections: list[Rejected],
                   codebook: Codebook) -> list[str]:
    """Where the draft disagrees with the rule check: rejected or omitted codes, other units, other meanings."""
    problems = [f"{r.code} rejected: {r.reason}" for r in rejections]
    problems += [f"{code} omitted" for code in derived if code not in cited]
    for code, d in derived.items():
        units = units_written(draft, code) if code in cited else None
        if units is not None and units != d.units:
            problems.append(f"{code}: the draft says x{units}, the rule check x{d.units}")
    return problems + [m.problem() for m in misnamed_codes(draft, codebook)]


def _unique_rejections(items: list[Rejected]) -> list[Rejected]:
    seen: dict[str, Rejected] = {}
    for item in items:
        seen.setdefault(item.code, item)
    return list(seen.values())


def _problem_with_derived(d: DerivedCode, derived: dict[str, DerivedCode], facts: Facts,
                          codebook: Codebook) -> str | None:
    """Re-check a derived code against the table: nothing unconfirmed reaches the coder."""
    entry = codebook.get(d.code)
    day = facts.date_of_service
    if entry is None:
        return "not in the code table"
    problem = entry.validity_problem(day)
    if problem:
        return problem + codebook.replacement_text(d.code)
    if entry.role == "add_on" and entry.add_on_for and not set(entry.add_on_for) & derived.keys():
        return f"add-on code without its primary ({' or '.join(entry.add_on_for)})"
    for other in derived:
        for inclusion in codebook.inclusions(other, day):
            if d.code in inclusion.codes and inclusion.scope == "always":
                return f"included in {other}: {inclusion.reason}"
    for modifier in d.modifiers:
        reason = _modifier_problem(modifier, entry, facts, codebook)
        if reason:
            return reason
    return None


def _reject_cited(cited: list[tuple[str, list[str]]], derived: dict[str, DerivedCode], facts: Facts,
                  derivation: Derivation, codebook: Codebook, user: bool = False) -> list[Rejected]:
    rejected = []
    for code, modifiers in cited:
        if code in derived:
            entry = codebook.entries[code]
            for modifier in modifiers:
                if modifier not in derived[code].modifiers:
                    reason = _modifier_problem(modifier, entry, facts, codebook) or \
                        f"modifier {modifier} is not supported by the facts given"
                    rejected.append(Rejected(code=f"{code}-{modifier}", reason=reason))
            continue
        if code in derivation.alternatives or code in derivation.payer_alternatives:
            continue
        if code in derivation.omitted:
            rejected.append(Rejected(code=code, reason=derivation.omitted[code]))
            continue
        reason = _why_not(code, facts, derived, codebook, {c for c, _ in cited})
        if reason and (not user or facts.is_scenario or reason.startswith(("not a code", code))):
            rejected.append(Rejected(code=code, reason=reason))
    return rejected


def _why_not(code: str, facts: Facts, derived: dict[str, DerivedCode], codebook: Codebook,
             cited: set[str] = frozenset()) -> str | None:
    entry = codebook.get(code.rstrip("-"))
    day = facts.date_of_service
    if entry is None and (problem := codebook.seventh_character_problem(code)):
        return problem
    if entry is None and codebook.completions(code):
        return "not a complete code: it needs its remaining characters (see the note)"
    if entry is None:
        return "not a code in this assistant's table: it may not exist (invented or outside this procedure family)"
    problem = entry.validity_problem(day)
    if problem:
        return f"{problem}{codebook.replacement_text(entry.code)}{_instead(facts, derived, codebook)}"
    for parent in derived:
        for inclusion in codebook.inclusions(parent, day):
            if entry.code in inclusion.codes and (inclusion.scope == "always" or not _other_level_biopsy(entry, facts)):
                return f"included in {parent}: {inclusion.reason}"
    if entry.role == "add_on" and entry.add_on_for and not set(entry.add_on_for) & derived.keys():
        return (f"add-on code reported without its primary: {entry.code} goes only with "
                f"{' or '.join(entry.add_on_for)}{_instead(facts, derived, codebook)}")
    if entry.regions and facts.bodies and not {b.region for b in facts.bodies} & set(entry.regions):
        return (f"{entry.code} is for {'/'.join(entry.regions)} levels; the level(s) treated are "
                f"{', '.join(b.name or b.region for b in facts.bodies)}{_instead(facts, derived, codebook)}")
    if entry.min_minutes and facts.sedation_minutes is not None and facts.sedation_minutes < entry.min_minutes:
        return (f"{entry.code} needs at least {entry.min_minutes} minutes of intraservice time; "
                f"{facts.sedation_minutes} minutes documented: less than {entry.min_minutes} minutes is not reported")
    if not facts.is_scenario:
        return None
    if entry.fallback_for and not entry.derive:
        return (f"{entry.code} is a payer-specific code, named only beside the unlisted code when no listed code "
                f"describes the procedure{_instead(facts, derived, codebook)}")
    if entry.family in {b.procedure for b in facts.bodies} or entry.family in PROCEDURE_FAMILIES:
        both = " (one cement procedure code per vertebral body: only one of them is reported)" \
            if cited & _procedures(derived, codebook) else ""   # "started a VP, then ballooned T9: 22510 + 22513?"
        needs = _family_record(entry, facts, codebook)
        return (f"{entry.code} does not match the procedure and levels described{both}{needs}"
                f"{_instead(facts, derived, codebook)}")
    if not entry.derive:       # a code the table only explains: what it is says why it does not fit
        return f"{entry.code} does not fit this case: it is {entry.description[0].lower()}{entry.description[1:]}"
    if entry.family == "imaging_si" and facts.imaging_by_other:   # "radiologist ran the fluoro; ortho wants 72291-26"
        return imaging_by_another_physician([entry.code], facts)
    return f"{entry.code} is not supported by the facts of this question"


def _family_record(entry: CodeEntry, facts: Facts, codebook: Codebook) -> str:
    """A code of another family than the one documented ("provider wants 22514", the note shows cement only):
    what its record would have to show."""
    if entry.family in {b.procedure for b in facts.bodies}:
        return ""
    rule = codebook.record_rule(entry.family or "", facts.date_of_service)
    return f" (for {entry.code} the record must show {rule.record})" if rule else ""


def _other_level_biopsy(entry: CodeEntry, facts: Facts) -> bool:
    treated = {b.name for b in facts.bodies if b.name}
    return entry.family == "biopsy" and any(lv not in treated for lv in facts.biopsy_levels)


def _procedures(derived: dict[str, DerivedCode], codebook: Codebook) -> set[str]:
    return {c for c in derived if codebook.entries[c].family in PROCEDURE_FAMILIES}


def _instead(facts: Facts, derived: dict[str, DerivedCode], codebook: Codebook) -> str:
    procedures = [c for c in derived if codebook.entries[c].family in PROCEDURE_FAMILIES + ("unlisted",)]
    if not procedures:
        return ""
    return f"; for this {facts.date_of_service.year} case report {' + '.join(procedures)}"


def _modifier_problem(modifier: str, entry: CodeEntry, facts: Facts, codebook: Codebook) -> str | None:
    mod = codebook.get(modifier)
    if mod is None:
        return f"modifier {modifier} is not used in this procedure family"
    problem = mod.validity_problem(facts.date_of_service)
    if problem:
        return f"modifier {problem}"
    if entry.family in mod.never_with_families or entry.role in mod.never_with_roles:
        return f"modifier {modifier} does not apply to {entry.code}: {mod.reason}"
    if mod.only_on_families and entry.family not in mod.only_on_families:
        return f"modifier {modifier} does not apply to {entry.code}: {mod.reason}"
    return None


def _reject_modifiers(facts: Facts, derived: dict[str, DerivedCode], codebook: Codebook) -> list[Rejected]:
    """Modifiers the user asked about ("can I add 50?") checked against the derived procedure codes."""
    rejected = []
    procedure_codes = [codebook.entries[c] for c in derived
                       if codebook.entries[c].family in PROCEDURE_FAMILIES]
    for modifier in facts.mentioned_modifiers:
        used = any(modifier in d.modifiers for d in derived.values())
        if used or not procedure_codes:
            continue
        reason = _modifier_problem(modifier, procedure_codes[0], facts, codebook)
        if reason:
            rejected.append(Rejected(code=f"modifier {modifier}", reason=reason))
    return rejected
