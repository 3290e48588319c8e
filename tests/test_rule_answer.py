"""Rule questions get a direct answer from the code table on the date asked, and passage sentences otherwise."""

from datetime import date

import pytest

from assistant.retrieval import Passage
from assistant.rule_answer import answer_from_passages, answer_rule, is_rule_question, rule_asks, rule_in_case
from assistant.sentences import best_sentences


def _answer(parse, codebook, question, dos="2024-05-01", passages=()):
    return answer_rule(parse(question, dos), codebook, list(passages))


def _entry(codebook, family, role, day):
    return next(e for e in codebook.where(day, family=family, role=role))


def test_a_start_date_question_is_answered_with_the_tables_date(parse, codebook):
    add_on = _entry(codebook, "augmentation", "add_on", date(2024, 5, 1))
    rule = _answer(parse, codebook, f"when did {add_on.code} start?")
    assert rule and add_on.effective_from.isoformat() in rule.summary


def test_a_deleted_code_asked_after_its_end_names_the_end_and_the_replacement(parse, codebook):
    old = next(e for e in codebook.entries.values() if e.family == "augmentation" and e.role == "primary"
               and e.effective_to and e.replaced_by)
    rule = _answer(parse, codebook, f"is {old.code} still valid?", "2019-03-01")
    assert old.effective_to.isoformat() in rule.summary and "not valid" in rule.summary
    assert old.replaced_by[0].code in rule.summary


def test_an_add_on_names_every_primary_it_goes_with(parse, codebook):
    add_on = _entry(codebook, "vertebroplasty", "add_on", date(2022, 8, 1))
    rule = _answer(parse, codebook, f"+{add_on.code} goes with which primary codes?", "2022-08-01")
    assert all(primary in rule.summary for primary in add_on.add_on_for)


def test_a_modifier_the_table_refuses_is_answered_no_with_the_reason(parse, codebook):
    primary = _entry(codebook, "augmentation", "primary", date(2021, 1, 1))
    fifty = codebook.get("50")
    rule = _answer(parse, codebook, f"bilateral kypho {primary.code} - add -50?", "2021-01-01")
    assert "does not apply" in rule.summary and fifty.reason in rule.summary


def test_modifiers_refused_for_one_reason_get_one_answer_naming_each(parse, codebook):
    primary = _entry(codebook, "vertebroplasty", "primary", date(2026, 11, 27))
    sides = [m for m in codebook.entries.values() if m.system == "modifier" and primary.family in m.never_with_families
             and m.reason == codebook.get("RT").reason]
    rule = _answer(parse, codebook, f"rt/lt on {primary.code} needed?", "2026-11-27")
    assert len(sides) == 2 and rule.summary.count("does not apply") + rule.summary.count("do not apply") == 1
    assert all(m.code in rule.summary for m in sides) and sides[0].reason in rule.summary


def test_a_family_listing_names_the_codes_valid_on_the_date(parse, codebook):
    day = date(2013, 6, 1)
    rule = _answer(parse, codebook, "what are the vertebroplasty codes for a 2013 DOS?", day.isoformat())
    expected = [e.code for e in codebook.where(day, family="vertebroplasty") if not e.fallback_for]
    assert expected and all(code in " ".join(rule.statements) for code in expected)
    later = [e.code for e in codebook.where(date(2020, 1, 1), family="vertebroplasty")]
    assert not any(code in rule.summary for code in later if code not in expected)


def test_a_question_about_the_sedation_of_an_unplaced_case_is_answered_without_asking_the_level(parse, codebook):
    facts = parse("2019 kypho, same doc did moderate sedation, pt 72 - can we bill the sedation?", "2019-10-02")
    assert codebook.derive(facts).missing == "level"
    rule = answer_rule(facts, codebook, [], case_undecided=True)
    same_physician = [e.code for e in codebook.where(date(2019, 10, 2), family="sedation", performer="same")
                      if e.age_min is not None and e.age_min <= 72 <= e.age_max]
    assert same_physician and all(code in rule.summary for code in same_physician)
    assert "separately reportable" in rule.summary


@pytest.mark.parametrize("question", ["Kyphoplasty T12 and L1, codes?", "PVP L2 for osteoporotic fx, dx code?"])
def test_a_case_to_code_is_not_a_rule_question(parse, question):
    assert not is_rule_question(parse(question, "2024-05-01"))


def test_the_best_sentence_is_the_one_sharing_the_rarest_words():
    text = ("Coverage\n\nThe LCD covers painful osteoporotic fractures after conservative care fails.\n"
            "- Pain of 5 or more on a 10-point scale in outpatients is required.\n"
            "- The LCD is published by each contractor for its own states.")
    passage = Passage(doc_id="doc-1", chunk_id="doc-1#0", title="Coverage", text=text, source="s", license="public",
                      codes=[], score=1.0)
    quotes = best_sentences("what pain scale score does the LCD need for outpatients?", [passage])
    assert quotes[0].text.startswith("Pain of 5") and quotes[0].doc_id == "doc-1"


@pytest.mark.parametrize(("question", "says", "names"), [
    ("22512 w/ 22513 ok?", "No: 22512 is not reported with 22513", "22515"),
    ("99157 with 99152?", "No: 99157 is not reported with 99152", "99153"),
    ("22513 and 22515 together?", "Yes: 22515 is the add-on of 22513", "22514"),
])
def test_two_codes_named_ask_whether_the_add_on_goes_with_the_other(parse, codebook, question, says, names):
    rule = answer_rule(parse(question, "2024-05-01"), codebook, [])
    assert says in rule.summary and names in rule.summary


def _passage(text: str, doc_id: str = "doc-1") -> Passage:
    return Passage(doc_id=doc_id, chunk_id=f"{doc_id}#0", title="Title", text=text, source="s", license="public",
                   codes=[], score=1.0)


def test_a_question_is_never_answered_with_a_question_or_a_table_row():
    passage = _passage("Title\n\nCan I bill the RDQ score cutoff on the LCD claim?\n"
                       "| RDQ | score | cutoff |\n"
                       "- The LCD wants an RDQ score above 17 when the pain stays at 5 or more.")
    quotes = best_sentences("RDQ score cutoff in the LCD?", [passage])
    assert [q.text for q in quotes] == ["The LCD wants an RDQ score above 17 when the pain stays at 5 or more."]


