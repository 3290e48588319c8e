"""The Answer schema (v1, a contract) and the deterministic composer that writes its text."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from assistant.codebook import DIAGNOSIS_SYSTEM, Codebook, Derivation
from assistant.facts import Facts
from assistant.plain_text import plain
from assistant.readback import Understood
from assistant.retrieval import Passage
from assistant.review import Verdict
from assistant.rule_answer import FAMILY_ROLES_PROCEDURE, RuleAnswer

ENCOUNTERS = {"A": "initial encounter, active treatment", "D": "subsequent encounter, routine healing",
              "G": "subsequent encounter, delayed healing", "K": "subsequent encounter, nonunion",
              "P": "subsequent encounter, malunion", "S": "sequela"}
SCOPE_STATEMENT = (
    "I answer coding questions about percutaneous vertebroplasty, vertebral augmentation (kyphoplasty) and "
    "sacral augmentation only: CPT/HCPCS codes, units, modifiers, ICD-10-CM linkage, NCCI bundling and "
    "Medicare coverage for those procedures. Please ask about one of those."
)


class CodeLine(BaseModel):
    code: str
    units: int = 1
    modifiers: list[str] = Field(default_factory=list)
    description: str
    verified: bool
    reason: str


class Rejected(BaseModel):
    code: str
    reason: str


class Citation(BaseModel):
    id: str
    title: str
    source: str
    license: str


class LLMInfo(BaseModel):
    backend: str
    model: str
    draft_passed: bool


class Section(BaseModel):
    kind: str                        # why | rule | review | notes | question | quote | notice
    title: str
    items: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    question: str
    date_of_service: date
    in_scope: bool
    needs_clarification: bool
    answer: str
    codes: list[CodeLine] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    llm: LLMInfo
    timings_ms: dict[str, int] = Field(default_factory=dict)
    # v1.1, additive: the direct answer, what was read (with spans), verdicts on proposed codes, typed parts
    summary: str = ""
    understood: list[Understood] = Field(default_factory=list)
    review: list[Verdict] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)


def compose(facts: Facts, derivation: Derivation, codes: list[CodeLine], rejected: list[Rejected],
            passages: list[Passage], codebook: Codebook, verdicts: list[Verdict] = (), notes: list[str] = (),
            rule: RuleAnswer | None = None) -> str:
    """The verified answer in markdown, written from the facts and the rule check alone."""
    if not facts.in_scope:
        return SCOPE_STATEMENT
    if derivation.clarification:
        return f"I need one more fact before I can code this: {derivation.clarification}"
    parts = [_heading(facts)]
    if rule and not codes:
        parts.append("\n".join(f"- {s}" for s in rule.statements) or "> " + _quote_line(rule.quotes[0]))
    if codes:
        parts.append(_code_table(codes))
        if derivation.alternatives:
            parts.append(_alternatives_line(derivation))
    elif facts.mentioned_codes:
        parts.append("\n".join(f"- {line}" for line in code_facts(facts, codebook, _bold)))
    elif passages:
        parts.append(_from_passages(passages))
    if verdicts:
        parts.append("**Your codes:**\n" + "\n".join(f"- {_verdict_line(v)}" for v in verdicts))
    if rejected:
        parts.append("**Not reportable here:**\n" + "\n".join(f"- ~~{r.code}~~: {r.reason}" for r in rejected))
    if notes:
        parts.append("**Scope:**\n" + "\n".join(f"- {n}" for n in notes))
    if derivation.warnings:
        parts.append("**Notes:**\n" + "\n".join(f"- {w}" for w in derivation.warnings))
    if passages:
        parts.append("Sources: " + "; ".join(f"[{p.doc_id}]" for p in passages))
    return "\n\n".join(parts)


def _alternatives_line(derivation: Derivation) -> str:
    return ("Levels cross regions: CPT allows one primary per session, so either region's primary "
            f"code may lead ({', '.join(derivation.alternatives)} is the other choice).")


def _heading(facts: Facts) -> str:
    dos = facts.date_of_service.isoformat()
    note = "" if facts.date_note == "date of service given" else f" ({facts.date_note})"
    if facts.is_scenario:
        levels = ", ".join(b.name or b.region for b in facts.bodies)
        return f"**Date of service {dos}**{note} — levels: {levels}."
    return f"**Date of service {dos}**{note}."


def _code_table(codes: list[CodeLine]) -> str:
    rows = ["| Code | Units | Modifiers | Description | Why |", "|---|---|---|---|---|"]
    for c in codes:
        rows.append(f"| {c.code} | {c.units} | {', '.join(c.modifiers) or '—'} | {c.description} | ✓ {c.reason} |")
    return "\n".join(rows)


def _bold(text: str) -> str:
    return f"**{text}**"


def code_facts(facts: Facts, codebook: Codebook, strong=str) -> list[str]:
    """What the code table says about the codes the question names, one line each; `strong` marks a code
    (Markdown bold for the composer, nothing for the typed section)."""
    lines = []
    day = facts.date_of_service
    for mentioned in facts.mentioned_codes:
        entry = codebook.get(mentioned.rstrip("-"))
        if entry and facts.asked_region:
            sibling = codebook.sibling(entry.code, facts.asked_region)
            if sibling and sibling.code != entry.code:
                lines.append(f"The {facts.asked_region} counterpart of {entry.code} is {strong(sibling.code)}.")
                entry = sibling
        code = entry.code if entry else mentioned
        if entry is None and codebook.completions(code):
            lines.append(_completion_line(code, facts, codebook, strong))
            continue
        if entry is None:
            lines.append(f"{code}: not a code in this assistant's table (vertebroplasty family); check the code "
                         "book — it may not exist.")
            continue
        problem = entry.validity_problem(day)
        status = problem + codebook.replacement_text(code) if problem else f"valid on {day.isoformat()}"
        line = f"{strong(code)} — {entry.description}: {status}."
        bundles = [i for i in codebook.entries.values() if code in {c for inc in codebook.inclusions(i.code, day)
                                                                   for c in inc.codes} and i.valid_on(day)]
        if bundles and entry.family in ("imaging_guidance", "imaging_si", "biopsy", "sedation", "fracture_treatment"):
            reason = next(inc.reason for inc in codebook.inclusions(bundles[0].code, day) if code in inc.codes)
            line += f" With {', '.join(b.code for b in bundles[:6])}: not separately reportable — {reason}."
        lines.append(line)
    return lines + _pairing_notes(facts, codebook, strong) + _diagnosis_notes(facts, codebook, strong)


def _completion_line(code: str, facts: Facts, codebook: Codebook, strong) -> str:
    """An incomplete ICD-10-CM code: its completions, and the one the question's encounter calls for."""
    options = [e for e in codebook.completions(code) if e.valid_on(facts.date_of_service)]
    listed = "; ".join(f"{e.code} ({e.description.split(', ')[-1]})" for e in options[:7])
    fit = next((e.code for e in options if e.code.endswith(facts.encounter)), None)
    here = f" For this question ({ENCOUNTERS.get(facts.encounter, facts.encounter)}): {strong(fit)}." if fit else ""
    return f"{strong(code)} is not complete; the table's codes are: {listed}.{here}"


