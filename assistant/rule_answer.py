"""Direct answers to rule questions ("when did 22510 start?", "+22515 goes with what?", "can I add 50?").

The answer is built from the code table on the date asked (dates, replacements, add-on pairs, inclusions, units,
modifiers, the codes of a family), then from the retrieved passages' sentences for what the table does not hold
(definitions, documentation, coverage). Every code it names is a table entry; nothing is drafted by a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from assistant import bundling, policies, tabular
from assistant.codebook import DIAGNOSIS_SYSTEM, SERVICE_FAMILIES, Codebook, CodeEntry, Definition
from assistant.dates import NO_DATE_NOTE, dates_in_text
from assistant.facts import Facts
from assistant.policies import policy_table
from assistant.reader import reader
from assistant.reader.numbers import bodies_stated, quantities
from assistant.retrieval import Passage
from assistant.review import proposed_codes
from assistant.sentences import Quote, best_sentences
from assistant.tabular import categories_in
from assistant.vocabulary import CODE_PATTERN

FAMILY_NAMES = {"vertebroplasty": "vertebroplasty", "augmentation": "vertebral augmentation (kyphoplasty)",
                "sacral_augmentation": "sacral augmentation (sacroplasty)", **bundling.SERVICE_NAMES}
RECORD_SUBJECTS = {"coverage": "Medicare coverage (the PVA LCDs)", "unlisted": "an unlisted code"}
UNIT_RULES = {"per_session": "only one unit per session, whatever the number of bodies treated",
              "per_additional_body": "one unit for each additional vertebral body treated in the session",
              "per_body": "one unit per vertebral body", "per_level": "one unit per level sampled"}
UNITS_FOR_BODIES = {"per_session": lambda n: 1, "per_additional_body": lambda n: n - 1, "per_body": lambda n: n}
# the services a question may name without a code, and the code families that bill them
ABOUT_FAMILIES = ("includes", "modifier", "pair", "units")  # rules a family answers through any of its primaries
FAMILY_ROLES_PROCEDURE = ("vertebroplasty", "augmentation", "sacral_augmentation")

@dataclass
class RuleAnswer:
    summary: str
    statements: list[str] = field(default_factory=list)   # from the code table, dated
    quotes: list[Quote] = field(default_factory=list)     # from the passages, each with its doc id


def rule_asks(facts: Facts, case_undecided: bool = False, codebook: Codebook | None = None) -> list[str]:
    """The rules asked about. Besides the rule words: a question about one service (the sedation, the imaging)
    of a case that names no level, or whose case lacks a fact the service does not depend on, asks whether the
    procedure includes it; a modifier named asks about the modifier; a request for codes that names only a
    service asks for that service's codes; a coverage question asks the passages."""
    asks = list(facts.rule_asks)
    if _policies_asked(facts):
        return ["policy"] + [a for a in asks if a in ("documentation", "define")]   # "L34976 - which MAC, orig eff?"
    # "what makes a fx 'pathologic' for coding?", "what does 'sacroplasty' mean code-wise?": the term is asked about
    names_a_term = reader().read(facts.question).has("term") or bool(codebook and _defined(facts, codebook))
    compares = reader().read(facts.question).has("ask.compare") and len(facts.mentioned_codes) >= 2
    if "define" in asks and not names_a_term and not compares and (len(set(asks) - {"age"}) > 1 or (
            facts.asks_for_codes and not facts.mentioned_codes and facts.question_form != "rule")):
        asks.remove("define")  # "what's the last DOS": the specific rule; "what is the code for": a case
    if "units" in asks and not facts.mentioned_codes and (facts.bodies or facts.unknown_count
                                                          or reader().read(facts.question).has("count")):
        asks.remove("units")   # "VP x2 levels, codes?" is a case to code; "needles into the same body - 1 unit or 2?"
                               # asks the family's units rule
    if "units" in asks and _units_only_as_written(facts):
        asks.remove("units")   # "we have 22510, 22512 x2, 99153 x2 - ok?": the lines' units, which the review checks
    if "pair" in asks and not facts.mentioned_codes and facts.procedures and facts.asks_for_codes \
            and facts.question_form != "rule" and not reader().read(facts.question).has("term.add_on"):
        asks.remove("pair")    # "single level VP ... which primary?" asks the case's primary code, not a pairing
                               # ("kypho add on code for 2nd level?" asks the family's add-on)
    procedure_named = bool(facts.procedures) or bool(codebook and any(
        e.family in FAMILY_ROLES_PROCEDURE for e in _named(facts, codebook)))    # a word or a code names it
    if facts.focus in SERVICE_FAMILIES and procedure_named and (not facts.bodies or case_undecided) \
            and "includes" not in asks:
        asks.append("includes")
    if not facts.is_scenario:
        asks = _modifier_first(asks, facts, codebook)
    about_the_code_set = facts.services and not facts.procedures or facts.procedures and not facts.describes_a_case
    if not asks and facts.asks_for_codes and about_the_code_set and not facts.mentioned_codes:
        asks.append("family")  # "sedation codes 2018?", "kypho codes?": no case, so the family's codes on the date
    if not asks and codebook and not facts.is_scenario and _names_an_add_on_with_another(facts, codebook):
        asks.append("pair")    # "22512 w/ 22513 ok?": does the add-on go with that code
    if not asks and codebook and _under_minimum(facts, codebook):
        asks.append("units")   # "sedation only 8 min - still bill 99152?": the code's minimum time
    if not asks and codebook and not facts.is_scenario and _omitted_here(_named(facts, codebook), facts):
        asks.append("omitted")  # "palmetto wont pay 99153 in hospital, why": the payer's or setting's rule
    if not asks and codebook and not facts.is_scenario and _invalid_on_date_given(facts, codebook):
        asks.append("end")     # "can 99152 go on a claim w/ DOS mid Dec 2016?": not valid then, and when it is
    if not asks and codebook and not facts.is_scenario and len(diagnoses_named(facts, codebook)) >= 2:
        asks.append("excludes")  # "M48.5 or M80?", "Z87.310 with M80.08XA ok?": may they be coded together
    named = _named(facts, codebook) if codebook else []
    if not asks and codebook and facts.question_form == "yes_no" and not facts.is_scenario \
            and _names_a_service_with_a_procedure(facts, codebook):
        asks.append("includes")  # "<sedation code> + <kypho code> same doc, 2019 - can we bill the sedation?"
    if "includes" in asks and codebook and len(diagnoses_named(facts, codebook)) >= 2 and not facts.procedures:
        asks[asks.index("includes")] = "excludes"   # "do i add M48.5 on top of M80?": may they be coded together
    if "pair" in asks and named and all(e.system == DIAGNOSIS_SYSTEM for e in named):
        # "which codes go with M84.58XA?": the tabular's notes; "Z87.310 go on with M80.08XA?": may they be together
        asks[asks.index("pair")] = "excludes" if len(named) >= 2 else "code_also"
    elif "pair" in asks and any(e.system == DIAGNOSIS_SYSTEM for e in named):
        asks[asks.index("pair")] = "code_also"   # "22514 with only C79.51 - what other dx goes with it?"
    elif "pair" in asks and len(named) >= 2 and not any(e.role == "add_on" for e in named):
        # "<biopsy code> billed with <kypho code> denied": together at all? ("billed with ... separately?": that alone)
        asks = [a for a in asks if a != "pair"] if "includes" in asks else \
            [("includes" if a == "pair" else a) for a in asks]
    if not asks and codebook and not facts.is_scenario and _defined(facts, codebook):
        asks.append("define")  # "evicore - how many levels will they approve?": a coverage fact of the table
    if not asks and facts.general:
        asks.append("sources")
    return asks