def test_a_quantity_question_prefers_the_sentence_that_states_a_number():
    passage = _passage("Title\n\n- Height loss is measured on the imaging study that dates the fracture.\n"
                       "- Loss of more than 25% of vertebral body height counts toward the course criterion.")
    quotes = best_sentences("whats the height loss % criterion?", [passage], limit=1)
    assert "25%" in quotes[0].text


def test_sentences_come_without_markdown_markers():
    passage = _passage("Title\n\n- **Continuum of care**: the patient is _referred_ for a `BMD` test, see [LCD](http://x).")
    quotes = best_sentences("BMD referral for the LCD?", [passage])
    assert quotes[0].text == "Continuum of care: the patient is referred for a BMD test, see LCD."


def test_a_question_with_no_case_is_answered_from_the_passages(parse, codebook):
    facts = parse("what does the LCD want for the continuum of care?", "2024-05-01")
    passage = _passage("Title\n\n- Continuum of care: the patient is referred for BMD testing.")
    rule = answer_from_passages(facts.question, [passage])
    assert rule.summary == "Continuum of care: the patient is referred for BMD testing. [doc-1]"


def test_a_rule_question_naming_no_level_is_not_asked_for_case_facts(parse, codebook):
    facts = parse("is there an add-on code for sacroplasty if more than one sacral segment gets cement?", "2024-05-01")
    derivation = codebook.derive(facts)
    assert facts.question_form == "rule" and derivation.clarification is None and derivation.codes == []
    rule = answer_rule(facts, codebook, [])
    sacral = codebook.where(date(2024, 5, 1), family="sacral_augmentation")
    assert "no add-on code" in rule.summary and any(e.code in rule.summary for e in sacral)


def test_the_same_words_with_a_treated_level_are_a_case(parse, codebook):
    facts = parse("kyphoplasty T12 vs vertebroplasty L1, codes?", "2024-05-01")
    assert facts.question_form == "rule" and codebook.derive(facts).codes


def test_a_fracture_stated_or_asked_about_is_coded_and_a_rule_question_about_it_is_not(parse, codebook):
    assert codebook.derive(parse("Osteoporotic compression fx.", "2024-05-01")).codes
    assert codebook.derive(parse("osteoporotic compression fx, initial?", "2024-05-01")).codes
    assert not codebook.derive(parse("osteoporotic compression fx - anything else?", "2024-05-01")).codes
    assert not codebook.derive(parse("osteoporotic compression fx vs collapsed vertebra?", "2024-05-01")).codes


def test_a_units_question_with_a_count_gives_the_units_for_that_count(parse, codebook):
    add_on = _entry(codebook, "augmentation", "add_on", date(2024, 5, 1))
    rule = _answer(parse, codebook, f"kypho at 5 levels same session - how many units of {add_on.code}?")
    assert f"{add_on.code} x4" in rule.summary


def test_a_timed_code_named_with_too_few_minutes_is_answered_no(parse, codebook):
    timed = next(e for e in codebook.where(date(2022, 5, 1), family="sedation", role="primary") if e.min_minutes)
    short = timed.min_minutes - 2
    rule = _answer(parse, codebook, f"sedation only {short} min during kypho - still bill {timed.code}?", "2022-05-01")
    assert rule.summary.startswith(f"No: {short} minutes") and str(timed.min_minutes) in rule.summary
    assert _answer(parse, codebook, f"sedation {timed.min_minutes + 5} min during kypho - {timed.code}?",
                   "2022-05-01") is None


def test_a_code_not_valid_on_the_date_given_says_so_whatever_was_asked(parse, codebook):
    new = next(e for e in codebook.where(date(2024, 5, 1), family="sedation", role="primary") if e.effective_from)
    before = date(new.effective_from.year - 1, 12, 15)
    rule = _answer(parse, codebook, f"can {new.code} go on a claim w/ DOS {before.isoformat()}?", before.isoformat())
    assert "not valid" in rule.summary and new.effective_from.isoformat() in rule.summary


def test_a_modifier_asked_about_a_named_service_is_answered_for_that_services_code(parse, codebook):
    day = date(2019, 6, 1)
    biopsy = codebook.where(day, family="biopsy")[0]
    rule = _answer(parse, codebook, "2019 bx at a diff vertebra than the VP - XS or 59?", day.isoformat())
    assert rule.summary.count(f"may apply to {biopsy.code}") == 2


def test_a_modifier_not_yet_valid_on_the_date_is_answered_no_with_its_start(parse, codebook):
    late = next(e for e in codebook.entries.values() if e.system == "modifier" and e.effective_from)
    before = date(late.effective_from.year - 2, 6, 1)
    rule = _answer(parse, codebook, f"{before.year} claim, bx at a diff vertebra than the VP - {late.code} or 59?",
                   before.isoformat())
    assert rule.summary.startswith(f"No: modifier {late.code} took effect {late.effective_from.isoformat()}")


def test_a_family_with_no_code_on_the_date_names_the_unlisted_code(parse, codebook):
    first = min(e.effective_from for e in codebook.entries.values() if e.family == "sacral_augmentation")
    before = date(first.year - 1, 5, 14)
    unlisted = next(e for e in codebook.where(before, family="unlisted") if "sacral_augmentation" in e.fallback_for)
    rule = _answer(parse, codebook, f"sacroplasty cpt back in early {before.year}?", before.isoformat())
    assert f"report {unlisted.code}" in rule.summary


def test_a_family_named_in_the_past_is_still_the_family_asked_about(parse, codebook):
    day = date(2012, 7, 1)
    rule = _answer(parse, codebook, "lumbar kypho code back in 2012?", day.isoformat())
    lumbar = next(e for e in codebook.where(day, family="augmentation", role="primary") if "lumbar" in e.regions)
    assert lumbar.code in rule.summary


def test_a_bold_question_label_is_not_part_of_the_answer():
    passage = _passage("Title\n\n**How does the time work?** Count intraservice time only, from the first dose on.")
    assert best_sentences("how does intraservice time work?", [passage])[0].text.startswith("Count intraservice")