def _diagnosis_notes(facts: Facts, codebook: Codebook, strong) -> list[str]:
    """A diagnosis code the coder named that the stated condition does not call for: name the one it does."""
    named = {c.rstrip("-").upper() for c in facts.mentioned_codes}
    named_icd = [c for c in named if (e := codebook.get(c)) and e.system == DIAGNOSIS_SYSTEM]
    wanted = [d for d in codebook.diagnoses_for(facts) if d.code not in named]
    if not named_icd or not wanted:
        return []
    return [f"For {wanted[0].reason.removeprefix('diagnosis: ')}, report {strong(', '.join(d.code for d in wanted))}, "
            f"not {', '.join(sorted(named_icd))}."]



def _pairing_notes(facts: Facts, codebook: Codebook, strong) -> list[str]:
    """An add-on named with a primary it does not belong to: say so and name the add-on that does."""
    day = facts.date_of_service
    named = [e for c in facts.mentioned_codes if (e := codebook.get(c.rstrip("-")))]
    notes = []
    for add_on in (e for e in named if e.role == "add_on" and e.add_on_for):
        for primary in (e for e in named if e.role == "primary" and e.code not in add_on.add_on_for):
            partner = codebook.add_on_of(primary.code, day)
            if partner is None:
                continue
            notes.append(f"{strong(add_on.code)} does not pair with {strong(primary.code)}: it is the add-on for "
                         f"{' or '.join(add_on.add_on_for)} only. With {primary.code}, each additional body is "
                         f"{strong(partner.code)}.")
    return notes


def _from_passages(passages: list[Passage]) -> str:
    best = passages[0]
    body = best.text.split("\n\n", 1)[-1]
    return f"From *{best.title}*:\n\n> " + body[:700].replace("\n", "\n> ")


def _quote_line(quote) -> str:
    return f"{quote.text} [{quote.doc_id}]"


