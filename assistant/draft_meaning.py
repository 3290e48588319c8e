"""What a draft says a code is. A draft that cites the right code but calls it something else ("22515 for
the bone biopsy") misleads the coder as much as a wrong code: the rule check reads the words next to each
code the draft cites and compares the procedure or service they name with the code table's family for it.

The words are the reader's own concepts (corpus/language/terms); a word describes a code when it stands in
the same clause, nearer to that code than to any other, with no word of relation (corpus/language/terms/
relations.yaml) between them ("22514 includes the biopsy" relates two services; it does not call 22514 a
biopsy)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.codebook import Codebook
from assistant.reader import reader
from assistant.vocabulary import CODE_PATTERN

CLAUSE_BREAK = re.compile(r"[;,\n]|\.(?!\d)|\s-\s")
MAX_GAP = 40  # characters between a code and the words that describe it


@dataclass(frozen=True)
class Misnamed:
    code: str
    words: str          # what the draft calls it
    family: str         # what the table says it is

    def problem(self) -> str:
        return f"the draft calls {self.code} {self.words!r}, but the code table has it as {self.family.replace('_', ' ')}"


def misnamed_codes(draft: str, codebook: Codebook) -> list[Misnamed]:
    """Each code the draft describes with words naming another procedure family than the table's."""
    codes = [(m.start(), m.end(), m.group(1).upper()) for m in CODE_PATTERN.finditer(draft)]
    found: dict[tuple[str, str], Misnamed] = {}
    for mention in reader().read(draft).mentions:
        families = _families(mention.concept)
        code = _described_code(draft, mention.start, mention.end, codes) if families else None
        entry = codebook.get(code) if code else None
        if entry is None or entry.family not in _judged_families() or entry.family in families:
            continue
        words = draft[mention.start:mention.end]
        found.setdefault((code, words.lower()), Misnamed(code, words, entry.family))
    return list(found.values())


@lru_cache(maxsize=1)
def _concept_families() -> dict[str, set[str]]:
    """The code-table families each reader concept names (its `code_families` in corpus/language/terms)."""
    return reader().language.code_families()


def _families(concept: str) -> set[str]:
    return _concept_families().get(concept, set())


def _judged_families() -> set[str]:
    """Codes of other families (unlisted, payer) are not judged: no word names them."""
    return set().union(*_concept_families().values())


def _relates(gap: str) -> bool:
    """A word of relation between a code and the words near it ("22514 includes the biopsy")."""
    return reader().read(gap).has("relation") if gap.strip() else False


def _described_code(text: str, start: int, end: int, codes: list[tuple[int, int, str]]) -> str | None:
    """The code the words at start:end describe: the nearest in their clause, with only plain words between."""
    best: tuple[int, str] | None = None
    for code_start, code_end, code in codes:
        gap = text[code_end:start] if code_end <= start else text[end:code_start]
        if len(gap) > MAX_GAP or CLAUSE_BREAK.search(gap) or CODE_PATTERN.search(gap) or _relates(gap):
            continue
        if best is None or len(gap) < best[0]:
            best = (len(gap), code)
    return best[1] if best else None
