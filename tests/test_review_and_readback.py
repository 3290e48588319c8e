"""Verdicts on proposed codes, the read-back with its spans, and the billing-scope limit, on the real table."""

from __future__ import annotations

import pytest

from assistant.answer import CodeLine, compose, summarize
from assistant.claim_scope import limit_to_scope
from assistant.readback import understood
from assistant.review import proposed_codes, review
from assistant.verify import verify


def _checked(parse, codebook, question, dos):
    facts = parse(question, dos)
    derivation = codebook.derive(facts)
    checked = verify(None, facts, derivation, codebook)
    return facts, derivation, checked


def test_proposed_codes_keep_each_line_with_its_modifiers_and_units():
    lines = proposed_codes("sent 22513 + 22513-59, 22515 x2 and 20225-XS")
    assert [(p.label, p.units) for p in lines] == [("22513", None), ("22513-59", None), ("22515", 2), ("20225-XS", None)]


@pytest.mark.parametrize(("question", "dos", "verdicts"), [
    ("sent 22513 + 22513-59 for kypho T11 and T12, denied - what should it be?", "2023-05-01",
     {"22513": ("correct", []), "22513-59": ("replace", ["22515"])}),
    ("charge line: 0200T x1, 77012 for bilateral sacroplasty", "2021-03-04",
     {"0200T": ("replace", ["0201T"]), "77012": ("remove", [])}),
    ("PKP L1 and L2 in 2016, billed 22524 and 22525 - ok?", "2016-06-01",
     {"22524": ("replace", ["22514"]), "22525": ("replace", ["22515"])}),
    ("kypho T7-T10, charge line 22513 x1, 22515 x2 - do the units match?", "2022-11-18",
     {"22513": ("correct", []), "22515": ("correct", [])}),
    ("kypho L3 and L4 on 7/11/19 - coded as 22514 x 2 units. correct?", "2019-07-11",
     {"22514": ("replace", ["22514", "22515"])}),
    ("kyphoplasty T12 then L1, biller put 22513 and 22514", "2017-02-15",
     {"22513": ("correct", []), "22514": ("replace", ["22515"])}),
    ("denial on 22515 - billed 22511 (L2) + 22515 (L3), two-level vertebroplasty, cement only", "2020-08-19",
     {"22511": ("correct", []), "22515": ("replace", ["22512"])}),
    ("Dec 2014 kypho L1 + L2, hospital, our ortho did his own fluoro. Billed: 22524, 22525, 77003-26.", "2014-12-02",
     {"22524": ("correct", []), "22525": ("correct", []), "77003-26": ("replace", ["72291"])}),
    ("2016 kypho L4, surgeon gave conscious sedation himself (40 min). Biller put 22514, 99144, dx M81.0. review",
     "2016-03-08", {"22514": ("correct", []), "99144": ("remove", []), "M81.0": ("replace", ["M80.08XA"])}),
    ("old claim, DOS 2013: VP L1 + L2 in hosp, our doc did fluoro S&I. we have 22511, 22512, 72291-26 x2.", "2013-11-06",
     {"22511": ("replace", ["22521"]), "22512": ("replace", ["22522"]), "72291-26": ("correct", [])}),
])
def test_every_proposed_code_gets_a_verdict(parse, codebook, question, dos, verdicts):
    facts, _, checked = _checked(parse, codebook, question, dos)
    got = {v.code: (v.verdict, v.by) for v in review(facts, checked.codes, checked.rejected, codebook)}
    assert got == verdicts
    assert all(v.reason for v in review(facts, checked.codes, checked.rejected, codebook))


def test_a_primary_billed_once_per_side_is_told_one_body_is_one_unit(parse, codebook):
    facts, _, checked = _checked(parse, codebook, "kypho L2, bilateral cannulation - billed 22514 x2 since 2 sides",
                                 "2024-05-01")
    verdict = review(facts, checked.codes, checked.rejected, codebook)[0]
    primary = codebook.get(_bare(verdict.code))
    assert verdict.verdict == "correct" and verdict.units == 1 and primary.sides and primary.sides in verdict.reason


def _bare(label: str) -> str:
    return label.split("-", 1)[0]


