"""Stage 4: the LCEL draft chain — one prompt template, the configured chat model, text out."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from assistant.codebook import Derivation
from assistant.facts import Facts
from assistant.retrieval import Passage

# The embedded model evaluates about 300 prompt tokens a second on 2 cores; the system message is
# cached between calls, so the per-question part is kept to roughly 150 tokens.
PASSAGE_CHARS = 160
PASSAGES_IN_PROMPT = 1
REASON_CHARS = 40

DRAFT_PROMPT = ChatPromptTemplate.from_messages([
    ("system",
     "You are a certified medical coder. Topic: vertebroplasty, vertebral augmentation (kyphoplasty) and "
     "sacral augmentation coding. Cite ONLY the codes under 'Rule-checked codes', with their units. "
     "Never cite any other code. Answer in two or three short sentences."),
    ("human",
     "Date of service: {date_of_service}\nFacts: {facts}\nRule-checked codes:\n{codes}\n\n"
     "Reference passages:\n{passages}\n\nQuestion: {question}"),
])


def draft_chain(model: BaseChatModel) -> Runnable:
    return DRAFT_PROMPT | model | StrOutputParser()


def draft_inputs(facts: Facts, derivation: Derivation, passages: list[Passage]) -> dict[str, str]:
    """The prompt variables; the model sees facts, derived codes and passages, never entitlements."""
    codes = "\n".join(f"- {c.code}{''.join('-' + m for m in c.modifiers)} x{c.units}: {c.reason[:REASON_CHARS]}"
                      for c in derivation.codes) or "- none for this question"
    passages_text = "\n".join(f"[{p.doc_id}] {p.text.split(chr(10) + chr(10), 1)[-1][:PASSAGE_CHARS]}"
                              for p in passages[:PASSAGES_IN_PROMPT])
    return {
        "date_of_service": facts.date_of_service.isoformat(),
        "facts": describe_facts(facts),
        "codes": codes,
        "passages": passages_text or "(none)",
        "question": facts.question,
    }


def describe_facts(facts: Facts) -> str:
    parts = []
    if facts.procedures:
        parts.append("procedure: " + ", ".join(p.replace("_", " ") for p in facts.procedures))
    if facts.bodies:
        parts.append("levels: " + ", ".join(b.name or b.region for b in facts.bodies))
    if facts.biopsy:
        parts.append("biopsy" + (f" at {', '.join(facts.biopsy_levels)}" if facts.biopsy_levels else ""))
    if facts.sedation:
        parts.append(f"moderate sedation {facts.sedation_minutes or '?'} min")
    if facts.imaging:
        parts.append(f"guidance: {facts.imaging}")
    return "; ".join(parts) or "none stated"
