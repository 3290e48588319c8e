"""Stage 2: the index (incremental, atomic) and hybrid search (vectors + BM25 + code match).

The index is built in Chroma; a local index is searched from its vector file (assistant/vector_search.py),
so answering never imports chromadb; a Chroma server's index is searched by the server."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from tqdm import tqdm

from assistant.chunk_table import FAR_FUTURE, ChunkTable, date_number
from assistant.codebook import Codebook
from assistant.config import TIERS, Settings
from assistant.corpus import Chunk, chunk, index_docs
from assistant.errors import ChromaServerError, IndexCorruptError
from assistant.fusion import fuse
from assistant.index_store import CHUNK_KEY, SEQ_KEY, IndexStore, LocalStore, index_store
from assistant.lexical import LEXICAL_DIR, Lexical
from assistant.minilm import embed_query
from assistant.vector_search import VectorSearch

RANKING_LENGTH = 20  # the vector, BM25 and code rankings each keep their best 20 chunks


class Passage(BaseModel):
    doc_id: str
    chunk_id: str
    title: str
    text: str
    source: str
    license: str
    codes: list[str]
    score: float


class BuildReport(BaseModel):
    chunks: int
    embedded: int
    removed: int
    unchanged: int
    seconds: float
    path: str


# ---------------------------------------------------------------------- index build
def current_index(settings: Settings) -> Path | None:
    """The current local index directory (the local store only; a Chroma server has no directory)."""
    store = LocalStore(settings.data_dir / "index")
    name = store.current()
    return store.root / name if name else None


def _metadata(c: Chunk, seq: int) -> dict:
    return {"doc_id": c.doc_id, "title": c.title, "kind": c.kind, "license": c.license, "source": c.source,
            "codes": " ".join(c.codes), "eff_from": date_number(c.effective_from, 0),
            "eff_to": date_number(c.effective_to, FAR_FUTURE), "hash": c.content_hash,
            SEQ_KEY: seq, CHUNK_KEY: c.model_dump_json()}


def build_index(settings: Settings, codebook: Codebook, *, rebuild: bool = False,
                progress: bool = True) -> BuildReport:
    """Build a new version next to the current one, then switch the pointer: a failed build changes nothing."""
    started = time.perf_counter()
    chunks = [c for d in index_docs(settings.corpus_dir, settings.data_dir, codebook) for c in chunk(d)]
    store = index_store(settings)
    previous = None if rebuild else store.current()
    old_hashes = _previous_hashes(store, previous) if previous else {}
    keep = {c.id for c in chunks if old_hashes.get(c.id) == c.content_hash}
    name = store.stage(previous if old_hashes else None, sorted(keep))
    try:
        embedded, removed = _apply_changes(store, name, chunks, old_hashes, keep, progress)
        replaced = store.publish(name, chunks)
    except BaseException:
        store.discard(name)
        raise
    store.retire(replaced)
    _search_index.cache_clear()
    if _lexical_dir(settings):
        Lexical.cached([c.text for c in chunks], _lexical_dir(settings))   # the first answer then reads it
    return BuildReport(chunks=len(chunks), embedded=embedded, removed=removed, unchanged=len(chunks) - embedded,
                       seconds=round(time.perf_counter() - started, 2), path=store.location(name))


def _previous_hashes(store: IndexStore, previous: str) -> dict[str, str]:
    """The chunk hashes of the version an incremental build starts from, once its files check out:
    a corrupt version is reported (`--rebuild` repairs it), never copied into the next one."""
    try:
        store.check(previous)
        return store.hashes(previous)
    except ChromaServerError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read means the index is unusable
        raise IndexCorruptError(store.location(previous), exc) from exc


def _apply_changes(store: IndexStore, name: str, chunks: list[Chunk], old_hashes: dict[str, str], keep: set[str],
                   progress: bool) -> tuple[int, int]:
    """Delete removed chunks, embed changed ones, renumber the kept ones (metadata only, no embedding)."""
    new_ids = {c.id for c in chunks}
    removed = [cid for cid in old_hashes if cid not in new_ids]
    changed = [(i, c) for i, c in enumerate(chunks) if c.id not in keep]
    kept = [(i, c) for i, c in enumerate(chunks) if c.id in keep]
    with store.collection(name) as collection:
        if removed:
            collection.delete(ids=removed)
        _embed(collection, changed, progress)
        if kept:
            collection.update(ids=[c.id for _, c in kept], metadatas=[_metadata(c, i) for i, c in kept])
    return len(changed), len(removed)


def _embed(collection, numbered: list[tuple[int, Chunk]], progress: bool, batch: int = 32) -> None:
    from assistant.embeddings import MiniLMEmbeddings  # sentence-transformers' interface: only when indexing

    embedder = MiniLMEmbeddings()
    with tqdm(total=len(numbered), desc="Embedding corpus chunks", unit="chunk",
              disable=not progress or not numbered) as bar:
        for start in range(0, len(numbered), batch):
            part = numbered[start:start + batch]
            texts = [c.text for _, c in part]
            collection.upsert(ids=[c.id for _, c in part], documents=texts,
                              metadatas=[_metadata(c, i) for i, c in part], embeddings=embedder.embed_documents(texts))
            bar.update(len(part))


# ---------------------------------------------------------------------- search
@dataclass
class SearchIndex:
    chunks: list[Chunk]
    vectors: VectorSearch
    lexical: Lexical
    table: ChunkTable


@lru_cache(maxsize=4)
def _search_index(store: IndexStore, name: str, lexical_dir: Path | None = None) -> SearchIndex:
    try:
        chunks, vectors = store.load(name)
        if vectors.count() != len(chunks):
            raise ValueError(f"{vectors.count()} vectors for {len(chunks)} chunks")
    except ChromaServerError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read means the index is unusable
        raise IndexCorruptError(store.location(name), exc) from exc
    return SearchIndex(chunks=chunks, vectors=vectors, lexical=Lexical.cached([c.text for c in chunks], lexical_dir),
                       table=ChunkTable(chunks))


def open_index(settings: Settings, codebook: Codebook, progress: bool = True) -> SearchIndex:
    """The current index; built on first use when missing."""
    store = index_store(settings)
    name = store.current()
    if name is None:
        build_index(settings, codebook, progress=progress)
        name = store.current()
    return _search_index(store, name, _lexical_dir(settings))


def _lexical_dir(settings: Settings) -> Path | None:
    """Where BM25 matrices are kept: none for a worker of a shared Chroma server, which keeps nothing on its
    own disk and builds the matrix when it opens the index."""
    return None if settings.chroma_url else settings.data_dir / LEXICAL_DIR


def _vector_ranking(index: SearchIndex, embedding: list[float], tiers: list[str], day: date,
                    allowed: np.ndarray) -> list[int]:
    """The RANKING_LENGTH nearest allowed chunks to the query's embedding."""
    return index.vectors.nearest(embedding, min(RANKING_LENGTH, int(allowed.sum())), allowed, tiers, day)