def test_a_definition_without_a_code_leads_with_the_sources_then_the_family(parse, codebook):
    facts = parse("sacroplasty vs vertebroplasty - whats the coding difference?", "2024-05-01")
    passage = _passage("Title\n\n- The difference: sacroplasty puts the cement into the sacrum, not a vertebral body.")
    rule = answer_rule(facts, codebook, [passage])
    assert rule.summary.startswith("The difference: sacroplasty") and "codes on 2024-05-01" in rule.summary


def test_a_number_written_as_a_word_states_a_quantity():
    passage = _passage("Title\n\n- Levels past the max for a session are a contraindication in the policy text.\n"
                       "- More than three levels is a relative contraindication.")
    assert "three" in best_sentences("max # of levels before its a contraindication?", [passage], limit=1)[0].text


@pytest.mark.parametrize(("question", "dos", "says"), [
    ("2012 vertebroplasty T7 + trocar bx of T7 same level - is the bx included now?", "2012-04-10", "included"),
    ("2013 DOS vertebroplasty L2 L3 L4 - add on 22522 goes with which primaries?", "2013-05-08", "22520 or 22521"),
    ("bilat kypho T8 billed 22523-50 and got denied. isnt bilateral supposed to get 50?", "2012-09-18",
     "does not apply"),
])
def test_a_coded_case_answers_the_rule_it_asks_first(parse, codebook, question, dos, says):

    facts = parse(question, dos)
    derived = codebook.derive(facts)
    rule = rule_in_case(facts, codebook, [c.code for c in derived.codes])
    assert derived.codes and says in rule.summary


def test_a_table_row_is_a_candidate_sentence_with_its_cells_joined():
    passage = Passage(chunk_id="c", doc_id="icd-seventh-character", title="t", license="public", source="s",
                      codes=[], score=1.0, text="7th characters\n| 7th | Meaning | Example |\n|---|---|---|\n"
                           "| D | Subsequent encounter, routine healing | M-code with D |\n"
                           "| G | Subsequent encounter, delayed healing | M-code with G |\n")
    quotes = best_sentences("what does the D mean - routine healing follow up?", [passage], limit=1)
    assert quotes[0].text == "D — Subsequent encounter, routine healing — M-code with D"
    assert not any("---" in q.text for q in best_sentences("delayed healing?", [passage]))


def test_a_listing_of_imaging_codes_leaves_out_what_the_procedure_always_includes(parse, codebook):
    day = date(2014, 5, 28)
    rule = _answer(parse, codebook, "2014 DOS kypho - which imaging S&I codes were available for the guidance?",
                   day.isoformat())
    primary = _entry(codebook, "augmentation", "primary", day)
    always = {c for inc in primary.includes if inc.scope == "always" for c in inc.codes}
    si = [e.code for e in codebook.where(day, family="imaging_si")]
    assert si and all(code in rule.summary for code in si)
    assert always and not any(code in rule.summary for code in always)


def test_two_codes_compared_each_get_their_own_description(parse, codebook):
    one, two = [e for e in codebook.where(date(2024, 5, 1), family="sacral_augmentation")][:2]
    rule = _answer(parse, codebook, f"{one.code} vs {two.code} whats the difference?")
    assert f"{one.code}: {one.description}" in rule.summary and f"{two.code}: {two.description}" in rule.summary


def test_what_to_document_comes_from_the_table_for_each_family_named(parse, codebook):
    day = date(2024, 1, 1)
    sedation_code = _entry(codebook, "sedation", "primary", day).code
    rule = _answer(parse, codebook, f"what has to be documented to bill {sedation_code} with a kypho?", "2024-01-01")
    assert rule.summary.startswith("For moderate sedation")
    assert codebook.record_rule("sedation", day).record in rule.summary
    coverage = _answer(parse, codebook, "LCD for PVA - what does the chart need to show?", "2024-01-01")
    assert codebook.record_rule("coverage", day).record in coverage.summary


def test_record_rules_hold_on_their_dates(codebook):
    before, after = codebook.record_rule("sedation", date(2016, 6, 1)), codebook.record_rule("sedation", date(2018, 6, 1))
    assert before and after and before.record != after.record
    assert all(r.sources for r in codebook.records)
    known = {e.family for e in codebook.entries.values()} | {"coverage"} | {
        e.code for e in codebook.entries.values() if e.system == "modifier"}
    assert {r.subject for r in codebook.records} <= known


@pytest.mark.parametrize(("question", "term"), [
    ("0200T is a cat III code - what does that mean?", "term.category_iii"),
    ("what makes a fx 'pathologic' for coding?", "term.pathologic_fracture"),
    ("for mod sedation whats 'intraservice time'?", "term.intraservice_time"),
    ("what's the diff between vertebroplasty and vertebral augmentation?", "procedure.augmentation"),
    ("vertebral augmentation vs vertebroplasty - what makes it augmentation?", "procedure.augmentation"),
])
def test_a_term_asked_about_is_answered_from_the_definitions_table(parse, codebook, question, term):
    facts = parse(question, "2026-11-27")
    rule = answer_rule(facts, codebook, [])
    found = next(d for d in codebook.definitions if term in d.terms)
    assert facts.in_scope and rule.summary.startswith(found.definition[:40])


def test_a_term_named_outside_a_definition_question_does_not_bring_a_scenario_into_scope(parse):
    assert not parse("pathologic fx of the femur, icd code?").in_scope


@pytest.mark.parametrize(("question", "terms"), [
    ("absolute contraindications in the PVA LCDs?", {"term.contraindication"}),
    ("chronic compression fx ~1 yr old, MRI no edema. LCD covers kypho?", {"term.chronic_fracture", "ask.coverage"}),
    ("evicore pt - how many levels will they approve for kypho? do they take sacroplasty?",
     {"term.evicore", "term.commercial_payer"}),
    ("is sacroplasty covered under BCBS AL / ND policy?", {"procedure.sacral_augmentation", "ask.coverage"}),
    ("BCBS commercial - how long conservative tx before kypho?", {"term.conservative_care", "term.commercial_payer"}),
])
def test_a_coverage_question_naming_a_coverage_term_gets_the_tables_fact(parse, codebook, question, terms):
    facts = parse(question, "2024-01-01")
    fact = next(d for d in codebook.definitions if set(d.terms) == terms)
    derivation = codebook.derive(facts)
    rule = answer_rule(facts, codebook, [], case_undecided=derivation.missing is not None)
    assert fact.answers == "any" and rule.summary.startswith(fact.definition[1:30], 1)


