"""The sentences of retrieved passages that best answer a question (a definition, a documentation or coverage
rule the code table does not hold), each with the doc it came from."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from assistant.plain_text import is_table_row, plain
from assistant.reader import reader
from assistant.retrieval import Passage

WORD = re.compile(r"[a-z0-9]+")
QUESTION_LABEL = re.compile(r"^\*\*[^*]*\?\*\*\s*")   # "**How does the time work?** Count ...": the label goes
LIST_ITEM = re.compile(r"^(?:[-*>]|\d+[.)])\s+")
SENTENCE_END = re.compile(r"(?<=[.;!?])\s+(?=[A-Z(0-9])")
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "code", "codes", "coding", "do", "does", "for", "from",
    "have", "how", "i", "if", "in", "is", "it", "its", "of", "on", "or", "the", "this", "that", "to", "was", "what",
    "when", "which", "who", "why", "will", "with", "you", "your", "my", "we", "our"})


@dataclass
class Quote:
    text: str
    doc_id: str


def best_sentences(question: str, passages: list[Passage], limit: int = 2) -> list[Quote]:
    """The passage sentences that best match the question: shared content words (a word's first five letters),
    each weighted by how rare it is among the candidate sentences, a little less for longer sentences and for
    lower-ranked passages; never a question, and for a question about a quantity, one that states a number."""
    asked = _stems(question)
    candidates = [(rank, sentence, _stems(sentence)) for rank, passage in enumerate(passages)
                  for sentence in _sentences(passage.text) if not sentence.endswith("?")]
    quantity = reader().read(question).has("ask.quantity")
    if not asked or not candidates:
        return []
    frequency = Counter(stem for _, _, stems in candidates for stem in stems & asked)
    weight = {stem: math.log(1 + len(candidates) / count) for stem, count in frequency.items()}
    scored = []
    for rank, sentence, stems in candidates:
        score = sum(weight[stem] for stem in stems & asked)
        if quantity and not _states_a_number(sentence):
            score /= 2        # "what's the cutoff?" is answered by a sentence that states a number
        if score:
            scored.append((score / math.sqrt(len(stems)) * (1 - 0.05 * rank), sentence, passages[rank].doc_id))
    scored.sort(key=lambda item: -item[0])
    return [Quote(text=sentence, doc_id=doc_id) for _, sentence, doc_id in scored[:limit]]


def _states_a_number(sentence: str) -> bool:
    return any(ch.isdigit() for ch in sentence) or reader().read(sentence).has("quantity.number")


def _stems(text: str) -> set[str]:
    return {w[:5] for w in WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def _row_sentence(row: str) -> str:
    """A table row as one line of text, its cells joined by dashes ("A — Initial encounter ... — M80.08XA"); a
    separator row ("|---|") gives nothing. Header rows stay: they are short and rarely outscore a row."""
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    if all(set(c) <= set("-: ") for c in cells):
        return ""
    return " — ".join(c for c in cells if c)


def _sentences(chunk_text: str) -> list[str]:
    """The chunk's sentences and list items (wrapped lines joined), without its title, headings and markers."""
    items: list[str] = []
    for line in chunk_text.split("\n")[1:]:
        stripped = line.strip()
        if is_table_row(stripped):
            items += ["", _row_sentence(stripped), ""]
        elif not stripped or stripped.startswith("#"):
            items.append("")
        elif LIST_ITEM.match(stripped) or not items or not items[-1]:
            items.append(LIST_ITEM.sub("", stripped))
        else:
            items[-1] += " " + stripped
    # split before the markers go, so that a bold label ("**Chronic fractures.** NGS ...") stays with its sentence
    pieces = [plain(QUESTION_LABEL.sub("", s)).strip() for item in items if item for s in SENTENCE_END.split(item)]
    return [s for s in pieces if 30 <= len(s) <= 400]