def _verdict_line(v: Verdict) -> str:
    if v.verdict == "correct":
        units = f", {v.units} unit(s)" if v.units else ""
        return f"{v.code}: correct{units} — {v.reason}"
    if v.verdict == "replace":
        return f"{v.code}: replace with {', '.join(v.by)} — {v.reason}"
    return f"{v.code}: do not report — {v.reason}"


FOCUS_FAMILIES = {"sedation": ("sedation",), "biopsy": ("biopsy",), "imaging": ("imaging_guidance", "imaging_si"),
                  "fracture_care": ("fracture_treatment",)}
FOCUS_NAMES = {"fracture_care": "fracture care"}


def _claim(codes: list[CodeLine], units: bool = False) -> str:
    """'22514, 22515 x2'; with `units`, every line's units ('99153 x1'), for a question about how many."""
    return ", ".join(f"{c.code}{''.join('-' + m for m in c.modifiers)}{' x' + str(c.units) if units or c.units > 1 else ''}"
                     for c in codes)


def _focus_sentence(facts: Facts, codes: list[CodeLine], codebook: Codebook, focus: str | None = None) -> str:
    """A question about one thing (the sedation, the biopsy, the imaging) is answered about that thing first."""
    focus = focus or facts.focus
    if focus == "diagnosis":
        diagnoses = [c for c in codes if (e := codebook.get(c.code)) and e.system == DIAGNOSIS_SYSTEM]
        return f"For the diagnosis: {_claim(diagnoses)}. " if diagnoses else ""
    families = FOCUS_FAMILIES.get(focus or "")
    if not families:
        return ""
    name = FOCUS_NAMES.get(focus, focus)
    asked = [c for c in codes if (e := codebook.get(c.code)) and e.family in families]
    if asked:
        timed = any((e := codebook.get(c.code)) and e.unit_minutes for c in asked)   # time decides the units
        return f"For the {name}: {_claim(asked, facts.asks_units or timed)}, separately reportable. "
    reason = _inclusion_reason(families, codes, codebook, facts.date_of_service)
    if reason:
        return f"For the {name}: no separate code; it is included in {reason}. "
    return f"For the {name}: no separate code on this claim for this date of service (see the notes). "


def _each_encounter(facts: Facts, codes: list[CodeLine], codebook: Codebook) -> str:
    """"initial kypho encounter, and then the routine-healing f/u?": each fracture code with each encounter's 7th
    character the question names."""
    said = []
    for line in codes:
        rule = codebook.seventh_rule(line.code)
        if not rule or not line.code.endswith(facts.encounter):
            continue
        for letter in facts.encounters_asked:
            full = line.code[:-1] + letter
            if letter in rule.allowed and codebook.get(full):
                said.append(f"{full} ({rule.allowed[letter]})")
    return f"For the diagnosis: {'; '.join(said)}. " if said else ""


def _inclusion_reason(families: tuple[str, ...], codes: list[CodeLine], codebook: Codebook, day: date) -> str:
    """'22514 (all imaging guidance is included in the descriptor)' when a reported code includes the family."""
    for line in codes:
        for inclusion in codebook.inclusions(line.code, day):
            if any((e := codebook.get(c)) and e.family in families for c in inclusion.codes):
                return f"{line.code} ({inclusion.reason})"
    return ""


def _yes_or_no(facts: Facts, codes: list[CodeLine], codebook: Codebook) -> str:
    """'can 20225 be billed?', 'do i add 22515 for L4?': yes or no on each code named, before the claim."""
    if facts.question_form != "yes_no":
        return ""
    named = [c for c in dict.fromkeys(m.rstrip("-") for m in facts.mentioned_codes) if codebook.get(c)]
    reported = {c.code: c for c in codes}
    yes = [c for c in named if c in reported]
    no = [c for c in named if c not in reported]
    said = ([f"No: {', '.join(no)} {'is' if len(no) == 1 else 'are'} not reported."] if no else []) + \
        ([_yes(yes, reported, codebook)] if yes else [])
    return " ".join(said) + " " if said else ""


def _yes(named: list[str], reported: dict[str, CodeLine], codebook: Codebook) -> str:
    """'Yes: <the imaging line> is separately reportable with <the procedure code>.' when the coder asks about
    services beside the procedure; else 'Yes: <codes> are reported.'"""
    procedures = [c for c in named if codebook.get(c).family in FAMILY_ROLES_PROCEDURE]
    services = [c for c in named if c not in procedures and codebook.get(c).system != DIAGNOSIS_SYSTEM]
    if procedures and services and len(procedures) + len(services) == len(named):
        return (f"Yes: {_claim([reported[c] for c in services])} {'is' if len(services) == 1 else 'are'} "
                f"separately reportable with {', '.join(procedures)}.")
    if len(named) == 1 and named[0] in services:     # "can 20225 go on the claim?": yes, and why
        return f"Yes: {_claim([reported[named[0]]])} is reported: {reported[named[0]].reason}."
    return f"Yes: {_claim([reported[c] for c in named])} {'is' if len(named) == 1 else 'are'} reported."