def test_a_modifier_named_in_a_documentation_question_gets_its_record_rule(parse, codebook):
    rule = _answer(parse, codebook, "what does the op note need to support -22 on a kypho?")
    assert rule.summary.startswith("For modifier 22") and codebook.record_rule("22", date(2024, 5, 1)).record in rule.summary


def test_still_valid_on_a_date_given_starts_with_yes(parse, codebook):
    old = next(e for e in codebook.entries.values() if e.family == "vertebroplasty" and e.effective_to)
    day = old.effective_to.isoformat()
    rule = _answer(parse, codebook, f"was {old.code} still good on that DOS ({day})?", day)
    assert rule.summary.startswith(f"Yes: {old.code} was valid on {day}")
    assert not _answer(parse, codebook, f"is {old.code} still good?", None).summary.startswith("Yes")


def test_which_codes_go_with_a_diagnosis_code_asks_its_tabular_notes(parse, codebook):
    code = next(c for c, e in codebook.entries.items() if e.system == "ICD-10-CM" and c.startswith("M84.5"))
    asks = rule_asks(parse(f"multiple myeloma pathologic fx T8, which codes go with {code}?", "2022-01-01"),
                     codebook=codebook)
    assert "code_also" in asks and "pair" not in asks


def test_two_codes_billed_together_without_an_add_on_ask_whether_one_includes_the_other(parse, codebook):
    day = date(2019, 4, 2)
    primary = _entry(codebook, "augmentation", "primary", day)
    biopsy = next(c for i in primary.includes if i.scope == "same_level" for c in i.codes)
    facts = parse(f"denial: CO-97 on {biopsy} billed with {primary.code}, biopsy of the kypho level. appeal?", day)
    assert "includes" in rule_asks(facts, codebook=codebook) and "pair" not in rule_asks(facts, codebook=codebook)
    rule = answer_rule(facts, codebook, [])
    assert "not separately reportable" in rule.summary and "not treated it is reported separately" in rule.summary


def test_a_procedure_family_is_defined_only_when_its_meaning_is_asked(parse, codebook):
    meaning = answer_rule(parse("what does 'sacroplasty' mean code-wise?", "2024-01-01"), codebook, [],
                          case_undecided=True)
    found = codebook.definition({"procedure.sacral_augmentation"}, True)
    assert meaning and meaning.summary.startswith(found.definition[:30])
    a_case = parse("whats the code for sacroplasty both sides 2019?", "2019-06-01")
    assert not answer_rule(a_case, codebook, [], case_undecided=False)


def test_codes_for_a_procedure_with_no_case_facts_list_its_family(parse, codebook):
    day = date(2022, 5, 1)
    facts = parse("codes for sacroplasty 2022?", day.isoformat())
    assert "family" in rule_asks(facts, True, codebook)
    rule = answer_rule(facts, codebook, [], case_undecided=True)
    assert all(e.code in rule.summary for e in codebook.where(day, family="sacral_augmentation"))


def test_a_term_asked_about_leads_even_when_codes_are_named(parse, codebook):
    cat_iii = [e.code for e in codebook.where(date(2024, 5, 1), family="sacral_augmentation")]
    facts = parse(f"why are sacroplasty codes {'/'.join(cat_iii)} 'T' codes - what does Category III mean for us?",
                  "2024-05-01")
    rule = answer_rule(facts, codebook, [], case_undecided=True)
    assert rule.summary.startswith("Category III")


def test_a_modifier_question_about_the_add_on_lines_answers_about_the_add_on(parse, codebook):
    day = date(2024, 5, 1)
    primary, add_on = (_entry(codebook, "vertebroplasty", role, day) for role in ("primary", "add_on"))
    facts = parse(f"vertebroplasty L3-L5, billing {primary.code} + {add_on.code} x2. do the {add_on.code} lines "
                  "need 59 or 51?", day.isoformat())
    rule = rule_in_case(facts, codebook, [d.code for d in codebook.derive(facts).codes])
    first = rule.statements[0]
    assert f"does not apply to {add_on.code}" in first and primary.code not in first


def test_when_an_inclusion_began_is_answered_by_the_inclusion(parse, codebook):
    old = [e for e in codebook.entries.values() if e.family == "vertebroplasty" and e.effective_to
           and any(i.scope == "same_level" for i in e.includes)]
    facts = parse(f"In what year did CPT add the 'bone biopsy included when performed' wording to the "
                  f"vertebroplasty codes {old[0].code}-{old[-1].code}?", "2024-05-01")
    rule = answer_rule(facts, codebook, [])
    reason = next(i.reason for i in old[0].includes if i.scope == "same_level")
    assert reason in rule.summary.split(". ")[0]


def test_an_auditors_question_on_the_lcd_gets_the_coverage_record(parse, codebook):
    facts = parse("auditor says our kypho notes don't meet LCD - what pain measurement needs to be in the chart?")
    rule = answer_rule(facts, codebook, [])
    assert codebook.record_rule("coverage", facts.date_of_service).record in rule.summary


def test_a_family_question_with_which_codes_after_the_procedure_lists_the_family(parse, codebook):
    day = date(2024, 7, 1)
    facts = parse("2024 DOS sacroplasty - which codes?", day.isoformat())
    rule = answer_rule(facts, codebook, [], case_undecided=True)
    assert all(e.code in rule.summary for e in codebook.where(day, family="sacral_augmentation"))


def test_the_clause_with_the_question_mark_picks_the_code_asked_about(parse, codebook):
    day = date(2024, 5, 1)
    primary, add_on = (_entry(codebook, "vertebroplasty", role, day) for role in ("primary", "add_on"))
    facts = parse(f"billing {primary.code} + {add_on.code} x2, do the {add_on.code} lines need 59?", day.isoformat())
    rule = answer_rule(facts, codebook, [])
    assert rule.summary.startswith("No: modifier 59") and f"does not apply to {add_on.code}" in rule.statements[0]


