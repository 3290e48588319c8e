"""Finds the surface forms of concepts in a token list (exact words, word prefixes, one typo)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from assistant.reader.tokens import Token, tokenize

SKIPPED = {"-"}           # hyphens never decide a match: "c-arm" = "c arm", "balloon-assisted"
FUZZY_MIN_LENGTH = 10      # shorter words have real neighbours one letter away ("vertebro" / "vertebra")


@dataclass(frozen=True)
class Mention:
    concept: str
    first: int                # token indexes, inclusive
    last: int
    start: int                # character span in the text
    end: int


@dataclass(frozen=True)
class _Form:
    concept: str
    words: tuple[str, ...]
    fuzzy: bool


def _form_words(form: str) -> tuple[str, ...]:
    words = []
    for token in tokenize(form.replace("*", "\u2217")):
        if token.text == "\u2217" and words:
            words[-1] += "*"
        elif token.text not in SKIPPED:
            words.append(token.text)
    return tuple(words)


def _word_matches(pattern: str, word: str, fuzzy: bool) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    if word == pattern:
        return True
    return fuzzy and len(pattern) >= FUZZY_MIN_LENGTH and _one_edit_apart(pattern, word)


def _one_edit_apart(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours (never in the first letter)."""
    if abs(len(a) - len(b)) > 1 or a[0] != b[0]:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = sorted((a, b), key=len)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


class Matcher:
    """All forms of all concepts, indexed by their first word for speed."""

    def __init__(self, forms: dict[str, list[str]], fuzzy: set[str] = frozenset()) -> None:
        self._exact: dict[str, list[_Form]] = defaultdict(list)
        self._loose: dict[str, list[_Form]] = defaultdict(list)   # first word a prefix or typo'd: by first letter
        for concept, surface_forms in forms.items():
            for surface in surface_forms:
                words = _form_words(surface)
                if not words:
                    continue
                form = _Form(concept, words, concept in fuzzy)
                if words[0].endswith("*") or (form.fuzzy and len(words[0]) >= FUZZY_MIN_LENGTH):
                    self._loose[words[0][0]].append(form)
                else:
                    self._exact[words[0]].append(form)

    def find(self, tokens: list[Token]) -> list[Mention]:
        found = []
        for i, token in enumerate(tokens):
            candidates = self._exact.get(token.text, []) + self._loose.get(token.text[0], [])
            for form in candidates:
                last = self._match_at(form, tokens, i)
                if last is not None:
                    found.append(Mention(form.concept, i, last, token.start, tokens[last].end))
        return _longest_per_concept(found)

    @staticmethod
    def _match_at(form: _Form, tokens: list[Token], i: int) -> int | None:
        k = i
        for n, pattern in enumerate(form.words):
            while n and k < len(tokens) and tokens[k].text in SKIPPED:
                k += 1
            if k >= len(tokens) or not _word_matches(pattern, tokens[k].text, form.fuzzy):
                return None
            k += 1
        return k - 1


def _longest_per_concept(mentions: list[Mention]) -> list[Mention]:
    """Drop a mention inside a longer one of the same concept group ("procedure", "device", ...)."""
    kept = []
    for m in mentions:
        group = m.concept.split(".")[0]
        inside = any(o is not m and o.concept.split(".")[0] == group and o.first <= m.first and m.last <= o.last
                     and (o.last - o.first) > (m.last - m.first) for o in mentions)
        if not inside:
            kept.append(m)
    return sorted(set(kept), key=lambda m: (m.first, m.last, m.concept))
