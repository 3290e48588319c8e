"""Every example in corpus/language/ is a test: the reader's language is data, and its examples prove it."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from assistant.config import PROJECT_ROOT
from assistant.dates import date_of_service
from assistant.reader import Reader, reader
from assistant.reader.language import CATEGORIES, Language, Term
from assistant.reader.matcher import is_composite
from assistant.reader.numbers import bodies_stated, ordinal_levels, quantities
from assistant.reader.tokens import tokenize
from assistant.vocabulary import SHAPES, modifiers_after

LANGUAGE = Language.load()


def _term_cases():
    for term in LANGUAGE.terms:
        for example in term.examples:
            yield pytest.param(term.concept, example.text, example.finds, id=f"{term.concept}: {example.text[:40]}")


def _rule_cases():
    for i, rule in enumerate(LANGUAGE.rules):
        for example in rule.examples:
            yield pytest.param(i, example.text, example.target, example.applies,
                               id=f"{rule.category}#{i}: {example.text[:40]}")


@pytest.mark.parametrize(("concept", "text", "finds"), list(_term_cases()))
def test_term_examples(concept, text, finds):
    found = [text[m.start:m.end] for m in reader().read(text).found(concept)]
    if finds is None:
        assert found == []
    else:
        assert finds in found


@pytest.mark.parametrize(("index", "text", "target", "applies"), list(_rule_cases()))
def test_context_rule_examples(index, text, target, applies):
    reading = reader().read(text)
    start = text.index(target)
    rule = LANGUAGE.rules[index]
    covering = [s for s in reading.scopes if s.category == rule.category and s.trigger.concept == f"context.{index}"
                and s.first <= reading.token_index(start) <= s.last]
    assert bool(covering) == applies


def test_every_entry_has_a_source_and_known_category():
    assert all(t.source.strip() for t in LANGUAGE.terms)
    assert all(r.source.strip() and r.category in CATEGORIES for r in LANGUAGE.rules)


def test_concepts_are_unique():
    concepts = [t.concept for t in LANGUAGE.terms]
    assert len(concepts) == len(set(concepts))


def test_terminator_concepts_exist():
    known = LANGUAGE.concepts() | {"level"}
    for rule in LANGUAGE.rules:
        for stop in (t[1:] for t in rule.terminated_by if t.startswith("@")):
            assert any(c == stop or c.startswith(stop + ".") for c in known), stop


def test_concept_triggers_exist():
    known = LANGUAGE.concepts()
    for rule in LANGUAGE.rules:
        for concept in (t[1:] for t in rule.triggers if t.startswith("@")):
            assert any(c == concept or c.startswith(concept + ".") for c in known), concept


def test_a_concept_trigger_opens_a_scope_at_every_mention():
    r = Reader(Language(terms=[Term(concept="svc.bx", forms=["bx"], source="s", examples=[{"text": "bx"}])],
                        rules=[{"category": "biopsy_site", "triggers": ["@svc"], "direction": "forward",
                                "max_scope": 3, "list_of": "level", "source": "s",
                                "examples": [{"text": "bx L2", "target": "L2"}]}]))
    reading = r.read("bx at L2. then bx of T9")
    sites = [reading.text[reading.tokens[s.first].start:reading.tokens[s.last].end]
             for s in reading.scopes if s.first != s.trigger.first]
    assert sites == ["at L2", "of T9"]


@pytest.mark.parametrize(("typo", "found"), [("vertebroplsty", True), ("kyphplasty", True), ("vertebrae", False)])
def test_one_typo_is_tolerated_in_long_words_only(typo, found):
    assert reader().read(f"{typo} T8").has("procedure") == found


def test_hyphens_never_matter():
    r = Reader(Language(terms=[Term(concept="x.y", forms=["c-arm"], source="s", examples=[{"text": "c arm"}])],
                        rules=[]))
    assert r.read("under c arm").has("x.y") and r.read("under C-arm").has("x.y")


def test_a_bad_entry_names_its_file_and_position(tmp_path):
    (tmp_path / "terms").mkdir()
    (tmp_path / "context").mkdir()
    (tmp_path / "terms" / "bad.yaml").write_text("- concept: a.b\n  forms: []\n  source: s\n  examples: [{text: t}]\n")
    with pytest.raises(ValueError, match="bad.yaml entry 1"):
        Language.load(tmp_path)


def test_a_real_word_one_letter_from_a_short_form_is_not_a_typo():
    assert not reader().read("Kypho T9 for collapsed vertebra NEC").has("procedure.vertebroplasty")


def test_a_form_may_name_another_concept():
    r = Reader(Language(terms=[Term(concept="number.3", forms=["three", "3"], source="s", examples=[{"text": "3"}]),
                               Term(concept="count", forms=["@number levels", "@number lumbar levels"], source="s",
                                    examples=[{"text": "3 levels"}])], rules=[]))
    found = [(m.concept, r.read(t).text[m.start:m.end]) for t in ("kypho at three lumbar levels", "3-levels")
             for m in r.read(t).found("count")]
    assert found == [("count", "three lumbar levels"), ("count", "3-levels")]
    assert not r.read("three of the levels").has("count")


def test_concepts_named_in_forms_exist_as_plain_terms():
    plain = {t.concept for t in LANGUAGE.terms if any(not is_composite(f) for f in t.forms)} | {"level"} | set(SHAPES)
    for term in LANGUAGE.terms:
        for word in (w[1:] for f in term.forms for w in f.split() if w.startswith("@")):
            assert any(c == word or c.startswith(word + ".") for c in plain), (term.concept, word)


def test_a_question_is_a_sentence_that_ends_with_a_question_mark():
    reading = reader().read("Is this covered. PKP L1 is covered? ok")
    covered = reading.found("ask.coverage")
    assert [reading.in_question(m) for m in covered] == [False, True]


@pytest.mark.parametrize(("text", "only"), [(" , or maybe ", True), ("or maybe later", False), ("  ", False)])
def test_a_text_that_is_only_one_mention(text, only):
    assert reader().read(text).is_only("date.alternative") == only


def test_code_families_named_by_concepts_are_in_the_code_table(codebook):
    families = {e.family for e in codebook.entries.values()}
    named = set().union(*LANGUAGE.code_families().values())
    assert named and named <= families


@pytest.mark.parametrize(("text", "count", "region"), [("kypho at 3 lumbar levels", 3, "lumbar"),
                                                         ("two-level PVP, thoracic", 2, None),
                                                         ("single vertebral body", 1, None)])
def test_a_count_of_bodies_and_its_region(text, count, region):
    stated = bodies_stated(reader().read(text))
    assert (stated.count, stated.region) == (count, region)


def test_no_count_without_a_body_word():
    assert bodies_stated(reader().read("one of the fx was old")) is None


def test_levels_named_by_their_ordinal():
    text = "cement into the 3rd lumbar vertebra and the twelfth thoracic"
    assert [(text[m.start:m.end], name) for m, name in ordinal_levels(reader().read(text))] == [
        ("the 3rd lumbar vertebra", "L3"), ("the twelfth thoracic", "T12")]


def test_every_concept_the_code_table_names_is_in_the_language(codebook):
    tests = list(codebook.condition_terms().values()) + list(codebook.cue_terms().values())
    named = {c for test in tests for t in [*test.terms, *test.unless, *test.requires]
             for c in ([t] if isinstance(t, str) else t)}
    named |= {c for concepts in codebook.encounter_terms().values() for c in concepts}
    known = LANGUAGE.concepts()
    assert named and all(any(k == c or k.startswith(c + ".") for k in known) for c in named), named - known


def test_tokens_keep_the_offsets_of_the_original_text():
    text = "\u0130 PKP L1 \u2019s"             # a capital whose lower case is two characters, a curly apostrophe
    assert [(t.text, text[t.start:t.end].lower()) for t in tokenize(text)][1:3] == [("pkp", "pkp"), ("l1", "l1")]


@pytest.mark.parametrize(("text", "words"), [("79yo", ["79", "yo"]), ("38min", ["38", "min"]), ("2nd", ["2", "nd"]),
                                             ("0200T", ["0200", "t"]), ("T12", ["t12"]), ("x2", ["x2"]),
                                             ("L5S1", ["l5s1"]), ("22515", ["22515"])])
def test_a_unit_glued_after_a_number_is_a_word_of_its_own(text, words):
    assert [t.text for t in tokenize(text)] == words


@pytest.mark.parametrize(("text", "concept", "finds"), [("0201T denied", "code.sacral_augmentation", "0201T"),
                                                        ("by a 2nd physician", "performer.other_physician",
                                                         "2nd physician"),
                                                        ("the 3rd lumbar vertebra", "ordinal_level",
                                                         "the 3rd lumbar vertebra")])
def test_forms_with_digits_and_letters_read_as_written(text, concept, finds):
    assert [text[m.start:m.end] for m in reader().read(text).found(concept)] == [finds]


@pytest.mark.parametrize(("text", "concept", "found"), [
    ("mod sed 38min, then 1.5 min more", "minutes.stated", [(38, "38min"), (5, "5 min")]),
    ("a 79-year-old, 15-min sedation", "minutes.stated", [(15, "15-min")]),
    ("a 79-year-old, 15-min sedation", "age.years", [(79, "79-year-old")]),
    ("4 y 7 m, toddler", "age.years_months", [(4, "4 y 7 m")]),
    ("79F; 80f", "age.sex", [(79, "79F")])])
def test_a_quantity_is_read_off_the_number_written_with_its_unit(text, concept, found):
    reading = reader().read(text)
    assert [(value, text[m.start:m.end]) for value, m in quantities(reading, concept)] == found


def test_a_case_sensitive_form_matches_only_as_written():
    r = Reader(Language(terms=[Term(concept="sex.f", forms=["F"], case_sensitive=True, source="s",
                                    examples=[{"text": "F"}])], rules=[]))
    assert r.read("79 F").has("sex.f") and not r.read("79 f").has("sex.f")


def _month_cases():
    for term in LANGUAGE.terms:
        if term.concept.startswith("month."):
            for example in (e for e in term.examples if e.finds):
                yield pytest.param(int(term.concept.split(".")[1]), example.text, id=f"{term.concept}: {example.text}")


@pytest.mark.parametrize(("month", "text"), list(_month_cases()))
def test_a_month_example_is_a_date_of_service_in_that_month(month, text):
    found, note, _ = date_of_service([text], None, date(2026, 11, 28))
    assert found.month == month and "from the question" in note


def test_a_word_that_starts_like_a_month_is_no_month():
    _, note, _ = date_of_service(["could be 2014 or maybe 2015"], None, date(2026, 11, 28))
    assert note == "two possible dates of service: 2014-07-01 or 2015-07-01"


SHAPE_EXAMPLES = yaml.safe_load((PROJECT_ROOT / "corpus" / "language" / "shapes.yaml").read_text(encoding="utf-8"))


def _shape_cases():
    for concept, examples in SHAPE_EXAMPLES.items():
        for text, reads in examples.items():
            yield pytest.param(concept, text, reads, id=f"{concept}: {text}")


@pytest.mark.parametrize(("concept", "text", "reads"), list(_shape_cases()))
def test_shape_examples(concept, text, reads):
    assert [m.group(0) for m in SHAPES[concept].finditer(text)] == reads


def test_every_shape_has_examples_that_read_it_and_that_do_not():
    assert set(SHAPE_EXAMPLES) == set(SHAPES)
    assert all(any(reads for reads in e.values()) and any(not reads for reads in e.values())
               for e in SHAPE_EXAMPLES.values())


def test_every_two_letter_modifier_of_the_table_reads_as_a_modifier_after_a_code(codebook):
    letters = [m.code for m in codebook.entries.values() if m.system == "modifier" and m.code.isalpha()]
    assert letters and all(modifiers_after(f"01942-{m}-59 x1", 5) == [m, "59"] for m in letters)
    assert modifiers_after("01942-OK", 5) == []
