"""A line of two questions is answered part by part when each part has a subject of its own."""

import pytest

from assistant.compound import asked_apart, question_parts

TWO_CONDITIONS = "icd10 for primary malignant neoplasm of vertebral column? and multiple myeloma not in remission?"


def test_a_question_mark_with_more_text_after_it_ends_a_question():
    assert question_parts(TWO_CONDITIONS) == [
        (0, "icd10 for primary malignant neoplasm of vertebral column?"),
        (TWO_CONDITIONS.index("and multiple"), "and multiple myeloma not in remission?")]
    assert question_parts("22515 primaries?? dos 2013") == [(0, "22515 primaries??"), (18, "dos 2013")]
    assert question_parts("when did 22510 start?") == [(0, "when did 22510 start?")]
    assert question_parts("what is 22510? ?!") == [(0, "what is 22510?")]


def _apart(parse, line: str, dos="2026-11-27") -> bool:
    return asked_apart(parse(line, dos), [parse(text, dos) for _, text in question_parts(line)])


@pytest.mark.parametrize("line", [
    TWO_CONDITIONS,
    "22520 termed when (last DOS i can use it)? and 22521 got replaced by what",
])
def test_parts_with_a_subject_each_are_asked_apart(parse, line):
    assert _apart(parse, line)


@pytest.mark.parametrize("line", [
    "novitas LCD # for VA? and FCSO's?",                        # the second part leans on the first
    "old mod sedation codes 99143-99150 are gone right? what replaced them",
    "kypho L1 dos 2/10/2015 cpt? and does the fluoro get billed separately now",
    "vp T12 and L1 today, 22510 + 22512? or 22510 x2?",         # a case: one claim
    "when did 22510 start?",                                      # one question
    "what counts as a 'fragility fracture' for putting a pt in M80 instead of an S22/S32 fx code? pt fell from standing",
    "is 'compression fracture of vertebra NOS' actually an inclusion term under M48.5? what else is listed",
])
def test_a_part_that_leans_on_another_keeps_the_line_whole(parse, line):
    assert not _apart(parse, line)


@pytest.mark.slow
def test_each_part_is_answered_and_the_readings_point_into_the_line(real_assistant):
    answer = real_assistant.ask(TWO_CONDITIONS, "2026-11-27", use_llm=False)
    assert "C41.2" in answer.summary and "C90.00" in answer.summary
    assert {"C41.2", "C90.00"} <= {c.code for c in answer.codes} and all(c.verified for c in answer.codes)
    spans = [e for item in answer.understood for e in item.evidence]
    assert spans and all(TWO_CONDITIONS[e.start:e.end] == e.text for e in spans)
    assert answer.question == TWO_CONDITIONS and not answer.needs_clarification
