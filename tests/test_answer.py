"""The deterministic composer: what the coder reads when no scenario is coded."""

from assistant.answer import compose


def test_add_on_named_with_the_wrong_primary_gets_the_right_partner(parse, codebook):
    facts = parse("Can 22512 be reported with 22514?", "2024-01-01")
    text = compose(facts, codebook.derive(facts), [], [], [], codebook)
    assert "**22512** does not pair with **22514**" in text and "**22515**" in text


def test_matching_pair_gets_no_pairing_note(parse, codebook):
    facts = parse("Can 22515 be reported with 22514?", "2024-01-01")
    assert "does not pair" not in compose(facts, codebook.derive(facts), [], [], [], codebook)
