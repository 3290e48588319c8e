"""Where the versions of the search index live: a local directory, or a Chroma server shared by workers.

Both stores keep whole versions side by side and a pointer to the current one, so a build writes a new
version and switches the pointer at the end (a failed build leaves the pointer alone). The build and
search logic in assistant/retrieval.py talks only to the `IndexStore` interface; `index_store()` builds
the store `Settings.index_backend` (assistant/config.py) chooses.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import numpy as np

from assistant.config import Settings
from assistant.corpus import Chunk
from assistant.errors import ChromaServerError
from assistant.vector_search import VECTORS_FILE, ChromaVectors, VectorFile, VectorSearch

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

COLLECTION = "corpus"
POINTER = "corpus-pointer"
COSINE = {"hnsw:space": "cosine"}
CHUNK_KEY = "chunk"   # metadata: the chunk as JSON, so a store without a manifest can rebuild it exactly
SEQ_KEY = "seq"       # metadata: the chunk's position in the corpus, so BM25 ties break as in the local index
COPY_BATCH = 256
READ_BATCH = 5000  # vectors read from a collection at a time when a version is published
# The files that hold the vectors: Chroma's HNSW files and the vector file searched when answering. Chroma
# rewrites chroma.sqlite3 and length.bin each time it opens a collection, even to read it, so those two cannot
# be checked against a checksum taken at build time.
VECTOR_FILES = ("data_level0.bin", "header.bin", "link_lists.bin", VECTORS_FILE)
# Chroma applies and saves vectors to the HNSW files in batches (100 by default) and leaves the rest in its
# log, to be applied by whichever process opens the collection next, rewriting the files then. Batches of 2
# make every write of a build reach the files before it is published, so their checksums stay true.
# HNSW search is approximate: with Chroma's default breadth (10) a filtered query can miss a chunk the exact vector
# file ranks; at this corpus size a breadth of a few hundred makes Chroma's ranking the exact one.
SEARCH_EF = 512
LOCAL_COLLECTION = {**COSINE, "hnsw:batch_size": 2, "hnsw:sync_threshold": 2, "hnsw:search_ef": SEARCH_EF}


class IndexStore(Protocol):
    def current(self) -> str | None:
        """The name of the current version, or None when there is none."""

    def hashes(self, name: str) -> dict[str, str]:
        """Chunk id -> content hash of a version (empty when it cannot tell)."""

    def check(self, name: str) -> object:
        """Raise when a version is unreadable or its stored files changed since it was built."""

    def stage(self, source: str | None, keep: list[str]) -> str:
        """A new version holding the `keep` chunks of `source` (vectors included); returns its name."""

    def collection(self, name: str) -> AbstractContextManager[Collection]:
        """The Chroma collection of a version, for writing during a build."""

    def publish(self, name: str, chunks: list[Chunk]) -> str | None:
        """Make `name` the current version (the last step that may fail); returns the version it replaced."""

    def retire(self, replaced: str | None) -> None:
        """Remove versions that are no longer current (best effort, after the switch)."""

    def discard(self, name: str) -> None:
        """Remove a version that was never published (best effort)."""

    def load(self, name: str) -> tuple[list[Chunk], VectorSearch]:
        """The chunks in corpus order and the nearest-vector search of a version."""

    def location(self, name: str) -> str:
        """Where a version is, for reports and error messages."""


def index_store(settings: Settings) -> IndexStore:
    """The store `settings.index_backend` chooses (a Chroma server when ASSISTANT_CHROMA_URL is set)."""
    if settings.index_backend == "chroma-server":
        return ServerStore(settings.chroma_url)
    return LocalStore(settings.data_dir / "index")


def _new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------- local directory
def _chroma_client(path: Path) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


def _release(client: ClientAPI) -> None:
    """Chroma caches clients per path; drop ours so the directory can be moved or removed."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except Exception:  # noqa: BLE001 - best effort cleanup across chromadb versions
        pass
    del client


# A build holds an exclusive lock on index/<name>.lock from before its directory exists until it is
# published or discarded; the OS drops the lock when the build process dies (kill -9 included).
_held_locks: dict[Path, int] = {}