def _policies_asked(facts: Facts) -> list[str]:
    """What the policy table says of the LCDs or MACs a question names and asks about (whose, which, when)."""
    return policies.answer(reader().read(facts.question), facts.date_of_service, policy_table())


def _units_only_as_written(facts: Facts) -> bool:
    """Every units word is a proposed line's own count ("22512 x2") in a claim the coder wrote out."""
    reading = reader().read(facts.question)
    code_ends = {m.last for m in reading.found("shape.code")}
    return reading.has("claim.proposal") and all(
        facts.question[m.start:m.start + 1].lower() in ("x", "×") and m.first - 1 in code_ends
        for m in reading.found("rule.units"))


def _omitted_here(named: list[CodeEntry], facts: Facts) -> list[str]:
    """"Palmetto denied 99153 on our hospital outpatient kypho claim - why?": a payer or setting rule the question
    states that leaves a named code off the claim."""
    return [f"No: {e.code} is not paid here: {rule.reason}." for e in named for rule in e.omit_when
            if rule.applies(facts.settings, facts.date_of_service)]


def _invalid_on_date_given(facts: Facts, codebook: Codebook) -> list[CodeEntry]:
    """The named codes that were not valid on a date of service the question gives."""
    if facts.date_note.startswith("no date"):
        return []
    return [e for e in _named(facts, codebook) if not e.valid_on(facts.date_of_service)]


def _under_minimum(facts: Facts, codebook: Codebook) -> list[str]:
    """A timed code named with a time under its minimum: 'No: 8 minutes ... under the 10 minutes 99152 needs'."""
    minutes = facts.sedation_minutes
    if minutes is None:
        return []
    return [f"No: {minutes} minutes of sedation is under the {e.min_minutes} minutes {e.code} needs (less than "
            f"{e.min_minutes} minutes is not reported)." for e in _named(facts, codebook)
            if e.min_minutes and minutes < e.min_minutes]


def _names_an_add_on_with_another(facts: Facts, codebook: Codebook) -> bool:
    named = _named(facts, codebook)
    return len(named) >= 2 and any(e.role == "add_on" for e in named)


def is_rule_question(facts: Facts, case_undecided: bool = False, codebook: Codebook | None = None) -> bool:
    """A question about a rule, not a case: a rule word, and no treated level to code (or, for a question about
    a service, a case the codebook could not decide)."""
    timed = codebook is not None and bool(_under_minimum(facts, codebook))
    if not facts.in_scope or not rule_asks(facts, case_undecided, codebook) or (
            facts.sedation_minutes is not None and not timed):
        return False
    return not facts.is_scenario or asks_each_date(facts) or (
        case_undecided and (facts.focus in SERVICE_FAMILIES or bool(facts.rule_asks)))


def asks_each_date(facts: Facts) -> bool:
    """"L1 on 12/29/2014 and L3 on 1/6/2015, which code each date?": the codes of each date, not one case's."""
    return "per_date" in facts.rule_asks and len(dates_in_text(facts.question)) >= 2


def answer_rule(facts: Facts, codebook: Codebook, passages: list[Passage],
                case_undecided: bool = False) -> RuleAnswer | None:
    """The direct answer to a rule question, or None when the question is not one."""
    if not is_rule_question(facts, case_undecided, codebook):
        return None
    asks = rule_asks(facts, case_undecided, codebook)
    if "policy" in asks:       # an LCD's MAC, number or dates: the policy table answers, on the date of service
        policy = _policies_asked(facts)
        return RuleAnswer(summary=" ".join(policy[:2]), statements=policy + _defined(facts, codebook))
    inclusion_dated = {"start", "includes"} <= set(asks) and bool(facts.services)
    if inclusion_dated:          # "since when does the VP code say biopsy included?": the inclusion, whose reason
        asks = ["includes"] + [a for a in asks if a != "includes"]   # dates it
    named = _asked_first(facts.question, _named(facts, codebook)) if "modifier" in asks else _named(facts, codebook)
    subjects = _service_subjects(asks, facts, codebook, named) or named + _family_primaries(facts, codebook, named)
    statements: list[str] = []
    modifiers = [e for m in facts.mentioned_modifiers if (e := codebook.get(m)) and e.system == "modifier"]
    statements += _under_minimum(facts, codebook) + _omitted_here(named, facts)
    statements += _per_date(facts, codebook) if "per_date" in asks else []
    statements += _run_replacements(facts, codebook) if "replaced" in asks else []
    # a code not valid on the date given says so: first when its dates are asked ("is 72291 even still valid /
    # billable?"), else after the rule asked, which is answered on the code's own dates (a replacement says it)
    invalid = [] if "replaced" in asks else [_dates(e, facts.date_of_service, codebook)
                                             for e in _invalid_on_date_given(facts, codebook)]
    # a code that did not exist yet on the date ("22514 ... dos 2013") says so first too: its rules are not that date's
    not_yet = any(e.effective_from and facts.date_of_service < e.effective_from
                  for e in _invalid_on_date_given(facts, codebook))
    dates_asked = (bool({"start", "end"} & set(asks)) and not inclusion_dated) or not_yet
    statements += invalid if dates_asked else []
    statements += _then_included(facts, codebook) if not_yet else []
    chosen = _diagnosis_chosen(facts, codebook) if "define" in asks or facts.codes_offered else []
    statements += chosen
    statements += _tabular(asks, facts, codebook) + (_seventh(facts, codebook) if "seventh" in asks else [])
    statements += _by_region(facts, codebook) if "category" in asks else []
    matched = _definitions_matched(facts, codebook)
    definition = [_sentence(d.definition) for d in matched]
    if "documentation" in asks:
        record = _documentation(facts, codebook, named)
        statements += record
        leads = any(d.leads_record_rules for d in matched)
        if record and definition and not reader().read(facts.question).has("ask.meaning") and not leads:
            definition = []   # "besides the pain scores, what does the LCD want documented?": the record rule leads
    for ask in asks:
        for entry in subjects if ask in ABOUT_FAMILIES else named + (modifiers if ask in ("start", "end") else []):
            statements += [s for s in _about(ask, entry, facts, codebook, subjects) if s not in statements]
    first_asked = reader().read(facts.question).has("first_codes_asked")    # "22520 series - first year? before that?"
    if "start" in asks and (first_asked or not any(e.effective_from for e in named)):  # "what yr did kypho get
        statements = _family_start(facts, codebook) + statements    # real cpt codes? old claims show 22899": the family's
    statements += [s for s in invalid if s not in statements] if not dates_asked else []
    if "family" in asks or ("define" in asks and not named):
        statements += [s for s in _family_codes(facts, codebook) if s not in statements]
    from_passages = answer_from_passages(facts.question, passages)
    quotes = from_passages.quotes if from_passages else []
    described = [s for e in named for s in _about("define", e, facts, codebook, subjects)] \
        if "define" in asks else []   # "72291 desc?", "0200T vs 0201T?": each code's own words, then its dates
    if definition:       # "what's a cat III code?": the table's definition is the answer ("0200T vs 0201T, and
        compares = len(named) >= 2 and reader().read(facts.question).has("ask.compare")   # are these cat III?":
        compared = described[:2] if compares else []                                      # after the codes)
        lead = chosen[:1] + definition[:1] if chosen else compared + definition[:2]   # "X vs Y - which for ..?"
        return RuleAnswer(summary=" ".join(lead), statements=definition + statements, quotes=quotes)
    if not statements:
        return from_passages
    if asks == ["define"] and not named and quotes:   # "X vs Y - what's the difference?": the sources say, then
        summary = f"{from_passages.summary} {statements[0]}"   # the codes of the family asked
        return RuleAnswer(summary=summary, statements=statements, quotes=quotes)
    if asks == ["define"]:    # only what the codes are was asked: their own words lead (after the one chosen)
        statements = chosen + described + [s for s in statements if s not in described + chosen]
    quoted = "define" in asks and quotes and len(named) < 2 and not set(asks) - {"define"}
    lead = statements[:1] if quoted else statements[:2]
    summary = " ".join(lead + ([f"{quotes[0].text} [{quotes[0].doc_id}]"] if quoted else []))
    return RuleAnswer(summary=summary, statements=statements, quotes=quotes)