def _change(v: Verdict) -> str:
    if v.verdict == "correct":          # only its units change: the reason says so
        return f"{v.code}: {v.reason}"
    target = f"replace with {', '.join(v.by)}" if v.by else "do not report"
    return f"{v.code}: {target} ({v.reason})" if v.reason else f"{v.code}: {target}"


def summarize(facts: Facts, derivation: Derivation, codes: list[CodeLine], verdicts: list[Verdict],
              composed: str, codebook: Codebook, rule: RuleAnswer | None = None) -> str:
    """The direct answer in one or two sentences; every code in it is a verified one (or a verdict on the
    coder's own code)."""
    if not facts.in_scope:
        return "Outside this assistant's scope (vertebroplasty, vertebral augmentation and sacral augmentation coding)."
    if derivation.clarification:
        return f"I need one more fact: {derivation.clarification}"
    dx_note = derivation.diagnosis_note if facts.asks_for_diagnosis or facts.focus == "diagnosis" else None
    if codes:
        lead = f"For the diagnosis: {dx_note}. " if dx_note else \
            (facts.encounters_asked and _each_encounter(facts, codes, codebook)) or \
            _focus_sentence(facts, codes, codebook)
        text = _yes_or_no(facts, codes, codebook) + lead + \
            f"Report {_claim(codes)} for {facts.date_of_service.isoformat()}."
        changes = [v for v in verdicts if v.verdict != "correct" or v.units]
        if changes:
            text += " Of your codes: " + "; ".join(_change(v) for v in changes) + "."
        if rule and rule.quotes and not rule.statements:    # what the case's record or claim needs, from the sources
            text += " " + rule.summary
        elif rule and rule.statements:                      # the rule the question asks about the case, first
            text = f"{rule.summary} {text}"
        return text
    if facts.billing_scope in FOCUS_FAMILIES and derivation.codes:   # "just the imaging" on a date it is included
        return _focus_sentence(facts, derivation.codes, codebook, facts.billing_scope).strip()
    if dx_note:       # "kypho in Sept 2015 - ICD-10 or still ICD-9?": the code set of the date answers first
        return f"{dx_note[0].upper()}{dx_note[1:]}." + (f" {rule.summary}" if rule else "")
    if rule:
        return rule.summary
    if derivation.warnings and (facts.is_scenario or facts.sedation_minutes is not None):
        return f"No code to report for this case on {facts.date_of_service.isoformat()}: {derivation.warnings[0]}."
    first = next((ln for ln in composed.split("\n")[1:] if ln.strip() and not ln.startswith("Sources:")), "")
    return first.strip().lstrip("-> ").replace("**", "")[:400] or "No code to report for this question as asked."


def sections(derivation: Derivation, codes: list[CodeLine], verdicts: list[Verdict], rejected: list[Rejected],
             notes: list[str], passages: list[Passage], rule: RuleAnswer | None = None,
             table_facts: list[str] = ()) -> list[Section]:
    """The composer's parts, typed, so interfaces render structure instead of parsing the Markdown.
    `table_facts`: the code table's lines on the codes the question names (`code_facts`, plain text)."""
    out = []
    if derivation.clarification:
        out.append(Section(kind="question", title="Needed to code this", items=[derivation.clarification]))
    if codes:
        why = [f"{c.code}: {c.reason}" for c in codes]
        out.append(Section(kind="why", title="Why these codes",
                           items=why + ([_alternatives_line(derivation)] if derivation.alternatives else [])))
    elif (rule and rule.statements) or table_facts:
        statements = rule.statements if rule else []
        out.append(Section(kind="rule", title="From the code table", items=statements + list(table_facts)))
    if rule and rule.quotes:
        out.append(Section(kind="quote", title="From the sources", items=[_quote_line(q) for q in rule.quotes]))
    if verdicts:
        out.append(Section(kind="review", title="Your codes", items=[_verdict_line(v) for v in verdicts]))
    if rejected or notes or derivation.warnings:
        items = [f"{r.code}: {r.reason}" for r in rejected] + list(notes) + derivation.warnings
        out.append(Section(kind="notes", title="Notes", items=items))
    if passages and not (rule and rule.quotes):
        body = plain(passages[0].text.split("\n\n", 1)[-1])
        out.append(Section(kind="quote", title=f"{passages[0].title} [{passages[0].doc_id}]", items=[body[:500]]))
    return out
