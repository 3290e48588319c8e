"""The local index's vector file: exact cosine search with numpy, written when a version is published,
checksummed, searched when answering without importing chromadb; an index from before it still answers.
(That its rankings equal Chroma's on the real corpus is tested in tests/test_search_scale.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date

import numpy as np
import pytest

from assistant import index_store as index_store_module
from assistant.config import Settings
from assistant.errors import IndexCorruptError
from assistant.index_store import COLLECTION, LocalStore, ServerStore, _chroma_client, _release, index_store
from assistant.retrieval import _search_index, build_index, current_index, open_index, search
from assistant.vector_search import VECTORS_FILE, ChromaVectors, VectorFile, unit_rows

DAY = date(2024, 1, 2)


def reference_nearest(vectors: np.ndarray, query: np.ndarray, count: int, allowed: np.ndarray) -> list[int]:
    """Every allowed row by cosine distance in float64, then corpus order, the first `count`."""
    rows = vectors.astype(np.float64)
    cosine = rows @ query / (np.linalg.norm(rows, axis=1) * np.linalg.norm(query))
    return sorted((p for p in range(len(rows)) if allowed[p]), key=lambda p: (1 - cosine[p], p))[:count]


def test_nearest_is_cosine_order_among_the_allowed_ties_in_corpus_order():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((300, 24)).astype(np.float32) * rng.uniform(0.5, 3, (300, 1)).astype(np.float32)
    vectors[[40, 7, 210]] = vectors[120]  # exact ties with row 120: they come in corpus order
    search = VectorFile(unit_rows(vectors))
    for trial in range(60):
        query = vectors[120] if trial % 5 == 0 else rng.standard_normal(24).astype(np.float32)
        allowed = rng.random(300) < rng.choice([0.02, 0.3, 1.0])
        count = int(rng.choice([1, 5, 20, 400]))
        got = search.nearest(query.tolist(), count, allowed, ["public"], DAY)
        assert got == reference_nearest(vectors, query, count, allowed)
    assert search.nearest(vectors[120].tolist(), 4, np.ones(300, dtype=bool), [], DAY) == [7, 40, 120, 210]
    assert search.nearest(vectors[0].tolist(), 5, np.zeros(300, dtype=bool), [], DAY) == []


def test_the_vector_file_holds_unit_rows_in_float32(tmp_path):
    vectors = np.random.default_rng(1).standard_normal((7, 384)) * 3
    VectorFile.write(tmp_path / VECTORS_FILE, vectors)
    read = VectorFile.read(tmp_path / VECTORS_FILE)
    assert read.count() == 7 and read.vectors.dtype == np.float32
    assert np.allclose(read.vectors, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), atol=1e-6)
    assert read.nearest(vectors[3], 2, np.ones(7, dtype=bool), [], DAY)[0] == 3
    VectorFile.write(tmp_path / "empty.npy", np.zeros((0, 0), dtype=np.float32))
    assert VectorFile.read(tmp_path / "empty.npy").nearest([1.0], 3, np.zeros(0, dtype=bool), [], DAY) == []


class PagedCollection:
    """What publishing reads of a Chroma collection: count() and get() in pages, in its own order."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    def count(self) -> int:
        return len(self.vectors)

    def get(self, include, limit, offset):
        ids = sorted(self.vectors, reverse=True)[offset:offset + limit]
        return {"ids": ids, "embeddings": [self.vectors[i] for i in ids]}


def test_publishing_reads_the_collections_vectors_in_chunk_order(monkeypatch):
    monkeypatch.setattr(index_store_module, "READ_BATCH", 3)
    ids = [f"c{i}" for i in range(8)]
    vectors = {cid: [float(i), 1.0] for i, cid in enumerate(ids)}
    got = index_store_module._collection_vectors(PagedCollection(vectors), ids)
    assert got.dtype == np.float32 and got.tolist() == [vectors[cid] for cid in ids]
    with pytest.raises(ValueError, match="lacks the vectors of 1 chunks"):
        index_store_module._collection_vectors(PagedCollection(vectors), [*ids, "c9"])
    with pytest.raises(ValueError, match="c7, not a chunk of the version"):
        index_store_module._collection_vectors(PagedCollection(vectors), ids[:7])


