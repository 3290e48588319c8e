"""Finds the surface forms of concepts in a token list (exact words, word prefixes, one typo). A word of a form
written "@concept" stands for any mention of that concept found before ("@number @region levels")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
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
    cased: bool = False       # the words match only as written, capitals included ("F" in "79F", not "f")


def _form_words(form: str, cased: bool = False) -> tuple[str, ...]:
    if is_composite(form):
        pieces = [(p.lower(),) if p.startswith("@") else _form_words(p, cased) for p in form.split()]
        return tuple(w for piece in pieces for w in piece)
    words: list[str] = []
    for token in tokenize(form.replace("*", "\u2217")):
        if token.text == "\u2217" and words:
            words[-1] += "*"
        elif token.text not in SKIPPED:
            words.append(token.written if cased else token.text)
    return tuple(words)


def is_composite(form: str) -> bool:
    """A form that names another concept ("@number levels"): matched after the plain forms."""
    return any(piece.startswith("@") for piece in form.split())


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

    def __init__(self, forms: dict[str, list[str]], fuzzy: set[str] = frozenset(),
                 cased: set[str] = frozenset()) -> None:
        self._exact: dict[str, list[_Form]] = defaultdict(list)
        self._loose: dict[str, list[_Form]] = defaultdict(list)   # first word a prefix or typo'd: by first letter
        for concept, surface_forms in forms.items():
            for surface in surface_forms:
                words = _form_words(surface, concept in cased)
                if not words:
                    continue
                form = _Form(concept, words, concept in fuzzy, concept in cased)
                loose = words[0].endswith("*") or (form.fuzzy and len(words[0]) >= FUZZY_MIN_LENGTH)
                if loose and not words[0].startswith("@"):
                    self._loose[words[0][0].lower()].append(form)
                else:
                    self._exact[words[0].lower()].append(form)

    def find(self, tokens: list[Token], mentions: Sequence[Mention] = ()) -> list[Mention]:
        """The forms found in the tokens; a form word "@concept" matches one of `mentions` (found before)."""
        starts: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))  # first -> concept -> lasts
        for m in mentions:
            for concept in concept_and_groups(m.concept):
                starts[m.first][concept].append(m.last)
        found = []
        for i, token in enumerate(tokens):
            candidates = self._exact.get(token.text, []) + self._loose.get(token.text[0], [])
            candidates += [f for c in starts.get(i, {}) for f in self._exact.get("@" + c, [])]
            for form in candidates:
                last = (_match_at(form, form.words, tokens, i, starts) if starts
                        else _match_words(form, tokens, i))
                if last is not None:
                    found.append(Mention(form.concept, i, last, token.start, tokens[last].end))
        return _longest_per_concept(found)


def _word_of(token: Token, form: _Form) -> str:
    return token.written if form.cased else token.text


def _match_words(form: _Form, tokens: list[Token], k: int) -> int | None:
    """The last token of a match of plain words from token k, or None (the fast path: no "@concept")."""
    for n, pattern in enumerate(form.words):
        while n and k < len(tokens) and tokens[k].text in SKIPPED:
            k += 1
        if k >= len(tokens) or not _word_matches(pattern, _word_of(tokens[k], form), form.fuzzy):
            return None
        k += 1
    return k - 1


def _match_at(form: _Form, words: tuple[str, ...], tokens: list[Token], k: int,
              starts: dict[int, dict[str, list[int]]], *, first: bool = True) -> int | None:
    """The last token of the longest match of `words` from token k, or None."""
    if not words:
        return k - 1
    while not first and k < len(tokens) and tokens[k].text in SKIPPED:
        k += 1
    if k >= len(tokens):
        return None
    pattern = words[0]
    if pattern.startswith("@"):
        nexts = [last + 1 for last in starts.get(k, {}).get(pattern[1:], [])]
    else:
        nexts = [k + 1] if _word_matches(pattern, _word_of(tokens[k], form), form.fuzzy) else []
    lasts = [e for n in nexts if (e := _match_at(form, words[1:], tokens, n, starts, first=False)) is not None]
    return max(lasts, default=None)


def concept_and_groups(concept: str) -> list[str]:
    """"drug.sedative" -> ["drug", "drug.sedative"]: a form's "@drug" matches any drug."""
    parts = concept.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def _longest_per_concept(mentions: list[Mention]) -> list[Mention]:
    """Drop a mention inside a longer one of the same concept group ("procedure", "device", ...)."""
    groups: dict[str, list[Mention]] = defaultdict(list)
    for m in mentions:
        groups[m.concept.split(".")[0]].append(m)
    kept = [m for group in groups.values() for m in group
            if not any(o.first <= m.first and m.last <= o.last and (o.last - o.first) > (m.last - m.first)
                       for o in group)]
    return sorted(set(kept), key=lambda m: (m.first, m.last, m.concept))