@pytest.mark.parametrize("question", ["DOS 2019 balloon kypho - all codes?", "sacroplasty 2023 codes?",
                                      "vertebroplasty codes list for 2014?"])
def test_a_procedure_named_with_no_case_is_answered_with_its_family_not_asked_a_level(parse, codebook, question):
    facts = parse(question)
    derivation = codebook.derive(facts)
    assert derivation.clarification is None and not derivation.codes
    rule = answer_rule(facts, codebook, [])
    family = [e.code for e in codebook.where(facts.date_of_service, family=facts.procedures[0]) if not e.fallback_for]
    assert family and all(code in rule.summary for code in family)


@pytest.mark.parametrize(("question", "missing"), [
    ("kyphoplasty, what code?", "level"),
    ("did a kypho today, what do I bill?", "level"),
    ("sacroplasty for insufficiency fx 2019, cpt?", "laterality"),
    ("sacroplasty 2021 - 0200T or 0201T?", "laterality"),
])
def test_a_case_missing_a_fact_is_asked_for_it(parse, codebook, question, missing):
    facts = parse(question)
    assert facts.describes_a_case and codebook.derive(facts).missing == missing


def test_a_documentation_question_naming_medicare_gets_the_coverage_record_first(parse, codebook):
    facts = parse("what imaging does the record need to support acute/subacute VCF for Medicare kypho?")
    rule = answer_rule(facts, codebook, [])
    coverage = codebook.record_rule("coverage", facts.date_of_service)
    assert coverage and rule.summary.startswith("For Medicare coverage") and "MRI" in rule.summary


def test_a_question_that_asks_a_rule_without_a_question_mark_is_not_a_statement_to_code(parse, codebook):
    facts = parse("what is sacroplasty exactly and what codes")
    assert not facts.describes_a_case and codebook.derive(facts).clarification is None


@pytest.mark.parametrize(("question", "says"), [
    ("does the PVA LCD cap the # of levels for a medicare pt?", "three"),
    ("myeloma pt, lytic lesion T10. covered under the PVA LCD?", "myeloma"),
    ("does the LCD actually require a BMD referral for kypho pts?", "bone mineral density"),
    ("L38201 height loss % criterion?", "25%"),
])
def test_coverage_facts_answer_the_coverage_question_they_name(parse, codebook, question, says):
    assert says in answer_rule(parse(question), codebook, []).summary


def test_the_codes_of_a_service_asked_with_a_comparison_are_not_the_procedures_definition(parse, codebook):
    day = date(2012, 6, 1)
    rule = answer_rule(parse("DOS 2012 - S&I codes for vertebroplasty guidance, fluoro vs CT?", day.isoformat()),
                       codebook, [])
    si = [e.code for e in codebook.where(day, family="imaging_si")]
    assert si and all(code in rule.summary for code in si)


def test_a_run_of_deleted_codes_is_answered_as_a_run_with_its_replacements(parse, codebook):
    replaced = [e for e in codebook.entries.values() if e.family == "sedation" and e.replaced_by]
    last_day = max({e.effective_to for e in replaced}, key=lambda d: sum(e.effective_to == d for e in replaced))
    run = sorted(e.code for e in replaced if e.effective_to == last_day)    # the codes deleted together
    new = sorted({r.code for c in run for r in codebook.get(c).replaced_by if r.code})
    rule = _answer(parse, codebook, f"old sedation codes {run[0]}-{run[-1]} are gone right? what replaced them")
    assert rule.summary.startswith(f"{run[0]}-{run[-1]} were deleted after")
    assert f"replaced by {new[0]}-{new[-1]}" in rule.summary


def test_asked_what_a_code_replaced_the_answer_names_the_old_code(parse, codebook):
    day = date(2024, 5, 1)
    primary = _entry(codebook, "augmentation", "primary", day)
    old = [e.code for e in codebook.entries.values() if any(r.code == primary.code for r in e.replaced_by)]
    rule = _answer(parse, codebook, f"when did {primary.code} start and what was the old code before it?")
    assert primary.effective_from.isoformat() in rule.summary and all(code in rule.summary for code in old)


def test_a_description_asked_of_a_deleted_code_leads_with_its_words(parse, codebook):
    deleted = next(e for e in codebook.entries.values() if e.family == "imaging_si" and e.effective_to)
    rule = _answer(parse, codebook, f"{deleted.code} desc?")
    assert rule.summary.startswith(f"{deleted.code}: {deleted.description}")


def test_codes_compared_with_a_term_asked_give_both_codes_words_then_the_term(parse, codebook):
    sacral = [e for e in codebook.where(date(2024, 5, 1), family="sacral_augmentation")]
    rule = _answer(parse, codebook, f"{sacral[0].code} vs {sacral[1].code} - whats the difference, and are these cat III?")
    assert rule.summary.startswith(f"{sacral[0].code}: {sacral[0].description}")
    assert sacral[1].description in rule.summary and "Category III" in rule.summary


def test_the_record_rule_of_a_deleted_code_is_the_one_of_its_last_valid_day(parse, codebook):
    deleted = next(e for e in codebook.entries.values() if e.family == "imaging_si" and e.effective_to)
    rule = _answer(parse, codebook, f"billing {deleted.code}-26 pre-2015, what documentation needed?")
    assert codebook.record_rule("imaging_si", deleted.effective_to).record in rule.summary


def test_when_a_family_got_its_codes_is_answered_from_its_first_dated_codes(parse, codebook):
    dated = sorted((e for e in codebook.entries.values() if e.family == "augmentation" and e.effective_from),
                   key=lambda e: e.effective_from)
    facts = parse("what yr did kypho get real cpt codes? old claims show 22899 per level", "2024-05-01")
    rule = answer_rule(facts, codebook, [])
    assert rule.summary.startswith("Vertebral augmentation (kyphoplasty) got its own CPT codes on "
                                   f"{dated[0].effective_from.isoformat()}")