# ---------------------------------------------------------------------- a real index (slow)
@pytest.fixture
def index_copy(tmp_path, real_assistant) -> Settings:
    """The settings of a copy of the real index (the real corpus, embedded by the real model), to change."""
    real_assistant.index  # noqa: B018 - built on first use
    shutil.copytree(real_assistant.settings.data_dir / "index", tmp_path / "data" / "index")
    return Settings.from_env(data_dir=tmp_path / "data", llm_backend="none")


def _collection_vectors(path, ids: list[str]) -> np.ndarray:
    client = _chroma_client(path)
    try:
        got = client.get_collection(COLLECTION).get(ids=ids, include=["embeddings"])
    finally:
        _release(client)
    rows = dict(zip(got["ids"], got["embeddings"], strict=True))
    return np.array([rows[cid] for cid in ids], dtype=np.float32)


@pytest.mark.slow
def test_a_published_version_holds_the_collections_vectors_in_chunk_order(index_copy, codebook):
    path = current_index(index_copy)
    manifest = json.loads((path / "manifest.json").read_text())
    assert VECTORS_FILE in manifest["files"]
    ids = [c["id"] for c in manifest["chunks"]]
    stored = np.load(path / VECTORS_FILE)
    assert stored.dtype == np.float32 and stored.shape == (len(ids), 384)
    assert np.allclose(stored, _collection_vectors(path, ids), atol=1e-6)  # scaled to unit length: within rounding


@pytest.mark.slow
def test_answering_from_a_local_index_never_imports_chromadb(index_copy):
    script = ("import sys; from assistant import ask; a = ask('Kyphoplasty T12 and L1, codes?', '2025-03-01'); "
              "assert a.citations, a; print(sorted(m for m in sys.modules if m.split('.')[0] == 'chromadb'))")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(index_copy.data_dir), "ASSISTANT_LLM": "none"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_a_changed_vector_file_is_detected(index_copy, codebook):
    vectors = current_index(index_copy) / VECTORS_FILE
    data = bytearray(vectors.read_bytes())
    data[-5] ^= 0xFF
    vectors.write_bytes(bytes(data))
    _search_index.cache_clear()
    with pytest.raises(IndexCorruptError, match=r"vector files changed.*vectors\.npy.*assistant index --rebuild"):
        open_index(index_copy, codebook, progress=False)


@pytest.mark.slow
def test_an_index_from_before_vector_files_answers_through_chroma_until_indexed_again(index_copy, codebook):
    path = current_index(index_copy)
    queries = ["kyphoplasty thoracic primary", "bone biopsy at the same level", "sacroplasty code"]
    want = [search(open_index(index_copy, codebook, progress=False), q, day=DAY) for q in queries]
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["files"][VECTORS_FILE]
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / VECTORS_FILE).unlink()
    _search_index.cache_clear()
    old = open_index(index_copy, codebook, progress=False)
    assert isinstance(old.vectors, ChromaVectors)
    assert [search(old, q, day=DAY) for q in queries] == want
    report = build_index(index_copy, codebook, progress=False)  # `assistant index`: nothing to embed
    assert report.embedded == 0 and (current_index(index_copy) / VECTORS_FILE).is_file()
    upgraded = open_index(index_copy, codebook, progress=False)
    assert isinstance(upgraded.vectors, VectorFile)
    assert [search(upgraded, q, day=DAY) for q in queries] == want


def test_the_settings_choose_where_the_index_lives(tmp_path):
    local = Settings.from_env(data_dir=tmp_path).model_copy(update={"chroma_url": None})
    server = local.model_copy(update={"chroma_url": "http://127.0.0.1:8123"})
    assert (local.index_backend, server.index_backend) == ("local", "chroma-server")
    assert index_store(local) == LocalStore(tmp_path / "index")
    assert index_store(server) == ServerStore("http://127.0.0.1:8123")