def _lock(path: Path, *, wait: bool) -> int | None:
    """An open descriptor holding an exclusive flock on `path` (created if missing), or None if it is held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _unlock(path: Path, fd: int, *, remove: bool) -> None:
    if remove:
        path.unlink(missing_ok=True)  # before unlocking, so a waiter never locks a file that is then removed
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def file_checksums(directory: Path) -> dict[str, str]:
    """sha256 of each vector file of a version directory, by path relative to it."""
    sums = {}
    for path in sorted(directory.rglob("*")):
        if path.name in VECTOR_FILES and path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
            sums[path.relative_to(directory).as_posix()] = digest.hexdigest()
    return sums


def _collection_vectors(collection: Collection, ids: list[str]) -> np.ndarray:
    """The vectors a collection holds for `ids`, in that order; raises unless it holds exactly those.
    Read in pages into one float32 array: a version may hold tens of thousands."""
    row = {cid: i for i, cid in enumerate(ids)}
    vectors: np.ndarray | None = None
    filled = np.zeros(len(ids), dtype=bool)
    for offset in range(0, collection.count(), READ_BATCH):
        got = collection.get(include=["embeddings"], limit=READ_BATCH, offset=offset)
        page = np.asarray(got["embeddings"], dtype=np.float32)
        if vectors is None:
            vectors = np.zeros((len(ids), page.shape[1]), dtype=np.float32)
        rows = [row.get(cid, -1) for cid in got["ids"]]
        if -1 in rows:
            raise ValueError(f"the collection holds a vector for {got['ids'][rows.index(-1)]}, not a chunk of the version")
        vectors[rows], filled[rows] = page, True
    if vectors is None or not filled.all():
        raise ValueError(f"the collection lacks the vectors of {int((~filled).sum())} chunks")
    return vectors


@dataclass(frozen=True)
class LocalStore:
    """index/<build-xxxxxxxx>/ directories (a persistent Chroma, vectors.npy and manifest.json each) and a
    CURRENT file.

    Chroma holds the vectors while a build writes them (an incremental build copies the directory and
    embeds only changed chunks); publishing writes them once more, as vectors.npy in the manifest's chunk
    order, and answers search that file (assistant/vector_search.py) without opening Chroma. The manifest
    keeps the chunks, their hashes and a checksum of each vector file (HNSW files and vectors.npy), checked
    when a version is opened: a changed or missing vector file is reported as corruption instead of searched.
    A version published before vectors.npy existed is searched through Chroma; `assistant index` writes it."""

    root: Path

    def current(self) -> str | None:
        pointer = self.root / "CURRENT"
        if not pointer.exists():
            return None
        name = pointer.read_text().strip()
        return name if name and (self.root / name).is_dir() else None

    def hashes(self, name: str) -> dict[str, str]:
        """Empty for a version built before checksums were kept: the next build starts over, so that the
        new version is written with LOCAL_COLLECTION's settings and its files checksummed."""
        manifest = self.root / name / "manifest.json"
        if not manifest.exists():
            return {}
        data = json.loads(manifest.read_text())
        return data["hashes"] if "files" in data else {}

    def _lock_path(self, name: str) -> Path:
        return self.root / f"{name}.lock"

    def stage(self, source: str | None, keep: list[str]) -> str:
        """A copy of the whole source directory: chunks not in `keep` are replaced or deleted by the build.
        The new directory is locked (see `retire`) until it is published or discarded."""
        name = _new_name("build")
        self.root.mkdir(parents=True, exist_ok=True)
        lock = self._lock_path(name)
        _held_locks[lock] = _lock(lock, wait=True)
        try:
            if source:
                shutil.copytree(self.root / source, self.root / name)
            else:
                (self.root / name).mkdir()
        except BaseException:
            self._release_build(name)
            raise
        return name

    def _release_build(self, name: str) -> None:
        fd = _held_locks.pop(self._lock_path(name), None)
        if fd is not None:
            _unlock(self._lock_path(name), fd, remove=True)

    @contextmanager
    def collection(self, name: str) -> Iterator[Collection]:
        client = _chroma_client(self.root / name)
        try:
            yield client.get_or_create_collection(COLLECTION, metadata=LOCAL_COLLECTION)
        finally:
            _release(client)

    def _write_vectors(self, name: str, chunks: list[Chunk]) -> None:
        vectors = np.zeros((0, 0), dtype=np.float32)
        if chunks:
            client = _chroma_client(self.root / name)
            try:
                vectors = _collection_vectors(client.get_collection(COLLECTION), [c.id for c in chunks])
            finally:
                _release(client)
        VectorFile.write(self.root / name / VECTORS_FILE, vectors)

    def publish(self, name: str, chunks: list[Chunk]) -> str | None:
        replaced = self.current()
        self._write_vectors(name, chunks)  # first: opening the collection may still write its HNSW files
        (self.root / name / "manifest.json").write_text(json.dumps(
            {"hashes": {c.id: c.content_hash for c in chunks}, "chunks": [c.model_dump(mode="json") for c in chunks],
             "files": file_checksums(self.root / name)}))
        pointer_tmp = self.root / f"CURRENT.{uuid.uuid4().hex[:8]}.tmp"
        pointer_tmp.write_text(name)
        pointer_tmp.replace(self.root / "CURRENT")
        self._release_build(name)
        return replaced

    def retire(self, replaced: str | None) -> None:
        """Every directory but the current one goes, leftovers of interrupted builds included, except a
        directory a build (in this or another process) still holds the lock of: it is being written."""
        for old in self.root.iterdir():
            if not old.is_dir():
                continue
            lock = self._lock_path(old.name)
            fd = _lock(lock, wait=False)
            if fd is None:
                continue  # a live build is writing it
            try:
                # read under the lock: a build publishes before it unlocks, so this sees its pointer switch
                if old.name != self.current():
                    shutil.rmtree(old, ignore_errors=True)
            finally:
                _unlock(lock, fd, remove=True)

    def discard(self, name: str) -> None:
        shutil.rmtree(self.root / name, ignore_errors=True)
        self._release_build(name)

    def check(self, name: str) -> dict:
        """The manifest, after checking the vector files against its checksums (an index built before
        checksums were kept has none to check); raises ValueError naming what differs."""
        directory = self.root / name
        manifest = json.loads((directory / "manifest.json").read_text())
        if not isinstance(manifest, dict) or not isinstance(manifest.get("chunks"), list) \
                or not isinstance(manifest.get("hashes"), dict):
            raise ValueError("the manifest lacks its chunks or hashes")
        expected = manifest.get("files", {})
        found = file_checksums(directory)
        changed = sorted(f for f in expected if found.get(f) != expected[f])
        if changed:
            raise ValueError(f"vector files changed or missing since the build: {', '.join(changed[:3])}")
        return manifest

    def load(self, name: str) -> tuple[list[Chunk], VectorSearch]:
        manifest = self.check(name)
        chunks = [Chunk(**c) for c in manifest["chunks"]]
        if VECTORS_FILE in manifest.get("files", {}):
            return chunks, VectorFile.read(self.root / name / VECTORS_FILE)
        # published before vector files were written: Chroma's own search (chromadb imported)
        return chunks, ChromaVectors(_chroma_client(self.root / name).get_collection(COLLECTION), [c.id for c in chunks])

    def location(self, name: str) -> str:
        return str(self.root / name)


