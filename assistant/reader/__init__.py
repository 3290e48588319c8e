"""The reader: find the concepts of corpus/language/ in a text, then apply the context rules.

    reading = reader().read("PKP L1, T12 not treated")
    reading.found("procedure.augmentation")      # mentions, each with its character span
    reading.categories_at(offset_of_T12)         # {"not_treated"}
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from assistant import spine
from assistant.reader.context import ListWords, Scope, scopes
from assistant.reader.language import Language
from assistant.reader.matcher import Matcher, Mention, concept_and_groups, is_composite
from assistant.reader.tokens import Token, tokenize
from assistant.vocabulary import SHAPES

__all__ = ["Mention", "Reader", "Reading", "reader"]

RECENT_READINGS = 32


@dataclass
class Reading:
    text: str
    tokens: list[Token]
    mentions: list[Mention]
    scopes: list[Scope]

    def __post_init__(self) -> None:
        self._ends = [t.end for t in self.tokens]
        self._by_concept: dict[str, list[Mention]] = defaultdict(list)   # each concept and each of its groups
        for m in self.mentions:
            for concept in concept_and_groups(m.concept):
                self._by_concept[concept].append(m)

    def found(self, concept: str, *, outside: tuple[str, ...] = ()) -> list[Mention]:
        """Mentions of a concept (or of its sub-concepts: "procedure" finds "procedure.augmentation"),
        leaving out those in the scope of any category in `outside`."""
        hits = self._by_concept.get(concept, [])
        return [m for m in hits if not (outside and self.categories_at(m.start) & set(outside))]

    def has(self, concept: str, *, outside: tuple[str, ...] = ()) -> bool:
        return bool(self.found(concept, outside=outside))

    def categories_at(self, offset: int, *, triggers: bool = True) -> set[str]:
        """The context categories whose scope covers the token at a character offset; with triggers, the words
        of a trigger count as in its own scope ("no cement" says the cement was not placed)."""
        i = self.token_index(offset)
        return {s.category for s in self.scopes
                if i is not None and s.first <= i <= s.last and (triggers or s.trigger.first > i or s.trigger.last < i)}

    def token_index(self, offset: int) -> int | None:
        i = bisect_right(self._ends, offset)
        return i if i < len(self.tokens) else None

    def is_only(self, concept: str) -> bool:
        """The whole text, but for spaces around it, is one mention of the concept (", or maybe")."""
        text = self.text.strip()
        start = len(self.text) - len(self.text.lstrip())
        return any(m.start == start and m.end == start + len(text) for m in self.found(concept))

    def in_question(self, mention: Mention) -> bool:
        """The sentence holding the mention ends with a question mark ("is kypho covered for this pt?")."""
        for token in self.tokens[mention.last + 1:]:
            if token.text in (".", "!", "\n"):
                return False
            if token.text == "?":
                return True
        return False

    def scope_spans(self, category: str) -> list[tuple[int, int]]:
        """Character spans of the text in scope of a category."""
        return [(self.tokens[s.first].start, self.tokens[s.last].end) for s in self.scopes if s.category == category]


class Reader:
    def __init__(self, language: Language) -> None:
        self.language = language
        fuzzy = {t.concept for t in language.terms if t.fuzzy}
        cased = {t.concept for t in language.terms if t.case_sensitive}
        self._terms = Matcher({t.concept: [f for f in t.forms if not is_composite(f)] for t in language.terms}, fuzzy,
                              cased)
        self._composites = Matcher({t.concept: [f for f in t.forms if is_composite(f)] for t in language.terms}, fuzzy)
        self._triggers = Matcher({f"context.{i}": [t for t in r.triggers if not t.startswith("@")]
                                  for i, r in enumerate(language.rules)})
        self._concept_triggers = [(f"context.{i}", t[1:]) for i, r in enumerate(language.rules)
                                  for t in r.triggers if t.startswith("@")]
        self._recent: dict[str, Reading] = {}
        self._lists = ListWords(language.words_of("list.join"), language.words_of("list.filler"))
        self._cancels = Matcher({f"cancel.{i}": r.cancelled_by for i, r in enumerate(language.rules) if r.cancelled_by})
        self._ignored_in = language.ignored_in()

    def read(self, text: str) -> Reading:
        """The reading of a text; the last few are kept, since the parse, a follow-up merge and the read-back
        of one answer all read the same question."""
        cached = self._recent.get(text)
        if cached is None:
            cached = self._recent[text] = self._read(text)
            if len(self._recent) > RECENT_READINGS:
                del self._recent[next(iter(self._recent))]
        return cached

    def _read(self, text: str) -> Reading:
        tokens = tokenize(text)
        mentions = self._terms.find(tokens) + _levels(text, tokens) + _shapes(text, tokens)
        mentions = sorted(mentions + self._composites.find(tokens, mentions), key=lambda m: (m.first, m.last))
        triggers = self._triggers.find(tokens) + self._mentions_as_triggers(mentions)
        found = scopes(self.language.rules, triggers, mentions, tokens, self._cancels.find(tokens), self._lists)
        return self._without_ignored(Reading(text, tokens, mentions, found))

    def _without_ignored(self, reading: Reading) -> Reading:
        """Drop the mentions a term says nothing by in their context (`ignored_in`: "no osteoporosis is documented"
        states a fact, it does not ask what to document)."""
        kept = [m for m in reading.mentions
                if not (self._ignored_in.get(m.concept, set()) & reading.categories_at(m.start))]
        return reading if len(kept) == len(reading.mentions) else Reading(reading.text, reading.tokens, kept,
                                                                          reading.scopes)

    def _mentions_as_triggers(self, mentions: list[Mention]) -> list[Mention]:
        """A rule's "@concept" trigger: every mention of that concept triggers it ("@service.biopsy")."""
        return [Mention(rule, m.first, m.last, m.start, m.end) for rule, concept in self._concept_triggers
                for m in mentions if m.concept == concept or m.concept.startswith(concept + ".")]


@lru_cache(maxsize=1)
def reader() -> Reader:
    """The reader for the project's own language files, loaded once."""
    return Reader(Language.load())


def _levels(text: str, tokens: list[Token]) -> list[Mention]:
    """Vertebral levels ("T12", "l 1", "T-9") as mentions of the concept "level"."""
    return [_mention_of("level", m.start(), m.end(), tokens) for m in spine.LEVEL_PATTERN.finditer(text)
            if spine.level(m.group(0))]


def _shapes(text: str, tokens: list[Token]) -> list[Mention]:
    """Structural shapes (a modifier "59", a code with its modifier "22513-50") as mentions, for the phrases of
    corpus/language/ to build on ("modifier @shape.modifier")."""
    return [_mention_of(concept, m.start(), m.end(), tokens)
            for concept, pattern in SHAPES.items() for m in pattern.finditer(text)]


def _mention_of(concept: str, start: int, end: int, tokens: list[Token]) -> Mention:
    ends = [t.end for t in tokens]
    first = bisect_right(ends, start)
    last = bisect_right(ends, end - 1)
    return Mention(concept, first, min(last, len(tokens) - 1), start, end)