def test_no_verdicts_without_a_coded_scenario(parse, codebook):
    facts, _, checked = _checked(parse, codebook, "is 22520 still valid?", "2020-01-01")
    assert review(facts, checked.codes, checked.rejected, codebook) == []


def test_a_code_written_without_procedure_words_names_its_family(parse):
    facts = parse("sent 22513 + 22513-59 for T11 and T12", "2023-05-01")
    assert [(b.name, b.procedure) for b in facts.bodies] == [("T11", "augmentation"), ("T12", "augmentation")]


@pytest.mark.parametrize(("question", "scope", "kept_systems"), [
    ("PVP L2 for age-related osteoporotic compression fx. dx only?", "diagnosis", {"ICD-10-CM"}),
    ("PVP L2 for age-related osteoporotic compression fx, CPT only", "procedure", {"CPT-I"}),
])
def test_billing_scope_keeps_what_was_asked_and_names_the_rest(parse, codebook, question, scope, kept_systems):
    facts, _, checked = _checked(parse, codebook, question, "2022-03-29")
    assert facts.billing_scope == scope
    kept, notes = limit_to_scope(facts, checked.codes, codebook)
    assert {codebook.get(c.code).system for c in kept} == kept_systems
    assert len(notes) == 1 and all(c.code in notes[0] for c in checked.codes if c not in kept)


def test_the_anesthesia_claim_keeps_its_diagnosis_without_being_asked_for_it(parse, codebook):
    """Another provider's whole claim, not a line of the surgeon's: it carries the fracture's diagnosis."""
    facts, _, checked = _checked(parse, codebook, "anesthesia claim: kypho L1 under GA for osteoporotic fx",
                                 "2024-02-02")
    assert facts.billing_scope == "anesthesia" and not facts.asks_for_diagnosis
    kept, _ = limit_to_scope(facts, checked.codes, codebook)
    assert {codebook.get(c.code).family for c in kept if codebook.get(c.code).system != "ICD-10-CM"} == {"anesthesia"}
    assert any(codebook.get(c.code).system == "ICD-10-CM" for c in kept)


def test_readback_spans_point_at_the_words_of_the_question(parse, codebook):
    question = "PKP T12-L1 on 3/4/2025 under fluoro, 82 yo w/ age-related osteoporosis"
    facts = parse(question)
    items = understood(facts, codebook.condition_terms())
    for item in items:
        for e in item.evidence:
            assert question[e.start:e.end] == e.text
    by_fact = {(i.fact, i.level): i for i in items}
    assert by_fact[("procedure", "T12")].value == "augmentation"
    assert {e.text for e in by_fact[("procedure", "T12")].evidence} >= {"PKP"}
    assert by_fact[("date_of_service", None)].evidence[0].text == "3/4/2025"
    assert by_fact[("patient_age", None)].value == "82"
    assert by_fact[("imaging", None)].evidence[0].text == "fluoro"


def test_readback_of_a_follow_up_has_no_spans_into_earlier_turns(parse, codebook):
    facts = parse("and if it was T11 instead?", "2025-06-10", ["PKP L1 on 3/4/2025 for osteoporotic VCF"])
    for item in understood(facts, codebook.condition_terms()):
        for e in item.evidence:
            assert facts.question[e.start:e.end] == e.text


def test_summary_names_verified_codes_and_changes_to_the_coders_codes(parse, codebook):
    facts, derivation, checked = _checked(parse, codebook, "billed 22524 for PKP L1, DOS 6/1/2016, ok?", None)
    verdicts = review(facts, checked.codes, checked.rejected, codebook)
    text = summarize(facts, derivation, checked.codes, verdicts, "", codebook)
    assert "22514" in text and "22524: replace with 22514" in text and "deleted" in text
    assert isinstance(checked.codes[0], CodeLine)