# ---------------------------------------------------------------------- Chroma server
@lru_cache(maxsize=4)
def _http_client(url: str) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChromaServerError(url, "expected http://host:port")
    https = parts.scheme == "https"
    try:
        return chromadb.HttpClient(host=parts.hostname, port=parts.port or (443 if https else 8000), ssl=https,
                                   settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as exc:  # noqa: BLE001 - connection refused, DNS, TLS, not a Chroma server...
        raise ChromaServerError(url, exc) from exc


@dataclass(frozen=True)
class ServerStore:
    """corpus-xxxxxxxx collections on a Chroma server and a `corpus-pointer` collection whose metadata
    {"current": name} names the current one. Chunks live in the collection's metadata (CHUNK_KEY)."""

    url: str

    def _client(self) -> ClientAPI:
        client = _http_client(self.url)
        try:
            client.heartbeat()
        except Exception as exc:  # noqa: BLE001 - the server went away since the client was made
            raise ChromaServerError(self.url, exc) from exc
        return client

    def _get(self, name: str) -> Collection | None:
        from chromadb.errors import NotFoundError

        try:
            return self._client().get_collection(name)
        except NotFoundError:
            return None

    def current(self) -> str | None:
        pointer = self._get(POINTER)
        name = (pointer.metadata or {}).get("current") if pointer else None
        return name if name and self._get(name) else None

    def check(self, name: str) -> None:
        """The server owns its files; a missing collection shows up when it is read."""

    def hashes(self, name: str) -> dict[str, str]:
        got = self._client().get_collection(name).get(include=["metadatas"])
        return {cid: str(meta["hash"]) for cid, meta in zip(got["ids"], got["metadatas"], strict=True)}

    def stage(self, source: str | None, keep: list[str]) -> str:
        """A new collection with only the `keep` vectors copied from the source: nothing is embedded twice."""
        name = _new_name(COLLECTION)
        target = self._client().create_collection(name, metadata=COSINE)
        if source and keep:
            got = self._client().get_collection(source).get(ids=keep, include=["embeddings", "documents", "metadatas"])
            for i in range(0, len(got["ids"]), COPY_BATCH):
                part = slice(i, i + COPY_BATCH)
                target.add(ids=got["ids"][part], embeddings=got["embeddings"][part], documents=got["documents"][part],
                           metadatas=got["metadatas"][part])
        return name

    @contextmanager
    def collection(self, name: str) -> Iterator[Collection]:
        yield self._client().get_collection(name)

    def publish(self, name: str, chunks: list[Chunk]) -> str | None:
        pointer = self._client().get_or_create_collection(POINTER, metadata={"current": name})
        replaced = (pointer.metadata or {}).get("current")
        if replaced == name:
            return None
        pointer.modify(metadata={"current": name})
        return replaced

    def retire(self, replaced: str | None) -> None:
        """Only the version this build replaced: a concurrent build's staging collection is left alone."""
        if replaced:
            self.discard(replaced)

    def discard(self, name: str) -> None:
        with suppress(Exception):
            self._client().delete_collection(name)

    def load(self, name: str) -> tuple[list[Chunk], VectorSearch]:
        collection = self._client().get_collection(name)
        metas = sorted(collection.get(include=["metadatas"])["metadatas"], key=lambda m: m[SEQ_KEY])
        chunks = [Chunk.model_validate_json(m[CHUNK_KEY]) for m in metas]
        return chunks, ChromaVectors(collection, [c.id for c in chunks])

    def location(self, name: str) -> str:
        return f"{self.url} (collection {name})"
