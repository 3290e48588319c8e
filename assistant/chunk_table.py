"""What a search asks about every chunk, laid out once when an index opens: licence and validity
columns for the entitlement/date filter, and inverted maps from each code and each topic to the
chunks that carry it. A query then touches only the chunks it matches, never a loop over all."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np

from assistant.config import TIERS
from assistant.corpus import Chunk

FAR_FUTURE = 99991231
NO_TIER = -1


def date_number(day: date | None, default: int) -> int:
    """A date as the number yyyymmdd (comparable as an int), or `default` for an open end."""
    return int(day.strftime("%Y%m%d")) if day else default


def _inverted(keys_per_chunk: Iterable[Iterable[str]]) -> dict[str, np.ndarray]:
    """key -> the ascending positions of the chunks that carry it (each position once)."""
    lists: dict[str, list[int]] = {}
    for position, keys in enumerate(keys_per_chunk):
        for key in set(keys):
            lists.setdefault(key, []).append(position)
    return {key: np.array(found, dtype=np.int64) for key, found in lists.items()}


class ChunkTable:
    """Chunk columns by position (the order of the index's chunk list)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.size = len(chunks)
        self.position = {c.id: i for i, c in enumerate(chunks)}
        self._tier = np.array([TIERS.index(c.license) if c.license in TIERS else NO_TIER for c in chunks], dtype=np.int8)
        self._valid_from = np.array([date_number(c.effective_from, 0) for c in chunks], dtype=np.int64)
        self._valid_to = np.array([date_number(c.effective_to, FAR_FUTURE) for c in chunks], dtype=np.int64)
        self._code_count = np.array([len(c.codes) for c in chunks], dtype=np.int64)
        self._by_code = _inverted(c.codes for c in chunks)
        self._by_topic = _inverted(c.topics for c in chunks)

    def allowed(self, tiers: Iterable[str], day: date) -> np.ndarray:
        """Which chunks the caller may see on `day`: an entitled licence and valid on that date."""
        wanted = [TIERS.index(t) for t in set(tiers) if t in TIERS]
        on = date_number(day, 0)
        return np.isin(self._tier, wanted) & (self._valid_from <= on) & (on <= self._valid_to)

    def _matches(self, inverted: dict[str, np.ndarray], keys: Iterable[str]) -> np.ndarray:
        """How many of `keys` each chunk carries."""
        counts = np.zeros(self.size, dtype=np.int64)
        for key in set(keys):
            if key in inverted:
                counts[inverted[key]] += 1
        return counts

    def code_ranking(self, codes: Iterable[str], allowed: np.ndarray, limit: int) -> np.ndarray:
        """Allowed chunks carrying an asked code: most asked codes first; among equals the more specific
        chunk (fewer codes) first, then corpus order."""
        counts = self._matches(self._by_code, codes)
        found = np.flatnonzero(allowed & (counts > 0))
        return found[np.lexsort((found, self._code_count[found], -counts[found]))][:limit]

    def topic_ranking(self, topics: Iterable[str], allowed: np.ndarray, closeness: dict[int, int]) -> np.ndarray:
        """Allowed chunks sharing an asked topic: most shared topics first; among equals the one closer to
        the question's wording (its place in `closeness`, position -> rank; the rest after), then corpus order."""
        counts = self._matches(self._by_topic, topics)
        found = np.flatnonzero(allowed & (counts > 0))
        near = np.full(self.size, len(closeness), dtype=np.int64)
        if closeness:
            near[list(closeness)] = list(closeness.values())
        return found[np.lexsort((found, near[found], -counts[found]))]