@pytest.mark.parametrize(("question", "dos", "lead"), [
    ("PKP L1, moderate sedation 38 min by the surgeon. how many 99153?", "2025-08-13",
     "For the sedation: 99152 x1, 99153 x2, separately reportable."),
    ("Kypho L3, surgeon did moderate sedation 30 min - can I bill the sedation?", "2016-12-31",
     "For the sedation: no separate code"),
    ("PKP L1 w/ fluoro, can I bill the fluoro separately?", "2022-03-15", "For the imaging: no separate code"),
])
def test_a_question_about_one_thing_is_answered_about_it_first(parse, codebook, question, dos, lead):
    facts, derivation, checked = _checked(parse, codebook, question, dos)
    assert summarize(facts, derivation, checked.codes, [], "", codebook).startswith(lead)


@pytest.mark.parametrize(("question", "asks"), [
    ("single level VP 7/9/18, the level field says 'see images'. 22510 or 22511?", True),
    ("multi-level VP in the T-spine, 'multiple thoracic levels treated'. how many units of 22512?", True),
    ("Does 20225 get 59 or XS when the bx is at a different vertebra than the PVP?", False),
])
def test_codes_offered_as_alternatives_or_units_asked_need_the_levels(derive, question, asks):
    assert bool(derive(question, "2019-08-22").clarification) == asks


@pytest.mark.parametrize("question", [
    "just the sedation units pls - kypho T9 2021, IR gave versed himself, intraservice 40 min",
    "only asking about the biopsy line: kypho L2, separate needle bx of L4 (no cement at L4)",
    "only asking about the imaging: PVP T9 in 2013 under CT",
    "PKP L1, CPT only", "PKP L1 osteoporotic fx, dx only", "pro fee for PKP L1", "HOPD claim, PVP T10",
])
def test_every_billing_scope_is_read_back(parse, codebook, question):
    facts = parse(question, "2021-08-17")
    assert facts.billing_scope
    assert any(i.fact == "billing_scope" and i.evidence for i in understood(facts, codebook.condition_terms()))


def _all_questions():
    from assistant.config import PROJECT_ROOT
    from assistant.evaluation import load_cases

    for folder in ("cases", "blind"):
        for case in load_cases(PROJECT_ROOT / "evals" / folder):
            yield pytest.param(case.question, case.date_of_service, case.history, id=case.id)


@pytest.mark.parametrize(("question", "dos", "history"), list(_all_questions()))
def test_every_eval_question_is_read_and_composed_without_error(parse, codebook, question, dos, history):
    """No crash on any question the evals hold (the answer's correctness is the eval's job, not this test's)."""
    facts = parse(question, dos, history)
    derivation = codebook.derive(facts)
    checked = verify(None, facts, derivation, codebook)
    verdicts = review(facts, checked.codes, checked.rejected, codebook)
    kept, notes = limit_to_scope(facts, checked.codes, codebook)
    text = compose(facts, derivation, kept, checked.rejected, [], codebook, verdicts, notes)
    assert summarize(facts, derivation, kept, verdicts, text, codebook)
    for item in understood(facts, codebook.condition_terms()):
        assert all(facts.question[e.start:e.end] == e.text for e in item.evidence)


def test_the_fracture_code_alone_leaves_the_neoplasm_code_in_a_note(parse, codebook):
    question = "VP T10, pathologic fx through a breast cancer metastasis. Just tell me which fracture code."
    facts, _, checked = _checked(parse, codebook, question, "2020-10-06")
    kept, notes = limit_to_scope(facts, checked.codes, codebook)
    assert [c.code for c in kept] == ["M84.58XA"] and "C79.51" in notes[0]


def test_a_service_asked_for_with_the_diagnosis_keeps_the_diagnosis(parse, codebook):
    question = "anesthesia group coder: MAC for kyphoplasty L2 + L3, osteoporotic fx. just need the ASA code and dx"
    facts, _, checked = _checked(parse, codebook, question, "2023-03-02")
    kept, notes = limit_to_scope(facts, checked.codes, codebook)
    families = {codebook.get(c.code).family for c in kept}
    systems = {codebook.get(c.code).system for c in kept}
    assert "anesthesia" in families and "ICD-10-CM" in systems
    assert not families & {"augmentation", "vertebroplasty"} and notes