def search(index: SearchIndex, query: str, *, day: date, entitlements: Iterable[str] = TIERS,
           codes: Iterable[str] = (), topics: Iterable[str] = (), k: int = 5) -> list[Passage]:
    """Reciprocal-rank fusion of vector, BM25, code-match and topic rankings; one passage per doc.
    Only chunks the caller is entitled to on `day` enter any ranking."""
    tiers = [t for t in entitlements if t in TIERS]
    allowed = index.table.allowed(tiers, day)
    if not allowed.any():
        return []
    embedding = embed_query(query)
    vector_rank = _vector_ranking(index, embedding, tiers, day, allowed)
    bm25_rank = index.lexical.ranking(query, allowed, RANKING_LENGTH).tolist()
    code_rank = index.table.code_ranking({c.upper() for c in codes}, allowed, RANKING_LENGTH).tolist()
    # among chunks sharing as many topics, the one closer to the question's wording first
    close = list(dict.fromkeys(vector_rank + bm25_rank))
    topic_order = index.table.topic_ranking(topics, allowed, {p: i for i, p in enumerate(close)})
    top = fuse(index.chunks, (vector_rank, bm25_rank, code_rank), topic_order, k)
    return [Passage(doc_id=c.doc_id, chunk_id=c.id, title=c.title, text=c.text, source=c.source,
                    license=c.license, codes=c.codes, score=round(s, 5)) for s, c in top]