CASE_RULES = ("includes", "modifier", "pair", "units", "start", "end", "replaced", "documentation", "code_also", "age",
              "per_date")


def rule_in_case(facts: Facts, codebook: Codebook, case_codes: list[str]) -> RuleAnswer | None:
    """A coded case whose question also asks a rule ("is the bx included?", "do the add-ons need 51?", "22522
    goes with which primaries?"): that rule, on the codes the question names or else the case's own codes."""
    asks = _modifier_first([a for a in facts.rule_asks if a in CASE_RULES
                            and not (a == "units" and _units_only_as_written(facts))], facts, None)
    if "pair" in asks and (named_codes := _named(facts, codebook)) and all(
            e.system == DIAGNOSIS_SYSTEM for e in named_codes):
        asks = list(dict.fromkeys("code_also" if a == "pair" else a for a in asks))  # "<M81 code> plus what?"
    carriers = {p.code for p in proposed_codes(facts.question) if p.modifiers}
    if "modifier" in asks and carriers and not carriers & set(case_codes):
        asks.remove("modifier")   # "20225-59" for a biopsy the case includes: the review says why it goes
    definition = _defined(facts, codebook)   # "what counts as a fragility fx? doc wrote 'fragility fx L1'"
    if not asks and not definition:
        return None
    named = _asked_first(facts.question, _named(facts, codebook)) if "modifier" in asks else _named(facts, codebook)
    focused = [e for c in case_codes if (e := codebook.get(c)) and e.family in SERVICE_FAMILIES.get(facts.focus or "", ())]
    subjects = named or focused or [e for c in case_codes
                                    if (e := codebook.get(c)) and e.role == "primary" and e.regions]
    statements = definition + (_documentation(facts, codebook, subjects) if "documentation" in asks else [])
    statements = _per_date(facts, codebook) + statements if "per_date" in asks else statements
    statements += _tabular(asks, facts, codebook, case_codes) if "code_also" in asks else []
    for ask in [a for a in asks if a not in ("code_also", "per_date")]:
        for entry in subjects if ask in ABOUT_FAMILIES or not named else named:
            statements += [s for s in _about(ask, entry, facts, codebook, subjects) if s not in statements]
    return RuleAnswer(summary=" ".join(statements[:2]), statements=statements) if statements else None


def answer_from_passages(question: str, passages: list[Passage]) -> RuleAnswer | None:
    """A question the code table does not answer (a definition, a documentation or coverage rule): the passage
    sentences that best match it, each with its source, instead of a passage's opening lines."""
    quotes = best_sentences(question, passages)
    if not quotes:
        return None
    return RuleAnswer(summary=" ".join(f"{q.text} [{q.doc_id}]" for q in quotes), quotes=quotes)


def _named(facts: Facts, codebook: Codebook) -> list[CodeEntry]:
    """The table entries the question names, a run of codes ("99143-99150") by every table code in it."""
    runs = {codes[0]: codes for codes in _runs(facts, codebook)}
    written = [c.rstrip("-") for c in facts.mentioned_codes]
    codes = dict.fromkeys(code for c in written for code in runs.get(c.upper(), [c]))
    return [e for c in codes if (e := codebook.get(c)) and e.system != "modifier"]


def _runs(facts: Facts, codebook: Codebook) -> list[list[str]]:
    """Each run of codes the question names, as the table's codes from its first to its last."""
    runs = []
    for mention in reader().read(facts.question).found("code_range"):
        ends = [c.upper() for c in CODE_PATTERN.findall(facts.question[mention.start:mention.end])]
        if len(ends) == 2 and len(ends[0]) == len(ends[1]) and ends[0] < ends[1]:
            runs.append(sorted(c for c in codebook.entries if len(c) == len(ends[0]) and ends[0] <= c <= ends[1]))
    return [r for r in runs if r]


def _run_replacements(facts: Facts, codebook: Codebook) -> list[str]:
    """"99143-99150 gone? what replaced them": the run's end and its replacements, as one run."""
    out = []
    for run in _runs(facts, codebook):
        entries = [codebook.entries[c] for c in run]
        ends = {e.effective_to for e in entries}
        new = sorted({r.code for e in entries for r in e.replaced_by if r.code})
        if len(ends) == 1 and None not in ends and new:
            out.append(f"{run[0]}-{run[-1]} were deleted after {ends.pop().isoformat()}; replaced by "
                       f"{new[0]}-{new[-1]}.")
    return out


CLAUSE_MARKS = (". ", ", ", " - ", "; ")   # what ends the clause before a question's last "?"


def _asked_first(question: str, named: list[CodeEntry]) -> list[CodeEntry]:
    """"billing the primary + the add-on x2. do the add-on lines need 59?": the codes the question's own clause
    names lead."""
    end = question.rfind("?")
    if end < 0:
        return named
    start = max(question.rfind(mark, 0, end) for mark in CLAUSE_MARKS)
    asked = question[start + 1:end]
    return sorted(named, key=lambda e: e.code not in asked)