def test_another_physicians_sedation_stays_off_the_surgeons_claim(derive):
    on_surgeon = derive("for the surgeon's claim: KP L2, a hospitalist gave the moderate sedation 20 min. codes?",
                        "2024-03-04")
    whole = derive("KP L2, a hospitalist (not the operator) gave the moderate sedation 20 min. codes?", "2024-03-04")
    other = {c.code for c in whole.codes} - {c.code for c in on_surgeon.codes}
    assert other and set(on_surgeon.omitted) == other


def test_a_second_primary_of_its_own_era_is_replaced_by_the_add_on(parse, codebook):
    question = "office VP T12 and L1, 2013. claim: 22520, 22521, 72291 x2. payer cut 22521. what should it have been"
    facts, _, checked = _checked(parse, codebook, question, "2013-06-01")
    verdicts = {v.code: v for v in review(facts, checked.codes, checked.rejected, codebook)}
    second = verdicts["22521"] if verdicts["22520"].verdict == "correct" else verdicts["22520"]
    add_on = next(c.code for c in checked.codes if codebook.get(c.code).role == "add_on"
                  and codebook.get(c.code).family == "vertebroplasty")
    assert second.verdict == "replace" and second.by == [add_on]


def test_a_right_code_with_wrong_units_stays_correct_and_names_the_units(parse, codebook):
    facts, _, checked = _checked(parse, codebook, "kypho T7-T10, charge line 22513 x1, 22515 x2 - right?", "2022-11-18")
    add_on = next(v for v in review(facts, checked.codes, checked.rejected, codebook) if v.units is not None)
    reported = next(c for c in checked.codes if c.code == add_on.code)
    assert add_on.verdict == "correct" and add_on.units == reported.units == 3


def test_a_claims_diagnosis_code_stands_for_an_unstated_diagnosis(parse, codebook):
    facts, _, checked = _checked(parse, codebook, "claim: 22514, M80.08XD. L2 kypho. correct?", "2020-02-25")
    verdict = next(v for v in review(facts, checked.codes, checked.rejected, codebook) if v.code == "M80.08XD")
    assert verdict.verdict == "replace" and verdict.by == ["M80.08XA"]    # a procedure day is active treatment


def test_a_diagnosis_stated_while_asking_for_the_cpt_gets_no_verdict(parse, codebook):
    facts, _, checked = _checked(parse, codebook, "ASC claim for kypho L3 - dx M80.08XA, which CPT? facility side only",
                                 "2022-03-01")
    verdicts = review(facts, checked.codes, checked.rejected, codebook)
    assert not any(codebook.get(v.code.split("-")[0]).system == "ICD-10-CM" for v in verdicts)


def test_a_bare_code_the_denial_names_is_the_modified_line_it_denied():
    lines = proposed_codes("remit: 22515 denied CO-4 - we billed 22514, 22515-51 for L3/L4 kypho. fix?")
    assert [p.label for p in lines] == ["22514", "22515-51"]
    both = proposed_codes("sent 22513 + 22513-59 for the two levels, denied")
    assert [p.label for p in both] == ["22513", "22513-59"]


def test_a_line_missing_its_required_modifier_is_replaced_by_the_code_with_it(parse, codebook):
    facts, _, checked = _checked(parse, codebook, "pro fee, hosp OPD: KP L3, surgeon ran and read the fluoro. billed "
                                                  "22524, 72291 - correct?", "2012-05-01")
    imaging = next(c for c in checked.codes if codebook.get(c.code).family == "imaging_si")
    verdict = next(v for v in review(facts, checked.codes, checked.rejected, codebook) if v.code == imaging.code)
    assert imaging.modifiers and verdict.verdict == "replace"
    assert verdict.by == [imaging.code + "".join(f"-{m}" for m in imaging.modifiers)]


def test_both_cement_families_proposed_for_one_body_are_told_only_one_is_reported(parse, codebook):
    facts, _, checked = _checked(parse, codebook, "doc started a VP at T9 then switched and ballooned the same T9. "
                                                  "can we bill 22510 + 22513 both?", "2024-05-01")
    verdicts = {v.code: v for v in review(facts, checked.codes, checked.rejected, codebook)}
    assert verdicts["22510"].verdict == "remove" and "only one of them is reported" in verdicts["22510"].reason
