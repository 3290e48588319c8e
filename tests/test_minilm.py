"""The numpy MiniLM encoder gives the vectors sentence-transformers gives, and a cold ask never imports torch."""

import os
import subprocess
import sys

import numpy as np
import pytest

from assistant.embeddings import MiniLMEmbeddings
from assistant.minilm import minilm, model_dir

pytestmark = pytest.mark.slow

QUERIES = [
    "Kyphoplasty T12 and L1, codes?",
    "PVP",
    "kyphplasty T12-L2 whta do i bil??",                      # typos
    "22513 22515 77012 M80.08XA 20225-XS",                     # codes and modifiers
    "Is 22520 still valid for DOS 03/02/2014?",
    "  Vertebral AUGMENTATION at L1 \t with\nbiopsy  ",       # case and whitespace
    "Sacroplasty (sacral augmentation) — 0200T/0201T; vertèbre fracturée, 椎体",  # non-ASCII
    "Percutaneous vertebroplasty with bone biopsy, thoracic and lumbar levels, under CT guidance. " * 20,
]
# modules a cold answer must never load: torch and the libraries that bring it. scipy is allowed: the sparse
# BM25 index (bm25s, for 50k-chunk corpora) needs scipy.sparse when an index opens (about 0.2 s of import)
HEAVY = {"torch", "sentence_transformers", "transformers", "sklearn", "llm", "onnxruntime", "matplotlib"}


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)


def test_the_long_query_is_truncated_as_sentence_transformers_does(reference):
    tokens = len(minilm().tokenizer.encode(QUERIES[-1]).ids)
    assert tokens == reference.max_seq_length == 256


def test_query_vectors_match_sentence_transformers(reference):
    expected = reference.encode(QUERIES, normalize_embeddings=True)
    got = np.array([MiniLMEmbeddings().embed_query(q) for q in QUERIES])
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosines = (got * expected).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(QUERIES, cosines.round(6), strict=True))


def test_a_batch_gives_each_text_its_own_vector():
    together = minilm().encode(QUERIES[:3])
    alone = np.array([minilm().encode([q])[0] for q in QUERIES[:3]])
    assert np.allclose(together, alone, atol=1e-6)
    assert (together[0] @ together[1]) < 0.99


def _imported(stderr: str) -> set[str]:
    """Top-level package names from `python -X importtime` output."""
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def _cold_ask_imports(data_dir, *options: str, backend: str = "gguf") -> set[str]:
    """The top-level packages a one-shot `assistant ask` imports (the index built first, in another process)."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_LLM": backend}
    subprocess.run([sys.executable, "-m", "assistant.cli", "index"], env=env, check=True, capture_output=True,
                   timeout=900)
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant.cli", "ask",
                             "Kyphoplasty T12 and L1, codes?", "--dos", "2025-03-01", "--json", *options],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return _imported(result.stderr)


def test_a_cold_ask_imports_no_torch(data_dir):
    imported = _cold_ask_imports(data_dir)
    assert {"llama_cpp", "numpy", "langchain_core"} <= imported  # the parse found the real imports
    assert not imported & HEAVY, imported & HEAVY
    assert "bm25s" not in imported   # the BM25 matrix is read from <data_dir>/lexical/, not built


@pytest.mark.parametrize(("options", "backend"), [(("--no-llm",), "gguf"), ((), "none")])
def test_a_cold_ask_without_the_model_imports_no_langchain(data_dir, options, backend):
    imported = _cold_ask_imports(data_dir, *options, backend=backend)
    assert "numpy" in imported
    assert not imported & (HEAVY | {"langchain_core", "langsmith", "llama_cpp", "bm25s", "scipy"}), imported