def _service_subjects(asks: list[str], facts: Facts, codebook: Codebook, named: list[CodeEntry]) -> list[CodeEntry]:
    """For a modifier asked about a service the question names but does not code ("bx at a diff vertebra - XS or
    59?"), that service's codes on the date: the modifier goes on them."""
    if "modifier" not in asks or named:
        return []
    return _named_services(facts, codebook, facts.date_of_service)


def families_asked(facts: Facts) -> list[str]:
    """The procedure families a rule question is about: those done, or else those named in any context but
    negation ("lumbar kypho code back in 2012?" names augmentation in the past: its codes are still asked)."""
    if facts.procedures:
        return list(facts.procedures)
    named = {m.concept.split(".", 1)[1] for m in reader().read(facts.question).found("procedure", outside=("negated",))}
    return [f for f in FAMILY_ROLES_PROCEDURE if f in named]


def _then_included(facts: Facts, codebook: Codebook) -> list[str]:
    """"DOS 12/20/2016 kypho, mod sed by the surgeon - can we use 99152?": a service code not yet valid on the date;
    what the procedure did with that service then (its inclusion, or not) answers the question asked."""
    day, out = facts.date_of_service, []
    for code in _invalid_on_date_given(facts, codebook):
        if code.family not in bundling.SERVICE_NAMES:
            continue
        then = [e for e in codebook.where(day, family=code.family) if e.performer in (None, code.performer)]
        for primary in _family_primaries(facts, codebook, []):
            out += [s for s in _about("includes", primary, facts, codebook, then) if s not in out]
    return out


def _family_primaries(facts: Facts, codebook: Codebook, named: list[CodeEntry]) -> list[CodeEntry]:
    """Without a procedure code, a primary code of each family the question names on the date (what a family
    includes, and which modifiers it takes, is the same for each of its primaries)."""
    if any(e.family in families_asked(facts) for e in named):
        return []
    day = facts.date_of_service
    primaries = [next(iter(codebook.where(day, family=f, role="primary")), None) for f in families_asked(facts)]
    return [e for e in primaries if e]


def _about(ask: str, entry: CodeEntry, facts: Facts, codebook: Codebook, subjects: list[CodeEntry]) -> list[str]:
    day = facts.date_of_service
    if ask in ("start", "end"):
        return _still_valid(ask, entry, facts) + [_dates(entry, day, codebook)]
    if ask == "replaced":
        return _replacement(entry, codebook)
    if ask == "pair":
        return _pairs(entry, day, codebook, [e.code for e in subjects])
    if ask == "includes":
        return _inclusions(entry, facts, codebook, subjects)
    if ask == "units":
        era = entry.units_rule(facts.procedures, day)
        if era:
            return [f"{entry.code}: {era.reason}."]
        return _units(entry, day, codebook, bodies_counted(facts.question), _minutes(facts, entry))
    if ask == "modifier":
        return _modifiers(entry, facts, codebook)
    if ask == "define":
        return [f"{entry.code}: {entry.description}."]
    if ask == "age":
        return [_age_band(entry)] if entry.age_min is not None or entry.age_max is not None else []
    return []


def _minutes(facts: Facts, entry: CodeEntry) -> int | None:
    """The sedation's minutes, or for a timed code asked about by itself the minutes the question states ("units
    of <add-on> for 40 min")."""
    if facts.sedation_minutes is not None or not entry.unit_minutes and not entry.first_unit:
        return facts.sedation_minutes
    stated = quantities(reader().read(facts.question), "minutes.stated")
    return stated[0][0] if len(stated) == 1 else None


def _age_band(entry: CodeEntry) -> str:
    if entry.age_max is not None and entry.age_max < 200:
        return f"{entry.code} is for a patient younger than {entry.age_max + 1} years (under {entry.age_max + 1})."
    return f"{entry.code} is for a patient age {entry.age_min} years or older."


def _modifier_first(asks: list[str], facts: Facts, codebook: Codebook | None) -> list[str]:
    """A modifier the question names is what it is about: that rule is answered first, unless the code it goes
    on is itself included in a code the question names (a guidance code with 26 beside a 2015+ cement code: the line
    comes off)."""
    if not facts.mentioned_modifiers:
        return asks
    first = ["includes", "modifier"] if codebook and _bundled_pair(facts, codebook) else ["modifier"]
    return first + [a for a in asks if a not in first]


def _bundled_pair(facts: Facts, codebook: Codebook) -> bool:
    """One code the question names is included in another it names, or in the primary of a procedure it names in
    words ("2021 kypho ... bill 77002-26?"), on the date of service."""
    day = facts.date_of_service
    named = {e.code for e in _named(facts, codebook)}
    parents = named | {e.code for f in facts.procedures for e in codebook.where(day, family=f, role="primary")}
    return any(code in inclusion.codes for parent in parents
               for inclusion in codebook.inclusions(parent, day) for code in named - {parent})


def _names_a_service_with_a_procedure(facts: Facts, codebook: Codebook) -> bool:
    """"<sedation code> + <kypho code> same doc - can we bill the sedation?": a service code beside a procedure code."""
    families = {e.family for e in _named(facts, codebook)}
    services = {f for group in SERVICE_FAMILIES.values() for f in group}
    procedure = bool(families & set(FAMILY_ROLES_PROCEDURE)) or bool(facts.procedures)   # a code or a word ("kypho")
    return bool(families & services) and procedure


def _still_valid(ask: str, entry: CodeEntry, facts: Facts) -> list[str]:
    """"Was 22520 still good on 12/30/2014?": yes, first, when the code was valid on the date the question gives."""
    given = not facts.date_note.startswith(NO_DATE_NOTE)
    if ask == "end" and given and entry.valid_on(facts.date_of_service):
        return [f"Yes: {entry.code} was valid on {facts.date_of_service.isoformat()}."]
    return []


def _dates(entry: CodeEntry, day: date, codebook: Codebook) -> str:
    start, end = entry.effective_from, entry.effective_to
    if start and end:
        text = f"{entry.code} was in effect from {start.isoformat()} through {end.isoformat()} (deleted {_next_day(end)})"
    elif start:
        text = f"{entry.code} has been in effect since {start.isoformat()}"
    elif end:
        text = f"{entry.code} was in effect through {end.isoformat()}"
    else:
        text = f"{entry.code} has no start or end date in this table"
    if not entry.valid_on(day):
        text += f", so it is not valid for a date of service on {day.isoformat()}{codebook.replacement_text(entry.code)}"
    earlier = _replaced(entry, codebook)
    if start and day < start and earlier:
        text += f"; before then, {' or '.join(earlier)}"
    return text + "."


def _per_date(facts: Facts, codebook: Codebook) -> list[str]:
    """"L3 kypho dos 12/30/2014 vs dos 1/2/2015 - which code for each?": each date's primary codes of the family
    asked, for the regions the question states."""
    days = dates_in_text(facts.question)
    if len(days) < 2:
        return []
    regions = set(facts.regions)
    out = []
    for day in days:
        codes = [e for f in families_asked(facts) for e in codebook.where(day, family=f, role="primary")
                 if not regions or regions & set(e.regions)]
        if codes:
            out.append(f"On {day.isoformat()}: " + "; ".join(f"{e.code} ({e.description})" for e in codes) + ".")
    return out


