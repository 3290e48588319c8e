"""A line that asks two questions ("icd10 for primary malignant neoplasm of vertebral column? and multiple myeloma
not in remission?") is answered as two: each question mark that more text follows ends a question, the later ones
are read as follow-ups of the earlier ones (so a date or a procedure carries over), and the answers are joined.

A line is taken apart only when every part names a subject of its own (a code, a modifier or a condition); a part
that leans on the one before ("and CGS's?", "what replaced them") is read with the whole line instead. A case (a
procedure done at a level) and a choice between codes for it stay one question: their parts are one claim."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answer import Answer, LLMInfo
from assistant.corpus import AMA_NOTICE
from assistant.facts import Facts
from assistant.readback import Understood
from assistant.reader.tokens import tokenize


def question_parts(question: str) -> list[tuple[int, str]]:
    """Each question of the line with where it starts in the line (a question mark that a space and more text
    follow ends one); one part when there is only one."""
    parts, start = [], 0
    tokens = tokenize(question)
    for mark, after in zip(tokens, tokens[1:], strict=False):
        if mark.text == "?" and after.start > mark.end:
            parts.append((start, question[start:mark.end]))
            start = after.start
    parts.append((start, question[start:]))
    return [(at, text) for at, text in parts if any(ch.isalnum() for ch in text)]


def a_question_with_a_subject(part: Facts) -> bool:
    """The part, read alone, asks something ("pt fell from standing" after a question is context) about a code,
    a modifier or a condition it names itself."""
    asks = part.question_form is not None or bool(part.rule_asks)
    return asks and bool(part.mentioned_codes or part.mentioned_modifiers or part.conditions)


def asked_apart(whole: Facts, parts_alone: Sequence[Facts]) -> bool:
    """Answer the parts one by one: two or more questions, none a case or a choice of codes, each, read alone,
    with its own subject."""
    return len(parts_alone) > 1 and whole.in_scope and not whole.is_scenario and not whole.codes_offered \
        and all(map(a_question_with_a_subject, parts_alone))


def joined(question: str, answers: Sequence[Answer], starts: Sequence[int]) -> Answer:
    """One answer from the answers of the line's parts, in the order asked; what two parts share is said once."""
    first = answers[0]
    timings: dict[str, int] = {}
    for a in answers:
        for stage, ms in a.timings_ms.items():
            timings[stage] = timings.get(stage, 0) + ms
    timings.update({stage: max(a.timings_ms.get(stage, 0) for a in answers) for stage in ("facts", "total")})
    return Answer(
        question=question,
        date_of_service=first.date_of_service,
        in_scope=any(a.in_scope for a in answers),
        needs_clarification=any(a.needs_clarification for a in answers),
        answer=_text(answers),
        codes=_once([c for a in answers for c in a.codes], lambda c: (c.code, tuple(c.modifiers))),
        rejected=_once([r for a in answers for r in a.rejected], lambda r: r.code),
        warnings=_once([w for a in answers for w in a.warnings], lambda w: w),
        citations=_once([c for a in answers for c in a.citations], lambda c: c.id),
        llm=LLMInfo(backend=first.llm.backend, model=first.llm.model,
                    draft_passed=all(a.llm.draft_passed for a in answers)),
        timings_ms=timings,
        summary=" ".join(_once([a.summary for a in answers], lambda s: s)),
        understood=[_moved(item, at) for a, at in zip(answers, starts, strict=True) for item in a.understood],
        review=_once([v for a in answers for v in a.review], lambda v: v.code),
        sections=_once([s for a in answers for s in a.sections], lambda s: s.model_dump_json()),
    )


def _moved(item: Understood, offset: int) -> Understood:
    """A part's reading with its spans moved from the part into the whole line."""
    return item.model_copy(update={"evidence": [e.model_copy(update={"start": e.start + offset, "end": e.end + offset})
                                                for e in item.evidence]})


def _text(answers: Sequence[Answer]) -> str:
    """The parts' answers one after the other, the copyright notice once at the end when any part showed it."""
    notice = f"\n\n_{AMA_NOTICE}_"
    text = "\n\n".join(a.answer.replace(notice, "") for a in answers)
    return text + notice if any(notice in a.answer for a in answers) else text


def _once(items: list, key) -> list:
    seen, out = set(), []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            out.append(item)
    return out