def test_a_question_on_two_coverage_subjects_gets_both_definitions(parse, codebook):
    facts = parse("PVA LCD hospitalized pt pain threshold? and does it cover mets/myeloma fx too", "2024-05-01")
    rule = answer_rule(facts, codebook, [])
    criteria = next(d for d in codebook.definitions if d.terms == ["term.lcd_criteria"])
    assert "myeloma" in rule.summary and criteria.definition in rule.summary


def test_two_terms_of_the_same_kind_asked_in_one_line_get_both_definitions(parse, codebook):
    facts = parse("PVA LCD absolute contraindications? and does the # of levels limit apply to multiple myeloma",
                  "2024-05-01")
    rule = answer_rule(facts, codebook, [])
    contraindications = next(d for d in codebook.definitions if d.terms == ["term.contraindication"])
    assert "myeloma" in rule.summary and contraindications.definition in rule.summary


def test_one_code_asked_about_its_excludes_note_gets_the_codes_it_sends_elsewhere(parse, codebook):
    note = next(n for n in codebook.tabular_notes if n.kind == "excludes1" and n.at.startswith("M48"))
    rule = _answer(parse, codebook, f"{note.at} has excludes1 - what do i use for osteoporotic path fx of vertebra?")
    assert note.text in rule.summary


def test_a_seventh_character_asked_for_a_named_encounter_gets_the_full_code(parse, codebook):
    facts = parse("7th char M80.08 at the 6 wk f/u visit", "2024-05-01")
    rule = answer_rule(facts, codebook, [])
    full = next(e.code for e in codebook.completions("M80.08") if e.code.endswith(facts.encounter))
    assert facts.encounter != "A" and rule.summary.startswith(f"{facts.encounter} (") and full in rule.summary


def test_why_a_payer_does_not_pay_a_named_code_in_a_setting_is_its_omission_rule(parse, codebook):
    add_on = next(e for e in codebook.entries.values() if e.family == "sedation" and e.omit_when
                  and any("payer.medicare" in r.all_of for r in e.omit_when))
    rule = _answer(parse, codebook, f"palmetto wont pay {add_on.code} in hospital, why")
    reason = next(r.reason for r in add_on.omit_when if "payer.medicare" in r.all_of)
    assert rule.summary.startswith(f"No: {add_on.code} is not paid here") and reason in rule.summary


@pytest.mark.parametrize("dos", ["2012-05-05", "2024-05-05"])
def test_the_modifier_for_a_biopsy_at_another_level_is_one_valid_on_the_date(parse, codebook, dos):
    rule = _answer(parse, codebook, "modifier for bx at a different level", dos)
    biopsy = next(e for e in codebook.entries.values() if e.separate_level_modifiers)
    day = date.fromisoformat(dos)
    for code in biopsy.separate_level_modifiers:
        assert (code in rule.summary) == codebook.get(code).valid_on(day), code


def test_units_of_a_timed_add_on_asked_with_minutes_are_counted_for_those_minutes(parse, codebook):
    add_on = next(e for e in codebook.where(date(2024, 1, 1), family="sedation", role="add_on") if e.unit_minutes)
    rule = _answer(parse, codebook, f"how many units of {add_on.code} for 40 min")
    first = next(codebook.get(c) for c in add_on.add_on_for)
    units = codebook.add_on_units(first, add_on, 40)
    assert rule.summary.startswith(f"For 40 minutes: {add_on.code} x{units}") and units == 2


def test_units_of_a_primary_for_several_bodies_name_its_add_on_for_the_rest(parse, codebook):
    primary = _entry(codebook, "vertebroplasty", "primary", date(2024, 1, 1))
    add_on = codebook.add_on_of(primary.code, date(2024, 1, 1))
    rule = _answer(parse, codebook, f"{primary.code} units for 4 levels")
    assert f"For 4 bodies: {primary.code} x1 + {add_on.code} x3" in rule.summary


def test_two_diagnoses_offered_for_a_stated_condition_lead_with_the_one_it_calls_for(parse, codebook):
    facts = parse("M80.08XA vs M48.56XA - which for osteoporotic L2 fx?", "2024-05-01")
    wanted = codebook.diagnoses_for(facts)[0].code
    rule = answer_rule(facts, codebook, [])
    assert wanted.startswith("M80") and rule.summary.startswith("For ") and f": {wanted}." in rule.summary.split(". ")[0] + "."


def test_of_two_abbreviations_named_the_one_asked_about_is_defined(parse, codebook):
    rule = answer_rule(parse("reading the PVA LCD and it keeps saying RDQ >17 - what is RDQ?", "2024-05-01"), codebook, [])
    rdq = next(d for d in codebook.definitions if "abbrev.rdq" in d.terms)
    assert rule.summary.startswith(rdq.definition[:40])


def test_what_an_audit_reviews_leads_over_the_record_rule(parse, codebook):
    facts = parse("RAC asked for records on a 2nd-lifetime VP, 2 levels. what are they reviewing for?", "2024-05-01")
    rule = answer_rule(facts, codebook, [], case_undecided=True)
    audit = next(d for d in codebook.definitions if d.leads_record_rules and "term.rac_review" in d.terms)
    assert rule.summary.startswith(audit.definition[:40])


def test_one_diagnosis_asked_on_top_of_another_is_an_excludes_question(parse, codebook):
    rule = _answer(parse, codebook, "osteoporosis w/ compression fx - do i add M48.5 on top of M80?")
    assert rule.summary.startswith("No: M48.5 and M80 are never coded together")


def test_code_also_on_a_case_that_names_no_code_reads_the_notes_of_the_cases_own_diagnosis(parse, codebook):
    facts = parse("T4 wedge fx w/ cord injury code also what", "2024-05-01")
    derived = codebook.derive(facts)
    rule = rule_in_case(facts, codebook, [c.code for c in derived.codes])
    assert any(c.code.startswith("S22.0") for c in derived.codes) and "spinal cord injury" in rule.summary


