"""Stage 4: the LCEL draft chain — one prompt template, the configured chat model, text out."""

from __future__ import annotations

import re

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from assistant.codebook import Derivation
from assistant.facts import Facts
from assistant.retrieval import Passage

# The embedded model evaluates about 350 prompt tokens a second on 2 cores; the system message is
# cached between calls, so the per-question part is kept to roughly 120 tokens: no restated facts
# (the codes and the question carry them), each code's reason cut to its first clause ("add-on",
# "vertebroplasty primary"), one passage without its headings or id, and the question's last 240 characters.
PASSAGE_CHARS = 100
PASSAGES_IN_PROMPT = 1
REASON_CHARS = 40
QUESTION_CHARS = 240  # a long pasted note keeps its end, where the question usually is
FIRST_CLAUSE = re.compile(r"[^,;:(]*")

DRAFT_PROMPT = ChatPromptTemplate.from_messages([
    ("system",
     "You are a certified medical coder. Topic: vertebroplasty, vertebral augmentation (kyphoplasty) and "
     "sacral augmentation coding. Cite ONLY the codes under 'Rule-checked codes', with their units. "
     "Never cite any other code. Answer in two or three short sentences."),
    ("human",
     "Date of service: {date_of_service}\nRule-checked codes:\n{codes}\n\n"
     "Reference passages:\n{passages}\n\nQuestion: {question}"),
])


def draft_chain(model: BaseChatModel) -> Runnable:
    return DRAFT_PROMPT | model | StrOutputParser()


def draft_inputs(facts: Facts, derivation: Derivation, passages: list[Passage]) -> dict[str, str]:
    """The prompt variables: date, derived codes, a passage and the question; never entitlements."""
    codes = "\n".join(f"- {c.code}{''.join('-' + m for m in c.modifiers)} x{c.units}: {_first_clause(c.reason)}"
                      for c in derivation.codes) or "- none for this question"
    passages_text = "\n".join(_excerpt(p.text) for p in passages[:PASSAGES_IN_PROMPT])
    return {
        "date_of_service": facts.date_of_service.isoformat(),
        "codes": codes,
        "passages": passages_text or "(none)",
        "question": facts.question[-QUESTION_CHARS:],
    }


def _first_clause(reason: str) -> str:
    return FIRST_CLAUSE.match(reason).group().strip()[:REASON_CHARS]


def _excerpt(chunk_text: str) -> str:
    """The chunk's prose without its title, headings and bold markers, cut to PASSAGE_CHARS."""
    paragraphs = chunk_text.split("\n\n")[1:]
    prose = " ".join(p for p in paragraphs if not p.lstrip().startswith("#"))
    return prose.replace("**", "")[:PASSAGE_CHARS]
