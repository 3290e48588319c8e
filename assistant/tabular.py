"""ICD-10-CM tabular instructional notes (corpus/codes/icd10.yaml, `tabular_notes`): 'use additional code',
'code also', 'code first', Excludes1 and Excludes2, and the inclusion terms, each placed where the tabular places it
(a chapter range, a category or a subcategory) and applying to every code under it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, Field

ADDITIONAL_KINDS = ("use_additional", "code_also", "code_first")
EXCLUDES_KINDS = ("excludes1", "excludes2")
KIND_NAMES = {"use_additional": "use additional code", "code_also": "code also", "code_first": "code first",
              "excludes1": "Excludes1", "excludes2": "Excludes2", "inclusion": "inclusion terms"}
CATEGORY = re.compile(r"(?<![\w.])([A-Z]\d{2})(?![\w.])")


class TabularNote(BaseModel):
    at: str                  # the tabular entry that carries the note: "M80", "M80.8", "S00-T88"
    title: str               # that entry's title
    kind: str                # use_additional | code_also | code_first | excludes1 | excludes2 | inclusion
    text: str                # the note as the tabular words it
    codes: list[str] = Field(default_factory=list)   # the codes or ranges it names: "T36-T50", "M89.7", "C00-D49"
    source: str


def covers(pattern: str, code: str) -> bool:
    """A tabular reference covers a code: a range by category ("C00-D49" covers C90.00), else by prefix
    ("M80.-" covers M80.08XA, "M80.8" does not)."""
    code = code.upper().rstrip("-")
    if "-" in pattern.rstrip("-") and pattern[0].isalpha() and "." not in pattern:
        first, last = pattern.split("-")
        return first[:3] <= code[:3] <= last[:3]
    return code.startswith(pattern.rstrip("-").rstrip(".").upper())


def notes_at(notes: Iterable[TabularNote], code: str, kinds: tuple[str, ...], table: Iterable[str] = ()) -> list[TabularNote]:
    """The notes that apply to a code (or to a category asked about) from the entries above it; for a category,
    also those of an entry below it that holds every code of the table under the category ("S22" asked about,
    where the table holds only vertebral fractures: the note at S22.0 applies to all of them)."""
    under = [c for c in table if covers(code, c)]
    return [n for n in notes if n.kind in kinds and (
        covers(n.at, code) or (under and covers(code, n.at) and all(covers(n.at, c) for c in under)))]


def notes_naming(notes: Iterable[TabularNote], code: str, kinds: tuple[str, ...]) -> list[TabularNote]:
    """The notes elsewhere that name a code: M84.5 'code also underlying neoplasm (C00-D49)' names C90.00."""
    return [n for n in notes if n.kind in kinds and any(covers(c, code) for c in n.codes) and not covers(n.at, code)]


def categories_in(text: str, known: Iterable[str]) -> list[str]:
    """Three-character ICD-10-CM categories written in a question ("any note at M80?"), when the table holds
    codes under them (so a level such as T12 is never read as a category)."""
    known = tuple(known)
    return list(dict.fromkeys(m[1] for m in CATEGORY.finditer(text) if any(k.startswith(m[1]) for k in known)))


def additional_codes(notes: list[TabularNote], code: str, table: Iterable[str] = ()) -> str | None:
    """'With M80.88XA the tabular says: use additional code ... (M80); ...', or None."""
    found = notes_at(notes, code, ADDITIONAL_KINDS, table)
    if not found:
        return None
    said = "; ".join(f"{KIND_NAMES[n.kind]}: {n.text} (at {n.at}, {n.title})" for n in found)
    return f"With {code}, the ICD-10-CM tabular says: {said}."


def coded_with(notes: list[TabularNote], code: str, table: Iterable[str] = (), seventh: str | None = None) -> list[str]:
    """Where another entry's note calls for this code: 'M84.5 ... code also underlying neoplasm' for C90.00; the
    table's one code under that entry (M84.58X-, its 7th character aside) is named when there is one, with the
    `seventh` character when the question's encounter decides it (M84.58XA for the kypho itself)."""
    out = []
    table = list(table)
    for n in notes_naming(notes, code, ADDITIONAL_KINDS):
        under = {c[:-1] if len(c.replace(".", "")) == 7 else c for c in table if covers(n.at, c)}
        one = under.pop() if len(under) == 1 else None
        full = f"{one}{seventh}" if one and seventh and f"{one}{seventh}" in table else None
        target = full or (f"{one}-" if one else f"{n.at}-")
        out.append(f"{code} goes with {target} when the condition caused the fracture: {n.at} ({n.title}) says "
                   f"'{KIND_NAMES[n.kind]}: {n.text}', so report {target} as well as {code}.")
    return out


def excluding_note(notes: list[TabularNote], first: str, second: str) -> tuple[str, str, TabularNote] | None:
    """The Excludes1 or Excludes2 note of either code that names the other: (the code it is at, the other, the note)."""
    for a, b in ((first, second), (second, first)):
        for n in notes_at(notes, a, EXCLUDES_KINDS):
            if any(covers(c, b) for c in n.codes):
                return a, b, n
    return None


def excludes(notes: list[TabularNote], first: str, second: str) -> list[str]:
    """Whether two codes may be reported together, from an Excludes1 or Excludes2 note of either naming the other."""
    found = excluding_note(notes, first, second)
    if not found:
        return []
    a, b, n = found
    if n.kind == "excludes1":
        return [f"No: {a} and {b} are never coded together (Excludes1 at {n.at}, {n.title}: {n.text}); "
                "code the one that describes the condition."]
    return [f"Yes: {a} and {b} may both be reported when both apply (Excludes2 at {n.at}, {n.title}: "
            f"{n.text}: not part of {n.at}, but both may be coded)."]


def excludes_of(notes: list[TabularNote], code: str) -> list[str]:
    """A code's own Excludes notes, where one code is asked about ("M48.5 has an Excludes1 - what do I use
    instead?"): each names the codes the excluded conditions go to."""
    return [f"{KIND_NAMES[n.kind]} at {n.at} ({n.title}): {n.text}"
            + ("; never coded together with it." if n.kind == "excludes1" else "; may be coded beside it.")
            for n in notes_at(notes, code, EXCLUDES_KINDS)]


def inclusion_terms(notes: list[TabularNote], code: str) -> list[str]:
    """"M48.5 inclusion terms?": the conditions the tabular lists as coded at the entry."""
    return [f"{n.at} ({n.title}) lists as inclusion terms: {n.text}." for n in notes_at(notes, code, ("inclusion",))]