def _family_start(facts: Facts, codebook: Codebook) -> list[str]:
    """When each procedure family asked about got its own codes, what was reported before, and its codes now."""
    out = []
    day = facts.date_of_service
    for family in families_asked(facts):
        dated = sorted((e for e in codebook.entries.values() if e.family == family and e.effective_from),
                       key=lambda e: e.effective_from)
        if not dated:
            continue
        first = [e for e in dated if e.effective_from == dated[0].effective_from]
        before = [c for e in first for c in _replaced(e, codebook)] + [
            e.code for e in codebook.entries.values() if e.family == "unlisted" and family in e.fallback_for]
        now = [e for e in dated if e.valid_on(day)]
        text = (f"{FAMILY_NAMES[family].capitalize()} got its own CPT codes on {first[0].effective_from.isoformat()} "
                f"({', '.join(e.code for e in first)})")
        text += f"; before then it was reported with {', '.join(dict.fromkeys(before))}" if before else ""
        if now and now != first:
            text += (f"; on {day.isoformat()} its codes are {', '.join(e.code for e in now)} (since "
                     f"{min(e.effective_from for e in now).isoformat()})")
        out.append(text + ".")
    return out


def _replaced(entry: CodeEntry, codebook: Codebook) -> list[str]:
    """The deleted codes this one replaced."""
    return [e.code for e in codebook.entries.values() if any(r.code == entry.code for r in e.replaced_by)]


def _next_day(day: date) -> str:
    return date.fromordinal(day.toordinal() + 1).isoformat()


def _replacement(entry: CodeEntry, codebook: Codebook) -> list[str]:
    out = []
    if entry.replaced_by and entry.effective_to:
        out.append(f"{entry.code} was deleted after {entry.effective_to.isoformat()}"
                   f"{codebook.replacement_text(entry.code)}{_successor_add_ons(entry, codebook)}.")
    replaced = _replaced(entry, codebook)
    if replaced and not out:     # "what replaced 22523?" asks its successor; a current code, what it replaced
        out.append(f"{entry.code} replaced {', '.join(replaced)}"
                   f"{' on ' + entry.effective_from.isoformat() if entry.effective_from else ''}.")
    if not out:
        out.append(f"{entry.code} has no replacement in this table; {_dates(entry, date.today(), codebook)}")
    return out


def _successor_add_ons(entry: CodeEntry, codebook: Codebook) -> str:
    """"99144 - what now?": the add-on of a deleted primary's successor goes on the claim with it."""
    if entry.role != "primary":
        return ""
    pairs = [(r.code, a.code) for r in entry.replaced_by if r.code and (new := codebook.get(r.code))
             and new.effective_from and (a := codebook.add_on_of(new.code, new.effective_from))]
    return "".join(f"; with {code}, its add-on {add_on} ({_units_of(codebook.get(add_on))})" for code, add_on in pairs)


def _when(entry: CodeEntry, day: date) -> date:
    """The asked date, or the code's nearest valid day when it was not valid then (pairs of a deleted code)."""
    if entry.valid_on(day):
        return day
    if entry.effective_from and day < entry.effective_from:
        return entry.effective_from        # a code asked about before it existed: its rules from its first day
    return entry.effective_to if entry.effective_to and entry.effective_to < day else day


def _pairs(entry: CodeEntry, day: date, codebook: Codebook, named: list[str]) -> list[str]:
    if entry.role == "add_on" and entry.add_on_for:
        only = f"report it only with {' or '.join(entry.add_on_for)} (its primary codes), never alone"
        others = [c for c in named if c != entry.code and (e := codebook.get(c)) and e.role == "primary"]
        if others and others[0] in entry.add_on_for:
            return [f"Yes: {entry.code} is the add-on of {others[0]}; {only}."]
        if others:
            right = codebook.add_on_of(others[0], _when(codebook.get(others[0]), day))
            instead = f"; with {others[0]} the add-on is {right.code}" if right else ""
            return [f"No: {entry.code} is not reported with {others[0]}; {only}{instead}."]
        return [f"{entry.code} is an add-on code: {only}."]
    partner = codebook.add_on_of(entry.code, _when(entry, day))
    current = _current_pair(entry, day, codebook)
    if partner and current:     # "<old sedation code> is gone - what now, and the add-on?": today's pair first
        return [f"{current}; before {_next_day(entry.effective_to)}, with {entry.code} it was {partner.code}."]
    if partner:
        return [f"With {entry.code}, the add-on is {partner.code} ({_units_of(partner)})."]
    once = f": {UNIT_RULES[entry.units]}" if entry.units in UNIT_RULES else ""
    return [f"{entry.code} has no add-on code in this table{once}."]


def _current_pair(entry: CodeEntry, day: date, codebook: Codebook) -> str | None:
    """A deleted primary's replacement valid on the date, with that replacement's add-on."""
    if entry.valid_on(day) or entry.effective_to is None or day <= entry.effective_to:
        return None
    for replacement in entry.replaced_by:
        new = codebook.get(replacement.code) if replacement.code else None
        partner = codebook.add_on_of(new.code, day) if new and new.valid_on(day) else None
        if partner:
            return (f"With {new.code}, which replaced {entry.code}, the add-on is {partner.code} "
                    f"({_units_of(partner)})")
    return None


def _units_of(entry: CodeEntry) -> str:
    if entry.unit_minutes:
        return f"each additional {entry.unit_minutes} minutes"
    return UNIT_RULES.get(entry.units or "", "one unit")


def _units(entry: CodeEntry, day: date, codebook: Codebook, count: int | None = None,
           minutes: int | None = None) -> list[str]:
    if entry.first_unit:
        minimum = f"; at least {entry.min_minutes} minutes to report it" if entry.min_minutes else ""
        return [f"{entry.code} is reported once for the first {entry.first_unit} minutes{minimum}."]
    if entry.unit_minutes:     # "when does 99153 x1 kick in?": the minute its first unit counts
        firsts = [p for c in entry.add_on_for if (p := codebook.get(c)) and p.first_unit]
        starts = sorted({codebook.first_add_on_minute(p, entry) for p in firsts})
        when = f"; its first unit once the intraservice time reaches {starts[0]} minutes (a unit counts past its " \
               f"midpoint)" if len(starts) == 1 else ""
        timed = f"For {minutes} minutes: {entry.code} x{codebook.add_on_units(firsts[0], entry, minutes)} — " \
            if minutes and len(starts) == 1 else ""
        return [f"{timed}{entry.code}: {_units_of(entry)} past the first block of "
                f"{' or '.join(e.code for e in firsts)}{when}."]
    partner = codebook.add_on_of(entry.code, _when(entry, day)) if entry.role == "primary" else None
    more = f"; each additional body is {partner.code}" if partner else ""
    units = UNITS_FOR_BODIES.get(entry.units or "")
    with_add_on = ""          # "22511 ... how many units for 3 levels": the primary once, the add-on for the rest
    if partner and count and count > 1 and (partner_units := UNITS_FOR_BODIES.get(partner.units or "")):
        with_add_on = f" + {partner.code} x{partner_units(count)}"
    counted = f"For {count} bodies: {entry.code} x{units(count)}{with_add_on} — " if units and count else ""
    sides = f" ({entry.sides})" if entry.sides else ""
    return [f"{counted}{entry.code}: {_units_of(entry)}{sides}{more}."]


