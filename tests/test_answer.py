"""The deterministic composer: what the coder reads when no scenario is coded."""

from datetime import date

from assistant.answer import CodeLine, compose, summarize
from assistant.rule_answer import RuleAnswer
from assistant.sentences import Quote


def test_add_on_named_with_the_wrong_primary_gets_the_right_partner(parse, codebook):
    facts = parse("Can 22512 be reported with 22514?", "2024-01-01")
    text = compose(facts, codebook.derive(facts), [], [], [], codebook)
    assert "**22512** does not pair with **22514**" in text and "**22515**" in text


def test_matching_pair_gets_no_pairing_note(parse, codebook):
    facts = parse("Can 22515 be reported with 22514?", "2024-01-01")
    assert "does not pair" not in compose(facts, codebook.derive(facts), [], [], [], codebook)


def test_incomplete_icd_code_lists_completions_and_picks_the_encounter(parse, codebook):
    facts = parse("what 7th character goes on M80.08 at the routine f/u after kyphoplasty, healing normally?", "2024-01-01")
    text = compose(facts, codebook.derive(facts), [], [], [], codebook)
    assert "**M80.08** is not complete" in text and "M80.08XA" in text and "**M80.08XD**" in text


def test_named_diagnosis_that_the_condition_does_not_call_for(parse, codebook):
    facts = parse("Is M81.0 OK as the dx for a kyphoplasty of an osteoporotic compression fracture?", "2024-01-01")
    assert "report **M80.08XA**, not M81.0" in compose(facts, codebook.derive(facts), [], [], [], codebook)


def _lines(derivation, codebook):
    return [CodeLine(code=d.code, units=d.units, modifiers=d.modifiers, description=codebook.get(d.code).description,
                     verified=True, reason=d.reason) for d in derivation.codes]


def test_a_yes_no_question_on_a_named_code_is_answered_yes_or_no_first(parse, codebook):
    biopsy = codebook.where(date(2019, 6, 1), family="biopsy")[0].code
    facts = parse(f"vertebroplasty at L2, needle bx at L4 (not treated) - can {biopsy} be billed?", "2019-06-01")
    derivation = codebook.derive(facts)
    summary = summarize(facts, derivation, _lines(derivation, codebook), [], "", codebook)
    assert summary.startswith(f"Yes: {biopsy}")
    wrong = next(e.code for e in codebook.where(date(2019, 6, 1), family="augmentation", role="add_on"))
    facts = parse(f"vertebroplasty L3 and L4 - do i add {wrong} for L4?", "2019-06-01")
    derivation = codebook.derive(facts)
    assert summarize(facts, derivation, _lines(derivation, codebook), [], "", codebook).startswith(f"No: {wrong}")


def test_a_coded_case_asking_what_to_send_gets_the_sources_sentences_after_the_codes(parse, codebook):
    facts = parse("cervical vertebroplasty C5 (2012) - what do I need to send with the claim?", "2012-07-01")
    derivation = codebook.derive(facts)
    rule = RuleAnswer(summary="Send the op note. [doc-1]", quotes=[Quote(text="Send the op note.", doc_id="doc-1")])
    summary = summarize(facts, derivation, _lines(derivation, codebook), [], "", codebook, rule)
    assert summary.startswith("Report ") and summary.endswith("Send the op note. [doc-1]")


def test_a_diagnosis_asked_before_icd10_says_which_code_set_applies(parse, codebook):
    facts = parse("kypho T12 for osteoporotic fx, dx code? DOS 2013")
    derivation = codebook.derive(facts)
    assert not any(codebook.get(d.code).system == "ICD-10-CM" for d in derivation.codes)
    summary = summarize(facts, derivation, _lines(derivation, codebook), [], "", codebook)
    assert summary.startswith("For the diagnosis: ICD-10-CM applies") and "ICD-9-CM" in summary


def test_two_encounters_asked_give_each_encounters_code(parse, codebook):
    facts = parse("osteoporotic vert fx code for the initial kypho encounter and then for the routine-healing f/u visit?",
                  "2024-06-01")
    assert facts.encounters_asked == ["A", "D"]
    derivation = codebook.derive(facts)
    assert not derivation.clarification
    summary = summarize(facts, derivation, _lines(derivation, codebook), [], "", codebook)
    stems = {c.code[:-1] for c in derivation.codes if codebook.seventh_rule(c.code)}
    assert stems and all(f"{stem}A" in summary and f"{stem}D" in summary for stem in stems)
    assert parse("osteoporotic vert fx, initial encounter code?", "2024-06-01").encounters_asked == []
