"""Whether a procedure code includes the services a question asks about, as findings with a yes/no verdict.

A coder asks it two ways: "does 0201T include the imaging?" (yes: included) and "can we bill the sedation
separately?" (no: included). The finding is the same; the question's polarity decides whether it is a yes or a no
(corpus/language/terms/questions.yaml ask.included and ask.separately). A service included only at the treated
level (a biopsy) gets a verdict only when the question places it; otherwise the answer states both cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from assistant.codebook import Codebook, CodeEntry, Inclusion
from assistant.facts import Facts
from assistant.reader import reader

Polarity = Literal["included", "separate"]

SERVICE_NAMES = {"biopsy": "bone biopsy", "sedation": "moderate sedation", "imaging_guidance": "imaging guidance",
                 "imaging_si": "imaging supervision and interpretation",
                 "fracture_treatment": "fracture reduction (closed treatment)"}


@dataclass(frozen=True)
class Finding:
    """Whether `procedure` includes `codes` on `day`. `holds`: the inclusion applies to the service asked about
    (False: the service was at another level; None: the question does not say where it was)."""
    procedure: str
    codes: tuple[str, ...]
    included: bool
    day: date
    names: tuple[str, ...]
    reason: str = ""
    same_level: bool = False
    holds: bool | None = True
    modifiers: tuple[str, ...] = ()    # what marks the service as at another level ("XS", "59"), valid on the day

    def sentence(self, polarity: Polarity | None) -> str:
        verb = "are" if len(self.names) > 1 else "is"
        codes = ", ".join(self.codes)
        verdict = self._verdict(polarity)
        said = " and ".join(self.names)
        names = f"{verdict}{said}" if verdict else said[:1].upper() + said[1:]
        if not self.included:
            before = f" ({self.reason})" if self.reason else ""
            return (f"{names} {verb} not included in {self.procedure} on "
                    f"{self.day.isoformat()} ({codes}): separately reportable when documented{before}.")
        marked = f", with modifier {' (or '.join(self.modifiers)}{')' * (len(self.modifiers) - 1)}" \
            if self.modifiers else ""
        if self.holds is False:
            return (f"{names} at a level that was not treated {verb} reported "
                    f"separately from {self.procedure} on {self.day.isoformat()} ({codes}{marked}); at the treated level "
                    f"{'they are' if verb == 'are' else 'it is'} included ({self.reason}).")
        where = " at the treated level" if self.same_level else ""
        # a biopsy the question does not place: both cases
        elsewhere = f"; at a level that was not treated it is reported separately{marked}" if self.holds is None else ""
        return (f"{names} {verb} included in {self.procedure}{where} on "
                f"{self.day.isoformat()} ({codes}: {self.reason}): not separately reportable{elsewhere}.")

    def _verdict(self, polarity: Polarity | None) -> str:
        """"Yes: " or "No: " as the question asked it; nothing when it asked either way or the place is unknown."""
        applies = self.included and self.holds
        if polarity is None or (self.included and self.holds is None):
            return ""
        return "Yes: " if (polarity == "included") == bool(applies) else "No: "


def polarity(facts: Facts) -> Polarity | None:
    """How a question asks about an inclusion: "included?" or "separately?"; None when it asks either way
    ("is it included or separate?") or is not a yes/no question."""
    reading = reader().read(facts.question)
    included, separate = reading.has("ask.included"), reading.has("ask.separately")
    if included and separate:
        return None
    if included:
        return "included"
    return "separate" if separate or facts.question_form == "yes_no" else None


def findings(entry: CodeEntry, others: list[CodeEntry], facts: Facts, codebook: Codebook, day: date,
             named_by_words: bool) -> list[Finding]:
    """For each inclusion of `entry` on `day` that covers codes asked about, a finding; then the codes asked
    about that it does not include (a service named in words: only those of a family it does not cover at all)."""
    out = []
    included = codebook.inclusions(entry.code, day)
    for inclusion in included:
        hits = tuple(e.code for e in others if e.code in inclusion.codes)
        if hits:
            out.append(_included(entry, inclusion, hits, facts, codebook, day))
    covered = {c for i in included for c in i.codes}
    separate = [e for e in others if e.code not in covered]
    if named_by_words:   # "is the fracture reduction part of <kypho code>?": its included codes answer it, not the
        families = {e.family for e in others if e.code in covered}        # rest of their family (open treatment)
        separate = [e for e in separate if e.family not in families]
    if separate:
        out.append(Finding(entry.code, tuple(e.code for e in separate), False, day, _names(separate),
                           _ended(entry, separate, codebook, day)))
    return out


def _ended(entry: CodeEntry, services: list[CodeEntry], codebook: Codebook, day: date) -> str:
    """"sedation is bundled per appendix G - is it?" in 2018: the inclusion of that service that ended before the
    date, which the answer names."""
    families = {e.family for e in services}
    ended = [i for i in entry.includes if i.until and i.until < day
             and any((c := codebook.get(code)) and c.family in families for code in i.codes)]
    return "; ".join(f"until {i.until.isoformat()} it was included: {i.reason}" for i in ended)


def _included(entry: CodeEntry, inclusion: Inclusion, hits: tuple[str, ...], facts: Facts, codebook: Codebook,
              day: date) -> Finding:
    same_level = inclusion.scope == "same_level"
    services = [e for c in hits if (e := codebook.get(c))]
    modifiers = tuple(dict.fromkeys(m for e in services for m in codebook.separate_level_modifiers(e, day)))
    return Finding(entry.code, hits, True, day, _names(services), inclusion.reason, same_level,
                   _holds(services, facts) if same_level else True, modifiers)


def _holds(services: list[CodeEntry], facts: Facts) -> bool | None:
    """A same-level inclusion applies when the service was at the treated level. Only a biopsy can be placed
    elsewhere by the question ("bx at L4, not treated"); a reduction is of the treated body."""
    if not any(e.family == "biopsy" for e in services):
        return True
    if facts.biopsy_other_site or any(level not in {b.name for b in facts.bodies} for level in facts.biopsy_levels):
        return False
    return True if facts.biopsy_same_site or facts.biopsy_levels else None


def _names(services: list[CodeEntry]) -> tuple[str, ...]:
    """("imaging guidance", "bone biopsy"): the services the codes bill, in words."""
    return tuple(dict.fromkeys(SERVICE_NAMES.get(e.family or "", (e.family or e.code).replace("_", " "))
                               for e in services))