def bodies_counted(question: str) -> int | None:
    """The number of bodies a question states ("kypho at 5 levels"), if any."""
    stated = bodies_stated(reader().read(question))
    return stated.count if stated else None


def _inclusions(entry: CodeEntry, facts: Facts, codebook: Codebook, subjects: list[CodeEntry]) -> list[str]:
    """What a code includes on the date; for other codes or services the question names, whether they are, led by
    a yes or a no as the question asked it."""
    if entry.family not in FAMILY_ROLES_PROCEDURE:
        return []
    day = _when(entry, facts.date_of_service)
    others = [e for e in subjects if e.code != entry.code and e.family not in FAMILY_ROLES_PROCEDURE
              and e.system != DIAGNOSIS_SYSTEM]      # a diagnosis is never part of a procedure code
    named_by_words = not others
    others = others or _named_services(facts, codebook, day)
    found = bundling.findings(entry, others, facts, codebook, day, named_by_words)
    asked = bundling.polarity(facts)
    out = []
    for i, finding in enumerate(found):
        out.append(finding.sentence(asked if i == 0 else None))
        asked_alone = facts.rule_asks == ["includes"]   # "can the IR doc bill 99152 on top of 22511?": and what
        out += [] if finding.included else _cued_modifiers(finding.codes, facts, codebook) + (   # the record needs
            _service_records(finding.codes, day, codebook) if asked_alone else [])
    included = codebook.inclusions(entry.code, day)
    if not others and included:
        out.append(f"{entry.code} includes, on {day.isoformat()}: " + "; ".join(i.reason for i in included) + ".")
    return out


def diagnoses_named(facts: Facts, codebook: Codebook) -> list[str]:
    """The ICD-10-CM codes, incomplete codes and categories the question names ("M80.88XA", "M80.8", "M80")."""
    codes = [c.rstrip("-") for c in facts.mentioned_codes
             if "." in c or ((e := codebook.get(c)) is not None and e.system == DIAGNOSIS_SYSTEM)]
    return list(dict.fromkeys(codes + categories_in(facts.question, codebook.entries)))


def _tabular(asks: list[str], facts: Facts, codebook: Codebook, case_codes: list[str] = ()) -> list[str]:
    """From the ICD-10-CM tabular notes: the codes to add to a named diagnosis (or, when the question names none,
    to the case's own diagnosis: "T4 wedge fx w/ cord injury, code also what?"), or whether two named diagnoses
    may be coded together."""
    notes = codebook.tabular_notes
    named = diagnoses_named(facts, codebook) or [
        c for c in case_codes if (e := codebook.get(c)) and e.system == DIAGNOSIS_SYSTEM]
    out: list[str] = []
    if "excludes" in asks:    # "what's the Excludes type between them?": that note first
        out += [s for i, a in enumerate(named) for b in named[i + 1:] for s in tabular.excludes(notes, a, b)]
    if "excludes" in asks and len(named) == 1:    # "<code> has an Excludes1 - what do I use instead?"
        out += tabular.excludes_of(notes, named[0])
    if "inclusion_terms" in asks:                  # "M48.5 inclusion terms?"
        out += [s for code in named for s in tabular.inclusion_terms(notes, code)]
    if "code_also" in asks:
        for code in named:
            additional = tabular.additional_codes(notes, code, codebook.entries)
            procedure = facts.procedures or any(e.family in FAMILY_ROLES_PROCEDURE for e in _named(facts, codebook))
            seventh = facts.encounter if procedure else None   # the procedure's own encounter
            out += ([additional] if additional else []) + tabular.coded_with(notes, code, codebook.entries, seventh)
            out += _condition_notes(code, codebook)
    if "excludes" in asks or "code_also" in asks:
        out += [s for i, a in enumerate(named) for b in named[i + 1:] for s in tabular.excludes(notes, a, b)]
    return list(dict.fromkeys(out))


def _seventh(facts: Facts, codebook: Codebook) -> list[str]:
    """"<category> 7th character options?": each named category's allowed 7th characters, from its tabular note. A
    question that names the encounter ("7th char for <code> at a routine follow-up?") is answered by the code."""
    if reader().read(facts.question).has("encounter"):
        return _seventh_for_encounter(facts, codebook)
    out = []
    for code in diagnoses_named(facts, codebook):
        rule = _seventh_rule_of(code, codebook)
        if rule and rule.category.replace(".", "") == code.replace(".", "")[:len(rule.category.replace(".", ""))]:
            letters = "; ".join(f"{k} ({v})" for k, v in rule.allowed.items())
            statement = f"{rule.category} takes the 7th characters {', '.join(rule.allowed)}: {letters}."
            if statement not in out:
                out.append(statement)
    return out


def _diagnosis_chosen(facts: Facts, codebook: Codebook) -> list[str]:
    """"M80.08XA vs M48.56XA - which for an osteoporotic L2 fx?": of the diagnoses offered, the one the stated
    condition calls for."""
    offered = diagnoses_named(facts, codebook)
    if len(offered) < 2:
        return []
    stems = [_without_seventh(o) for o in offered]
    chosen = [d for d in codebook.diagnoses_for(facts) if any(d.code.startswith(o) for o in stems)]
    return [f"For {d.reason.removeprefix('diagnosis: ')}: {d.code}." for d in chosen[:1]]


def _seventh_for_encounter(facts: Facts, codebook: Codebook) -> list[str]:
    """"7th char for <code> at the 6 wk f/u visit": the named code with the encounter's character."""
    out = []
    for code in diagnoses_named(facts, codebook):
        rule = _seventh_rule_of(code, codebook)
        meaning = rule.allowed.get(facts.encounter) if rule else None
        full = next((e.code for e in codebook.completions(_without_seventh(code))
                     if e.code.endswith(facts.encounter)), None)
        if meaning and full:
            out.append(f"{facts.encounter} ({meaning}): {full}.")
    return out


def _seventh_rule_of(code: str, codebook: Codebook):
    """The 7th-character rule of a named code or category ("M80" is read as its first subcategory)."""
    return codebook.seventh_rule(code if len(code.replace(".", "")) >= 4 else code + ".0")


def _without_seventh(code: str) -> str:
    """A full seven-character code less its 7th character (M80.08XA -> M80.08X); any other code as it is."""
    return code[:-1] if len(code.replace(".", "")) == 7 else code


