"""The nearest chunks to a question's vector, among those the caller may see: one concept, two backends.

- `VectorFile`: a local index version's vectors as one float32 .npy file (row i is the vector of the
  manifest's chunk i), searched exactly with numpy. Answering from a local index reads this file and
  never imports chromadb (about 0.8 s of a cold `assistant ask`). `LocalStore.publish` writes it from
  the vectors the version's Chroma collection holds, and the manifest keeps its checksum.
- `ChromaVectors`: a Chroma collection's own HNSW search, for a Chroma server's index and for a local
  index built before vector files were written.

Both rank by the collection's distance (`hnsw:space` cosine): 1 - u·v of unit vectors, nearest first.
`assistant/index_store.py` picks the backend when it opens a version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from assistant.chunk_table import date_number

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

VECTORS_FILE = "vectors.npy"
UNFILTERED_FETCH_LIMIT = 1000  # Chroma: nearest chunks fetched before filtering (about 20 ms at 50,000 chunks)


class VectorSearch(Protocol):
    def count(self) -> int:
        """How many vectors the index holds (one per chunk)."""

    def nearest(self, embedding: Sequence[float], count: int, allowed: np.ndarray, tiers: list[str],
                day: date) -> list[int]:
        """Positions of the `count` nearest chunks among the `allowed` ones, nearest first. `allowed`
        (by position) is the chunks whose licence is in `tiers` and that are valid on `day`."""


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """The rows scaled to length 1 (a zero row stays zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class VectorFile:
    """Exact cosine search over a version's vectors: unit rows (as `write` stores them) in chunk order."""

    def __init__(self, unit_vectors: np.ndarray) -> None:
        self.vectors = unit_vectors

    @classmethod
    def read(cls, path: Path) -> VectorFile:
        """The file mapped, not copied: no second copy while it loads, and processes that open the same
        version (API workers) share its pages."""
        return cls(np.load(path, mmap_mode="r", allow_pickle=False))

    @staticmethod
    def write(path: Path, vectors: np.ndarray) -> None:
        """`vectors` scaled to unit length, as float32."""
        with path.open("wb") as handle:
            np.save(handle, unit_rows(vectors), allow_pickle=False)

    def count(self) -> int:
        return len(self.vectors)

    def nearest(self, embedding: Sequence[float], count: int, allowed: np.ndarray, tiers: list[str],
                day: date) -> list[int]:
        candidates = np.flatnonzero(allowed)
        if count <= 0 or not len(candidates):
            return []
        query = unit_rows(np.asarray(embedding, dtype=np.float32)[None, :])[0]
        distances = (1 - self.vectors @ query)[candidates]  # one pass over the rows, no copy of them
        if count < len(candidates):
            best = np.argpartition(distances, count - 1)[:count]
            # every candidate as close as the farthest kept one competes, so that ties keep corpus order
            best = np.flatnonzero(distances <= distances[best].max())
        else:
            best = np.arange(len(candidates))
        order = np.lexsort((candidates[best], distances[best]))[:count]
        return candidates[best[order]].tolist()


class ChromaVectors:
    """A Chroma collection's HNSW search. Its licence/date filter costs half a second on a 50,000-chunk
    index, so the nearest chunks are fetched unfiltered, enough of them for `count` allowed ones to be
    among them, and filtered here; only when the allowed chunks are too rare for that does Chroma filter."""

    def __init__(self, collection: Collection, chunk_ids: Sequence[str]) -> None:
        self.collection = collection
        self.position = {cid: i for i, cid in enumerate(chunk_ids)}

    def count(self) -> int:
        return self.collection.count()

    def nearest(self, embedding: Sequence[float], count: int, allowed: np.ndarray, tiers: list[str],
                day: date) -> list[int]:
        size, allowed_count = len(self.position), int(allowed.sum())
        if count <= 0 or not allowed_count:
            return []
        fetch = min(size, 2 * count * size // allowed_count)
        while fetch <= UNFILTERED_FETCH_LIMIT:
            nearest_allowed = [p for p in self._query(embedding, fetch, None) if allowed[p]]
            if len(nearest_allowed) >= count or fetch == size:
                return nearest_allowed[:count]
            fetch = min(size, 4 * fetch)
        on = date_number(day, 0)
        where = {"$and": [{"license": {"$in": tiers}}, {"eff_from": {"$lte": on}}, {"eff_to": {"$gte": on}}]}
        return [p for p in self._query(embedding, count, where) if allowed[p]]

    def _query(self, embedding: Sequence[float], count: int, where: dict | None) -> list[int]:
        hits = self.collection.query(query_embeddings=[list(embedding)], n_results=count, where=where, include=[])
        return [self.position[cid] for cid in hits["ids"][0] if cid in self.position]
