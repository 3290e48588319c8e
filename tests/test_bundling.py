"""An inclusion question is answered yes or no as it was asked: "does X include Y?" (yes: included) and "can we bill
Y separately?" (no: included) get the same finding with opposite verdicts; a question asked either way, or about a
biopsy it does not place, gets the finding without a verdict."""

from datetime import date

import pytest

from assistant.bundling import polarity
from assistant.rule_answer import answer_rule


def _primary(codebook, family, day):
    return next(e for e in codebook.where(day, family=family, role="primary"))


def _service_code(codebook, family, day):
    return next(e for e in codebook.where(day, family=family))


@pytest.mark.parametrize("question, asked", [
    ("does the vertebroplasty code include the imaging guidance?", "included"),
    ("is fluoro bundled into the kypho code", "included"),
    ("can we charge the sedation separately?", "separate"),
    ("kypho + bx same level ok?", "separate"),
    ("doc wants a separate line for the fracture reduction, thats separate right?", "separate"),
    ("is the bx included in the kypho or billed separately?", None),
    ("does the kypho code cover the reduction or is that separate", None),
    ("can I pick up the bone biopsy or is it in the vertebroplasty code?", None),
])
def test_the_question_says_whether_it_asks_included_or_separate(parse, question, asked):
    assert polarity(parse(question, "2024-05-01")) == asked


def test_asked_whether_a_code_includes_the_imaging_the_answer_is_yes(parse, codebook):
    day = date(2024, 5, 1)
    sacral = _primary(codebook, "sacral_augmentation", day)
    rule = answer_rule(parse(f"{sacral.code} - does it include the imaging guidance?", day.isoformat()), codebook, [])
    assert rule.summary.startswith("Yes: imaging guidance is included in " + sacral.code)


def test_asked_whether_the_included_sedation_is_billed_separately_the_answer_is_no(parse, codebook):
    day = date(2016, 6, 15)
    primary = _primary(codebook, "augmentation", day)
    facts = parse(f"{primary.code}, surgeon gave his own conscious sedation. can we charge sedation separately?",
                  day.isoformat())
    rule = answer_rule(facts, codebook, [], case_undecided=True)
    assert rule.summary.startswith("No: moderate sedation is included in " + primary.code)


def test_once_the_sedation_is_no_longer_included_the_same_questions_turn_around(parse, codebook):
    day = date(2019, 1, 1)
    primary = _primary(codebook, "augmentation", day)
    included = answer_rule(parse(f"does {primary.code} include moderate sedation?", day.isoformat()), codebook, [])
    separate = answer_rule(parse(f"is sedation separately billable with {primary.code}?", day.isoformat()),
                           codebook, [])
    assert included.summary.startswith("No: moderate sedation is not included")
    assert separate.summary.startswith("Yes: moderate sedation is not included")


def test_a_biopsy_at_a_level_not_treated_is_answered_by_where_it_was(parse, codebook):
    day = date(2024, 5, 1)
    facts = parse("kypho L2, bx at L4 which was not treated - is the bx included?", day.isoformat())
    rule = answer_rule(facts, codebook, [], case_undecided=True)
    assert rule.summary.startswith("No: bone biopsy at a level that was not treated is reported separately")


def test_a_biopsy_the_question_does_not_place_gets_both_cases_and_no_verdict(parse, codebook):
    day = date(2024, 5, 1)
    primary = _primary(codebook, "vertebroplasty", day)
    biopsy = _service_code(codebook, "biopsy", day)
    rule = answer_rule(parse(f"{primary.code} + {biopsy.code} same day, payable?", day.isoformat()), codebook, [])
    assert rule.summary.startswith("Bone biopsy is included in " + primary.code)
    assert "at a level that was not treated it is reported separately" in rule.summary


def test_the_s_and_i_asked_beside_the_fluoro_is_answered_with_its_facility_modifier(parse, codebook):
    day = date(2014, 6, 1)
    primary = _primary(codebook, "augmentation", day)
    professional = next(m for m in codebook.entries.values() if m.system == "modifier" and "imaging_si" in m.cue_families)
    facts = parse(f"2014 kypho in hospital, our ortho did the fluoro himself. can we bill rad S&I on top of "
                  f"{primary.code}?", day.isoformat())
    rule = answer_rule(facts, codebook, [])
    assert rule.summary.startswith("Yes: imaging supervision and interpretation is not included in " + primary.code)
    assert f"modifier {professional.code}" in rule.summary


def test_a_diagnosis_named_beside_a_procedure_code_is_never_an_inclusion_finding(parse, codebook):
    day = date(2024, 5, 1)
    primary = _primary(codebook, "augmentation", day)
    facts = parse(f"{primary.code} billed with C79.51 - is the dx bundled or separate?", day.isoformat())
    rule = answer_rule(facts, codebook, [])       # it crashed naming a service for a diagnosis code
    assert "C79.51" in rule.summary and "included in" not in rule.summary


def test_a_service_no_longer_included_names_when_it_was_and_asked_alone_what_its_record_needs(parse, codebook):
    day = date(2018, 4, 12)
    primary = _primary(codebook, "augmentation", day)
    ended = next(i for i in primary.includes if i.until and any(codebook.get(c).family == "sedation" for c in i.codes))
    facts = parse(f"can the IR doc bill 99152 on top of {primary.code} if there was an independent trained observer",
                  day.isoformat())
    rule = answer_rule(facts, codebook, [])
    assert f"until {ended.until.isoformat()} it was included" in rule.summary
    assert codebook.record_rule("sedation", day).record in rule.summary


def test_a_biopsy_reported_at_another_level_names_the_modifier_valid_that_day(parse, codebook):
    for day in (date(2014, 5, 1), date(2024, 5, 1)):
        primary = _primary(codebook, "vertebroplasty", day)
        biopsy = _service_code(codebook, "biopsy", day)
        valid = [m for m in biopsy.separate_level_modifiers if codebook.get(m).valid_on(day)]
        rule = answer_rule(parse(f"can i bill {biopsy.code} w/ {primary.code} if the bx was at a different level?",
                                 day.isoformat()), codebook, [])
        assert f"with modifier {valid[0]}" in rule.summary
        assert all(m in rule.summary for m in valid)
        invalid = set(biopsy.separate_level_modifiers) - set(valid)
        assert not any(f"modifier {m}" in rule.summary or f"(or {m})" in rule.summary for m in invalid)


def test_services_asked_as_billed_on_top_of_a_code_get_the_inclusions_of_that_date(parse, codebook):
    day = date(2010, 6, 15)
    sacral = next(e for e in codebook.where(day, family="sacral_augmentation") if e.laterality == "unilateral")
    rule = answer_rule(parse(f"reworking a sacroplasty claim ({sacral.code}). back then could the RS&I and a bone "
                             "bx be billed on top, and with what codes?", day.isoformat()), codebook, [])
    si = [e.code for e in codebook.where(day, family="imaging_si") if "sacral_augmentation" in e.reported_with]
    assert rule.summary.startswith("Yes:") and all(code in rule.summary for code in si)
    assert f"not included in {sacral.code}" in rule.summary
