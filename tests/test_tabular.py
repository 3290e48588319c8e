"""ICD-10-CM tabular notes (corpus/codes/icd10.yaml): what to code also, and which codes exclude each other."""

import pytest

from assistant.rule_answer import answer_rule
from assistant.tabular import ADDITIONAL_KINDS, KIND_NAMES, covers, inclusion_terms


def _under(codebook, at: str) -> str:
    """A table code under a tabular entry (the entry itself for a range)."""
    return next((c for c, e in codebook.entries.items() if e.system == "ICD-10-CM" and covers(at, c)), at)


def test_every_note_has_a_source_and_a_known_kind(codebook):
    assert codebook.tabular_notes and all(n.source and n.kind in KIND_NAMES for n in codebook.tabular_notes)


def test_inclusion_terms_are_read_at_the_entry_and_below_it(codebook):
    notes = [n for n in codebook.tabular_notes if n.kind == "inclusion"]
    assert notes
    for note in notes:
        said = inclusion_terms(codebook.tabular_notes, _under(codebook, note.at))
        assert said == [f"{note.at} ({note.title}) lists as inclusion terms: {note.text}."]


def test_a_range_covers_codes_by_category_and_a_subcategory_only_its_own():
    assert covers("C00-D49", "C90.00") and not covers("C00-D49", "M80.08XA")
    assert covers("M80.-", "M80.08XA") and not covers("M80.8", "M80.08XA")


@pytest.mark.parametrize("kind", ["use_additional", "code_also"])
def test_asking_what_else_to_code_names_the_notes_above_the_code(parse, codebook, kind):
    for note in (n for n in codebook.tabular_notes if n.kind == kind and "-" not in n.at):
        code = _under(codebook, note.at)
        rule = answer_rule(parse(f"vertebral fx, {code} - anything else i need to code with it?", "2024-05-01"),
                           codebook, [])
        assert note.text in " ".join(rule.statements), code


def test_a_code_another_entry_calls_for_is_answered_with_that_entry(parse, codebook):
    note = next(n for n in codebook.tabular_notes if n.kind == "code_also" and n.codes)
    named = next(c for c, e in codebook.entries.items() if covers(note.codes[0], c) and not covers(note.at, c))
    rule = answer_rule(parse(f"billing for {named}, is that dx enough alone?", "2024-05-01"), codebook, [])
    assert note.at in rule.summary


@pytest.mark.parametrize(("kind", "verdict"), [("excludes1", "No:"), ("excludes2", "Yes:")])
def test_two_diagnoses_named_are_checked_against_the_excludes_notes(parse, codebook, kind, verdict):
    note = next(n for n in codebook.tabular_notes if n.kind == kind and "-" not in n.at)
    first, second = _under(codebook, note.at), _under(codebook, note.codes[0])
    rule = answer_rule(parse(f"{second} with {first} ok?", "2024-05-01"), codebook, [])
    assert rule.summary.startswith(verdict) and f"{kind.capitalize()} at" in rule.summary
    assert first in rule.summary and second in rule.summary


def test_a_level_is_never_read_as_a_category(parse, codebook):
    rule = answer_rule(parse("T12 and L1 - anything else i need to code?", "2024-05-01"), codebook, [])
    assert rule is None or "tabular" not in rule.summary


def test_two_diagnoses_asked_together_for_a_region_are_a_rule_question_not_a_case(parse, codebook):
    note = next(n for n in codebook.tabular_notes if n.kind == "excludes1" and "-" not in n.at)
    first, second = _under(codebook, note.at), _under(codebook, note.codes[0])
    facts = parse(f"can I code {first} together w/ {second} for the same T-spine fx?", "2024-05-01")
    assert codebook.derive(facts).clarification is None
    assert answer_rule(facts, codebook, []).summary.startswith("No:")


def test_the_entry_that_calls_for_a_code_is_named_by_its_table_code(parse, codebook):
    note = next(n for n in codebook.tabular_notes if n.kind == "code_also" and n.codes)
    named = next(c for c, e in codebook.entries.items() if covers(note.codes[0], c) and not covers(note.at, c))
    table = [c for c in codebook.entries if covers(note.at, c)]
    rule = answer_rule(parse(f"vertebral fx, {named} - is that dx enough alone?", "2024-05-01"), codebook, [])
    assert f"{table[0][:-1]}-" in rule.summary


def test_a_category_asked_about_takes_the_notes_of_the_entry_below_it_that_holds_all_its_table_codes(codebook):
    from assistant.tabular import notes_at
    s22 = notes_at(codebook.tabular_notes, "S22", ADDITIONAL_KINDS, codebook.entries)
    assert [n.at for n in s22 if n.kind == "code_also"] == ["S22.0"]     # the table holds only S22.0- codes
    m80 = notes_at(codebook.tabular_notes, "M80", ADDITIONAL_KINDS, codebook.entries)
    assert "M80.8" not in {n.at for n in m80}      # the drug-induced note is for one of the table's two M80 codes
