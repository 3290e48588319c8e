"""Stage 4: the LCEL draft chain — one prompt template, the configured chat model, text out.

What the template is filled with (how many passages, how much of each, the answer length) comes from the
prompt profile the configuration chooses (assistant/config.py, PROMPT_PROFILES): compact for the embedded
model, full for a model server. The draft is rule-checked the same way whichever profile wrote it."""

from __future__ import annotations

import re

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from assistant.codebook import Derivation
from assistant.config import PROMPT_PROFILES, PromptProfile
from assistant.facts import Facts
from assistant.retrieval import Passage

FIRST_CLAUSE = re.compile(r"[^,;:(]*")
COMPACT = PROMPT_PROFILES["compact"]

# The system message depends on the profile only, so the embedded model's cache of it holds between questions.
DRAFT_PROMPT = ChatPromptTemplate.from_messages([
    ("system",
     "You are a certified medical coder. Topic: vertebroplasty, vertebral augmentation (kyphoplasty) and "
     "sacral augmentation coding. Cite ONLY the codes under 'Rule-checked codes', with their units. "
     "Never cite any other code. Answer in {answer_length}."),
    ("human",
     "Date of service: {date_of_service}\nRule-checked codes:\n{codes}\n\n"
     "Reference passages:\n{passages}\n\nQuestion: {question}"),
])


def draft_chain(model: BaseChatModel) -> Runnable:
    return DRAFT_PROMPT | model | StrOutputParser()


def draft_inputs(facts: Facts, derivation: Derivation, passages: list[Passage],
                 profile: PromptProfile = COMPACT) -> dict[str, str]:
    """The prompt variables: date, derived codes, passages and the question, as much of each as the
    profile shows; never entitlements."""
    codes = "\n".join(f"- {c.code}{''.join('-' + m for m in c.modifiers)} x{c.units}: {_reason(c.reason, profile)}"
                      for c in derivation.codes) or "- none for this question"
    passages_text = "\n".join(_passage(p, profile) for p in passages[:profile.passages])
    return {
        "answer_length": profile.answer_length,
        "date_of_service": facts.date_of_service.isoformat(),
        "codes": codes,
        "passages": passages_text or "(none)",
        "question": facts.question[-profile.question_chars:],
    }


def _reason(reason: str, profile: PromptProfile) -> str:
    if profile.reason_chars is None:
        return reason
    return FIRST_CLAUSE.match(reason).group().strip()[:profile.reason_chars]


def _passage(passage: Passage, profile: PromptProfile) -> str:
    """The chunk's prose without its title, headings and bold markers, cut as the profile says; headed by
    the document title when the profile shows titles."""
    paragraphs = passage.text.split("\n\n")[1:]
    prose = " ".join(p for p in paragraphs if not p.lstrip().startswith("#")).replace("**", "")
    text = prose if profile.passage_chars is None else prose[:profile.passage_chars]
    return f"[{passage.title}] {text}" if profile.passage_titles else text