def _by_region(facts: Facts, codebook: Codebook) -> list[str]:
    """"compression fx NOS - which subcategory?": a stated condition coded by region, its subcategory and the code
    of each region (the 7th character for the encounter)."""
    out = []
    for condition in (codebook.condition[c] for c in facts.conditions):
        codes = [c.replace("{enc}", facts.encounter) for c in condition.by_region.values()]
        if not codes:
            continue
        subcategory = codes[0][:codes[0].index(".") + 2]
        regions = "; ".join(f"{region} {code.replace('{enc}', facts.encounter)}"
                            for region, code in condition.by_region.items())
        out.append(f"{subcategory}- ({condition.why}); the code goes by the region: {regions}.")
    return out


def _condition_notes(code: str, codebook: Codebook) -> list[str]:
    """The 'code also' notes of the conditions that call for an ICD-10-CM code (what else the case needs)."""
    entry = codebook.get(code)
    template = (entry.template or entry.code) if entry else code
    notes = [c.also for c in codebook.conditions if c.also and template in c.codes]
    return [f"With {code}: {note}." for note in dict.fromkeys(notes)]


def _named_services(facts: Facts, codebook: Codebook, day: date) -> list[CodeEntry]:
    """Codes for the services the question names (imaging, biopsy, sedation) on the date."""
    families = [f for service in _services_named(facts) for f in SERVICE_FAMILIES.get(service, ())
                if service != "imaging" or f in _imaging_families(facts)]
    return [e for e in codebook.entries.values() if e.family in families and e.valid_on(day) and _listed(e, facts)]


def _service_records(codes: tuple[str, ...], day: date, codebook: Codebook) -> list[str]:
    """A service billed apart is billed "when documented": what its record must show ("99152 on top of 22511 if
    there was an independent trained observer?")."""
    families = dict.fromkeys(e.family for c in codes if (e := codebook.get(c)) and e.family)
    return [f"For {_record_subject(f)}, the record must show {rule.record}." for f in families
            if (rule := codebook.record_rule(f, day))]


def _cued_modifiers(codes: tuple[str, ...], facts: Facts, codebook: Codebook) -> list[str]:
    """A separately reported code the setting the question states gives a modifier ("in hospital": 72291-26)."""
    reading = reader().read(facts.question)
    families = {e.family for c in codes if (e := codebook.get(c))}
    return [f"{', '.join(codes)} {m.cue_phrase} {'takes' if len(codes) == 1 else 'take'} "
            f"modifier {m.code} ({m.description.lower()})." for m in codebook.entries.values()
            if m.system == "modifier" and families & set(m.cue_families) and any(reading.has(c) for c in m.cues)]


def _imaging_families(facts: Facts) -> set[str]:
    """The imaging code families every imaging word of the question allows ("rad S&I" beside "the fluoro": the
    S&I codes only, not the guidance codes)."""
    reading = reader().read(facts.question)
    named = reader().language.code_families()
    allowed = [named.get(m.concept, set()) for m in reading.found("imaging", outside=("negated",))]
    return set.intersection(*[a for a in allowed if a]) if any(allowed) else set(SERVICE_FAMILIES["imaging"])


def _modifiers(entry: CodeEntry, facts: Facts, codebook: Codebook) -> list[str]:
    asked = [m for m in facts.mentioned_modifiers if (mod := codebook.get(m)) and mod.system == "modifier"]
    proposed = proposed_codes(facts.question)
    attached = {m for p in proposed if p.code == entry.code for m in p.modifiers}
    elsewhere = {m for p in proposed if p.code != entry.code for m in p.modifiers}
    asked = [m for m in asked if m in attached or m not in elsewhere]   # "20225-59" asks 59 about 20225 only
    out, refusals = [], {}
    for code in asked:
        mod = codebook.get(code)
        problem = mod.validity_problem(facts.date_of_service)
        if problem:
            out.append(f"No: modifier {problem}{codebook.replacement_text(code)}.")
        elif (entry.family in mod.never_with_families or entry.role in mod.never_with_roles
              or (mod.only_on_families and entry.family not in mod.only_on_families)):
            refusals.setdefault(mod.reason, []).append(mod)
        else:
            out.append(f"Modifier {code} ({mod.description.lower()}) may apply to {entry.code}: {mod.reason}.")
    return [_refusal(entry, mods, reason) for reason, mods in refusals.items()] + out + _modifier_notes(
        entry, asked, codebook, facts.date_of_service)


def _refusal(entry: CodeEntry, mods: list[CodeEntry], reason: str) -> str:
    """One refusal for the asked modifiers that share a reason ("RT and LT do not apply to 22511")."""
    named = " and ".join(f"{m.code} ({m.description.lower()})" for m in mods)
    add_on = f" ({entry.code} is an add-on code: its units do not need a modifier)" if entry.role == "add_on" else ""
    verb, them = ("does", "it") if len(mods) == 1 else ("do", "them")
    return (f"No: modifier{'s' if len(mods) > 1 else ''} {named} {verb} not apply to {entry.code}{add_on}; "
            f"do not append {them}: {reason}.")


def _modifier_notes(entry: CodeEntry, asked: list[str], codebook: Codebook, day: date) -> list[str]:
    out = []
    valid = codebook.separate_level_modifiers(entry, day)
    if not asked and valid:     # XS from 2015 only: "bx at a different level, 2012" takes 59
        out.append(f"{entry.code} at a level other than the treated one takes "
                   f"{' (or '.join(valid)}{')' * (len(valid) - 1)}.")
    if not asked and entry.family in ("imaging_si", "imaging_guidance"):
        pc = [m for m in codebook.entries.values() if m.system == "modifier" and entry.family in m.cue_families]
        out += [f"{entry.code} {m.cue_phrase} takes modifier {m.code} ({m.description.lower()})." for m in pc]
    return out


def _family_codes(facts: Facts, codebook: Codebook) -> list[str]:
    """The codes of each family the question names, on the date asked."""
    day = facts.date_of_service
    services = [f for s in _services_named(facts) for f in SERVICE_FAMILIES.get(s, ())]
    families = services + families_asked(facts)   # "VP imaging guidance codes": the service's codes lead
    bundled = _always_included(facts, codebook)
    out = []
    for family in families:
        entries = [e for e in codebook.where(day, family=family) if _listed(e, facts) and e.code not in bundled]
        name = FAMILY_NAMES.get(family, family)
        if entries:
            listed = "; ".join(f"{'+' if e.role == 'add_on' else ''}{e.code} ({e.description})" for e in entries)
            out.append(f"{name.capitalize()} codes on {day.isoformat()}: {listed}.")
        payers = [e.code for e in codebook.where(day, family="payer_alternative") if family in e.fallback_for]
        private = f"; private payers may want {', '.join(payers)} (payer-specific HCPCS S-codes)" if payers else ""
        for unlisted in ([] if entries else codebook.where(day, family="unlisted")):
            if family in unlisted.fallback_for:
                out.append(f"No {name} code existed on {day.isoformat()}: report {unlisted.code} "
                           f"({unlisted.description}){private}.")
    return out


