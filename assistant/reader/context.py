"""ConText: each trigger gives the tokens in its scope a category (negated, historical, ...).
The scope runs from the trigger in its direction for at most max_scope tokens and stops at the
first terminator (a token such as "." or, written "@procedure", a mention of a concept)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.reader.language import ContextRule
from assistant.reader.matcher import SKIPPED, Mention
from assistant.reader.tokens import Token


@dataclass(frozen=True)
class ListWords:
    """The words that join the items of a list ("T12, L1 and L2") and those that may stand beside a join ("or
    the"): the terms list.join and list.filler of corpus/language/terms/lists.yaml."""
    joins: frozenset[str] = frozenset()
    fillers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Scope:
    category: str
    first: int                # token indexes, inclusive
    last: int
    trigger: Mention


def scopes(rules: list[ContextRule], triggers: list[Mention], mentions: list[Mention],
           tokens: list[Token], cancels: list[Mention] = (), lists: ListWords = ListWords()) -> list[Scope]:
    """The scopes of the triggers found (trigger mention concept = "context.<rule index>"). A pseudo trigger
    has no scope: it only exists to outrank the shorter trigger inside it."""
    found = []
    stop_cache: dict[int, list[int]] = {}
    for trigger in triggers:
        index = _rule_index(trigger)
        rule = rules[index]
        if rule.category == "pseudo" or any(c.concept == f"cancel.{index}" and c.first > trigger.last for c in cancels):
            continue
        found.append(Scope(rule.category, trigger.first, trigger.last, trigger))    # words of the trigger itself
        if rule.attached:
            nxt = trigger.last + 1
            if nxt < len(tokens) and tokens[nxt].start == trigger.end:
                found.append(Scope(rule.category, nxt, nxt, trigger))
            continue
        if index not in stop_cache:
            stop_cache[index] = _terminators(rule, mentions, tokens)
        stops = [s for s in stop_cache[index] if not trigger.first <= s <= trigger.last]
        if rule.direction in ("forward", "bidirectional"):
            limit = min([len(tokens) - 1] + [s - 1 for s in stops if s > trigger.last])
            last = min(_reach(tokens, trigger.last, rule.max_scope, 1), limit)
            if rule.list_of:
                last = _list_end(mentions, tokens, rule.list_of, (trigger.last + 1, last), limit, lists, forward=True)
            if last > trigger.last:
                found.append(Scope(rule.category, trigger.last + 1, last, trigger))
        if rule.direction in ("backward", "bidirectional"):
            limit = max([0] + [s + 1 for s in stops if s < trigger.first])
            first = max(_reach(tokens, trigger.first, rule.max_scope, -1), limit)
            if rule.list_of:
                first = _list_end(mentions, tokens, rule.list_of, (first, trigger.first - 1), limit, lists, forward=False)
            if first < trigger.first:
                found.append(Scope(rule.category, first, trigger.first - 1, trigger))
    return found


def _reach(tokens: list[Token], start: int, words: int, step: int) -> int:
    """The token index `words` words away from `start`; a hyphen is not a word ("non-traumatic" reaches one)."""
    index = start
    while words > 0 and 0 <= index + step < len(tokens):
        index += step
        words -= tokens[index].text not in SKIPPED
    return index + step * words       # past the text's end: the caller's limit applies


def _list_end(mentions: list[Mention], tokens: list[Token], concept: str, scope: tuple[int, int], limit: int,
              lists: ListWords, *, forward: bool) -> int:
    """The far end (a token index) of a scope that holds the list of `concept` nearest the trigger: it ends
    with the list, even past max_scope up to a terminator ("no balloon, curette or other cavity device")."""
    first, last = scope
    low, high = (first, limit) if forward else (limit, last)
    items = [m for m in mentions if (m.concept == concept or m.concept.startswith(concept + "."))
             and low <= m.first and m.last <= high]
    items.sort(key=lambda m: m.first, reverse=not forward)
    if not items or not (first <= items[0].first and items[0].last <= last):
        return last if forward else first
    kept = items[0]
    for m in items[1:]:
        gap = tokens[kept.last + 1:m.first] if forward else tokens[m.last + 1:kept.first]
        if m.first <= kept.last if forward else m.last >= kept.first:
            continue                       # overlapping mentions of the same words
        if not _joins(gap, lists):
            break
        kept = m
    return kept.last if forward else kept.first


def _joins(gap: list[Token], lists: ListWords) -> bool:
    """One joining word, with articles or "other" around it: ", ", " and the ", " or other "."""
    joins = [t for t in gap if t.text in lists.joins]
    return len(joins) == 1 and all(t.text in lists.joins | lists.fillers for t in gap)


def _rule_index(trigger: Mention) -> int:
    return int(trigger.concept.split(".", 1)[1])


def _terminators(rule: ContextRule, mentions: list[Mention], tokens: list[Token]) -> list[int]:
    """Token indexes where the rule's scopes stop: terminator words, and every token of a terminating mention."""
    words = {t for t in rule.terminated_by if not t.startswith("@")}
    concepts = [t[1:] for t in rule.terminated_by if t.startswith("@")]
    stops = [i for i, tok in enumerate(tokens) if tok.text in words]
    for m in mentions:
        if any(m.concept == c or m.concept.startswith(c + ".") for c in concepts):
            stops += range(m.first, m.last + 1)
    return stops