def test_a_family_with_no_code_on_the_date_names_the_unlisted_code_and_the_payers_s_codes(parse, codebook):
    day = date(2004, 9, 1)
    payer = [e.code for e in codebook.where(day, family="payer_alternative") if "augmentation" in e.fallback_for]
    unlisted = next(e.code for e in codebook.where(day, family="unlisted") if "augmentation" in e.fallback_for)
    rule = _answer(parse, codebook, "commercial kypho dos 9/2004 hcpcs?", day.isoformat())
    assert payer and all(code in rule.summary for code in payer + [unlisted])
    listing = _answer(parse, codebook, "kypho codes?", day.isoformat())
    assert listing.summary.startswith("No vertebral augmentation (kyphoplasty) code existed on 2004-09-01")
    assert all(code in listing.summary for code in payer)


def test_a_neoplasm_code_alone_on_the_procedures_claim_is_told_the_fracture_code_with_its_encounter(parse, codebook):
    rule = _answer(parse, codebook, "noridian PVA - I put C79.51 as only dx on the kypho for a met lesion and it "
                                    "denied. what's missing?")
    assert "report M84.58XA as well as C79.51" in rule.summary


def test_a_case_asked_on_two_dates_gets_each_dates_primary_and_no_mixed_case(parse, codebook):
    days = [date(2014, 12, 29), date(2015, 1, 6)]
    facts = parse("pt had kypho L1 on 12/29/2014 and L3 on 1/6/2015 (separate sessions), which lumbar kypho code "
                  "each date?", days[1].isoformat())
    rule = answer_rule(facts, codebook, [])
    for day in days:
        lumbar = next(e for e in codebook.where(day, family="augmentation", role="primary") if "lumbar" in e.regions)
        assert f"On {day.isoformat()}: {lumbar.code}" in rule.summary


def test_the_first_s_and_i_codes_answer_what_replaced_them(parse, codebook):
    first = sorted((e for e in codebook.entries.values() if e.family == "imaging_si"), key=lambda e: e.effective_from)
    old = [e for e in first if e.effective_from == first[0].effective_from]
    rule = _answer(parse, codebook, f"{old[0].code} and {old[1].code} vp s&i codes - what were they and what replaced them")
    assert all(r.code in rule.summary for e in old for r in e.replaced_by)


def test_a_timed_add_on_says_the_minute_its_first_unit_counts(parse, codebook):
    day = date(2024, 5, 1)
    add_on = next(e for e in codebook.where(day, family="sedation", role="add_on") if e.unit_minutes)
    first = codebook.get(add_on.add_on_for[0])
    start = codebook.first_add_on_minute(first, add_on)
    assert codebook.add_on_units(first, add_on, start - 1) == 0 and codebook.add_on_units(first, add_on, start) == 1
    rule = _answer(parse, codebook, f"when does {add_on.code} x1 kick in")
    assert f"reaches {start} minutes" in rule.summary


def test_a_units_question_about_one_body_with_no_level_gets_the_familys_units_rule(parse, codebook):
    facts = parse("bilat pedicle needles into same vertebral body VP - 1 unit or 2?", "2024-05-01")
    rule = answer_rule(facts, codebook, [])
    primary = _entry(codebook, "vertebroplasty", "primary", date(2024, 5, 1))
    assert rule.summary.startswith(f"{primary.code}: only one unit")
    assert "units" not in rule_asks(parse("VP x2 levels, codes?", "2024-05-01"), codebook=codebook)


def test_a_deleted_codes_dates_lead_when_asked_and_follow_the_asked_rule_otherwise(parse, codebook):
    si = next(e for e in codebook.entries.values() if e.family == "imaging_si" and e.effective_to
              and e.effective_from and e.effective_from.year == 2007)
    asked = _answer(parse, codebook, f"rad keeps sending {si.code}-26 w/ our VP claims. is {si.code} even still valid / "
                                     "billable w/ VP?", "2024-05-01")
    assert asked.summary.startswith(f"{si.code} was in effect from")
    add_on = next(e for e in codebook.entries.values() if e.family == "vertebroplasty" and e.role == "add_on"
                  and e.effective_to)
    paired = _answer(parse, codebook, f"was +{add_on.code} only allowed with {'/'.join(add_on.add_on_for)}?", "2024-05-01")
    assert paired.summary.startswith(f"Yes: {add_on.code} is the add-on")


def test_a_documentation_question_naming_the_mac_gets_the_lcd_record_first(parse, codebook):
    rule = _answer(parse, codebook, "FCSO audit on kypho - what imaging do they want in the chart to show the fx is acute?")
    assert rule.summary.startswith("For Medicare coverage (the PVA LCDs), the record must show")


def test_codes_asked_what_they_were_lead_with_their_own_words(parse, codebook):
    old = [e for e in codebook.entries.values() if e.family == "payer_alternative" and "augmentation" in e.fallback_for]
    rule = _answer(parse, codebook, f"old EOB shows {old[0].code} + {old[1].code}. what were those hcpcs codes for?")
    assert rule.summary.startswith(f"{old[0].code}: {old[0].description}")


def test_a_neoplastic_fracture_whose_neoplasm_is_not_named_is_the_neoplastic_fracture_code(parse, codebook):
    derived = codebook.derive(parse("dx code path fx vertebra d/t neoplasm initial enc", "2024-05-01"))
    assert [c.code for c in derived.codes] == ["M84.58XA"]


def test_a_code_asked_about_before_it_existed_says_so_first_and_answers_from_its_first_day(parse, codebook):
    day = date(2013, 9, 10)
    later = next(e for e in codebook.entries.values() if e.family == "augmentation" and e.role == "primary"
                 and e.effective_from and e.effective_from > day and "lumbar" in e.regions)
    rule = _answer(parse, codebook, f"is 72291 bundled into {later.code}? dos 2013", day.isoformat())
    assert rule.summary.startswith(f"{later.code} has been in effect since {later.effective_from.isoformat()}, so it is "
                                   f"not valid for a date of service on {day.isoformat()}")
    assert f"on {day.isoformat()} (" not in rule.summary.split(". ", 1)[1]


def test_a_named_code_a_stated_payer_and_setting_leave_off_is_answered_no_with_the_rule(parse, codebook):
    day = date(2024, 5, 1)
    code = next(e for e in codebook.where(day, family="sedation") if e.omit_when and "payer.medicare" in e.omit_when[0].all_of)
    rule = _answer(parse, codebook, f"palmetto denied {code.code} on our hospital outpt kypho claim, 99152 paid. why??",
                   day.isoformat())
    assert rule.summary.startswith(f"No: {code.code} is not paid here: {code.omit_when[0].reason}")


