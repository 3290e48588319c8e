"""The draft prompt: what the model is shown for a question (no model needed)."""

from assistant.chain import DRAFT_PROMPT, draft_inputs
from assistant.config import PROMPT_PROFILES, Settings
from assistant.retrieval import Passage


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


def _passage(i: int) -> Passage:
    prose = f"Passage {i} says the add-on is reported per additional body. " * 6
    return Passage(doc_id=f"doc-{i}", chunk_id=f"doc-{i}#0", title=f"Title {i}", text=f"# Title {i}\n\n{prose}",
                   source="test", license="public", codes=[], score=1.0)


def test_each_backend_gets_its_prompt_profile_from_the_configuration():
    assert Settings.from_env(llm_backend="gguf").prompt == PROMPT_PROFILES["compact"]
    assert Settings.from_env(llm_backend="openai").prompt == PROMPT_PROFILES["full"]
    assert Settings.from_env(llm_backend="openai", prompt_profile="compact").prompt_name == "compact"
    assert Settings.from_env(llm_backend="gguf", max_tokens=30).draft_tokens == 30
    assert Settings.from_env(llm_backend="openai", max_tokens=30).draft_tokens == PROMPT_PROFILES["full"].max_tokens > 30


def test_the_full_profile_shows_whole_passages_with_titles_whole_reasons_and_asks_for_more(parse, codebook):
    facts = parse("PVP T11, T12, L1 and L2 for mets from prostate ca w/ pathologic fxs", "2024-05-01")
    derivation = codebook.derive(facts)
    passages = [_passage(i) for i in range(7)]
    compact = draft_inputs(facts, derivation, passages, PROMPT_PROFILES["compact"])
    full = draft_inputs(facts, derivation, passages, PROMPT_PROFILES["full"])
    assert compact["passages"] == ("Passage 0 says the add-on is reported per additional body. " * 6)[:100]
    sentence = "Passage {} says the add-on is reported per additional body. "
    assert full["passages"].splitlines() == [f"[Title {i}] " + sentence.format(i) * 6 for i in range(3)]
    assert all(c.reason in full["codes"] for c in derivation.codes)
    compact_system, full_system = (DRAFT_PROMPT.format_messages(**inputs)[0].content for inputs in (compact, full))
    assert compact_system.endswith("Answer in two or three short sentences.")
    assert full_system.replace(PROMPT_PROFILES["full"].answer_length, "") == \
        compact_system.replace(PROMPT_PROFILES["compact"].answer_length, "")  # one template, two fillings
