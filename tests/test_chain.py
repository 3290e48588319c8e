"""The draft prompt: what the model is shown for a question (no model needed)."""

from assistant.chain import DRAFT_PROMPT, draft_inputs


def test_prompt_lists_every_derived_code_with_units_and_a_whole_word_reason(parse, codebook):
    facts = parse("PVP T11, T12, L1 and L2 for mets from prostate ca w/ pathologic fxs", "2024-05-01")
    derivation = codebook.derive(facts)
    inputs = draft_inputs(facts, derivation, passages=[])
    lines = inputs["codes"].splitlines()
    assert [line.split(":")[0] for line in lines] == [f"- {c.code} x{c.units}" for c in derivation.codes]
    for line, code in zip(lines, derivation.codes, strict=True):
        reason = line.split(": ", 1)[1]
        assert code.reason.startswith(reason) and reason and not code.reason[len(reason):][:1].isalnum()
    assert inputs["passages"] == "(none)"
    assert "Question: PVP T11" in DRAFT_PROMPT.format_messages(**inputs)[1].content


def test_prompt_says_so_when_no_code_applies(parse, codebook):
    facts = parse("what is the difference between PVP and PKP?", "2024-05-01")
    assert draft_inputs(facts, codebook.derive(facts), passages=[])["codes"] == "- none for this question"


def test_a_long_pasted_note_keeps_its_end_in_the_prompt(parse, codebook):
    note = "Pt prone, prepped and draped. " * 12 + "PKP L1 with balloon, DOS 2024-05-01. cpt?"
    facts = parse(note)
    question = draft_inputs(facts, codebook.derive(facts), passages=[])["question"]
    assert len(question) == 240 and question.endswith("PKP L1 with balloon, DOS 2024-05-01. cpt?")