def test_codes_compared_and_another_rule_asked_give_the_comparison_first(parse, codebook):
    sacral = [e for e in codebook.where(date(2024, 5, 1), family="sacral_augmentation")]
    rule = _answer(parse, codebook, f"{sacral[0].code} vs {sacral[1].code} diff? and is bone bx included in them?")
    assert rule.summary.startswith(f"{sacral[0].code}: {sacral[0].description}")
    assert any(f"{sacral[0].code}" in s and "biopsy" in s.lower() for s in rule.statements[2:])


def test_units_of_the_unlisted_code_for_old_kyphoplasty_follow_the_era_rule(parse, codebook):
    unlisted = next(e for e in codebook.entries.values() if e.family == "unlisted" and e.units_when)
    era = unlisted.units_when[0]
    facts = parse(f"medicare kypho at T12 and L1, we used {unlisted.code}. 1 unit or 2?",
                  era.until.replace(month=8, day=15).isoformat())
    rule = rule_in_case(facts, codebook, [c.code for c in codebook.derive(facts).codes])
    assert rule.summary.startswith(f"{unlisted.code}: {era.reason}")
    later = parse(f"how many units of {unlisted.code} for a 2 level cervical VP?", "2018-03-03")
    rule = rule_in_case(later, codebook, [c.code for c in codebook.derive(later).codes])
    assert rule.summary.startswith(f"For 2 bodies: {unlisted.code} x1")


def test_a_deleted_primary_s_replacement_comes_with_its_add_on(parse, codebook):
    old = next(e for e in codebook.entries.values() if e.family == "sedation" and e.role == "primary"
               and e.effective_to and any(r.code for r in e.replaced_by))
    new = codebook.get(next(r.code for r in old.replaced_by if r.code))
    add_on = codebook.add_on_of(new.code, new.effective_from)
    rule = _answer(parse, codebook, f"our old CDM still has {old.code} for the sedation. what do we use now??")
    assert rule.summary.startswith(f"{old.code} was deleted") and f"its add-on {add_on.code}" in rule.summary


def test_asked_when_a_family_first_got_codes_the_family_start_and_what_came_before_lead(parse, codebook):
    first = min((e for e in codebook.entries.values() if e.family == "vertebroplasty" and e.effective_from),
                key=lambda e: e.effective_from)
    unlisted = next(e for e in codebook.entries.values() if e.family == "unlisted")
    rule = _answer(parse, codebook, f"what year did cpt first give us real vertebroplasty codes ({first.code} "
                                    "series)? before that was it all unlisted?", "2026-11-27")
    assert rule.summary.startswith("Vertebroplasty got its own CPT codes on " + first.effective_from.isoformat())
    assert unlisted.code in rule.summary


def test_units_of_a_body_reached_from_both_sides_say_the_descriptor_s_sides(parse, codebook):
    primary = _entry(codebook, "augmentation", "primary", date(2024, 5, 1))
    rule = _answer(parse, codebook, f"bilateral cannulation same vertebra - 2 units of {primary.code}?")
    assert primary.sides and primary.sides in rule.summary and "only one unit" in rule.summary


def test_the_covered_levels_asked_in_words_get_the_lcd_level_range(parse, codebook):
    levels = next(d for d in codebook.definitions if any("term.levels_covered" in t for t in d.terms))
    rule = _answer(parse, codebook, "FCSO L34976 - which spinal levels are covered for osteoporotic VCF?")
    assert rule.summary.startswith(levels.definition.split(" (")[0])


def test_when_a_term_s_time_starts_is_its_definition_not_a_code_s_dates(parse, codebook):
    term = next(d for d in codebook.definitions if "start" in d.also_answers)
    code = _entry(codebook, "sedation", "primary", date(2024, 5, 1))
    rule = _answer(parse, codebook, f"when does intraservice time start for {code.code}")
    assert rule.summary.startswith(term.definition.split(" (")[0])


def test_a_condition_coded_by_region_asked_for_its_subcategory_lists_each_region_s_code(parse, codebook):
    condition = next(c for c in codebook.conditions if c.id == "collapsed_vertebra")
    rule = _answer(parse, codebook, "compression fx of vertebra NOS - which icd10 subcategory?")
    first = next(iter(condition.by_region.values())).replace("{enc}", "A")
    assert rule.summary.startswith(first[:first.index(".") + 2] + "-")
    assert all(code.replace("{enc}", "A") in rule.summary for code in condition.by_region.values())


def test_a_neoplasm_code_asked_alone_for_the_mac_gets_the_billing_article_pairing(parse, codebook):
    pairing = next(d for d in codebook.definitions if "alone_asked" in d.terms)
    for question in ("does C90.00 alone satisfy noridian for the kypho?",
                     "is C90.00 on noridian's PVA group 2 list and what M code must ride with it"):
        assert _answer(parse, codebook, question).summary.startswith(pairing.definition.split(":")[0])


def test_a_sedation_code_s_age_asked_beside_its_date_gets_both(parse, codebook):
    code = next(e for e in codebook.where(date(2024, 5, 1), family="sedation", role="primary", performer="same")
                if e.age_min)
    rule = _answer(parse, codebook, f"eff date of {code.code} mod sed and what age does it start at?")
    assert code.effective_from.isoformat() in rule.summary and f"age {code.age_min} years or older" in rule.summary


def test_a_sedation_code_asked_before_it_existed_says_what_the_procedure_did_with_sedation_then(parse, codebook):
    code = next(e for e in codebook.where(date(2024, 5, 1), family="sedation", role="primary", performer="same")
                if e.age_min)
    day = code.effective_from.replace(year=code.effective_from.year - 1, month=12, day=15)
    rule = _answer(parse, codebook, f"can {code.code} go on a claim w/ DOS mid Dec {day.year} for a VP?", day.isoformat())
    assert rule.summary.startswith(f"{code.code} has been in effect since {code.effective_from.isoformat()}")
    assert "moderate sedation is included in" in rule.summary