def defines_a_term(facts: Facts, codebook: Codebook) -> bool:
    """"why are the sacroplasty codes 'T' codes?": the codes named are the subject of a definition, not a choice
    for a case."""
    return "define" in facts.rule_asks and bool(_defined(facts, codebook))


def _defined(facts: Facts, codebook: Codebook) -> list[str]:
    """A question asking what a term means, answered from the definitions table ("what's a cat III code?")."""
    return [_sentence(d.definition) for d in _definitions_matched(facts, codebook)]


def _definitions_matched(facts: Facts, codebook: Codebook) -> list[Definition]:
    reading = reader().read(facts.question)
    # "whats the add on code that goes with the sedation code?" asks the pair; "what does Category III mean?" the term
    means_a_term = reading.has("term") and reading.has("ask.meaning")
    define = "define" in facts.rule_asks and (means_a_term or not (facts.mentioned_codes and len(facts.rule_asks) > 1))
    concepts = {m.concept for m in reading.mentions}
    matches = _abbreviation_asked(codebook.definitions_of(concepts, define, facts.rule_asks), reading)
    if not matches:
        return []
    found = matches[0]
    families = {t for t in found.terms if t.startswith("procedure.")}
    named = {f"procedure.{f}" for f in FAMILY_ROLES_PROCEDURE} & concepts
    if len(named) < 2:   # "augmentation" alone, beside one family: another family ("vertebroplasty/augmentation")
        named |= {"procedure.either"} & concepts
    about_the_family = found.answers == "define" and (families != named or not reading.has("ask.meaning"))
    a_service_asked = facts.asks_for_codes and bool(facts.services)   # "S&I codes for VP guidance, fluoro vs CT?"
    tells_apart = reading.has("ask.how_to_tell")   # "how do i tell if it's kypho vs VP? ... L1": what sets them apart
    if families and not tells_apart and (any(b.name for b in facts.bodies) or about_the_family or a_service_asked):
        return []     # "what is the code for vertebroplasty at T10?" is a case, not a question about the family
    return [found] + _other_subject(found, matches[1:])


def _abbreviation_asked(matches: list[Definition], reading) -> list[Definition]:
    """"reading the PVA LCD ... what is RDQ?": of the abbreviations named, the one inside the words that ask."""
    spans = [(m.start, m.end) for m in reading.found("abbrev_asked")]

    def asked(term: str) -> bool:
        return any(a <= m.start < b for m in reading.found(term) for a, b in spans)

    abbreviations = {t for d in matches for t in d.terms if _kind(t) == "abbrev"}
    if not any(asked(t) for t in abbreviations):
        return matches
    return [d for d in matches if all(asked(t) for t in d.terms if _kind(t) == "abbrev")]


def _other_subject(found: Definition, rest: list[Definition]) -> list[Definition]:
    """"hospitalized pain threshold? and does it cover mets/myeloma too": a second definition about a subject the
    first does not name (the question's words of asking, "about"/"ask" concepts, are shared by both)."""
    subjects = _subjects(found)
    return [d for d in rest if d.answers == found.answers and not subjects & _subjects(d)][:1]


def _subjects(definition: Definition) -> set[str]:
    """What a definition is about: each term it defines ("term.contraindication" is not "term.level_limit"), but
    only the kind of anything else (a second fracture cause is the same subject); the question's words of asking,
    "about"/"ask" concepts, are shared by all."""
    kinds = {t if _kind(t) == "term" else _kind(t) for t in definition.terms}
    return kinds - {"about", "ask"}


def _kind(concept: str) -> str:
    return concept.split(".", 1)[0]


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _documentation(facts: Facts, codebook: Codebook, named: list[CodeEntry]) -> list[str]:
    """What the record must show, from the table: for Medicare coverage when the question is about an LCD,
    medical necessity or Medicare, then for each family the question names (its codes, then its services and
    procedures)."""
    day = facts.date_of_service
    medicare = "payer.medicare" in facts.settings      # "what does the record need ... for Medicare kypho?"
    reading = reader().read(facts.question)    # "FCSO audit - what imaging do they want in the chart?": the LCD's
    lcd = ["coverage"] if medicare or reading.has("ask.coverage") or reading.has("about.coverage") else []
    services = [f for s in _services_named(facts) for f in SERVICE_FAMILIES.get(s, ())]
    procedures = families_asked(facts)
    # a procedure asked about without a code: its medical-necessity record (the LCDs) follows its technique
    coverage = ["coverage"] if procedures and not named and not services else []
    modifiers = list(facts.mentioned_modifiers)     # "what does the note need to support -22?"
    # a code named that was not valid on the date asked: its record rule on its last valid day ("72291-26, pre-2015")
    days = {e.family: _when(e, day) for e in named}
    subjects = dict.fromkeys(lcd + modifiers + services + [e.family for e in named] + procedures + coverage)
    rules = [(subject, rule) for subject in subjects if (rule := codebook.record_rule(subject, days.get(subject, day)))]
    codes = {f: ", ".join(e.code for e in named if e.family == f) for f in subjects}   # "For an unlisted code (22899)"
    return [f"For {_record_subject(subject)}{f' ({codes[subject]})' if codes.get(subject) else ''}, the record must "
            f"show {rule.record}." for subject, rule in rules]


def _record_subject(subject: str) -> str:
    if subject in RECORD_SUBJECTS or subject in FAMILY_NAMES:
        return RECORD_SUBJECTS.get(subject) or FAMILY_NAMES[subject]
    return f"modifier {subject}"


def _always_included(facts: Facts, codebook: Codebook) -> set[str]:
    """Codes the procedure families asked about always include on the date: a service listing leaves them out
    (before 2015 the cement codes' guidance was 72291/72292, never 77002-77021)."""
    day = facts.date_of_service
    primaries = [e for f in families_asked(facts) for e in codebook.where(day, family=f, role="primary")]
    return {code for e in primaries for inc in e.includes if inc.scope == "always" for code in inc.codes}


def _services_named(facts: Facts) -> list[str]:
    """The services the question names; imaging by any word ("which S&I codes", "guidance codes"), not only by
    the kind of imaging a case states."""
    named = list(facts.services)
    if "imaging" not in named and reader().read(facts.question).has("imaging", outside=("negated",)):
        named.append("imaging")
    return named


def _listed(entry: CodeEntry, facts: Facts) -> bool:
    """A code a family listing names: not a stand-in for codes the family lacks (unlisted, payer-specific)."""
    return not entry.fallback_for and _fits(entry, facts)


def _fits(entry: CodeEntry, facts: Facts) -> bool:
    """A sedation code fits the performer and age the question states (the same physician unless told)."""
    if entry.family != "sedation":
        return True
    performer = "other" if facts.sedation_performer in ("other", "anesthesia") else "same"
    age_ok = facts.patient_age is None or entry.age_min is None or (
        entry.age_min <= facts.patient_age <= (entry.age_max or 200))
    return entry.performer == performer and age_ok
