"""The deterministic composer: what the coder reads when no scenario is coded."""

from assistant.answer import compose


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
